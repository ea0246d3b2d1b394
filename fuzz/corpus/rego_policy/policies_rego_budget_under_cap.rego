package tollgate.budget.under_cap

import rego.v1

metadata := {
	"id": "TG-BUD-002",
	"title": "A stack's estimated monthly cost stays under its cap",
	"family": "budget",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"scope": "stack",
	"description": "The estimate prices every resource from the catalogue in policies/data (on-demand, eu-west-1) and the usage the document gives. Whole dollars, rounded up, as Cedar sees them.",
	"rationale": "Catching an overrun at plan time, before anything is created, is cheaper than unwinding resources after the bill arrives, and it makes raising a cap a deliberate, reviewed change.",
	"remediation": "Right-size the resources, or have finance raise the stack's budget.monthly_limit_usd.",
}

deny contains msg if {
	cap := input.stack.budget.monthly_limit_usd
	estimate := ceil(input.stack.estimated_monthly_cost_usd)
	estimate > cap
	msg := sprintf("stack %s is estimated at %v USD/month, over its cap of %v USD", [input.stack.id, estimate, cap])
}
