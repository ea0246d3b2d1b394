package tollgate.logging.log_retention_test

import data.tollgate.lib_test as fx
import data.tollgate.logging.log_retention
import rego.v1

log_group(props) := fx.prod("logs", "aws_cloudwatch_log_group", object.union({"name": "/wer1/prod/fixture", "kms_key_id": "${key}"}, props))

test_retention_set_passes if {
	count(log_retention.deny) == 0 with input as log_group({"retention_in_days": 90})
	count(log_retention.deny) == 0 with input as log_group({"retention_in_days": 1})
}

test_no_retention_denied if {
	log_retention.deny == {"fixture/logs (aws_cloudwatch_log_group) keeps logs forever"} with input as log_group({})
}

# CloudWatch's 0 means "never expire".
test_zero_retention_denied if {
	log_retention.deny == {"fixture/logs (aws_cloudwatch_log_group) keeps logs forever"} with input as log_group({"retention_in_days": 0})
}

# A plan's "(known after apply)" might be 0 ("never expire"): the rule fails closed.
test_unknown_retention_denied if {
	log_retention.deny == {"fixture/logs (aws_cloudwatch_log_group) has no known retention (retention_in_days: (known after apply))"} with input as log_group({"retention_in_days": "(known after apply)"})
}
