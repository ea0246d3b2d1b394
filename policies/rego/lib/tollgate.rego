# Helpers shared by the default rules. A package with no `metadata` and no `deny` is a library.
#
# Every notion the rules judge by is written here once: what "open to the world" means for a set
# of address ranges, what a protocol or a port range admits, what an IAM statement grants, what
# pins a trust policy to a principal, which environment a name means, which keys are
# customer-managed, what an empty tag is, and which values are only known at apply. Cedar sees
# the same notions as derived facts, computed from these functions by `data.tollgate.facts`
# (facts.rego) and attached to each entity as its `facts` record. docs/rules.md lists them.
package tollgate.lib

import rego.v1

props := input.resource.properties

# The resource's display name for messages: `stack/id (type)`.
name := sprintf("%s/%s (%s)", [input.stack.id, input.resource.id, input.resource.type])

as_list(x) := [x] if not is_array(x)

as_list(x) := x if is_array(x)

# --- Values only known at apply --------------------------------------------------------------

# The importers' markers (engine/src/import/mod.rs): a value Terraform or CloudFormation only
# knows at apply, and a value the plan hides as sensitive.
unknown_markers := {"(known after apply)", "(sensitive value)"}

# `v` is not judgeable now: it is only known at apply (or hidden as sensitive).
unknown(v) if {
	is_string(v)
	v in unknown_markers
}

# Some value inside `v` (or `v` itself) is not judgeable now.
unknown_within(v) if {
	text := json.marshal(v)
	some m in unknown_markers
	contains(text, json.marshal(m))
}

# --- Empty values ----------------------------------------------------------------------------

# A string of only whitespace or zero-width characters (ZWSP, ZWNJ, ZWJ, word joiner, BOM,
# Mongolian vowel separator) says nothing: it is empty. Absent and null are empty too.
blank(v) if v == null

blank(v) if {
	is_string(v)
	regex.match(`^[\s\x{200B}\x{200C}\x{200D}\x{2060}\x{FEFF}\x{180E}]*$`, v)
}

# --- Environments ----------------------------------------------------------------------------

# Spellings of each environment, after trimming and lower-casing.
environment_aliases := {
	"prod": "prod", "production": "prod", "prd": "prod", "live": "prod",
	"staging": "staging", "stage": "staging", "stg": "staging", "preprod": "staging",
	"dev": "dev", "development": "dev",
	"test": "test", "testing": "test", "qa": "test",
	"sandbox": "sandbox", "sbx": "sandbox",
}

# The environment a name means: `Prod`, ` production `, `PROD` are `prod`. A name that is not
# one of the spellings above is kept (trimmed, lower-cased) and judged as prod (see is_prod).
environment(raw) := object.get(environment_aliases, key, key) if {
	key := lower(trim_space(sprintf("%v", [raw])))
}

# Prod-only rules and permits judge a stack as prod when its environment means prod, and also
# when it is a name Tollgate does not recognise (or unknown): the strict way.
prod_environment(raw) if environment(raw) == "prod"

prod_environment(raw) if not environment(raw) in environment_names

environment_names := {v | some v in environment_aliases}

is_prod if prod_environment(input.stack.environment)

# --- KMS keys ---------------------------------------------------------------------------------

# An AWS-managed key: `alias/aws/s3`, or its ARN form. It does not satisfy a
# customer-managed-key rule: its key policy cannot be narrowed and it cannot be disabled.
aws_managed_key(k) if {
	is_string(k)
	regex.match(`(^|:)alias/aws/`, k)
}

# A key reference that names a customer-managed key: set, not blank, not AWS-managed. A key
# only known at apply is a key the same plan creates (AWS-managed keys are fixed names, known
# when planning), so it counts as customer-managed.
customer_managed_key(k) if {
	is_string(k)
	not blank(k)
	not aws_managed_key(k)
}

