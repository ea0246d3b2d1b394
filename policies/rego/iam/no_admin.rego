package tollgate.iam.no_admin

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-IAM-001",
	"title": "No policy grants administrator access",
	"family": "iam",
	"severity": "critical",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_iam_policy", "aws_iam_role", "aws_iam_user", "aws_organizations_policy", "aws_iam_role_policy_attachment", "aws_iam_user_policy_attachment", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy", "aws_vpc_endpoint", "aws_api_gateway_rest_api", "aws_secretsmanager_secret"],
	"description": concat(" ", [
		"Administrator access belongs to break-glass roles managed outside the estate. An Allow statement grants it with an Action matching every action (\"*\", \"*:*\") on any resource, with NotAction (every action but a few), or with every action of a service that controls access itself (iam, sts, organizations:",
		"data.config.iam.admin_equivalent_services) on every resource (\"*\", \"arn:aws:*:*:*:*\", \"arn:aws:iam::*:*\"); attaching the AWS-managed AdministratorAccess or PowerUserAccess policy grants it too. Policy documents are judged whether written as objects or as JSON strings. A statement whose effect, actions or resources are only known at apply, or a document only known at apply, is `unknown`.",
		"Closest Checkov checks: CKV_AWS_62/CKV_AWS_63 (\"*\" action, with \"*\" resource / any resource) and CKV_AWS_286-289 (privilege escalation, credentials exposure, data exfiltration, permissions management): stricter on \"*\" (any resource, NotAction, managed attachments), looser on partial wildcards such as iam:Put* (not judged; see TG-IAM-003 for s3:*, kms:* and the like).",
	]),
	"rationale": "Administrator access in an application's policy turns any bug or leaked credential in that application into full control of the account, including deleting backups and audit trails.",
	"remediation": "List the actions and resources the principal needs; attach narrower managed policies than AdministratorAccess or PowerUserAccess.",
}

deny contains msg if {
	some [place, raw] in lib.policy_documents
	doc := lib.document(raw)
	some st in lib.statements(doc)
	some grant in lib.admin_grants(st)
	msg := sprintf("%s allows %s (%s, statement %v)", [lib.name, grant, place, object.get(st, "Sid", "without Sid")])
}

deny contains msg if {
	lib.admin_managed_policy(lib.props.policy_arn)
	msg := sprintf("%s attaches the AWS-managed %s", [lib.name, lib.props.policy_arn])
}

deny contains msg if {
	some arn in lib.managed_policy_arns
	lib.admin_managed_policy(arn)
	msg := sprintf("%s attaches the AWS-managed %s", [lib.name, arn])
}

unknown contains msg if {
	count(deny) == 0
	some arn in lib.managed_policy_arns
	lib.unknown(arn)
	msg := sprintf("%s attaches a policy whose ARN is only known at apply", [lib.name])
}

unknown contains msg if {
	count(deny) == 0
	some [place, raw] in lib.policy_documents
	lib.unknown(raw)
	msg := sprintf("%s has a policy document only known at apply (%s)", [lib.name, place])
}

unknown contains msg if {
	count(deny) == 0
	some [place, raw] in lib.policy_documents
	doc := lib.document(raw)
	some st in lib.statements(doc)
	lib.unknown_statement(st)
	msg := sprintf("%s has a statement whose effect, actions or resources are only known at apply (%s, statement %v)", [lib.name, place, object.get(st, "Sid", "without Sid")])
}
