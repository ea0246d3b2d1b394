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
	startswith(msg, "fixture/logs (aws_s3_bucket) is not encrypted with a KMS key (sse_algorithm: ")
	contains(msg, "AES256")
}

test_prod_bucket_with_kms_but_no_key_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms"}))
	[msg] := [m | some m in s3_kms.deny] with input as inp
	startswith(msg, "fixture/logs (aws_s3_bucket) is not encrypted with a KMS key")
}

test_prod_bucket_with_kms_and_empty_key_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", props({"sse_algorithm": "aws:kms", "kms_key_id": ""}))
	count(s3_kms.deny) == 1 with input as inp
}

test_prod_bucket_without_encryption_denied if {
	inp := fx.prod("logs", "aws_s3_bucket", unencrypted)
	[msg] := [m | some m in s3_kms.deny] with input as inp
	startswith(msg, "fixture/logs (aws_s3_bucket) is not encrypted with a KMS key")
}

# Outside prod SSE-S3 is enough, but some encryption is still required.
test_dev_bucket_with_sse_s3_passes if {
	inp := fx.dev("logs", "aws_s3_bucket", props({"sse_algorithm": "AES256"}))
	count(s3_kms.deny) == 0 with input as inp
}

test_dev_bucket_without_encryption_denied if {
	inp := fx.dev("logs", "aws_s3_bucket", unencrypted)
	s3_kms.deny == {"fixture/logs (aws_s3_bucket) has no server-side encryption"} with input as inp
}
