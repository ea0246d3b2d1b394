package tollgate.network.nacl_admin_ports

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-009",
	"title": "Network ACL rules do not open SSH or RDP to the internet",
	"family": "network",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_network_acl_rule"],
	"description": "An ingress allow rule from 0.0.0.0/0 or ::/0 whose ports include 22 or 3389 — protocol -1/all (every port), or tcp (6) with a port range covering them; an unset range means every port — is denied. Security groups are judged by TG-NET-001/002; this is the subnet-level layer. Inline rules of aws_network_acl are not judged yet. Closest Checkov checks: CKV_AWS_231 (3389) and CKV_AWS_232 (22): the same; CKV_AWS_229 (port 21, not judged here) and CKV_AWS_230 (port 20, not judged here).",
	"rationale": "Network ACLs are the last layer before the security groups; an open admin port here removes it for every instance in the subnet.",
	"remediation": "Allow SSH and RDP only from the VPN or bastion ranges, or not at all at the subnet level.",
}

admin_ports := {22, 3389}

all_protocols := {"-1", "all"}

deny contains msg if {
	not object.get(lib.props, "egress", false) == true
	object.get(lib.props, "rule_action", "") == "allow"
	open_to_world
	some port in admin_ports
	covers(port)
	msg := sprintf("%s allows port %d from anywhere", [lib.name, port])
}

open_to_world if object.get(lib.props, "cidr_block", "") == "0.0.0.0/0"

open_to_world if object.get(lib.props, "ipv6_cidr_block", "") == "::/0"

covers(_) if lower(sprintf("%v", [object.get(lib.props, "protocol", "")])) in all_protocols

covers(port) if {
	lower(sprintf("%v", [object.get(lib.props, "protocol", "")])) in {"tcp", "6"}
	at_most(object.get(lib.props, "from_port", 0), port)
	at_most(port, object.get(lib.props, "to_port", 65535))
}

# A port not known until apply might be any port: taken to cover (fail closed).
at_most(a, b) if {
	is_number(a)
	is_number(b)
	a <= b
}

at_most(a, _) if not is_number(a)

at_most(_, b) if not is_number(b)
