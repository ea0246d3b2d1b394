# Tests of the shared helpers, and the inputs the rule tests build on. The shapes follow what
# the engine hands a rule (engine/src/eval.rs): a resource rule sees `input.resource` and its
# stack's metadata in `input.stack`; a stack rule sees `input.stack` and `input.resources`; an
# estate rule sees `input.stacks`, each `{stack, resources}`.
package tollgate.lib_test

import data.tollgate.lib
import rego.v1

# `input.stack` for a prod stack, as the engine builds it.
prod_stack := {
	"id": "fixture",
	"repository": "aws-eu-west-1-prod-fixture-main",
	"environment": "prod",
	"region": "eu-west-1",
	"account": "prod",
	"owner": "security",
	"depends_on": ["networking"],
	"budget": {"monthly_limit_usd": 1000, "alert_thresholds_pct": [80, 100]},
	"estimated_monthly_cost_usd": 23.14,
	"cost_complete": true,
	"resource_count": 2,
}

# The same stack outside prod.
dev_stack := object.union(prod_stack, {
	"repository": "aws-eu-west-1-dev-fixture-main",
	"environment": "dev",
	"account": "dev",
})

# The four required tags, matching `stack`.
tags_for(stack) := {
	"owner": stack.owner,
	"environment": stack.environment,
	"cost-center": "cc-sec",
	"stack": stack.id,
}

# `input.resource` for a taggable resource of `stack`.
resource(stack, id, type, props) := {
	"id": id,
	"type": type,
	"taggable": true,
	"properties": props,
	"tags": tags_for(stack),
	"depends_on": [],
	"usage": {},
}

# The whole input of a resource rule: a resource in the prod stack.
prod(id, type, props) := {"stack": prod_stack, "resource": resource(prod_stack, id, type, props)}

# The whole input of a resource rule: a resource in the dev stack.
dev(id, type, props) := {"stack": dev_stack, "resource": resource(dev_stack, id, type, props)}

test_name_is_stack_id_and_type if {
	lib.name == "fixture/db (aws_rds_cluster)" with input as prod("db", "aws_rds_cluster", {})
}

test_props_are_the_resource_properties if {
	lib.props == {"storage_encrypted": true} with input as prod("db", "aws_rds_cluster", {"storage_encrypted": true})
}

test_is_prod_only_in_prod if {
	lib.is_prod with input as prod("db", "aws_rds_cluster", {})
	not lib.is_prod with input as dev("db", "aws_rds_cluster", {})
}

test_covers_port_inside_the_range if {
	lib.covers_port({"from_port": 20, "to_port": 25, "protocol": "tcp"}, 22)
	lib.covers_port({"from_port": 22, "to_port": 22, "protocol": "tcp"}, 22)
}

test_covers_port_not_outside_the_range if {
	not lib.covers_port({"from_port": 443, "to_port": 443, "protocol": "tcp"}, 22)
	not lib.covers_port({"from_port": 23, "to_port": 1024, "protocol": "tcp"}, 22)
}

test_covers_port_every_port_for_protocol_all if {
	lib.covers_port({"from_port": 0, "to_port": 0, "protocol": "-1"}, 22)
}

test_covers_port_every_port_for_from_port_minus_one if {
	lib.covers_port({"from_port": -1, "to_port": -1, "protocol": "icmp"}, 22)
}

# Terraform's "(known after apply)" stands in for a port the plan does not know yet.
test_covers_port_unknown_ports_fail_closed if {
	lib.covers_port({"from_port": "(known after apply)", "to_port": 443, "protocol": "tcp"}, 22)
	lib.covers_port({"from_port": 443, "to_port": "(known after apply)", "protocol": "tcp"}, 22)
}

test_open_sources_joins_ipv4_and_ipv6 if {
	lib.open_sources({"cidr_blocks": ["10.0.0.0/16"], "ipv6_cidr_blocks": ["::/0"]}) == {"10.0.0.0/16", "::/0"}
}

test_open_sources_empty_for_security_group_sources if {
	lib.open_sources({"security_groups": ["${bastion.bastion-sg}"]}) == set()
}

test_statements_of_a_single_statement_object if {
	lib.statements({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject"}}) == [{"Effect": "Allow", "Action": "s3:GetObject"}]
}

test_statements_of_a_statement_list if {
	doc := {"Version": "2012-10-17", "Statement": [{"Sid": "A", "Effect": "Allow"}, {"Sid": "B", "Effect": "Deny"}]}
	lib.statements(doc) == doc.Statement
}

test_as_list if {
	lib.as_list("*") == ["*"]
	lib.as_list(["s3:GetObject", "s3:PutObject"]) == ["s3:GetObject", "s3:PutObject"]
}
