package tollgate.budget.aws_budget_exists_test

import data.tollgate.budget.aws_budget_exists
import data.tollgate.lib_test as fx
import rego.v1

# `input.stack` of a stack `id` with a cap of `cap` USD and alerts at `thresholds` percent.
meta(id, cap, thresholds) := object.union(fx.prod_stack, {
	"id": id,
	"repository": sprintf("aws-eu-west-1-prod-%s-main", [id]),
	"budget": {"monthly_limit_usd": cap, "alert_thresholds_pct": thresholds},
})

# An aws_budgets_budget for stack `id`, limited to `limit` USD (a string, as Terraform has it),
# notifying at `thresholds` percent.
budget(id, limit, thresholds) := {
	"id": sprintf("budget-%s", [id]),
	"type": "aws_budgets_budget",
	"taggable": true,
	"properties": {
		"name": sprintf("wer1-%s-monthly", [id]),
		"budget_type": "COST",
		"limit_amount": limit,
		"limit_unit": "USD",
		"time_unit": "MONTHLY",
		"cost_filter": [{"name": "TagKeyValue", "values": [sprintf("user:stack$%s", [id])]}],
		"notification": [{
			"comparison_operator": "GREATER_THAN",
			"threshold": t,
			"threshold_type": "PERCENTAGE",
			"notification_type": "ACTUAL",
			"subscriber_email_addresses": ["finance@wer1.example"],
		} |
			some t in thresholds
		],
	},
	"tags": {"owner": "finance", "environment": "prod", "cost-center": "cc-fin", "stack": "budgeting"},
	"depends_on": [],
	"usage": {},
}

key := fx.resource(fx.prod_stack, "key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true})

fixture := {"stack": meta("fixture", 100, [80, 100]), "resources": [key]}

# The estate's budgeting stack holding `budgets` (its own budget first).
budgeting(budgets) := {
	"stack": meta("budgeting", 5, [80, 100]),
	"resources": array.concat([budget("budgeting", "5", [80, 100])], budgets),
}

test_every_stack_covered_passes if {
	inp := {"stacks": [budgeting([budget("fixture", "100", [80, 100])]), fixture]}
	count(aws_budget_exists.deny) == 0 with input as inp
}

test_limit_as_a_decimal_string_passes if {
	inp := {"stacks": [budgeting([budget("fixture", "100.0", [80, 100])]), fixture]}
	count(aws_budget_exists.deny) == 0 with input as inp
}

# Checked without the stacks holding budgets, the rule has nothing to compare against.
test_no_budgets_in_the_estate_not_judged if {
	count(aws_budget_exists.deny) == 0 with input as {"stacks": [fixture]}
}

test_uncovered_stack_denied if {
	inp := {"stacks": [budgeting([]), fixture]}
	aws_budget_exists.deny == {{"stack": "fixture", "msg": "no aws_budgets_budget covers stack fixture"}} with input as inp
}

# A stack with no cap is TG-BUD-001's finding; there is nothing for a budget to enforce.
test_uncovered_stack_without_cap_not_judged if {
	no_cap := {"stack": object.union(fx.prod_stack, {"budget": null}), "resources": [key]}
	count(aws_budget_exists.deny) == 0 with input as {"stacks": [budgeting([]), no_cap]}
}

test_budget_filtered_on_another_dimension_does_not_cover if {
	by_service := object.union(budget("fixture", "100", [80, 100]), {"properties": {
		"cost_filter": [{"name": "Service", "values": ["Amazon Elastic Compute Cloud - Compute"]}],
	}})
	inp := {"stacks": [budgeting([by_service]), fixture]}
	aws_budget_exists.deny == {{"stack": "fixture", "msg": "no aws_budgets_budget covers stack fixture"}} with input as inp
}

test_limit_differs_from_cap_denied if {
	inp := {"stacks": [budgeting([budget("fixture", "50", [80, 100])]), fixture]}
	aws_budget_exists.deny == {{
		"stack": "fixture",
		"msg": "budget wer1-fixture-monthly limits 50 USD but stack fixture's cap is 100 USD",
	}} with input as inp
}

test_missing_threshold_denied if {
	inp := {"stacks": [budgeting([budget("fixture", "100", [80])]), fixture]}
	aws_budget_exists.deny == {{
		"stack": "fixture",
		"msg": "budget wer1-fixture-monthly has no notification at 100% for stack fixture",
	}} with input as inp
}

test_budget_without_notifications_denied_per_threshold if {
	b := budget("fixture", "100", [])
	silent := object.union(object.remove(b, ["properties"]), {"properties": object.remove(b.properties, ["notification"])})
	not silent.properties.notification
	inp := {"stacks": [budgeting([silent]), fixture]}
	aws_budget_exists.deny == {
		{"stack": "fixture", "msg": "budget wer1-fixture-monthly has no notification at 80% for stack fixture"},
		{"stack": "fixture", "msg": "budget wer1-fixture-monthly has no notification at 100% for stack fixture"},
	} with input as inp
}

# A budget for a stack that is not in this run judges nothing.
test_budget_for_a_stack_not_checked_ignored if {
	inp := {"stacks": [budgeting([budget("fixture", "100", [80, 100]), budget("elsewhere", "1", [])]), fixture]}
	count(aws_budget_exists.deny) == 0 with input as inp
}
