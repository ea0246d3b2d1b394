package tollgate.logging.log_retention

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-LOG-002",
	"title": "Log groups have a retention period",
	"family": "logging",
	"severity": "low",
	"enforcement": "advisory",
	"resource_types": ["aws_cloudwatch_log_group"],
	"description": "Without retention, logs are kept (and billed) forever. Closest Checkov check: CKV_AWS_338 (log retention at least a year): looser — any retention, advisory — and stricter on 0 (\"never expire\" fails here, passes Checkov); a retention only known at apply fails.",
	"rationale": "Unbounded retention grows cost without limit and keeps personal data longer than the privacy policy allows; a stated retention makes both deliberate.",
	"remediation": "Set retention_in_days (e.g. 90, or 365 for audit logs).",
}

retention := object.get(lib.props, "retention_in_days", 0)

deny contains msg if {
	is_number(retention)
	retention <= 0
	msg := sprintf("%s keeps logs forever", [lib.name])
}

# A retention not known until apply might be "never expire": fail closed. (Compared as is, a
# string sorts above every number and would pass.)
deny contains msg if {
	not is_number(retention)
	msg := sprintf("%s has no known retention (retention_in_days: %v)", [lib.name, retention])
}
