package tollgate.backup.dynamodb_recovery

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-BAK-003",
	"title": "DynamoDB tables keep point-in-time recovery and resist deletion",
	"family": "backup",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_dynamodb_table"],
	"description": "A table sets point_in_time_recovery.enabled = true and deletion_protection_enabled = true; both are off unless set. Closest Checkov checks: CKV_AWS_28 (point-in-time recovery): the same; deletion protection is Tollgate's, as TG-BAK-001 asks of databases.",
	"rationale": "Point-in-time recovery undoes a bad write or a mass delete to the second within 35 days; without it the last on-demand backup is all there is, and deleting the table deletes the recovery with it unless it is protected.",
	"remediation": "Set point_in_time_recovery {enabled = true} and deletion_protection_enabled = true.",
}

deny contains msg if {
	not object.get(lib.props, ["point_in_time_recovery", "enabled"], false) == true
	msg := sprintf("%s has no point-in-time recovery", [lib.name])
}

deny contains msg if {
	not lib.props.deletion_protection_enabled == true
	msg := sprintf("%s has no deletion protection", [lib.name])
}
