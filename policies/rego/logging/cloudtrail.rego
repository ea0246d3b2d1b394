package tollgate.logging.cloudtrail

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-LOG-005",
	"title": "CloudTrail trails cover every region, validate their files and encrypt with KMS",
	"family": "logging",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_cloudtrail"],
	"description": "A trail sets is_multi_region_trail = true, enable_log_file_validation = true and a kms_key_id; unset counts as off (Terraform's and AWS's default). Closest Checkov checks: CKV_AWS_67 (all regions), CKV_AWS_36 (log file validation), CKV_AWS_35 (KMS): the same.",
	"rationale": "An attacker works in the region nobody watches and deletes or edits the trail's files; a multi-region, validated, KMS-encrypted trail leaves them neither.",
	"remediation": "Set is_multi_region_trail = true, enable_log_file_validation = true and kms_key_id to a customer-managed key.",
}

deny contains msg if {
	not lib.props.is_multi_region_trail == true
	msg := sprintf("%s records one region only (is_multi_region_trail is not true)", [lib.name])
}

deny contains msg if {
	not lib.props.enable_log_file_validation == true
	msg := sprintf("%s does not validate its log files (enable_log_file_validation is not true)", [lib.name])
}

deny contains msg if {
	not has_key
	msg := sprintf("%s does not encrypt its logs with KMS (no kms_key_id)", [lib.name])
}

has_key if {
	is_string(lib.props.kms_key_id)
	lib.props.kms_key_id != ""
}
