# Helpers shared by the default rules. A package with no `metadata` and no `deny` is a library.
package tollgate.lib

import rego.v1

props := input.resource.properties

is_prod if input.stack.environment == "prod"

# The resource's display name for messages: `stack/id (type)`.
name := sprintf("%s/%s (%s)", [input.stack.id, input.resource.id, input.resource.type])

# A port range covers `port` (-1 or protocol "-1" means every port).
covers_port(rule, port) if {
	rule.from_port <= port
	port <= rule.to_port
}

covers_port(rule, _) if rule.protocol == "-1"

covers_port(rule, _) if rule.from_port == -1

# A port not known until apply might be any port: the rule is taken to cover it (fail closed).
covers_port(rule, _) if not is_number(rule.from_port)

covers_port(rule, _) if not is_number(rule.to_port)

# Sources that mean "anywhere".
open_cidrs := {"0.0.0.0/0", "::/0"}

open_sources(rule) := {c | some c in object.get(rule, "cidr_blocks", [])} | {c | some c in object.get(rule, "ipv6_cidr_blocks", [])}

# Every statement of an IAM policy document (a single statement object or a list).
statements(doc) := [doc.Statement] if is_object(doc.Statement)

statements(doc) := doc.Statement if is_array(doc.Statement)

as_list(x) := [x] if not is_array(x)

as_list(x) := x if is_array(x)
