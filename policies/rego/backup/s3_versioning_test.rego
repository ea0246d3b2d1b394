package tollgate.backup.s3_versioning_test

import data.tollgate.backup.s3_versioning
import data.tollgate.lib_test as fx
import rego.v1

bucket(versioning) := fx.prod("logs", "aws_s3_bucket", {
	"bucket": "wer1-prod-fixture-logs",
	"server_side_encryption": {"sse_algorithm": "aws:kms", "kms_key_id": "${key}"},
	"public_access_block": {
		"block_public_acls": true,
		"block_public_policy": true,
		"ignore_public_acls": true,
		"restrict_public_buckets": true,
	},
	"versioning": versioning,
})

test_versioned_bucket_passes if {
	count(s3_versioning.deny) == 0 with input as bucket({"enabled": true})
}

test_versioning_disabled_denied if {
	s3_versioning.deny == {"fixture/logs (aws_s3_bucket) does not keep versions"} with input as bucket({"enabled": false})
}

test_versioning_unset_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", {"bucket": "wer1-prod-fixture-logs"})
	s3_versioning.deny == {"fixture/logs (aws_s3_bucket) does not keep versions"} with input as inp
}

# A plan's "(known after apply)" is not true: the rule fails closed.
test_unknown_versioning_denied if {
	count(s3_versioning.deny) == 1 with input as bucket({"enabled": "(known after apply)"})
}

test_dev_bucket_also_needs_versions if {
	inp := fx.dev("logs", "aws_s3_bucket", {"versioning": {"enabled": false}})
	s3_versioning.deny == {"fixture/logs (aws_s3_bucket) does not keep versions"} with input as inp
}
