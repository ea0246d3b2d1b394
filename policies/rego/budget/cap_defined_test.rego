package tollgate.budget.cap_defined_test

import data.tollgate.budget.cap_defined
import data.tollgate.lib_test as fx
import rego.v1

key := fx.resource(fx.prod_stack, "key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true})

# A stack rule's input: the stack's metadata and its resources.
with_budget(budget) := {"stack": object.union(fx.prod_stack, {"budget": budget}), "resources": [key]}

test_cap_with_thresholds_passes if {
	count(cap_defined.deny) == 0 with input as with_budget({"monthly_limit_usd": 1000, "alert_thresholds_pct": [80, 100]})
}

test_single_threshold_passes if {
	count(cap_defined.deny) == 0 with input as with_budget({"monthly_limit_usd": 5, "alert_thresholds_pct": [100]})
}

test_no_budget_denied if {
	cap_defined.deny == {"stack fixture has no budget"} with input as with_budget(null)
}

test_zero_cap_denied if {
	cap_defined.deny == {"stack fixture has a budget cap of 0 USD"} with input as with_budget({"monthly_limit_usd": 0, "alert_thresholds_pct": [80, 100]})
}

test_negative_cap_denied if {
	cap_defined.deny == {"stack fixture has a budget cap of -10 USD"} with input as with_budget({"monthly_limit_usd": -10, "alert_thresholds_pct": [80, 100]})
}

test_no_thresholds_denied if {
	cap_defined.deny == {"stack fixture has a budget with no alert thresholds"} with input as with_budget({"monthly_limit_usd": 1000, "alert_thresholds_pct": []})
}

test_zero_cap_and_no_thresholds_both_reported if {
	count(cap_defined.deny) == 2 with input as with_budget({"monthly_limit_usd": 0, "alert_thresholds_pct": []})
}
