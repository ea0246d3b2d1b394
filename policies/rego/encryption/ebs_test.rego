package tollgate.encryption.ebs_test

import data.tollgate.encryption.ebs
import data.tollgate.lib_test as fx
import rego.v1

instance(root) := fx.prod("worker", "aws_instance", {
	"ami": "ami-0c1c30571d2dae5c9",
	"instance_type": "t3.small",
	"subnet_id": "${networking.private-a}",
	"associate_public_ip_address": false,
	"root_block_device": root,
	"metadata_options": {"http_tokens": "required", "http_endpoint": "enabled"},
})

template(mappings) := fx.prod("runner-template", "aws_launch_template", {
	"name": "wer1-prod-runner",
	"image_id": "ami-0c1c30571d2dae5c9",
	"instance_type": "m6i.large",
	"block_device_mappings": mappings,
	"metadata_options": {"http_tokens": "required"},
})

test_encrypted_root_volume_passes if {
	count(ebs.deny) == 0 with input as instance({"encrypted": true, "kms_key_id": "${key}", "volume_size": 20, "volume_type": "gp3"})
}

test_unencrypted_root_volume_denied if {
	ebs.deny == {"fixture/worker (aws_instance) has an unencrypted root volume"} with input as instance({"encrypted": false, "volume_size": 20})
}

test_root_volume_without_encrypted_setting_denied if {
	ebs.deny == {"fixture/worker (aws_instance) has an unencrypted root volume"} with input as instance({"volume_size": 20})
}

test_instance_without_root_block_device_denied if {
	inp := fx.prod("worker", "aws_instance", {"ami": "ami-0c1c30571d2dae5c9", "instance_type": "t3.small"})
	ebs.deny == {"fixture/worker (aws_instance) has an unencrypted root volume"} with input as inp
}

test_template_with_encrypted_mappings_passes if {
	inp := template([
		{"device_name": "/dev/xvda", "ebs": {"encrypted": true, "volume_size": 50}},
		{"device_name": "/dev/xvdb", "ebs": {"encrypted": true, "kms_key_id": "${key}"}},
	])
	count(ebs.deny) == 0 with input as inp
}

test_template_without_mappings_passes if {
	inp := fx.prod("runner-template", "aws_launch_template", {"name": "wer1-prod-runner", "image_id": "ami-0c1c30571d2dae5c9"})
	count(ebs.deny) == 0 with input as inp
}

test_template_with_one_unencrypted_mapping_denied if {
	inp := template([
		{"device_name": "/dev/xvda", "ebs": {"encrypted": true, "volume_size": 50}},
		{"device_name": "/dev/xvdb", "ebs": {"encrypted": false, "volume_size": 100}},
	])
	ebs.deny == {"fixture/runner-template (aws_launch_template) maps /dev/xvdb to an unencrypted volume"} with input as inp
}

test_template_mapping_without_device_name_denied if {
	inp := template([{"ebs": {"volume_size": 50}}])
	ebs.deny == {"fixture/runner-template (aws_launch_template) maps a device to an unencrypted volume"} with input as inp
}

# The instance branch does not judge launch templates, and the reverse.
test_template_not_judged_on_root_block_device if {
	inp := fx.prod("runner-template", "aws_launch_template", {"root_block_device": {"encrypted": false}})
	count(ebs.deny) == 0 with input as inp
}

launch_configuration(props) := fx.prod("workers", "aws_launch_configuration", object.union({
	"name": "wer1-prod-workers",
	"image_id": "ami-0c1c30571d2dae5c9",
	"instance_type": "t3.small",
}, props))

test_launch_configuration_with_encrypted_devices_passes if {
	count(ebs.deny) == 0 with input as launch_configuration({
		"root_block_device": {"encrypted": true, "volume_size": 20},
		"ebs_block_device": [{"device_name": "/dev/xvdb", "encrypted": true, "volume_size": 100}],
	})
}

test_launch_configuration_with_an_unencrypted_device_denied if {
	ebs.deny == {"fixture/workers (aws_launch_configuration) maps /dev/xvdb to an unencrypted volume"} with input as launch_configuration({
		"root_block_device": {"encrypted": true},
		"ebs_block_device": [{"device_name": "/dev/xvdb", "snapshot_id": "snap-1", "volume_size": 100}],
	})
}

test_launch_configuration_with_an_unencrypted_root_denied if {
	ebs.deny == {"fixture/workers (aws_launch_configuration) maps its root volume to an unencrypted volume"} with input as launch_configuration({"root_block_device": {"encrypted": false}})
}

test_launch_configuration_with_no_device_denied if {
	ebs.deny == {"fixture/workers (aws_launch_configuration) declares no block device, so its root volume's encryption is left to the image"} with input as launch_configuration({})
}

test_launch_configuration_with_encryption_known_at_apply_is_unknown if {
	count(ebs.deny) == 0 with input as launch_configuration({"root_block_device": {"encrypted": "(known after apply)"}})
	count(ebs.unknown) == 1 with input as launch_configuration({"root_block_device": {"encrypted": "(known after apply)"}})
}
