package tollgate.network.imdsv2

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-007",
	"title": "Instances require IMDSv2",
	"family": "network",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_instance", "aws_launch_template", "aws_launch_configuration"],
	"description": "IMDSv1 answers any request from the instance, so one SSRF bug hands out the instance role's credentials; IMDSv2 needs a session token. Closest Checkov check: CKV_AWS_79 (IMDSv2 required): the same, for instances, launch templates and launch configurations.",
	"rationale": "Server-side request forgery bugs are common in web applications; with IMDSv1 each one becomes a theft of the instance role's credentials.",
	"remediation": "Set metadata_options.http_tokens = \"required\".",
}

deny contains msg if {
	not object.get(lib.props, ["metadata_options", "http_tokens"], "optional") == "required"
	msg := sprintf("%s allows IMDSv1 (metadata_options.http_tokens: %v)", [lib.name, object.get(lib.props, ["metadata_options", "http_tokens"], "unset")])
}
