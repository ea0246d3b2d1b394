package tollgate.facts_test

import data.tollgate.facts
import data.tollgate.lib_test as fx
import rego.v1

test_stack_facts_normalise_the_environment if {
	production := {"stack": object.union(fx.prod_stack, {"environment": "Production"})}
	facts.stack == {"environment": "prod", "prod": true} with input as production
	dev := {"stack": fx.dev_stack}
	facts.stack == {"environment": "dev", "prod": false} with input as dev
	blue := {"stack": object.union(fx.prod_stack, {"environment": "Blue"})}
	facts.stack == {"environment": "blue", "prod": true} with input as blue
}

test_tag_facts if {
	inp := fx.prod("key", "aws_kms_key", {})
	tagged := object.union(inp, {"resource": {"tags": {"owner": "\u200b", "environment": "Prod", "stack": "fixture"}}})
	f := facts.resource with input as tagged
	f.environment_tag == "prod"
	{t | some t in f.present_tags} == {"environment", "stack", "cost-center"}
}

test_untaggable_type_without_facts_is_empty if {
	inp := object.union(fx.prod("rt", "aws_route_table_association", {}), {"resource": {"taggable": false}})
	facts.resource == {} with input as inp
}

test_security_group_facts if {
	inp := fx.prod("app-sg", "aws_security_group", {"ingress": [
		{"from_port": 3389, "to_port": 3389, "protocol": "6", "cidr_blocks": ["0.0.0.0/1"]},
		{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["128.0.0.0/1"]},
		{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["10.100.0.0/24"]},
	]})
	f := facts.resource with input as inp
	f.world_open
	f.world_open_beyond_edge_https
	not f.ssh_outside_vpn
	not f.ssh_from_other_groups
	not f.unknown_ingress
	not f.invalid_sources
}

test_iam_facts if {
	inp := fx.prod("p", "aws_iam_policy", {"policy": json.marshal({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::x"}]})})
	f := facts.resource with input as inp
	f.grants_admin
	not f.unknown_grants
	g := facts.resource with input as fx.prod("a", "aws_iam_role_policy_attachment", {"role": "r", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"})
	g.grants_admin
}

test_trust_facts if {
	inp := fx.prod("r", "aws_iam_role", {"assume_role_policy": {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {}}]}})
	f := facts.resource with input as inp
	f.open_trust
	not f.grants_admin
}

test_key_facts if {
	b := facts.resource with input as fx.prod("b", "aws_s3_bucket", {"server_side_encryption": {"sse_algorithm": "aws:kms", "kms_key_id": "alias/aws/s3"}})
	not b.customer_managed_key
	c := facts.resource with input as fx.prod("c", "aws_rds_cluster", {"storage_encrypted": true, "kms_key_id": "${key}"})
	c.customer_managed_key
}
