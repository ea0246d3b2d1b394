package tollgate.tagging.stack

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-TAG-003",
	"title": "The stack tag names the stack that owns the resource",
	"family": "tagging",
	"severity": "low",
	"enforcement": "soft-mandatory",
	"description": "Budgets filter cost by the stack tag; a wrong value moves the resource's cost into another stack's budget.",
	"rationale": "Budget alerts and per-stack cost reports depend on the stack tag; a wrong value hides spend from the stack that causes it and charges it to another.",
	"remediation": "Set tags.stack to the stack id.",
}

deny contains msg if {
	input.resource.taggable
	value := input.resource.tags.stack
	value != ""
	value != input.stack.id
	msg := sprintf("%s is tagged stack=%q but belongs to stack %q", [lib.name, value, input.stack.id])
}
