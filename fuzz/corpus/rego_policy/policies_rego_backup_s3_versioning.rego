package tollgate.backup.s3_versioning

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-BAK-002",
	"title": "S3 buckets keep object versions",
	"family": "backup",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_s3_bucket"],
	"description": "Versioning turns an overwrite or delete into a recoverable event.",
	"rationale": "Accidental deletes, buggy writers and stolen credentials are the usual ways S3 data is lost; with versions kept, each is undone by restoring the previous version rather than by hoping a copy exists elsewhere.",
	"remediation": "Set versioning.enabled = true (and a noncurrent-version lifecycle rule to bound the cost).",
}

deny contains msg if {
	not object.get(lib.props, ["versioning", "enabled"], false) == true
	msg := sprintf("%s does not keep versions", [lib.name])
}
