package tollgate.encryption.messaging_logs_test

import data.tollgate.encryption.messaging_logs
import data.tollgate.lib_test as fx
import rego.v1

test_log_group_with_key_passes if {
	inp := fx.prod("logs", "aws_cloudwatch_log_group", {"name": "/wer1/prod/fixture", "retention_in_days": 90, "kms_key_id": "${key}"})
	count(messaging_logs.deny) == 0 with input as inp
}

test_log_group_without_key_denied if {
	inp := fx.prod("logs", "aws_cloudwatch_log_group", {"name": "/wer1/prod/fixture", "retention_in_days": 90})
	messaging_logs.deny == {"fixture/logs (aws_cloudwatch_log_group) has no kms_key_id"} with input as inp
}

test_log_group_with_empty_key_denied if {
	inp := fx.prod("logs", "aws_cloudwatch_log_group", {"name": "/wer1/prod/fixture", "kms_key_id": ""})
	messaging_logs.deny == {"fixture/logs (aws_cloudwatch_log_group) has no kms_key_id"} with input as inp
}

test_queue_with_kms_key_passes if {
	inp := fx.prod("jobs", "aws_sqs_queue", {"name": "wer1-prod-jobs", "kms_master_key_id": "${key}"})
	count(messaging_logs.deny) == 0 with input as inp
}

test_queue_with_sqs_managed_sse_passes if {
	inp := fx.prod("jobs", "aws_sqs_queue", {"name": "wer1-prod-jobs", "sqs_managed_sse_enabled": true})
	count(messaging_logs.deny) == 0 with input as inp
}

test_unencrypted_queue_denied if {
	inp := fx.prod("jobs", "aws_sqs_queue", {"name": "wer1-prod-jobs", "sqs_managed_sse_enabled": false})
	messaging_logs.deny == {"fixture/jobs (aws_sqs_queue) is not encrypted (no kms_master_key_id, sqs_managed_sse_enabled not true)"} with input as inp
}

test_queue_with_no_encryption_settings_denied if {
	inp := fx.prod("jobs", "aws_sqs_queue", {"name": "wer1-prod-jobs"})
	count(messaging_logs.deny) == 1 with input as inp
}

test_topic_with_key_passes if {
	inp := fx.prod("alerts", "aws_sns_topic", {"name": "wer1-prod-alerts", "kms_master_key_id": "${key}"})
	count(messaging_logs.deny) == 0 with input as inp
}

test_topic_without_key_denied if {
	inp := fx.prod("alerts", "aws_sns_topic", {"name": "wer1-prod-alerts"})
	messaging_logs.deny == {"fixture/alerts (aws_sns_topic) has no kms_master_key_id"} with input as inp
}

# Each branch judges its own type: a topic is not held to the log group's kms_key_id.
test_topic_not_judged_on_log_group_key if {
	inp := fx.prod("alerts", "aws_sns_topic", {"name": "wer1-prod-alerts", "kms_master_key_id": "${key}", "kms_key_id": ""})
	count(messaging_logs.deny) == 0 with input as inp
}