# The bucket's default encryption is SSE-KMS with a customer-managed key.
s3_sse_raw := object.get(props, "server_side_encryption", {})

s3_sse := s3_sse_raw if is_object(s3_sse_raw)

s3_sse := {} if not is_object(s3_sse_raw)

s3_customer_managed_key if {
	s3_sse.sse_algorithm in {"aws:kms", "aws:kms:dsse"}
	customer_managed_key(s3_sse.kms_key_id)
}

# The bucket's default encryption algorithm is only known at apply.
s3_unknown_encryption if unknown(s3_sse_raw)

s3_unknown_encryption if unknown(s3_sse.sse_algorithm)

# --- Address ranges ---------------------------------------------------------------------------

bits_of := {"ipv4": 32, "ipv6": 128}

# The address ranges a rule admits: its IPv4 and IPv6 CIDR blocks.
sources(rule) := {c |
	some key in ["cidr_blocks", "ipv6_cidr_blocks"]
	some c in as_list(object.get(rule, key, []))
	is_string(c)
}

# A block Tollgate can reason about: a valid CIDR, with a prefix written as a plain number.
valid_cidr(c) if {
	is_string(c)
	not unknown(c)
	net.cidr_is_valid(c)
	regex.match(`/(0|[1-9][0-9]{0,2})$`, c)
}

# A source that is neither unknown nor a valid CIDR (AWS would refuse it; Tollgate cannot judge
# what it admits).
invalid_source(c) if {
	not unknown(c)
	not valid_cidr(c)
}

family(c) := "ipv6" if contains(c, ":")

family(c) := "ipv4" if not contains(c, ":")

prefix_length(c) := to_number(split(c, "/")[1])

# The blocks of `cs` no other block contains, one of each group of equal blocks (`::/0`,
# `0::/0` and `::0/0` are one block; so are `10.0.0.0/8` and `10.1.2.3/8`, host bits set).
outermost(cs) := {c |
	some c in cs
	valid_cidr(c)
	not strictly_inside(c, cs)
	not equal_to_a_smaller_name(c, cs)
}

strictly_inside(c, cs) if {
	some o in cs
	o != c
	valid_cidr(o)
	net.cidr_contains(o, c)
	not net.cidr_contains(c, o)
}

equal_to_a_smaller_name(c, cs) if {
	some o in cs
	o < c
	valid_cidr(o)
	net.cidr_contains(o, c)
	net.cidr_contains(c, o)
}

# The blocks in `cs` together cover every address of family `fam` (the whole IPv4 or IPv6
# internet): `0.0.0.0/0`, `0.0.0.0/1` + `128.0.0.0/1`, `::/0`, `0::/0`, any long form. The
# outermost blocks are disjoint, so they cover the space exactly when their sizes add up to it.
covers_internet(cs, fam) if {
	blocks := [c | some c in outermost(cs); family(c) == fam]
	count(blocks) > 0
	sizes := [bits.lsh(1, bits_of[fam] - prefix_length(c)) | some c in blocks]
	sum(sizes) == bits.lsh(1, bits_of[fam])
}

# Every block of `cs` lies inside one of the ranges `allowed`.
inside_any(c, allowed) if {
	valid_cidr(c)
	some a in allowed
	net.cidr_contains(a, c)
}

# --- Protocols and ports ----------------------------------------------------------------------

# What AWS means by each spelling of a protocol: `-1`, `all`, `ALL` are every protocol; numbers
# are IANA protocol numbers (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6). Others are kept as written.
protocol_names := {
	"-1": "all", "all": "all",
	"6": "tcp", "tcp": "tcp",
	"17": "udp", "udp": "udp",
	"1": "icmp", "icmp": "icmp",
	"58": "icmpv6", "icmpv6": "icmpv6",
}

protocol_key(rule) := lower(trim_space(sprintf("%v", [object.get(rule, "protocol", "-1")])))

