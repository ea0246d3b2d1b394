package tollgate.encryption.rds_storage

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-002",
	"title": "RDS and Aurora storage is encrypted, with KMS in prod",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_rds_cluster", "aws_db_instance", "aws_docdb_cluster"],
	"description": "Database storage, snapshots and replicas inherit the cluster's encryption, which can only be chosen at creation. In prod (by meaning; unrecognised environments judged as prod) the key is customer-managed: no kms_key_id, or alias/aws/rds, is the AWS-managed key. Closest Checkov checks: CKV_AWS_96 (Aurora encrypted; the same outside prod) and CKV_AWS_327 (encrypted with a KMS CMK): the same in prod, where CKV_AWS_327 also takes a missing key as failing.",
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
	not lib.customer_managed_key(object.get(lib.props, "kms_key_id", ""))
	msg := sprintf("%s is encrypted with the AWS-managed key (kms_key_id %v); prod needs a customer-managed kms_key_id", [lib.name, object.get(lib.props, "kms_key_id", "unset: alias/aws/rds")])
}
