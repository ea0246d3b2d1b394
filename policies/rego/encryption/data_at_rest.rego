package tollgate.encryption.data_at_rest

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-010",
	"title": "File systems, warehouses and streams encrypt data at rest",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_efs_file_system", "aws_redshift_cluster", "aws_kinesis_stream"],
	"description": "EFS file systems and Redshift clusters set encrypted = true; Kinesis streams set encryption_type = \"KMS\". None of them encrypts by default, and none can be encrypted in place later without a copy. Closest Checkov checks: CKV_AWS_42 (EFS encrypted), CKV_AWS_64 (Redshift encrypted), CKV_AWS_43 (Kinesis encrypted): the same; unset counts as unencrypted, as there.",
	"rationale": "Shared file systems, warehouses and event streams hold copies of the data the rest of the estate protects; an unencrypted copy on disk, in a snapshot or in a stream's retention is the weakest one.",
	"remediation": "Set encrypted = true (aws_efs_file_system, aws_redshift_cluster) or encryption_type = \"KMS\" (aws_kinesis_stream), with kms_key_id a customer-managed key in prod.",
}

# The attribute that says a type encrypts, and the value it must have.
required := {
	"aws_efs_file_system": ["encrypted", true],
	"aws_redshift_cluster": ["encrypted", true],
	"aws_kinesis_stream": ["encryption_type", "KMS"],
}

deny contains msg if {
	[attr, want] := required[input.resource.type]
	not object.get(lib.props, attr, null) == want
	msg := sprintf("%s does not encrypt at rest (%s is %v, needs %v)", [lib.name, attr, object.get(lib.props, attr, "unset"), want])
}
