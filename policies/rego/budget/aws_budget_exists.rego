package tollgate.budget.aws_budget_exists

import rego.v1

metadata := {
	"id": "TG-BUD-003",
	"title": "An AWS budget with alerts exists for every stack",
	"family": "budget",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"scope": "estate",
	"description": "The cap in the stack document is enforced by an aws_budgets_budget filtered on the stack's cost tag, limited to the cap, with a notification per alert threshold. Judged when the stacks holding budgets are checked with the others.",
	"remediation": "Add an aws_budgets_budget to the budgeting stack with cost_filter TagKeyValue user:stack$<stack>, limit_amount equal to the cap and one notification per threshold.",
}

budgets := [b |
	some s in input.stacks
	some r in s.resources
	r.type == "aws_budgets_budget"
	b := r
]

covers(b, stack_id) if {
	some f in object.get(b.properties, "cost_filter", [])
	f.name == "TagKeyValue"
	sprintf("user:stack$%s", [stack_id]) in f.values
}

thresholds(b) := {n.threshold | some n in object.get(b.properties, "notification", [])}

deny contains finding if {
	count(budgets) > 0
	some s in input.stacks
	s.stack.budget != null
	not any_covers(s.stack.id)
	finding := {"stack": s.stack.id, "msg": sprintf("no aws_budgets_budget covers stack %s", [s.stack.id])}
}

any_covers(stack_id) if {
	some b in budgets
	covers(b, stack_id)
}

deny contains finding if {
	some s in input.stacks
	some b in budgets
	covers(b, s.stack.id)
	to_number(b.properties.limit_amount) != s.stack.budget.monthly_limit_usd
	finding := {"stack": s.stack.id, "msg": sprintf("budget %s limits %s USD but stack %s's cap is %v USD", [b.properties.name, b.properties.limit_amount, s.stack.id, s.stack.budget.monthly_limit_usd])}
}

deny contains finding if {
	some s in input.stacks
	some b in budgets
	covers(b, s.stack.id)
	some t in s.stack.budget.alert_thresholds_pct
	not t in thresholds(b)
	finding := {"stack": s.stack.id, "msg": sprintf("budget %s has no notification at %v%% for stack %s", [b.properties.name, t, s.stack.id])}
}
