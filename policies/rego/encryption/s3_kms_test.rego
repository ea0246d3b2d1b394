package tollgate.encryption.s3_kms_test

import data.tollgate.encryption.s3_kms
import data.tollgate.lib_test as fx
import rego.v1

public_access_block := {
	"block_public_acls": true,
	"block_public_policy": true,
	"ignore_public_acls": true,
	"restrict_public_buckets": true,
}

props(sse) := {
	"bucket": "wer1-prod-fixture-logs",
	"server_side_encryption": sse,
	"public_access_block": public_access_block,
	"versioning": {"enabled": true},
}

unencrypted := {
	"bucket": "wer1-prod-fixture-logs",
	"public_access_block": public_access_block,
	"versioning": {"enabled": true},
}

test_prod_bucket_with_kms_key_passes if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms", "kms_key_id": "${key}"}))
	count(s3_kms.deny) == 0 with input as inp
}

test_prod_bucket_with_dsse_kms_passes if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms:dsse", "kms_key_id": "${key}"}))
	count(s3_kms.deny) == 0 with input as inp
}

test_prod_bucket_with_sse_s3_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "AES256"}))
	[msg] := [m | some m in s3_kms.deny] with input as inp
	startswith(msg, "fixture/logs (aws_s3_bucket) is not encrypted with a customer-managed KMS key, which prod requires (sse_algorithm ")
	contains(msg, "AES256")
}

test_prod_bucket_with_kms_but_no_key_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms"}))
	[msg] := [m | some m in s3_kms.deny] with input as inp
	startswith(msg, "fixture/logs (aws_s3_bucket) is not encrypted with a customer-managed KMS key")
}

test_prod_bucket_with_kms_and_empty_key_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms", "kms_key_id": ""}))
	count(s3_kms.deny) == 1 with input as inp
}

test_prod_bucket_without_encryption_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", unencrypted)
	[msg] := [m | some m in s3_kms.deny] with input as inp
	startswith(msg, "fixture/logs (aws_s3_bucket) is not encrypted with a customer-managed KMS key")
}

# Outside prod nothing is required: S3 encrypts every new object with SSE-S3 since January 2023.
test_dev_bucket_with_sse_s3_passes if {
	inp := fx.dev("logs", "aws_s3_bucket", props({"sse_algorithm": "AES256"}))
	count(s3_kms.deny) == 0 with input as inp
}

test_dev_bucket_without_encryption_block_passes if {
	inp := fx.dev("logs", "aws_s3_bucket", unencrypted)
	count(s3_kms.deny) == 0 with input as inp
}

test_aws_managed_key_in_prod_denied if {
	every k in ["alias/aws/s3", "arn:aws:kms:eu-west-1:318273645501:alias/aws/s3", " ", "\u200b"] {
		count(s3_kms.deny) == 1 with input as fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms", "kms_key_id": k}))
	}
}

# Prod is a meaning, not a spelling.
test_prod_spellings_require_kms if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "AES256"}))
	every e in ["Prod", "PROD", "production"] {
		count(s3_kms.deny) == 1 with input as object.union(inp, {"stack": {"environment": e}})
	}
}

test_unknown_algorithm_in_prod_is_unknown if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "(known after apply)"}))
	count(s3_kms.deny) == 0 with input as inp
	s3_kms.unknown == {"fixture/logs (aws_s3_bucket) has default encryption only known at apply"} with input as inp
}
