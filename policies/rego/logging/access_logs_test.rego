package tollgate.logging.access_logs_test

import data.tollgate.lib_test as fx
import data.tollgate.logging.access_logs
import rego.v1

test_load_balancer_with_logs_passes if {
	count(access_logs.deny) == 0 with input as fx.prod("edge", "aws_lb", {"name": "edge", "access_logs": {"enabled": true, "bucket": "wer1-prod-lb-logs"}})
}

test_load_balancer_without_logs_denied if {
	access_logs.deny == {"fixture/edge (aws_lb) keeps no access logs (access_logs.enabled is not true)"} with input as fx.prod("edge", "aws_lb", {"name": "edge"})
}

test_alb_alias_judged_alike if {
	count(access_logs.deny) == 1 with input as fx.prod("edge", "aws_alb", {"name": "edge", "access_logs": {"enabled": false, "bucket": "b"}})
}

test_gateway_load_balancer_passes if {
	count(access_logs.deny) == 0 with input as fx.prod("gwlb", "aws_lb", {"name": "gwlb", "load_balancer_type": "gateway"})
}

test_distribution_without_logging_denied if {
	access_logs.deny == {"fixture/cdn (aws_cloudfront_distribution) keeps no access logs (no logging_config.bucket)"} with input as fx.prod("cdn", "aws_cloudfront_distribution", {})
}

test_distribution_with_logging_passes if {
	count(access_logs.deny) == 0 with input as fx.prod("cdn", "aws_cloudfront_distribution", {"logging_config": {"bucket": "logs.s3.amazonaws.com"}})
}

test_stages_without_logs_denied if {
	count(access_logs.deny) == 1 with input as fx.prod("v1", "aws_api_gateway_stage", {"stage_name": "v1"})
	count(access_logs.deny) == 1 with input as fx.prod("v2", "aws_apigatewayv2_stage", {"name": "$default"})
}

test_stage_with_logs_passes if {
	count(access_logs.deny) == 0 with input as fx.prod("v1", "aws_api_gateway_stage", {"stage_name": "v1", "access_log_settings": {"destination_arn": "${api_logs}", "format": "$context.requestId"}})
}
