package tollgate.tagging.environment

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-TAG-002",
	"title": "The environment tag equals the stack's environment",
	"family": "tagging",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"description": "A prod resource tagged dev is billed, alerted and cleaned up as dev. Environments are compared by meaning (Prod, PROD, production and prod are one environment); an empty tag is TG-TAG-001's. Closest Checkov check: none.",
	"rationale": "Automation keys on the environment tag (alerts, cleanup jobs, cost reports); a wrong value can page nobody when prod breaks, or let a cleanup job delete a prod resource.",
	"remediation": "Set tags.environment to the stack's environment.",
}

deny contains msg if {
	input.resource.taggable
	env := input.resource.tags.environment
	not lib.blank(env)
	# (Each call bound on its own: regorus 0.14 leaves `f(a) != f(b)` undefined.)
	tagged := lib.environment(env)
	stack_env := lib.environment(input.stack.environment)
	tagged != stack_env
	msg := sprintf("%s is tagged environment=%q in a %q stack", [lib.name, env, input.stack.environment])
}
