package tollgate.logging.access_logs

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-LOG-004",
	"title": "Load balancers, distributions and API stages keep access logs",
	"family": "logging",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_lb", "aws_alb", "aws_cloudfront_distribution", "aws_api_gateway_stage", "aws_apigatewayv2_stage"],
	"description": "Application and network load balancers set access_logs.enabled = true (gateway load balancers have no access logs); CloudFront distributions name a logging_config.bucket; API Gateway stages (REST and HTTP/WebSocket) name access_log_settings.destination_arn. Closest Checkov checks: CKV_AWS_91 (ELBv2 access logging), CKV_AWS_86 (CloudFront access logging), CKV_AWS_76 and CKV_AWS_95 (API Gateway access logging): the same.",
	"rationale": "Access logs are the only record of who called the public edge, from where and with what answer; without them an incident at the edge cannot be scoped.",
	"remediation": "Set access_logs {enabled = true, bucket} (load balancers), logging_config {bucket} (distributions), access_log_settings {destination_arn, format} (API stages).",
}

deny contains msg if {
	input.resource.type in {"aws_lb", "aws_alb"}
	object.get(lib.props, "load_balancer_type", "application") != "gateway"
	not object.get(lib.props, ["access_logs", "enabled"], false) == true
	msg := sprintf("%s keeps no access logs (access_logs.enabled is not true)", [lib.name])
}

deny contains msg if {
	input.resource.type == "aws_cloudfront_distribution"
	not named(object.get(lib.props, ["logging_config", "bucket"], ""))
	msg := sprintf("%s keeps no access logs (no logging_config.bucket)", [lib.name])
}

deny contains msg if {
	input.resource.type in {"aws_api_gateway_stage", "aws_apigatewayv2_stage"}
	not named(object.get(lib.props, ["access_log_settings", "destination_arn"], ""))
	msg := sprintf("%s keeps no access logs (no access_log_settings.destination_arn)", [lib.name])
}

named(s) if {
	is_string(s)
	s != ""
}
