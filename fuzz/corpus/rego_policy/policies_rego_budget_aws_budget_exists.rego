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
	"rationale": "A cap written only in a stack document alerts nobody: the AWS budget is what tells finance and the owner that actual or forecast spend crossed a threshold, days before the invoice does.",
	"remediation": "Add an aws_budgets_budget to the budgeting stack with cost_filter TagKeyValue user:stack$<stack>, limit_amount equal to the cap and one notification per threshold.",
}

tag_prefix := "user:stack$"

# [stack id, budget] for every budget and every stack its cost filter names. Built once; the
# checks below look stacks up by id, so the rule is linear in the estate's size.
coverage contains [stack_id, b] if {
	some s in input.stacks
	some b in s.resources
	b.type == "aws_budgets_budget"
	some f in object.get(b.properties, "cost_filter", [])
	f.name == "TagKeyValue"
	some v in f.values
	startswith(v, tag_prefix)
	stack_id := substring(v, count(tag_prefix), -1)
}

covered := {stack_id | some [stack_id, _] in coverage}

stacks := {s.stack.id: s.stack | some s in input.stacks}

deny contains finding if {
	count(coverage) > 0
	some id, stack in stacks
	stack.budget != null
	not id in covered
	finding := {"stack": id, "msg": sprintf("no aws_budgets_budget covers stack %s", [id])}
}

deny contains finding if {
	some [id, b] in coverage
	stack := stacks[id]
	to_number(b.properties.limit_amount) != stack.budget.monthly_limit_usd
	finding := {"stack": id, "msg": sprintf("budget %s limits %s USD but stack %s's cap is %v USD", [b.properties.name, b.properties.limit_amount, id, stack.budget.monthly_limit_usd])}
}

deny contains finding if {
	some [id, b] in coverage
	stack := stacks[id]
	thresholds := {n.threshold | some n in object.get(b.properties, "notification", [])}
	some t in stack.budget.alert_thresholds_pct
	not t in thresholds
	finding := {"stack": id, "msg": sprintf("budget %s has no notification at %v%% for stack %s", [b.properties.name, t, id])}
}
