package tollgate.network.public_instances

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-005",
	"title": "Only the bastion has a public IP address",
	"family": "network",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_instance", "aws_launch_template", "aws_launch_configuration"],
	"description": "Instances are reached through the load balancers or the bastion; a public address on anything else bypasses both. A flag only known at apply is `unknown`. Closest Checkov check: CKV_AWS_88 (EC2 instance with a public IP): the same, with the bastion stack (data.config.network.public_instance_stacks) excepted; launch templates' network interfaces judged too (Checkov: CKV_AWS_88 covers instances and launch templates alike).",
	"rationale": "Each public address is a way in that skips the edge's TLS termination, filtering and logging; one known entry point, the bastion, keeps access auditable.",
	"remediation": "Set associate_public_ip_address = false (network_interfaces[].associate_public_ip_address for launch templates) and reach the instance through the bastion or a load balancer.",
}

# Instances say it at the top level; launch templates per network interface.
public_address if lib.props.associate_public_ip_address == true

public_address if {
	some nic in object.get(lib.props, "network_interfaces", [])
	nic.associate_public_ip_address == true
}

deny contains msg if {
	public_address
	not input.stack.id in data.config.network.public_instance_stacks
	msg := sprintf("%s gets a public IP address outside %v", [lib.name, data.config.network.public_instance_stacks])
}

# A flag only known at apply might be true: not judgeable now.
unknown_address if lib.unknown(lib.props.associate_public_ip_address)

unknown_address if {
	some nic in object.get(lib.props, "network_interfaces", [])
	lib.unknown(nic.associate_public_ip_address)
}

unknown contains msg if {
	unknown_address
	not public_address
	not input.stack.id in data.config.network.public_instance_stacks
	msg := sprintf("%s has associate_public_ip_address only known at apply", [lib.name])
}

