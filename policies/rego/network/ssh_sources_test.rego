package tollgate.network.ssh_sources_test

import data.tollgate.lib_test as fx
import data.tollgate.network.ssh_sources
import rego.v1

group(ingress) := fx.prod("worker-sg", "aws_security_group", {
	"name": "wer1-prod-worker-sg",
	"description": "worker-sg",
	"vpc_id": "${networking.vpc}",
	"ingress": ingress,
	"egress": [],
})

ssh_from(sources) := object.union({"from_port": 22, "to_port": 22, "protocol": "tcp"}, sources)

test_ssh_from_bastion_and_vpn_passes if {
	inp := group([
		ssh_from({"description": "SSH from the bastion", "security_groups": ["${bastion.bastion-sg}"]}),
		ssh_from({"description": "SSH from the VPN", "cidr_blocks": ["10.100.0.0/22"]}),
	])
	count(ssh_sources.deny) == 0 with input as inp
}

# Inside the bastion stack its own group is referenced without the stack prefix.
test_bastion_stack_own_group_passes if {
	bastion := object.union(fx.prod_stack, {"id": "bastion", "repository": "aws-eu-west-1-prod-bastion-main"})
	inp := {"stack": bastion, "resource": fx.resource(bastion, "admin-sg", "aws_security_group", {
		"name": "wer1-prod-admin-sg",
		"ingress": [ssh_from({"security_groups": ["${bastion-sg}"]})],
	})}
	count(ssh_sources.deny) == 0 with input as inp
}

test_other_ports_from_the_vpc_pass if {
	inp := group([{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/16"], "security_groups": ["${networking.edge-sg}"]}])
	count(ssh_sources.deny) == 0 with input as inp
}

test_ssh_from_the_vpc_denied if {
	inp := group([
		ssh_from({"security_groups": ["${bastion.bastion-sg}"]}),
		ssh_from({"description": "SSH from the VPC", "cidr_blocks": ["10.0.0.0/16"]}),
	])
	[msg] := [m | some m in ssh_sources.deny] with input as inp
	startswith(msg, "fixture/worker-sg (aws_security_group) ingress[1] allows SSH from 10.0.0.0/16 (only the VPN range ")
	contains(msg, "10.100.0.0/22")
}

test_ssh_from_anywhere_over_ipv6_denied if {
	inp := group([ssh_from({"ipv6_cidr_blocks": ["::/0"]})])
	[msg] := [m | some m in ssh_sources.deny] with input as inp
	startswith(msg, "fixture/worker-sg (aws_security_group) ingress[0] allows SSH from ::/0")
}

# A range or "all traffic" rule covers port 22 too.
test_port_range_covering_ssh_denied if {
	inp := group([{"from_port": 0, "to_port": 65535, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/16"]}])
	count(ssh_sources.deny) == 1 with input as inp
}

test_all_traffic_denied if {
	inp := group([{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["10.0.0.0/16"]}])
	count(ssh_sources.deny) == 1 with input as inp
}

test_ssh_from_another_group_denied if {
	inp := group([ssh_from({"security_groups": ["${networking.app-sg}"]})])
	ssh_sources.deny == {"fixture/worker-sg (aws_security_group) ingress[0] allows SSH from security group ${networking.app-sg} (only the bastion's may)"} with input as inp
}

# A group in another stack cannot pass itself off as the bastion's by its local name.
test_local_bastion_name_outside_bastion_stack_denied if {
	inp := group([ssh_from({"security_groups": ["${bastion-sg}"]})])
	ssh_sources.deny == {"fixture/worker-sg (aws_security_group) ingress[0] allows SSH from security group ${bastion-sg} (only the bastion's may)"} with input as inp
}

# The VPN range is data.
test_vpn_range_comes_from_data if {
	inp := group([ssh_from({"cidr_blocks": ["10.200.0.0/22"]})])
	count(ssh_sources.deny) == 1 with input as inp
	count(ssh_sources.deny) == 0 with input as inp with data.config.network.vpn_client_cidrs as ["10.200.0.0/22"]
}

# Containment, not spelling: a block inside the VPN range passes, a wider one does not.
test_narrower_block_inside_the_vpn_passes if {
	inp := group([ssh_from({"cidr_blocks": ["10.100.1.0/24", "10.100.0.5/22"]})])
	count(ssh_sources.deny) == 0 with input as inp
}

test_wider_block_around_the_vpn_denied if {
	inp := group([ssh_from({"cidr_blocks": ["10.100.0.0/16"]})])
	count(ssh_sources.deny) == 1 with input as inp
}

test_protocol_spellings_admit_ssh if {
	every p in ["6", "TCP", "all", "ALL", "-1"] {
		count(ssh_sources.deny) == 1 with input as group([{"from_port": 22, "to_port": 22, "protocol": p, "cidr_blocks": ["0.0.0.0/0"]}])
	}
	count(ssh_sources.deny) == 1 with input as group([{"from_port": -1, "to_port": -1, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}])
}

test_udp_on_port_22_is_not_ssh if {
	count(ssh_sources.deny) == 0 with input as group([{"from_port": 22, "to_port": 22, "protocol": "17", "cidr_blocks": ["0.0.0.0/0"]}])
}

test_unknown_ssh_source_is_unknown if {
	inp := group([ssh_from({"cidr_blocks": ["(known after apply)"]})])
	count(ssh_sources.deny) == 0 with input as inp
	ssh_sources.unknown == {"fixture/worker-sg (aws_security_group): ingress[0].cidr_blocks admits SSH from a source only known at apply"} with input as inp
}
