package tollgate.budget.under_cap_test

import data.tollgate.budget.under_cap
import data.tollgate.lib_test as fx
import rego.v1

worker := fx.resource(fx.prod_stack, "worker", "aws_instance", {
	"ami": "ami-0c1c30571d2dae5c9",
	"instance_type": "m6i.large",
	"associate_public_ip_address": false,
	"root_block_device": {"encrypted": true, "kms_key_id": "${key}", "volume_size": 20, "volume_type": "gp3"},
	"metadata_options": {"http_tokens": "required", "http_endpoint": "enabled"},
})

# A stack estimated at `estimate` USD/month with a cap of `cap` USD.
stack(cap, estimate) := {
	"stack": object.union(fx.prod_stack, {
		"budget": {"monthly_limit_usd": cap, "alert_thresholds_pct": [80, 100]},
		"estimated_monthly_cost_usd": estimate,
	}),
	"resources": [worker],
}

test_under_cap_passes if {
	count(under_cap.deny) == 0 with input as stack(100, 71.54)
}

test_exactly_at_cap_passes if {
	count(under_cap.deny) == 0 with input as stack(100, 100)
}

test_over_cap_denied if {
	under_cap.deny == {"stack fixture is estimated at 147 USD/month, over its cap of 100 USD"} with input as stack(100, 146.2)
}

# Whole dollars, rounded up: a cent over the cap is a dollar over it.
test_a_cent_over_cap_denied if {
	under_cap.deny == {"stack fixture is estimated at 101 USD/month, over its cap of 100 USD"} with input as stack(100, 100.01)
}

# A stack with no budget is TG-BUD-001's finding, not this rule's.
test_no_budget_is_not_judged if {
	inp := {"stack": object.union(fx.prod_stack, {"budget": null, "estimated_monthly_cost_usd": 5000}), "resources": [worker]}
	count(under_cap.deny) == 0 with input as inp
}

# A region without a price catalogue: the cost is not estimated, and the cap cannot be checked.
test_not_estimated_denied if {
	inp := {
		"stack": object.union(fx.prod_stack, {"region": "ap-south-2", "estimated_monthly_cost_usd": 0, "cost_estimated": false}),
		"resources": [worker],
	}
	under_cap.deny == {"stack fixture has no cost estimate (no price catalogue for region ap-south-2), so its cap of 1000 USD cannot be checked"} with input as inp
}

test_not_estimated_without_a_cap_passes if {
	inp := {
		"stack": object.union(fx.prod_stack, {"budget": null, "estimated_monthly_cost_usd": 0, "cost_estimated": false}),
		"resources": [worker],
	}
	count(under_cap.deny) == 0 with input as inp
}
