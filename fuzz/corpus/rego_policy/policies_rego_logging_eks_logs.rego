package tollgate.logging.eks_logs

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-LOG-001",
	"title": "EKS control-plane logs include api, audit and authenticator",
	"family": "logging",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_eks_cluster"],
	"description": "The audit and authenticator logs are the record of who did what to the cluster.",
	"rationale": "Without the audit and authenticator logs, a stolen cluster credential leaves no record of what it did, and incident response starts blind.",
	"remediation": "Set enabled_cluster_log_types to include \"api\", \"audit\" and \"authenticator\".",
}

deny contains msg if {
	some kind in ["api", "audit", "authenticator"]
	not kind in object.get(lib.props, "enabled_cluster_log_types", [])
	msg := sprintf("%s does not ship %s logs", [lib.name, kind])
}
