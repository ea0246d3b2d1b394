package tollgate.network.s3_public_access_test

import data.tollgate.lib_test as fx
import data.tollgate.network.s3_public_access
import rego.v1

all_blocked := {
	"block_public_acls": true,
	"block_public_policy": true,
	"ignore_public_acls": true,
	"restrict_public_buckets": true,
}

bucket(block) := fx.prod("logs", "aws_s3_bucket", {
	"bucket": "wer1-prod-fixture-logs",
	"server_side_encryption": {"sse_algorithm": "aws:kms", "kms_key_id": "${key}"},
	"public_access_block": block,
	"versioning": {"enabled": true},
})

test_fully_blocked_bucket_passes if {
	count(s3_public_access.deny) == 0 with input as bucket(all_blocked)
}

test_public_policy_allowed_denied if {
	inp := bucket(object.union(all_blocked, {"block_public_policy": false}))
	s3_public_access.deny == {"fixture/logs (aws_s3_bucket) has public_access_block.block_public_policy not true"} with input as inp
}

test_each_setting_is_checked if {
	every s in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] {
		s3_public_access.deny == {sprintf("fixture/logs (aws_s3_bucket) has public_access_block.%s not true", [s])} with input as bucket(object.remove(all_blocked, [s]))
	}
}

test_no_public_access_block_denied_four_times if {
	inp := fx.prod("logs", "aws_s3_bucket", {"bucket": "wer1-prod-fixture-logs"})
	count(s3_public_access.deny) == 4 with input as inp
}
