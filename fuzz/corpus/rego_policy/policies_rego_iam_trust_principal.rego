package tollgate.iam.trust_principal

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-IAM-002",
	"title": "Role trust policies name their principals",
	"family": "iam",
	"severity": "critical",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_iam_role"],
	"description": "A trust policy with Principal \"*\" (or AWS \"*\") and no condition lets any AWS account assume the role.",
	"rationale": "A role any account can assume hands its permissions to every AWS customer; cross-account takeovers start from exactly this kind of trust policy.",
	"remediation": "Name the service, account or federated provider in Principal, or add a Condition that pins it.",
}

deny contains msg if {
	some st in lib.statements(lib.props.assume_role_policy)
	st.Effect == "Allow"
	wildcard(st.Principal)
	not st.Condition
	msg := sprintf("%s can be assumed by any principal", [lib.name])
}

wildcard(p) if p == "*"

wildcard(p) if "*" in lib.as_list(p.AWS)
