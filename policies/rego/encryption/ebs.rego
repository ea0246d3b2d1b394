package tollgate.encryption.ebs

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-005",
	"title": "EC2 volumes are encrypted",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_instance", "aws_launch_template", "aws_launch_configuration", "aws_ebs_volume"],
	"description": "Unencrypted EBS volumes and their snapshots expose whatever the instance wrote to disk. Closest Checkov checks: CKV_AWS_8 (launch configuration / instance block devices encrypted) and CKV_AWS_3 (EBS volume encrypted): the same for root volumes and launch template mappings; extra volumes of instances are not judged. Launch configurations: every block device they declare is encrypted, and they declare at least one (stricter than CKV_AWS_8, which passes a configuration that declares none, leaving the root volume to the image; a snapshot_id does not excuse an unencrypted flag).",
	"rationale": "Disks outlive instances through snapshots and images that are easy to share or copy by mistake; encryption ties every copy to a KMS key whose use is controlled and logged.",
	"remediation": "Set root_block_device.encrypted = true (instances), ebs.encrypted = true in every block_device_mappings entry (launch templates), encrypted = true in root_block_device and every ebs_block_device (launch configurations; BlockDeviceMappings[].Ebs.Encrypted in CloudFormation).",
}

deny contains msg if {
	input.resource.type == "aws_instance"
	not object.get(lib.props, ["root_block_device", "encrypted"], false) == true
	msg := sprintf("%s has an unencrypted root volume", [lib.name])
}

deny contains msg if {
	input.resource.type == "aws_launch_template"
	some m in object.get(lib.props, "block_device_mappings", [])
	not object.get(m, ["ebs", "encrypted"], false) == true
	msg := sprintf("%s maps %s to an unencrypted volume", [lib.name, object.get(m, "device_name", "a device")])
}

deny contains msg if {
	input.resource.type == "aws_ebs_volume"
	not object.get(lib.props, "encrypted", false) == true
	msg := sprintf("%s is an unencrypted volume", [lib.name])
}

# Launch configurations: root_block_device and ebs_block_device (CloudFormation's
# BlockDeviceMappings all read as ebs_block_device: the template does not say which is the root).
lc_devices contains [name, device] if {
	input.resource.type == "aws_launch_configuration"
	device := object.get(lib.props, "root_block_device", null)
	device != null
	name := "its root volume"
}

lc_devices contains [name, device] if {
	input.resource.type == "aws_launch_configuration"
	some device in object.get(lib.props, "ebs_block_device", [])
	name := object.get(device, "device_name", "a device")
}

deny contains msg if {
	some [name, device] in lc_devices
	not lib.unknown(object.get(device, "encrypted", null))
	not object.get(device, "encrypted", false) == true
	msg := sprintf("%s maps %s to an unencrypted volume", [lib.name, name])
}

deny contains msg if {
	input.resource.type == "aws_launch_configuration"
	count(lc_devices) == 0
	msg := sprintf("%s declares no block device, so its root volume's encryption is left to the image", [lib.name])
}

unknown contains msg if {
	some [name, device] in lc_devices
	lib.unknown(object.get(device, "encrypted", null))
	msg := sprintf("%s maps %s to a volume whose encryption is only known at apply", [lib.name, name])
}
