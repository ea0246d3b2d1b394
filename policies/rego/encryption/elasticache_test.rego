package tollgate.encryption.elasticache_test

import data.tollgate.encryption.elasticache
import data.tollgate.lib_test as fx
import rego.v1

group(settings) := fx.prod("sessions", "aws_elasticache_replication_group", object.union(
	{
		"replication_group_id": "wer1-prod-fixture-sessions",
		"description": "Session cache",
		"engine": "valkey",
		"node_type": "cache.t4g.medium",
		"num_cache_clusters": 2,
		"subnet_group_name": "wer1-prod-cache",
		"kms_key_id": "${key}",
		"automatic_failover_enabled": true,
		"multi_az_enabled": true,
	},
	settings,
))

test_encrypted_at_rest_and_in_transit_passes if {
	inp := group({"at_rest_encryption_enabled": true, "transit_encryption_enabled": true})
	count(elasticache.deny) == 0 with input as inp
}

test_transit_encryption_off_denied if {
	inp := group({"at_rest_encryption_enabled": true, "transit_encryption_enabled": false})
	elasticache.deny == {"fixture/sessions (aws_elasticache_replication_group) has transit_encryption_enabled false"} with input as inp
}

test_at_rest_encryption_off_denied if {
	inp := group({"at_rest_encryption_enabled": false, "transit_encryption_enabled": true})
	elasticache.deny == {"fixture/sessions (aws_elasticache_replication_group) has at_rest_encryption_enabled false"} with input as inp
}

test_both_unset_denied_twice if {
	elasticache.deny == {
		"fixture/sessions (aws_elasticache_replication_group) has at_rest_encryption_enabled unset",
		"fixture/sessions (aws_elasticache_replication_group) has transit_encryption_enabled unset",
	} with input as group({})
}
