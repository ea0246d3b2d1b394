package tollgate.tagging.environment

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-TAG-002",
	"title": "The environment tag equals the stack's environment",
	"family": "tagging",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"description": "A prod resource tagged dev is billed, alerted and cleaned up as dev.",
	"rationale": "Automation keys on the environment tag (alerts, cleanup jobs, cost reports); a wrong value can page nobody when prod breaks, or let a cleanup job delete a prod resource.",
	"remediation": "Set tags.environment to the stack's environment.",
}

deny contains msg if {
	input.resource.taggable
	env := input.resource.tags.environment
	env != ""
	env != input.stack.environment
	msg := sprintf("%s is tagged environment=%q in a %q stack", [lib.name, env, input.stack.environment])
}
