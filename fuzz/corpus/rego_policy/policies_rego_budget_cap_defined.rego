package tollgate.budget.cap_defined

import rego.v1

metadata := {
	"id": "TG-BUD-001",
	"title": "Every stack has a monthly budget cap with alert thresholds",
	"family": "budget",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"scope": "stack",
	"description": "Without a cap nobody is told when a stack's spend runs away; finance reviews each stack against its cap.",
	"rationale": "Spend without a limit has no alert and no owner asked to justify it; runaway costs (a forgotten cluster, a logging loop) are found on the monthly invoice instead of within a day.",
	"remediation": "Add \"budget\": {\"monthly_limit_usd\": N, \"alert_thresholds_pct\": [80, 100]} to the stack document.",
}

deny contains msg if {
	input.stack.budget == null
	msg := sprintf("stack %s has no budget", [input.stack.id])
}

deny contains msg if {
	input.stack.budget.monthly_limit_usd <= 0
	msg := sprintf("stack %s has a budget cap of %v USD", [input.stack.id, input.stack.budget.monthly_limit_usd])
}

deny contains msg if {
	input.stack.budget != null
	count(input.stack.budget.alert_thresholds_pct) == 0
	msg := sprintf("stack %s has a budget with no alert thresholds", [input.stack.id])
}
