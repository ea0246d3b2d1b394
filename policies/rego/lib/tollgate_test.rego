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

# ICMP's -1 is "every type", not every TCP port.
test_icmp_does_not_admit_tcp if {
	not lib.covers_port({"from_port": -1, "to_port": -1, "protocol": "icmp"}, 22)
	lib.admits({"from_port": -1, "to_port": -1, "protocol": "1"}, "icmp", -1)
}

test_port_minus_one_is_every_port if {
	lib.admits({"from_port": -1, "to_port": -1, "protocol": "tcp"}, "tcp", 3389)
	lib.port_range({"from_port": 22, "to_port": -1, "protocol": "6"}) == [0, 65535]
}

# Terraform's "(known after apply)" stands in for a port the plan does not know yet.
test_covers_port_unknown_ports_fail_closed if {
	lib.covers_port({"from_port": "(known after apply)", "to_port": 443, "protocol": "tcp"}, 22)
	lib.covers_port({"from_port": 443, "to_port": "(known after apply)", "protocol": "tcp"}, 22)
}

test_protocols_mean_what_aws_means if {
	every p in ["-1", "all", "ALL", " All "] {
		lib.protocol({"protocol": p}) == "all"
	}
	every p in ["tcp", "TCP", "6"] {
		lib.protocol({"protocol": p}) == "tcp"
	}
	every p in ["udp", "17"] {
		lib.protocol({"protocol": p}) == "udp"
	}
	lib.protocol({"protocol": "50"}) == "50"
	lib.protocol({"protocol": "(known after apply)"}) == "all"
	lib.protocol({}) == "all"
	lib.admits({"protocol": "ALL", "from_port": 0, "to_port": 0}, "udp", 53)
	not lib.admits({"protocol": "17", "from_port": 53, "to_port": 53}, "tcp", 53)
}

test_sources_join_ipv4_and_ipv6 if {
	lib.sources({"cidr_blocks": ["10.0.0.0/16"], "ipv6_cidr_blocks": ["::/0"]}) == {"10.0.0.0/16", "::/0"}
}

test_sources_empty_for_security_group_sources if {
	lib.sources({"security_groups": ["${bastion.bastion-sg}"]}) == set()
}

test_every_spelling_of_the_whole_internet if {
	every c in ["0.0.0.0/0", "1.2.3.4/0", "255.255.255.255/0"] {
		lib.covers_internet({c}, "ipv4")
	}
	every c in ["::/0", "0::/0", "::0/0", "0:0:0:0:0:0:0:0/0", "0000:0000:0000:0000:0000:0000:0000:0000/0", "2001:db8::1/0"] {
		lib.covers_internet({c}, "ipv6")
	}
}

test_halves_and_quarters_cover_the_internet if {
	lib.covers_internet({"0.0.0.0/1", "128.0.0.0/1"}, "ipv4")
	lib.covers_internet({"0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/1"}, "ipv4")
	lib.covers_internet({"::/1", "8000::/1"}, "ipv6")
	lib.covers_internet({"0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8", "10.0.0.0/8"}, "ipv4")
}

test_overlapping_blocks_that_leave_a_gap_do_not if {
	not lib.covers_internet({"0.0.0.0/1", "64.0.0.0/2"}, "ipv4")
	not lib.covers_internet({"0.0.0.0/1", "0.0.0.0/1", "127.0.0.0/8"}, "ipv4")
	not lib.covers_internet({"0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2"}, "ipv4")
	not lib.covers_internet({"::/1"}, "ipv6")
	not lib.covers_internet({"0.0.0.0/0"}, "ipv6")
	not lib.covers_internet({"10.0.0.0/8", "(known after apply)", "not-a-cidr"}, "ipv4")
}

# Equal blocks written two ways are one block, not two halves.
test_equal_blocks_are_counted_once if {
	not lib.covers_internet({"0.0.0.0/1", "0.0.0.1/1"}, "ipv4")
	lib.covers_internet({"0.0.0.0/1", "0.0.0.1/1", "128.0.0.0/1"}, "ipv4")
}

test_invalid_sources if {
	lib.invalid_source("0.0.0.0/00")
	lib.invalid_source("0.0.0.0")
	lib.invalid_source("anywhere")
	not lib.invalid_source("10.0.0.0/8")
	not lib.invalid_source("(known after apply)")
}

