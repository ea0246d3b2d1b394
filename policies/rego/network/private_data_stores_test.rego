package tollgate.network.private_data_stores_test

import data.tollgate.lib_test as fx
import data.tollgate.network.private_data_stores
import rego.v1

instance(props) := fx.prod("db-1", "aws_rds_cluster_instance", object.union(
	{
		"identifier": "wer1-prod-fixture-1",
		"cluster_identifier": "${db}",
		"instance_class": "db.t4g.medium",
		"engine": "aurora-postgresql",
	},
	props,
))

domain(props) := fx.prod("search", "aws_opensearch_domain", object.union(
	{
		"domain_name": "wer1-prod-fixture",
		"cluster_config": {"instance_type": "t3.medium.search", "instance_count": 1},
	},
	props,
))

test_private_instance_passes if {
	count(private_data_stores.deny) == 0 with input as instance({"publicly_accessible": false})
}

test_public_instance_denied if {
	private_data_stores.deny == {"fixture/db-1 (aws_rds_cluster_instance) has publicly_accessible true"} with input as instance({"publicly_accessible": true})
}

test_unset_public_access_denied if {
	private_data_stores.deny == {"fixture/db-1 (aws_rds_cluster_instance) has publicly_accessible unset (defaults vary)"} with input as instance({})
}

test_domain_in_vpc_passes if {
	inp := domain({"vpc_options": {"subnet_ids": ["${networking.private-a}"], "security_group_ids": ["${networking.search-sg}"]}})
	count(private_data_stores.deny) == 0 with input as inp
}

test_domain_outside_vpc_denied if {
	private_data_stores.deny == {"fixture/search (aws_opensearch_domain) is not inside a VPC (no vpc_options.subnet_ids)"} with input as domain({})
}

test_domain_with_no_subnets_denied if {
	inp := domain({"vpc_options": {"subnet_ids": [], "security_group_ids": ["${networking.search-sg}"]}})
	count(private_data_stores.deny) == 1 with input as inp
}

# A standalone RDS instance (aws_db_instance) says it with publicly_accessible too.
test_private_db_instance_passes if {
	inp := fx.prod("orders-db", "aws_db_instance", {"identifier": "wer1-prod-orders", "instance_class": "db.t4g.medium", "publicly_accessible": false})
	count(private_data_stores.deny) == 0 with input as inp
}

test_public_db_instance_denied if {
	inp := fx.prod("orders-db", "aws_db_instance", {"identifier": "wer1-prod-orders", "instance_class": "db.t4g.medium", "publicly_accessible": true})
	private_data_stores.deny == {"fixture/orders-db (aws_db_instance) has publicly_accessible true"} with input as inp
}
