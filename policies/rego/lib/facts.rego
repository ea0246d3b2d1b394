# Derived facts: the helper library's notions, computed once per resource and per stack, which
# the engine attaches to Cedar entities as their `facts` record. So a Cedar guardrail reads
# `resource.facts.world_open` or `context.stack.facts.prod` instead of re-deriving (or
# re-spelling) what the Rego rules mean.
#
# The engine evaluates `stack` with `input.stack`, and `resource` with `input.resource` and
# `input.stack` (as the rules see them), for the stack and for every resource whose type has
# facts. The shape of each record — which facts, of which Cedar type, for which type — is
# declared once, in engine/registry/facts.json; the engine checks every record against it (a
# fact missing or of the wrong type is an evaluation error that fails closed) and puts it in the
# generated Cedar schema, so Cedar validation catches a misspelt fact.
package tollgate.facts

import data.tollgate.lib
import rego.v1

stack := {
	"environment": lib.environment(input.stack.environment),
	"prod": prod,
}

default prod := false

prod if lib.is_prod

# The record of `input.resource`: the tag facts for taggable types, and its type's facts.
resource := object.union(tag_facts_if_taggable, type_facts)

tag_facts_if_taggable := tag_facts if input.resource.taggable

default tag_facts_if_taggable := {}

tag_facts := {
	"present_tags": [k | some k, v in input.resource.tags; not lib.blank(v)],
	"environment_tag": environment_tag,
}

default environment_tag := ""

environment_tag := lib.environment(input.resource.tags.environment) if not lib.blank(object.get(input.resource.tags, "environment", ""))

resource_type := input.resource.type

default type_facts := {}

type_facts := {
	"world_open": count(lib.open_to_world(lib.ingress_rules)) > 0,
	"world_open_beyond_edge_https": count(lib.open_to_world(lib.world_judged_rules)) > 0,
	"invalid_sources": count(invalid_sources) > 0,
	"ssh_outside_vpn": ssh_outside_vpn,
	"ssh_from_other_groups": ssh_from_other_groups,
	"unknown_ingress": count(lib.unknown_ingress) > 0,
} if resource_type == "aws_security_group"

type_facts := iam_facts if resource_type in {
	"aws_iam_policy", "aws_iam_user", "aws_organizations_policy",
	"aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy",
	"aws_vpc_endpoint", "aws_api_gateway_rest_api", "aws_secretsmanager_secret",
}

type_facts := object.union(iam_facts, trust_facts) if resource_type == "aws_iam_role"

type_facts := {"grants_admin": managed_admin} if resource_type in {"aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment"}

type_facts := {
	"customer_managed_key": s3_customer_managed_key,
	"unknown_encryption": s3_unknown_encryption,
} if resource_type == "aws_s3_bucket"

type_facts := {"customer_managed_key": rds_customer_managed_key} if resource_type in {"aws_rds_cluster", "aws_db_instance", "aws_docdb_cluster"}

type_facts := {"unknown_public_ip": unknown_public_ip} if resource_type == "aws_instance"

default managed_admin := false

managed_admin if lib.admin_managed_policy(object.get(lib.props, "policy_arn", ""))

default rds_customer_managed_key := false

rds_customer_managed_key if lib.customer_managed_key(object.get(lib.props, "kms_key_id", ""))

default unknown_public_ip := false

unknown_public_ip if lib.unknown(object.get(lib.props, "associate_public_ip_address", false))

invalid_sources contains c if {
	some rule in lib.world_judged_rules
	some c in lib.sources(rule)
	lib.invalid_source(c)
}

default ssh_outside_vpn := false

ssh_outside_vpn if {
	some rule in lib.ssh_rules
	some c in lib.sources(rule)
	not lib.unknown(c)
	not lib.inside_any(c, data.config.network.vpn_client_cidrs)
}

default ssh_from_other_groups := false

ssh_from_other_groups if {
	some rule in lib.ssh_rules
	some sg in object.get(rule, "security_groups", [])
	not lib.unknown(sg)
	not lib.ssh_source_group(sg)
}

statements contains st if {
	some [_, raw] in lib.policy_documents
	some st in lib.statements(lib.document(raw))
}

default grants_admin := false

grants_admin if {
	some st in statements
	count(lib.admin_grants(st)) > 0
}

# A role's or user's policies attached by ARN (CloudFormation's ManagedPolicyArns, Terraform's
# managed_policy_arns).
grants_admin if {
	some arn in lib.managed_policy_arns
	lib.admin_managed_policy(arn)
}

default grants_sensitive_wildcard := false

grants_sensitive_wildcard if {
	some st in statements
	count(lib.service_grants(st, lib.sensitive_services)) > 0
}

default unknown_grants := false

unknown_grants if {
	some [_, raw] in lib.policy_documents
	lib.unknown(raw)
}

unknown_grants if {
	some st in statements
	lib.unknown_statement(st)
}

unknown_grants if {
	some arn in lib.managed_policy_arns
	lib.unknown(arn)
}

iam_facts := {
	"grants_admin": grants_admin,
	"grants_sensitive_wildcard": grants_sensitive_wildcard,
	"unknown_grants": unknown_grants,
}

attachment_facts := {"grants_admin": lib.admin_managed_policy(object.get(lib.props, "policy_arn", ""))}

trust_statements := lib.statements(lib.document(lib.props.assume_role_policy))

default open_trust := false

open_trust if {
	some st in trust_statements
	count(lib.open_trust(st)) > 0
}

default unknown_trust := false

unknown_trust if lib.unknown(lib.props.assume_role_policy)

unknown_trust if {
	some st in trust_statements
	lib.unknown_trust(st)
}

trust_facts := {"open_trust": open_trust, "unknown_trust": unknown_trust}

default s3_customer_managed_key := false

s3_customer_managed_key if lib.s3_customer_managed_key

default s3_unknown_encryption := false

s3_unknown_encryption if lib.s3_unknown_encryption