test_inside_a_range_by_containment if {
	lib.inside_any("10.100.1.0/24", ["10.100.0.0/22"])
	lib.inside_any("10.100.0.7/22", ["10.100.0.0/22"])
	not lib.inside_any("10.0.0.0/8", ["10.100.0.0/22"])
	not lib.inside_any("::/0", ["10.100.0.0/22"])
}

test_rules_open_together if {
	rules := {0: {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/1"]}, 1: {"protocol": "6", "from_port": 0, "to_port": 1024, "cidr_blocks": ["128.0.0.0/1"]}}
	lib.open_to_world(rules) == {[{0, 1}, "IPv4", "tcp 22-22"]}
}

test_rules_on_different_ports_are_not_open_together if {
	rules := {0: {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/1"]}, 1: {"protocol": "tcp", "from_port": 23, "to_port": 23, "cidr_blocks": ["128.0.0.0/1"]}}
	lib.open_to_world(rules) == set()
}

test_a_rule_open_alone_is_named_alone if {
	rules := {0: {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": ["0.0.0.0/0"]}, 1: {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["10.0.0.0/8"]}}
	lib.open_to_world(rules) == {[{0}, "IPv4", "all protocols, all ports"], [{0}, "IPv4", "tcp 22-22"]}
}

test_https_only if {
	lib.https_only({"protocol": "6", "from_port": 443, "to_port": 443})
	not lib.https_only({"protocol": "tcp", "from_port": 443, "to_port": 444})
	not lib.https_only({"protocol": "-1", "from_port": 443, "to_port": 443})
}

test_environments_are_normalised if {
	every e in ["prod", "Prod", "PROD", "production", " Production ", "prd"] {
		lib.environment(e) == "prod"
		lib.prod_environment(e)
	}
	lib.environment("Development") == "dev"
	not lib.prod_environment("dev")
	not lib.prod_environment("Staging")
}

# An environment Tollgate does not recognise is judged as prod, the strict way.
test_unrecognised_environment_is_judged_as_prod if {
	lib.prod_environment("blue")
	lib.prod_environment("(known after apply)")
	lib.environment("Blue") == "blue"
}

test_prod_spellings_make_a_stack_prod if {
	inp := prod("db", "aws_rds_cluster", {})
	lib.is_prod with input as object.union(inp, {"stack": {"environment": "Production"}})
}

test_aws_managed_keys_are_not_customer_managed if {
	lib.aws_managed_key("alias/aws/s3")
	lib.aws_managed_key("arn:aws:kms:eu-west-1:318273645501:alias/aws/rds")
	not lib.customer_managed_key("alias/aws/s3")
	not lib.customer_managed_key("")
	not lib.customer_managed_key(" ")
	not lib.customer_managed_key(null)
	lib.customer_managed_key("${key}")
	lib.customer_managed_key("alias/wer1-prod-events")
	lib.customer_managed_key("arn:aws:kms:eu-west-1:318273645501:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	lib.customer_managed_key("(known after apply)")
}

test_blank_values if {
	every v in ["", " ", "\t\n", "\u200b", "\u200b\u200d \ufeff", "\u00a0", null] {
		lib.blank(v)
	}
	not lib.blank("x")
	not lib.blank("\u200bowner")
}

test_unknown_values if {
	lib.unknown("(known after apply)")
	lib.unknown("(sensitive value)")
	not lib.unknown("known")
	not lib.unknown(true)
	lib.unknown_within({"a": [1, {"b": "(sensitive value)"}]})
	not lib.unknown_within({"a": [1, {"b": "x"}]})
}

test_documents_as_objects_or_json_strings if {
	doc := {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
	lib.document(doc) == doc
	lib.document(json.marshal(doc)) == doc
	not lib.document("(known after apply)")
	not lib.document("{not json")
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

test_every_action_patterns if {
	every a in ["*", "*:*", "**"] {
		lib.every_action(a)
	}
	not lib.every_action("s3:*")
	lib.every_action_of("iam:*", "iam")
	lib.every_action_of("IAM:*", "iam")
	lib.every_action_of("i*:*", "iam")
	lib.every_action_of("*", "kms")
	not lib.every_action_of("iam:Get*", "iam")
	not lib.every_action_of("s3:*", "iam")
}

test_every_resource_patterns if {
	lib.every_resource("*")
	lib.every_resource("arn:aws:*:*:*:*")
	lib.every_resource("arn:*:*:*:*:*")
	not lib.every_resource("arn:aws:s3:::bucket/*")
	lib.every_resource_of("arn:aws:iam::*:*", "iam")
	lib.every_resource_of("arn:aws:s3:::*", "s3")
	not lib.every_resource_of("arn:aws:iam::318273645501:role/*", "iam")
	not lib.every_resource_of("arn:aws:s3:::*", "iam")
}

test_admin_grants if {
	count(lib.admin_grants({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::one-bucket"})) == 1
	count(lib.admin_grants({"Effect": "Allow", "Action": ["s3:GetObject", "*:*"], "Resource": "*"})) == 1
	count(lib.admin_grants({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})) == 1
	count(lib.admin_grants({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})) == 1
	count(lib.admin_grants({"Effect": "Allow", "Action": "sts:*", "Resource": "arn:aws:*:*:*:*"})) == 1
	count(lib.admin_grants({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::318273645501:role/app-*"})) == 0
	count(lib.admin_grants({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})) == 0
	count(lib.admin_grants({"Effect": "Deny", "Action": "*", "Resource": "*"})) == 0
	count(lib.admin_grants({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"})) == 0
}

test_admin_managed_policies if {
	lib.admin_managed_policy("arn:aws:iam::aws:policy/AdministratorAccess")
	lib.admin_managed_policy("arn:aws:iam::aws:policy/PowerUserAccess")
	lib.admin_managed_policy("arn:aws-us-gov:iam::aws:policy/AdministratorAccess")
	not lib.admin_managed_policy("arn:aws:iam::aws:policy/ReadOnlyAccess")
	not lib.admin_managed_policy("arn:aws:iam::318273645501:policy/AdministratorAccess")
}

anyone := {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}

with_condition(c) := object.union(anyone, {"Condition": c})

test_trust_pinned_only_by_conditions_that_name_the_caller if {
	count(lib.open_trust(anyone)) == 1
	count(lib.open_trust(with_condition({}))) == 1
	count(lib.open_trust(with_condition({"Bool": {"aws:SecureTransport": "true"}}))) == 1
	count(lib.open_trust(with_condition({"StringLike": {"aws:PrincipalOrgID": "*"}}))) == 1
	count(lib.open_trust(with_condition({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-wer1example"}}))) == 1
	count(lib.open_trust(with_condition({"StringNotEquals": {"aws:PrincipalOrgID": "o-other"}}))) == 1
	count(lib.open_trust(with_condition({"StringEquals": {"aws:PrincipalOrgID": ["o-wer1example", "*"]}}))) == 1
	every c in [
		{"StringEquals": {"aws:PrincipalOrgID": "o-wer1example"}},
		{"StringEquals": {"AWS:PrincipalOrgId": "o-wer1example"}},
		{"StringEquals": {"sts:ExternalId": "wer1-partner"}},
		{"StringEquals": {"aws:SourceAccount": "318273645501"}},
		{"ArnLike": {"aws:SourceArn": "arn:aws:s3:::wer1-*"}},
	] {
		count(lib.open_trust(with_condition(c))) == 0
	}
}

oidc(condition) := {
	"Effect": "Allow",
	"Principal": {"Federated": "arn:aws:iam::318273645501:oidc-provider/token.actions.githubusercontent.com"},
	"Action": "sts:AssumeRoleWithWebIdentity",
	"Condition": condition,
}

test_web_identity_needs_a_sub_pin if {
	count(lib.open_trust(oidc({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}))) == 1
	count(lib.open_trust(oidc({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}))) == 1
	count(lib.open_trust(oidc({"StringLike": {"token.actions.githubusercontent.com:sub": "repo:wer1/infra:ref:refs/heads/main"}}))) == 0
}

test_not_principal_with_allow_is_open if {
	count(lib.open_trust({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::318273645501:root"}, "Action": "sts:AssumeRole"})) == 1
}

test_unknown_trust if {
	lib.unknown_trust({"Effect": "Allow", "Principal": {"AWS": "(known after apply)"}, "Action": "sts:AssumeRole"})
	not lib.unknown_trust({"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"})
}
