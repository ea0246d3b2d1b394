package tollgate.network.imdsv2_test

import data.tollgate.lib_test as fx
import data.tollgate.network.imdsv2
import rego.v1

instance(metadata_options) := fx.prod("worker", "aws_instance", {
	"ami": "ami-0c1c30571d2dae5c9",
	"instance_type": "t3.small",
	"associate_public_ip_address": false,
	"root_block_device": {"encrypted": true, "volume_size": 20},
	"metadata_options": metadata_options,
})

test_tokens_required_passes if {
	count(imdsv2.deny) == 0 with input as instance({"http_tokens": "required", "http_endpoint": "enabled"})
}

test_tokens_optional_denied if {
	inp := instance({"http_tokens": "optional", "http_endpoint": "enabled"})
	imdsv2.deny == {"fixture/worker (aws_instance) allows IMDSv1 (metadata_options.http_tokens: optional)"} with input as inp
}

test_tokens_unset_denied if {
	imdsv2.deny == {"fixture/worker (aws_instance) allows IMDSv1 (metadata_options.http_tokens: unset)"} with input as instance({"http_endpoint": "enabled"})
}

test_launch_template_both_ways if {
	good := fx.prod("runner-template", "aws_launch_template", {"name": "wer1-prod-runner", "metadata_options": {"http_tokens": "required"}})
	bad := fx.prod("runner-template", "aws_launch_template", {"name": "wer1-prod-runner"})
	count(imdsv2.deny) == 0 with input as good
	imdsv2.deny == {"fixture/runner-template (aws_launch_template) allows IMDSv1 (metadata_options.http_tokens: unset)"} with input as bad
}

test_launch_configuration_both_ways if {
	good := fx.prod("workers", "aws_launch_configuration", {"name": "wer1-prod-workers", "metadata_options": {"http_tokens": "required"}})
	bad := fx.prod("workers", "aws_launch_configuration", {"name": "wer1-prod-workers", "metadata_options": {"http_tokens": "optional"}})
	count(imdsv2.deny) == 0 with input as good
	imdsv2.deny == {"fixture/workers (aws_launch_configuration) allows IMDSv1 (metadata_options.http_tokens: optional)"} with input as bad
}
