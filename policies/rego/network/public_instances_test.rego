package tollgate.network.public_instances_test

import data.tollgate.lib_test as fx
import data.tollgate.network.public_instances
import rego.v1

instance_props(public) := {
	"ami": "ami-0c1c30571d2dae5c9",
	"instance_type": "t3.small",
	"subnet_id": "${networking.private-a}",
	"associate_public_ip_address": public,
	"root_block_device": {"encrypted": true, "kms_key_id": "${key}", "volume_size": 20, "volume_type": "gp3"},
	"metadata_options": {"http_tokens": "required", "http_endpoint": "enabled"},
}

bastion_stack := object.union(fx.prod_stack, {"id": "bastion", "repository": "aws-eu-west-1-prod-bastion-main"})

test_private_instance_passes if {
	count(public_instances.deny) == 0 with input as fx.prod("worker", "aws_instance", instance_props(false))
}

test_public_instance_denied if {
	inp := fx.prod("worker", "aws_instance", instance_props(true))
	[msg] := [m | some m in public_instances.deny] with input as inp
	startswith(msg, "fixture/worker (aws_instance) gets a public IP address outside ")
	contains(msg, "bastion")
}

# data.config.network.public_instance_stacks names the bastion stack.
test_bastion_instance_passes if {
	inp := {"stack": bastion_stack, "resource": fx.resource(bastion_stack, "bastion", "aws_instance", instance_props(true))}
	count(public_instances.deny) == 0 with input as inp
}

test_launch_template_private_interfaces_pass if {
	inp := fx.prod("runner-template", "aws_launch_template", {
		"name": "wer1-prod-runner",
		"network_interfaces": [{"associate_public_ip_address": false, "device_index": 0}],
	})
	count(public_instances.deny) == 0 with input as inp
}

test_launch_template_public_interface_denied if {
	inp := fx.prod("runner-template", "aws_launch_template", {
		"name": "wer1-prod-runner",
		"network_interfaces": [
			{"associate_public_ip_address": false, "device_index": 0},
			{"associate_public_ip_address": true, "device_index": 1},
		],
	})
	[msg] := [m | some m in public_instances.deny] with input as inp
	startswith(msg, "fixture/runner-template (aws_launch_template) gets a public IP address outside ")
}

test_public_stacks_come_from_data if {
	inp := fx.prod("worker", "aws_instance", instance_props(true))
	count(public_instances.deny) == 0 with input as inp with data.config.network.public_instance_stacks as ["bastion", "fixture"]
}

test_unknown_public_ip_is_unknown if {
	inp := fx.prod("app", "aws_instance", {"instance_type": "t3.micro", "associate_public_ip_address": "(known after apply)"})
	count(public_instances.deny) == 0 with input as inp
	public_instances.unknown == {"fixture/app (aws_instance) has associate_public_ip_address only known at apply"} with input as inp
}

test_launch_configuration_with_public_address_denied if {
	inp := fx.prod("workers", "aws_launch_configuration", {"name": "wer1-prod-workers", "associate_public_ip_address": true})
	count(public_instances.deny) == 1 with input as inp
	count(public_instances.deny) == 0 with input as fx.prod("workers", "aws_launch_configuration", {"name": "wer1-prod-workers", "associate_public_ip_address": false})
}
