package tollgate.encryption.rds_storage

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-002",
	"title": "RDS and Aurora storage is encrypted, with KMS in prod",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_rds_cluster"],
	"description": "Database storage, snapshots and replicas inherit the cluster's encryption, which can only be chosen at creation.",
	"rationale": "Snapshots are the most easily leaked artefact of a database; with a customer-managed key a copied snapshot is useless without the key, and every use of the key is logged.",
	"remediation": "Set storage_encrypted = true and kms_key_id to a customer-managed key; an existing cluster must be restored from an encrypted snapshot.",
}

deny contains msg if {
	not lib.props.storage_encrypted == true
	msg := sprintf("%s has storage_encrypted %v", [lib.name, object.get(lib.props, "storage_encrypted", "unset")])
}

deny contains msg if {
	lib.props.storage_encrypted == true
	lib.is_prod
	object.get(lib.props, "kms_key_id", "") == ""
	msg := sprintf("%s is encrypted with the AWS-managed key; prod needs a customer-managed kms_key_id", [lib.name])
}
