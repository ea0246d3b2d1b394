package tollgate.network.nacl_admin_ports_test

import data.tollgate.lib_test as fx
import data.tollgate.network.nacl_admin_ports
import rego.v1

rule(props) := fx.prod("ssh-in", "aws_network_acl_rule", object.union({"network_acl_id": "${public}", "rule_number": 100, "egress": false, "rule_action": "allow"}, props))

test_https_from_anywhere_passes if {
	count(nacl_admin_ports.deny) == 0 with input as rule({"protocol": "tcp", "cidr_block": "0.0.0.0/0", "from_port": 443, "to_port": 443})
}

test_ssh_from_anywhere_denied if {
	nacl_admin_ports.deny == {"fixture/ssh-in (aws_network_acl_rule) allows port 22 from anywhere"} with input as rule({"protocol": "tcp", "cidr_block": "0.0.0.0/0", "from_port": 22, "to_port": 22})
}

test_every_protocol_from_ipv6_anywhere_denied if {
	count(nacl_admin_ports.deny) == 2 with input as rule({"protocol": "-1", "ipv6_cidr_block": "::/0"})
}

test_numeric_tcp_range_denied if {
	count(nacl_admin_ports.deny) == 2 with input as rule({"protocol": "6", "cidr_block": "0.0.0.0/0", "from_port": 0, "to_port": 65535})
}

test_deny_rule_passes if {
	count(nacl_admin_ports.deny) == 0 with input as rule({"protocol": "-1", "cidr_block": "0.0.0.0/0", "rule_action": "deny"})
}

test_egress_passes if {
	count(nacl_admin_ports.deny) == 0 with input as rule({"protocol": "-1", "cidr_block": "0.0.0.0/0", "egress": true})
}

test_ssh_from_the_vpn_passes if {
	count(nacl_admin_ports.deny) == 0 with input as rule({"protocol": "tcp", "cidr_block": "10.100.0.0/16", "from_port": 22, "to_port": 22})
}
