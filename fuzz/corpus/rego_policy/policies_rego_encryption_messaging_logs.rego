package tollgate.encryption.messaging_logs

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-008",
	"title": "Log groups, queues and topics are encrypted",
	"family": "encryption",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_cloudwatch_log_group", "aws_sqs_queue", "aws_sns_topic"],
	"description": "Logs and messages carry request data and identifiers; they need encryption at rest like the stores they come from.",
	"rationale": "Logs, queues and topics are easily overlooked copies of sensitive data; encrypting them keeps that data behind the same KMS permissions and audit trail as the primary stores.",
	"remediation": "Set kms_key_id (log groups), kms_master_key_id or sqs_managed_sse_enabled = true (queues), kms_master_key_id (topics).",
}

deny contains msg if {
	input.resource.type == "aws_cloudwatch_log_group"
	object.get(lib.props, "kms_key_id", "") == ""
	msg := sprintf("%s has no kms_key_id", [lib.name])
}

deny contains msg if {
	input.resource.type == "aws_sqs_queue"
	object.get(lib.props, "kms_master_key_id", "") == ""
	not lib.props.sqs_managed_sse_enabled == true
	msg := sprintf("%s is not encrypted (no kms_master_key_id, sqs_managed_sse_enabled not true)", [lib.name])
}

deny contains msg if {
	input.resource.type == "aws_sns_topic"
	object.get(lib.props, "kms_master_key_id", "") == ""
	msg := sprintf("%s has no kms_master_key_id", [lib.name])
}
