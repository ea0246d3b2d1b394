package tollgate.backup.dynamodb_recovery_test

import data.tollgate.backup.dynamodb_recovery
import data.tollgate.lib_test as fx
import rego.v1

test_protected_table_passes if {
	inp := fx.prod("orders", "aws_dynamodb_table", {"name": "orders", "point_in_time_recovery": {"enabled": true}, "deletion_protection_enabled": true})
	count(dynamodb_recovery.deny) == 0 with input as inp
}

test_default_table_denied_twice if {
	dynamodb_recovery.deny == {
		"fixture/orders (aws_dynamodb_table) has no point-in-time recovery",
		"fixture/orders (aws_dynamodb_table) has no deletion protection",
	} with input as fx.prod("orders", "aws_dynamodb_table", {"name": "orders"})
}