# A rule's protocol, normalised. A protocol not known until apply could be any: `all`.
protocol(rule) := protocol_names[protocol_key(rule)]

protocol(rule) := "all" if unknown(object.get(rule, "protocol", "-1"))

protocol(rule) := key if {
	key := protocol_key(rule)
	not protocol_names[key]
	not unknown(object.get(rule, "protocol", "-1"))
}

has_ports(rule) if protocol(rule) in {"tcp", "udp"}

# The ports a rule opens, [from, to]. Every port for protocols without ports (all, ICMP, …), for
# `-1` in either bound, and for a bound not known until apply (it might be any port).
port_range(rule) := [0, 65535] if not has_ports(rule)

port_range(rule) := [0, 65535] if {
	has_ports(rule)
	some b in [object.get(rule, "from_port", null), object.get(rule, "to_port", null)]
	not port_number(b)
}

port_range(rule) := [rule.from_port, rule.to_port] if {
	has_ports(rule)
	port_number(rule.from_port)
	port_number(rule.to_port)
}

port_number(b) if {
	is_number(b)
	b >= 0
}

# The rule admits traffic of protocol `proto` on `port` (`port` -1: protocols without ports).
admits(rule, proto, port) if {
	protocol(rule) == "all"
}

admits(rule, proto, port) if {
	protocol(rule) == proto
	not has_ports(rule)
}

admits(rule, proto, port) if {
	protocol(rule) == proto
	has_ports(rule)
	[lo, hi] := port_range(rule)
	lo <= port
	port <= hi
}

# Kept for rules written against the old helper: the rule admits TCP `port`.
covers_port(rule, port) if admits(rule, "tcp", port)

# HTTPS only: TCP (however spelt: tcp, TCP, 6) on port 443 and nothing else.
https_only(rule) if {
	protocol(rule) == "tcp"
	port_range(rule) == [443, 443]
}

# The resource is one of the load balancers' edge security groups, which may take HTTPS from
# anywhere (data.config.network.edge_security_groups, as `stack/id`).
edge_security_group(stack, resource) if sprintf("%s/%s", [stack.id, resource.id]) in data.config.network.edge_security_groups

# The ingress rules of the resource (a security group), index → rule; rules only known at
# apply are left to `unknown_ingress`.
ingress_rules := {i: rule | some i, rule in as_list(object.get(props, "ingress", [])); is_object(rule)}

# Ingress rules TG-NET-001 judges: all of them, except HTTPS at an edge security group.
world_judged_rules := {i: rule | some i, rule in ingress_rules; not edge_https(rule)}

edge_https(rule) if {
	edge_security_group(input.stack, input.resource)
	https_only(rule)
}

# Ingress rules that admit SSH: TCP (or every protocol) with a port range holding 22.
ssh_rules := {i: rule | some i, rule in ingress_rules; admits(rule, "tcp", 22)}

# A security group SSH may come from (data.config.network.ssh_source_security_groups); inside
# the bastion stack its own group is written without the stack prefix.
ssh_source_group(sg) if sg in data.config.network.ssh_source_security_groups

ssh_source_group(sg) if sprintf("${%s.%s}", [input.stack.id, trim_suffix(trim_prefix(sg, "${"), "}")]) in data.config.network.ssh_source_security_groups

# Where the resource's ingress is only known at apply, in words.
unknown_ingress contains sprintf("ingress[%d] is only known at apply", [i]) if {
	ingress := object.get(props, "ingress", [])
	is_array(ingress)
	some i, rule in ingress
	unknown(rule)
}

unknown_ingress contains "ingress is only known at apply" if unknown(object.get(props, "ingress", []))

# Only address ranges: a security group source, known or not, is never the whole internet (who
# may reach SSH through one is TG-NET-002's question, judged there).
unknown_ingress contains sprintf("ingress[%d].%s is only known at apply", [i, key]) if {
	some i, rule in ingress_rules
	some key in ["cidr_blocks", "ipv6_cidr_blocks"]
	some v in as_list(object.get(rule, key, []))
	unknown(v)
}

