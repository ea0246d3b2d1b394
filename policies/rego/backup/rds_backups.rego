package tollgate.backup.rds_backups

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-BAK-001",
	"title": "Databases keep 7 days of backups and resist deletion",
	"family": "backup",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_rds_cluster"],
	"description": "Point-in-time recovery needs a retention window; deletion protection stops a stray destroy from taking the data with it.",
	"remediation": "Set backup_retention_period >= 7 and deletion_protection = true.",
}

deny contains msg if {
	object.get(lib.props, "backup_retention_period", 0) < 7
	msg := sprintf("%s keeps backups for %v days (minimum 7)", [lib.name, object.get(lib.props, "backup_retention_period", 0)])
}

deny contains msg if {
	not lib.props.deletion_protection == true
	msg := sprintf("%s has no deletion protection", [lib.name])
}
