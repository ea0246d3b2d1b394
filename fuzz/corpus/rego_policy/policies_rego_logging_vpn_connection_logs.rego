package tollgate.logging.vpn_connection_logs

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-LOG-003",
	"title": "Client VPN endpoints log connections",
	"family": "logging",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_ec2_client_vpn_endpoint"],
	"description": "The VPN is the door to SSH and the cluster APIs; its connection log is the door's record.",
	"rationale": "Connection logs show who entered the network, when and from where; they are the first thing an investigation asks for after a credential leak.",
	"remediation": "Set connection_log_options.enabled = true with a cloudwatch_log_group.",
}

deny contains msg if {
	not object.get(lib.props, ["connection_log_options", "enabled"], false) == true
	msg := sprintf("%s does not log connections", [lib.name])
}