# Where some of `rules` (index → rule) together admit the whole IPv4 or IPv6 internet. Each is
# `[indices, family, span]`: the rules to change (one that is open alone is named alone), the
# address family (`IPv4`, `IPv6`) and where (`tcp 22-22`, `all protocols`). The places tried are
# each rule's protocol and lowest port: the set of rules admitting a port only grows towards the
# lowest port some rule starts at, so no open place is missed.
open_to_world(rules) := {[culprits, family_names[fam], span] |
	some [proto, port] in candidates(rules)
	admitting := {i | some i, r in rules; admits(r, proto, port)}
	some fam in ["ipv4", "ipv6"]
	covers_internet({c | some i in admitting; some c in sources(rules[i])}, fam)
	culprits := blame(rules, admitting, fam)
	span := describe_span(proto, port, {port_range(rules[i])[1] | some i in admitting})
}

family_names := {"ipv4": "IPv4", "ipv6": "IPv6"}

candidates(rules) := {[protocol(r), port_range(r)[0]] | some r in rules; has_ports(r)} | {[protocol(r), -1] | some r in rules; not has_ports(r)}

describe_span("all", -1, _) := "all protocols, all ports"

describe_span(proto, -1, _) := proto if proto != "all"

describe_span(proto, port, ends) := sprintf("%s %d-%d", [proto, port, min(ends)]) if port != -1

# The rules open to the world on their own, or else all the rules that are open together.
blame(rules, admitting, fam) := alone if {
	alone := {i | some i in admitting; covers_internet(sources(rules[i]), fam)}
	count(alone) > 0
}

blame(rules, admitting, fam) := admitting if {
	not any_alone(rules, admitting, fam)
}

any_alone(rules, admitting, fam) if {
	some i in admitting
	covers_internet(sources(rules[i]), fam)
}

# --- IAM policy documents ---------------------------------------------------------------------

# The IAM policy documents a resource holds, as [place, value as written]: a managed policy's
# `policy`, an SCP's `content`, a role's inline policies.
policy_documents contains ["policy", props.policy] if props.policy != null

policy_documents contains ["content", props.content] if props.content != null

policy_documents contains [sprintf("inline_policy[%d]", [i]), p.policy] if {
	some i, p in object.get(props, "inline_policy", [])
	is_object(p)
	p.policy != null
}

# A policy document as an object. Documents reach the rules as objects (the loader parses JSON
# strings); a string that still arrives is parsed here, so both forms are judged alike.
document(v) := v if is_object(v)

document(v) := json.unmarshal(v) if {
	is_string(v)
	not unknown(v)
	json.is_valid(v)
}

# Every statement of an IAM policy document (a single statement object or a list).
statements(doc) := [doc.Statement] if is_object(doc.Statement)

statements(doc) := doc.Statement if is_array(doc.Statement)

allows(st) if st.Effect == "Allow"

# An action pattern that matches every action: `*`, `*:*` (and `**`, `*:**`).
every_action(a) if {
	is_string(a)
	regex.match(`^\*+(:\*+)?$`, a)
}

# An action pattern that matches every action of service `svc`: `iam:*`, `IAM:*`, `i*:*`, `*`.
every_action_of(a, svc) if every_action(a)

every_action_of(a, svc) if {
	is_string(a)
	parts := split(lower(a), ":")
	count(parts) == 2
	regex.match(`^\*+$`, parts[1])
	glob.match(parts[0], [], svc)
}

# A resource pattern that matches every resource: `*`, `arn:aws:*:*:*:*` and the like.
every_resource(r) if r == "*"

every_resource(r) if {
	is_string(r)
	regex.match(`^arn:(\*|aws[a-z-]*):\*+:\*+:\*+:\*+$`, r)
}

