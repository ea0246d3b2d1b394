package tollgate.backup.rds_backups

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-BAK-001",
	"title": "Databases keep 7 days of backups and resist deletion",
	"family": "backup",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_rds_cluster", "aws_db_instance", "aws_docdb_cluster"],
	"description": "Point-in-time recovery needs a retention window; deletion protection stops a stray destroy from taking the data with it. Closest Checkov checks: CKV_AWS_133 (RDS instances have a backup policy) and CKV_AWS_139 (deletion protection): stricter — 7 days, not merely non-zero, and both together; a retention only known at apply fails.",
	"rationale": "Without point-in-time recovery a bad migration or a mass deletion costs every write since the last manual snapshot; without deletion protection one mistaken destroy removes the database together with its automated backups.",
	"remediation": "Set backup_retention_period >= 7 and deletion_protection = true.",
}

retention := object.get(lib.props, "backup_retention_period", 0)

deny contains msg if {
	not enough_backups
	msg := sprintf("%s keeps backups for %v", [lib.name, retention_words])
}

# AWS keeps an unset period at its default, 1 day (7 for Aurora): not enough, and said so.
retention_words := "the default period (backup_retention_period unset; minimum 7 days)" if {
	object.get(lib.props, "backup_retention_period", null) == null
} else := sprintf("%v days (minimum 7)", [retention])

# A period not known until apply ("(known after apply)") is not known to be enough: fail closed.
# (Compared as is, a string sorts above every number and would pass.)
enough_backups if {
	is_number(retention)
	retention >= 7
}

deny contains msg if {
	not lib.props.deletion_protection == true
	msg := sprintf("%s has no deletion protection", [lib.name])
}
