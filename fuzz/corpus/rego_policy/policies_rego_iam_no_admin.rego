package tollgate.iam.no_admin

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-IAM-001",
	"title": "No policy allows every action on every resource",
	"family": "iam",
	"severity": "critical",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_iam_policy", "aws_iam_role", "aws_iam_user", "aws_organizations_policy"],
	"description": "\"Action\": \"*\" on \"Resource\": \"*\" is administrator access; it belongs to break-glass roles managed outside the estate.",
	"rationale": "Administrator access in an application's policy turns any bug or leaked credential in that application into full control of the account, including deleting backups and audit trails.",
	"remediation": "List the actions and resources the principal needs.",
}

documents contains doc if {
	doc := lib.props.policy
	is_object(doc)
}

documents contains doc if {
	doc := lib.props.content
	is_object(doc)
}

documents contains doc if {
	some p in object.get(lib.props, "inline_policy", [])
	doc := p.policy
	is_object(doc)
}

deny contains msg if {
	some doc in documents
	some st in lib.statements(doc)
	st.Effect == "Allow"
	"*" in lib.as_list(object.get(st, "Action", []))
	"*" in lib.as_list(object.get(st, "Resource", []))
	msg := sprintf("%s allows \"*\" on \"*\" (statement %v)", [lib.name, object.get(st, "Sid", "without Sid")])
}
