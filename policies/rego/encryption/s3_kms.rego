package tollgate.encryption.s3_kms

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-001",
	"title": "Prod S3 buckets are encrypted with a customer-managed KMS key",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_s3_bucket"],
	"description": "In prod (the stack's environment by meaning: prod, Prod, production; an unrecognised environment is judged as prod), a bucket's default encryption is SSE-KMS (aws:kms or aws:kms:dsse) with a customer-managed key, so access to the data is also access to the key and is logged in CloudTrail; an AWS-managed key (alias/aws/s3, or no key id: S3 then uses alias/aws/s3) does not do. Outside prod nothing is required: S3 encrypts every new object with SSE-S3 since January 2023, so a bucket with no encryption block is encrypted, not unencrypted. Closest Checkov checks: CKV_AWS_19 (default encryption set; looser in prod, where we need a customer-managed key; the same outside prod, where Checkov also passes a bucket with no block since 2023) and CKV_AWS_145 (KMS by default): stricter in prod (customer-managed key), looser outside prod (not required).",
	"rationale": "Buckets hold the estate's largest datasets; with KMS every read is also a key use that IAM must allow and CloudTrail records, so a too-broad bucket policy alone does not expose the data.",
	"remediation": "Set server_side_encryption.sse_algorithm to \"aws:kms\" and server_side_encryption.kms_key_id to a customer-managed key (\"${key_id}\").",
}

sse := lib.s3_sse

deny contains msg if {
	lib.is_prod
	not lib.s3_customer_managed_key
	not lib.s3_unknown_encryption
	msg := sprintf("%s is not encrypted with a customer-managed KMS key, which prod requires (sse_algorithm %v, kms_key_id %v)", [lib.name, object.get(sse, "sse_algorithm", "unset: SSE-S3"), object.get(sse, "kms_key_id", "unset: alias/aws/s3")])
}

# The algorithm only known at apply (a key id only known at apply is a key the plan creates).
unknown contains msg if {
	lib.is_prod
	not lib.s3_customer_managed_key
	lib.s3_unknown_encryption
	msg := sprintf("%s has default encryption only known at apply", [lib.name])
}
