package tollgate.encryption.s3_kms

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-001",
	"title": "S3 buckets are encrypted at rest with KMS in prod",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_s3_bucket"],
	"description": "Objects at rest must be encrypted; in prod with a KMS key the team controls (aws:kms or aws:kms:dsse), so access to the data is also access to the key and is logged in CloudTrail. Outside prod, SSE-S3 (AES256) is enough.",
	"rationale": "Buckets hold the estate's largest datasets; with KMS every read is also a key use that IAM must allow and CloudTrail records, so a too-broad bucket policy alone does not expose the data.",
	"remediation": "Set server_side_encryption.sse_algorithm to \"aws:kms\" and server_side_encryption.kms_key_id to a customer-managed key (\"${key_id}\").",
}

kms_algorithms := {"aws:kms", "aws:kms:dsse"}

algorithm := lib.props.server_side_encryption.sse_algorithm

deny contains msg if {
	lib.is_prod
	not kms_encrypted
	msg := sprintf("%s is not encrypted with a KMS key (sse_algorithm: %v)", [lib.name, object.get(lib.props, "server_side_encryption", {})])
}

deny contains msg if {
	not lib.is_prod
	not algorithm
	msg := sprintf("%s has no server-side encryption", [lib.name])
}

kms_encrypted if {
	algorithm in kms_algorithms
	lib.props.server_side_encryption.kms_key_id != ""
}
