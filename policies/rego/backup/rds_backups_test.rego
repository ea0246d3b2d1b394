package tollgate.backup.rds_backups_test

import data.tollgate.backup.rds_backups
import data.tollgate.lib_test as fx
import rego.v1

cluster(overrides) := fx.prod("db", "aws_rds_cluster", object.union(
	{
		"cluster_identifier": "wer1-prod-fixture",
		"engine": "aurora-postgresql",
		"engine_version": "16.4",
		"storage_encrypted": true,
		"kms_key_id": "${key}",
		"backup_retention_period": 7,
		"deletion_protection": true,
	},
	overrides,
))

test_compliant_cluster_passes if {
	count(rds_backups.deny) == 0 with input as cluster({})
}

test_longer_retention_passes if {
	count(rds_backups.deny) == 0 with input as cluster({"backup_retention_period": 35})
}

test_short_retention_denied if {
	rds_backups.deny == {"fixture/db (aws_rds_cluster) keeps backups for 1 days (minimum 7)"} with input as cluster({"backup_retention_period": 1})
}

test_retention_just_below_minimum_denied if {
	rds_backups.deny == {"fixture/db (aws_rds_cluster) keeps backups for 6 days (minimum 7)"} with input as cluster({"backup_retention_period": 6})
}

test_missing_retention_is_the_default_and_not_enough if {
	inp := fx.prod("db", "aws_rds_cluster", {"storage_encrypted": true, "deletion_protection": true})
	rds_backups.deny == {"fixture/db (aws_rds_cluster) keeps backups for the default period (backup_retention_period unset; minimum 7 days)"} with input as inp
}

test_deletion_protection_off_denied if {
	rds_backups.deny == {"fixture/db (aws_rds_cluster) has no deletion protection"} with input as cluster({"deletion_protection": false})
}

test_deletion_protection_unset_denied if {
	inp := fx.prod("db", "aws_rds_cluster", {"backup_retention_period": 14})
	rds_backups.deny == {"fixture/db (aws_rds_cluster) has no deletion protection"} with input as inp
}

test_both_failures_reported if {
	inp := cluster({"backup_retention_period": 0, "deletion_protection": false})
	rds_backups.deny == {
		"fixture/db (aws_rds_cluster) keeps backups for 0 days (minimum 7)",
		"fixture/db (aws_rds_cluster) has no deletion protection",
	} with input as inp
}

# A plan's "(known after apply)" is not known to be 7 days or more: the rule fails closed.
test_unknown_retention_denied if {
	rds_backups.deny == {"fixture/db (aws_rds_cluster) keeps backups for (known after apply) days (minimum 7)"} with input as cluster({"backup_retention_period": "(known after apply)"})
}

# A standalone RDS instance (aws_db_instance) is judged the same way.
instance(overrides) := fx.prod("orders-db", "aws_db_instance", object.union(
	{"identifier": "wer1-prod-orders", "instance_class": "db.t4g.medium", "backup_retention_period": 7, "deletion_protection": true},
	overrides,
))

test_compliant_instance_passes if {
	count(rds_backups.deny) == 0 with input as instance({})
}

test_instance_with_default_backups_and_no_protection_denied if {
	rds_backups.deny == {
		"fixture/orders-db (aws_db_instance) keeps backups for 1 days (minimum 7)",
		"fixture/orders-db (aws_db_instance) has no deletion protection",
	} with input as instance({"backup_retention_period": 1, "deletion_protection": false})
}
