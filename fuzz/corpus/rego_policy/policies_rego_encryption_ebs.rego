package tollgate.encryption.ebs

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-005",
	"title": "EC2 volumes are encrypted",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_instance", "aws_launch_template"],
	"description": "Unencrypted EBS volumes and their snapshots expose whatever the instance wrote to disk.",
	"rationale": "Disks outlive instances through snapshots and images that are easy to share or copy by mistake; encryption ties every copy to a KMS key whose use is controlled and logged.",
	"remediation": "Set root_block_device.encrypted = true (instances) or ebs.encrypted = true in every block_device_mappings entry (launch templates).",
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
