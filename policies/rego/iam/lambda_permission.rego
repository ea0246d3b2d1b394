package tollgate.iam.lambda_permission

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-IAM-010",
	"title": "Lambda functions are not invocable by everyone",
	"family": "iam",
	"severity": "high",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_lambda_permission"],
	"description": "A permission whose principal is \"*\" names a source_arn, source_account or principal_org_id that pins the caller; a function URL permission does not use function_url_auth_type = \"NONE\". A service principal (s3.amazonaws.com, …) without a source is also denied: any account's bucket could invoke the function (the confused deputy). Closest Checkov checks: CKV_AWS_364 (Lambda permission restricted by source) and CKV_AWS_258 (function URL auth type): the same; soft-mandatory so a deliberate public webhook is waived with a reason.",
	"rationale": "A function anyone can invoke runs with its role's permissions on anyone's behalf, and bills the account for every call.",
	"remediation": "Name the caller: principal as an account or service with source_arn / source_account, or principal_org_id; set function_url_auth_type = \"AWS_IAM\".",
}

pinned if {
	some k in ["source_arn", "source_account", "principal_org_id"]
	is_string(object.get(lib.props, k, null))
	lib.props[k] != ""
}

open_principal(p) if p == "*"

open_principal(p) if endswith(p, ".amazonaws.com")

deny contains msg if {
	open_principal(object.get(lib.props, "principal", ""))
	not pinned
	msg := sprintf("%s lets %v invoke %v from any source (no source_arn, source_account or principal_org_id)", [lib.name, lib.props.principal, object.get(lib.props, "function_name", "the function")])
}

deny contains msg if {
	object.get(lib.props, "function_url_auth_type", "") == "NONE"
	msg := sprintf("%s opens the function URL without authentication (function_url_auth_type = NONE)", [lib.name])
}