# A resource pattern that matches every resource of service `svc` (`arn:aws:iam::*:*`).
every_resource_of(r, svc) if every_resource(r)

every_resource_of(r, svc) if {
	is_string(r)
	parts := regex.find_all_string_submatch_n(`^arn:(?:\*|aws[a-z-]*):([^:]*):\**:\**:\*+$`, r, 1)
	count(parts) == 1
	glob.match(lower(parts[0][1]), [], svc)
}

# The statement's resources; `NotResource` with Allow grants (nearly) every resource.
statement_resources(st) := as_list(st.Resource) if not st.NotResource

statement_resources(st) := ["*"] if st.NotResource

# Services whose every action, on every resource, is administrator access by another name
# (iam: grant yourself anything; sts: assume any role that trusts the account; organizations:
# rewrite the guardrails): TG-IAM-001. Services that hold data and keys (s3, kms, …): TG-IAM-003.
# Both lists are data (policies/data/iam.json); docs/rules.md says why each service is there.
admin_services := {s | some s in data.config.iam.admin_equivalent_services}

sensitive_services := {s | some s in data.config.iam.sensitive_services}

# What an Allow statement grants that amounts to administrator access (TG-IAM-001), in words;
# empty for other statements.
admin_grants(st) := {g |
	allows(st)
	some a in as_list(object.get(st, "Action", []))
	every_action(a)
	g := sprintf("every action (%q)", [a])
} | {g |
	allows(st)
	st.NotAction
	g := sprintf("every action except %v (NotAction)", [st.NotAction])
} | service_grants(st, admin_services)

# Every action of one of `services` on every resource of it, in words.
service_grants(st, services) := {g |
	allows(st)
	some a in as_list(object.get(st, "Action", []))
	not every_action(a)
	some svc in services
	every_action_of(a, svc)
	some r in statement_resources(st)
	every_resource_of(r, svc)
	g := sprintf("every %s action (%q) on every resource (%q)", [svc, a, r])
}

# A statement TG-IAM-001 cannot judge: what is only known at apply could decide whether it grants
# administrator access. Its actions (or NotAction) unknown; its effect unknown while its actions
# could be admin; its resources unknown while an action is every action of an admin-equivalent
# service (`iam:*` is admin only on every resource). `s3:GetBucketAcl` on an unknown bucket is
# never admin, whatever the bucket: judged, not unknown.
unknown_statement(st) if {
	not st.Effect == "Deny"
	some key in ["Action", "NotAction"]
	unknown_within(object.get(st, key, null))
}

unknown_statement(st) if {
	unknown_within(object.get(st, "Effect", null))
	could_grant_admin(st)
}

unknown_statement(st) if {
	not st.Effect == "Deny"
	some key in ["Resource", "NotResource"]
	unknown_within(object.get(st, key, null))
	some a in as_list(object.get(st, "Action", []))
	not every_action(a)
	some svc in admin_services
	every_action_of(a, svc)
}

# Its actions alone could make the statement administrator access (with Allow, on some resource).
could_grant_admin(st) if {
	some a in as_list(object.get(st, "Action", []))
	some svc in admin_services
	every_action_of(a, svc)
}

could_grant_admin(st) if st.NotAction

# The policies a role or user attaches by ARN (CloudFormation's ManagedPolicyArns, Terraform's
# managed_policy_arns): a list, or one value (a whole list only known at apply is one unknown).
managed_policy_arns := as_list(v) if {
	v := object.get(props, "managed_policy_arns", null)
	v != null
}

managed_policy_arns := [] if object.get(props, "managed_policy_arns", null) == null

# AWS-managed policies that grant administrator-level access when attached.
admin_managed_policy(arn) if {
	is_string(arn)
	regex.match(`^arn:aws[a-z-]*:iam::aws:policy/(.+/)?(AdministratorAccess|PowerUserAccess)$`, arn)
}

