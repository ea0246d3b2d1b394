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
	"description": concat(" ", [
		"A trust policy that lets anyone assume the role: an Allow statement with Principal \"*\" (or AWS \"*\") that no condition pins to the caller, an Allow with NotPrincipal, or a web-identity (OIDC) statement with no condition on the token's `sub`.",
		"A condition pins only if it requires a key that names the caller (aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceAccount, aws:SourceArn, aws:SourceOrgID, sts:ExternalId; `<provider>:sub` for OIDC) with a positive operator (StringEquals, StringLike, ArnEquals, ArnLike, ForAnyValue:…;",
		"not …IfExists, negations or ForAllValues:, which pass when the key is absent) and values that are not only wildcards (nor `repo:*`). `Condition: {}` pins nobody. A principal or condition only known at apply is `unknown`. Closest Checkov checks: CKV_AWS_60 (role assumable only by specific services or principals) and CKV_AWS_61 (assume-role permission across all services) and CKV_AWS_358 (GitHub Actions OIDC trust allows only safe claims):",
		"stricter — conditions are read for what they pin, not for being present.",
	]),
	"rationale": "A role any account can assume hands its permissions to every AWS customer; cross-account takeovers start from exactly this kind of trust policy.",
	"remediation": "Name the service, account or federated provider in Principal, and pin wildcards with aws:PrincipalOrgID, aws:SourceAccount, aws:SourceArn or sts:ExternalId (StringEquals); pin OIDC roles to a repository with a `sub` condition.",
}

trust := lib.document(lib.props.assume_role_policy)

deny contains msg if {
	some i, st in lib.statements(trust)
	some why in lib.open_trust(st)
	msg := sprintf("%s can be assumed by %s (statement %v)", [lib.name, why, object.get(st, "Sid", i)])
}

unknown contains msg if {
	count(deny) == 0
	lib.unknown(lib.props.assume_role_policy)
	msg := sprintf("%s has a trust policy only known at apply", [lib.name])
}

unknown contains msg if {
	count(deny) == 0
	some i, st in lib.statements(trust)
	lib.unknown_trust(st)
	msg := sprintf("%s has a trust statement whose principal or condition is only known at apply (statement %v)", [lib.name, object.get(st, "Sid", i)])
}
