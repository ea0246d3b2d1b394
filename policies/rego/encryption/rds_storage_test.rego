package tollgate.encryption.rds_storage_test

import data.tollgate.encryption.rds_storage
import data.tollgate.lib_test as fx
import rego.v1

base := {
	"cluster_identifier": "wer1-prod-fixture",
	"engine": "aurora-postgresql",
	"engine_version": "16.4",
	"backup_retention_period": 7,
	"deletion_protection": true,
}

test_prod_cluster_with_customer_key_passes if {
	inp := fx.prod("db", "aws_rds_cluster", object.union(base, {"storage_encrypted": true, "kms_key_id": "${key}"}))
	count(rds_storage.deny) == 0 with input as inp
}

test_unencrypted_cluster_denied if {
	inp := fx.prod("db", "aws_rds_cluster", object.union(base, {"storage_encrypted": false}))
	rds_storage.deny == {"fixture/db (aws_rds_cluster) has storage_encrypted false"} with input as inp
}

test_encryption_unset_denied if {
	inp := fx.prod("db", "aws_rds_cluster", base)
	rds_storage.deny == {"fixture/db (aws_rds_cluster) has storage_encrypted unset"} with input as inp
}

test_prod_cluster_with_aws_managed_key_denied if {
	inp := fx.prod("db", "aws_rds_cluster", object.union(base, {"storage_encrypted": true}))
	rds_storage.deny == {"fixture/db (aws_rds_cluster) is encrypted with the AWS-managed key; prod needs a customer-managed kms_key_id"} with input as inp
}

test_prod_cluster_with_empty_key_denied if {
	inp := fx.prod("db", "aws_rds_cluster", object.union(base, {"storage_encrypted": true, "kms_key_id": ""}))
	count(rds_storage.deny) == 1 with input as inp
}

# Outside prod the AWS-managed key is enough.
test_dev_cluster_with_aws_managed_key_passes if {
	inp := fx.dev("db", "aws_rds_cluster", object.union(base, {"storage_encrypted": true}))
	count(rds_storage.deny) == 0 with input as inp
}

test_dev_cluster_unencrypted_denied if {
	inp := fx.dev("db", "aws_rds_cluster", object.union(base, {"storage_encrypted": false}))
	rds_storage.deny == {"fixture/db (aws_rds_cluster) has storage_encrypted false"} with input as inp
}

# A standalone RDS instance (aws_db_instance) is judged the same way.
db_instance(overrides) := fx.prod("orders-db", "aws_db_instance", object.union(
	{"identifier": "wer1-prod-orders", "instance_class": "db.t4g.medium", "storage_encrypted": true, "kms_key_id": "${key}"},
	overrides,
))

test_encrypted_instance_passes if {
	count(rds_storage.deny) == 0 with input as db_instance({})
}

test_unencrypted_instance_denied if {
	rds_storage.deny == {"fixture/orders-db (aws_db_instance) has storage_encrypted false"} with input as db_instance({"storage_encrypted": false})
}

test_instance_without_encryption_setting_denied if {
	inp := fx.prod("orders-db", "aws_db_instance", {"identifier": "wer1-prod-orders", "instance_class": "db.t4g.medium"})
	rds_storage.deny == {"fixture/orders-db (aws_db_instance) has storage_encrypted unset"} with input as inp
}