# --- Trust policies ---------------------------------------------------------------------------

# A principal that is anyone: `*`, {"AWS": "*"} (or a list holding "*").
any_principal(p) if p == "*"

any_principal(p) if {
	is_object(p)
	some x in as_list(object.get(p, "AWS", []))
	x == "*"
}

# Condition keys whose value says who the caller is (keys are case-insensitive).
pinning_keys := {
	"aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn",
	"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "sts:externalid",
}

# Operators that require the key to be present and to match. `…IfExists`, the negated
# operators and `ForAllValues:` pass when the key is absent: they pin nobody.
pinning_operators := {
	"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike",
	"foranyvalue:stringequals", "foranyvalue:stringequalsignorecase", "foranyvalue:stringlike",
}

# A value that narrows: not only wildcards, and not every GitHub repository (`repo:*`).
pinning_value(v) if {
	is_string(v)
	not unknown(v)
	not regex.match(`^[*?]*$`, v)
	not regex.match(`^repo:[*?]`, v)
}

# Every value the condition block allows for `key` narrows.
pins_key(block, key) if {
	values := as_list(block[key])
	count(values) > 0
	every v in values {
		pinning_value(v)
	}
}

# The statement's Condition pins the caller through one of `keys` (lower-case), or through a
# key ending in one of `suffixes` (`:sub` for OIDC providers).
pinned(st, keys, suffixes) if {
	some op, block in object.get(st, "Condition", {})
	lower(op) in pinning_operators
	some key, _ in block
	pinning_key(lower(key), keys, suffixes)
	pins_key(block, key)
}

pinning_key(k, keys, _) if k in keys

pinning_key(k, _, suffixes) if {
	some s in suffixes
	endswith(k, s)
}

# A web-identity (OIDC) statement: a Federated principal assumed with AssumeRoleWithWebIdentity.
web_identity(st) if {
	is_object(st.Principal)
	st.Principal.Federated
	some a in as_list(object.get(st, "Action", []))
	lower(a) in {"sts:assumerolewithwebidentity", "sts:*", "*"}
}

# Why an Allow statement of a trust policy lets anyone assume the role, in words (empty when
# it does not).
open_trust(st) := {w |
	allows(st)
	any_principal(st.Principal)
	not pinned(st, pinning_keys, set())
	w := "any principal (\"*\") with no condition naming the caller's organisation, account, source or external id"
} | {w |
	allows(st)
	st.NotPrincipal
	w := "every principal but those in NotPrincipal"
} | {w |
	allows(st)
	web_identity(st)
	not pinned(st, set(), {":sub", "cognito-identity.amazonaws.com:aud"})
	w := "any identity of the web-identity provider (no condition pins its `sub`)"
}

# A trust statement TG-IAM-002 cannot judge: who may assume it is only known at apply. A
# principal only known at apply (but a `Service`: a service is never "anyone"), or an effect or
# condition only known at apply on a principal that could be anyone (`*`, NotPrincipal, a
# web-identity provider). `Service: !Sub "${Name}.amazonaws.com"` is judged, not unknown.
unknown_trust(st) if {
	not st.Effect == "Deny"
	unknown_principal(st)
}

unknown_trust(st) if {
	not st.Effect == "Deny"
	some key in ["Effect", "Condition"]
	unknown_within(object.get(st, key, null))
	principal_could_be_anyone(st)
}

unknown_principal(st) if unknown(st.Principal)

unknown_principal(st) if {
	is_object(st.Principal)
	some kind, v in st.Principal
	kind != "Service"
	unknown_within(v)
}

unknown_principal(st) if unknown_within(object.get(st, "NotPrincipal", null))

principal_could_be_anyone(st) if any_principal(st.Principal)

principal_could_be_anyone(st) if st.NotPrincipal

principal_could_be_anyone(st) if web_identity(st)

principal_could_be_anyone(st) if unknown_principal(st)
