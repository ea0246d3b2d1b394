package tollgate.iam.sensitive_wildcards

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-IAM-003",
	"title": "No policy grants every action of a data or key service on every resource",
	"family": "iam",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_iam_policy", "aws_iam_role", "aws_iam_user", "aws_organizations_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"],
	"description": "An Allow statement with every action of a service that holds data or keys (s3, kms, secretsmanager, ssm, dynamodb, backup, cloudtrail: data.config.iam.sensitive_services) on every resource (\"*\", \"arn:aws:*:*:*:*\", \"arn:aws:s3:::*\") can read, delete or re-key everything the account stores, or turn its audit trail off. Actions are matched as IAM matches them (case-insensitive, wildcards: \"S3:*\", \"s*:*\"). Closest Checkov checks: CKV_AWS_287/CKV_AWS_288 (credentials exposure, data exfiltration): similar intent, judged on the service wildcard instead of Checkov's action lists; soft-mandatory, so a deliberate platform policy is waived with a reason.",
	"rationale": "A service-wide wildcard on every resource is the usual way one application's credentials end up able to read another's data or schedule a key for deletion.",
	"remediation": "Name the actions (s3:GetObject, kms:Decrypt, …) and the resources (bucket and key ARNs) the principal needs.",
}

deny contains msg if {
	some [place, raw] in lib.policy_documents
	doc := lib.document(raw)
	some st in lib.statements(doc)
	some grant in lib.service_grants(st, lib.sensitive_services)
	msg := sprintf("%s allows %s (%s, statement %v)", [lib.name, grant, place, object.get(st, "Sid", "without Sid")])
}
