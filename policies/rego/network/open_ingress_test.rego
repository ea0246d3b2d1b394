package tollgate.network.open_ingress_test

import data.tollgate.lib_test as fx
import data.tollgate.network.open_ingress
import rego.v1

networking := object.union(fx.prod_stack, {
	"id": "networking",
	"repository": "aws-eu-west-1-prod-networking-main",
	"owner": "platform",
})

https_from_anywhere := {"description": "HTTPS from anywhere", "from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}

# A security group `id` in the networking stack with these ingress rules.
group(id, ingress) := {"stack": networking, "resource": fx.resource(networking, id, "aws_security_group", {
	"name": sprintf("wer1-prod-%s", [id]),
	"description": id,
	"vpc_id": "${vpc}",
	"ingress": ingress,
	"egress": [],
})}

# The edge group (data.config.network.edge_security_groups) may take HTTPS from anywhere.
test_edge_https_from_anywhere_passes if {
	count(open_ingress.deny) == 0 with input as group("edge-sg", [https_from_anywhere])
}

test_edge_https_from_anywhere_over_ipv6_passes if {
	rule := {"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": ["::/0"]}
	count(open_ingress.deny) == 0 with input as group("edge-sg", [rule])
}

test_internal_sources_pass if {
	inp := group("app-sg", [
		{"from_port": 8080, "to_port": 8080, "protocol": "tcp", "security_groups": ["${edge-sg}"]},
		{"from_port": 443, "to_port": 443, "protocol": "tcp", "cidr_blocks": ["10.0.0.0/16"]},
	])
	count(open_ingress.deny) == 0 with input as inp
}

test_edge_http_from_anywhere_denied if {
	inp := group("edge-sg", [
		https_from_anywhere,
		{"description": "HTTP from anywhere", "from_port": 80, "to_port": 80, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]},
	])
	open_ingress.deny == {"networking/edge-sg (aws_security_group) ingress[1] admits the whole IPv4 internet (tcp 80-80)"} with input as inp
}

test_edge_all_traffic_from_anywhere_denied if {
	inp := group("edge-sg", [{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]}])
	open_ingress.deny == {"networking/edge-sg (aws_security_group) ingress[0] admits the whole IPv4 internet (all protocols, all ports)"} with input as inp
}

test_https_from_anywhere_outside_the_edge_denied if {
	inp := group("app-sg", [https_from_anywhere])
	open_ingress.deny == {"networking/app-sg (aws_security_group) ingress[0] admits the whole IPv4 internet (tcp 443-443)"} with input as inp
}

test_ipv6_anywhere_denied if {
	inp := group("app-sg", [{"from_port": 5432, "to_port": 5432, "protocol": "tcp", "ipv6_cidr_blocks": ["::/0"]}])
	open_ingress.deny == {"networking/app-sg (aws_security_group) ingress[0] admits the whole IPv6 internet (tcp 5432-5432)"} with input as inp
}

test_both_address_families_reported if {
	inp := group("app-sg", [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"], "ipv6_cidr_blocks": ["::/0"]}])
	open_ingress.deny == {
		"networking/app-sg (aws_security_group) ingress[0] admits the whole IPv4 internet (tcp 22-22)",
		"networking/app-sg (aws_security_group) ingress[0] admits the whole IPv6 internet (tcp 22-22)",
	} with input as inp
}

# The edge list is data: a group named there is the edge, whatever its id.
test_edge_list_comes_from_data if {
	inp := group("api-sg", [https_from_anywhere])
	count(open_ingress.deny) == 1 with input as inp
	count(open_ingress.deny) == 0 with input as inp with data.config.network.edge_security_groups as ["networking/api-sg"]
}

# Every spelling of the whole internet is the whole internet.
one_rule(id, rule) := group(id, [rule])

test_cidr_spelling_host_bits_denied if {
	inp := one_rule("app-sg", {"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["1.2.3.4/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_cidr_spelling_ipv6_zero_colons_denied if {
	inp := one_rule("app-sg", {"from_port": 3389, "to_port": 3389, "protocol": "tcp", "ipv6_cidr_blocks": ["0::/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_cidr_spelling_ipv6_colons_zero_denied if {
	inp := one_rule("app-sg", {"from_port": 3389, "to_port": 3389, "protocol": "tcp", "ipv6_cidr_blocks": ["::0/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_cidr_spelling_ipv6_long_form_denied if {
	inp := one_rule("app-sg", {"from_port": 3389, "to_port": 3389, "protocol": "tcp", "ipv6_cidr_blocks": ["0:0:0:0:0:0:0:0/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_halves_in_one_rule_denied if {
	inp := group("app-sg", [{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/1", "128.0.0.0/1"]}])
	open_ingress.deny == {"networking/app-sg (aws_security_group) ingress[0] admits the whole IPv4 internet (tcp 3389-3389)"} with input as inp
}

test_halves_in_two_rules_denied if {
	inp := group("app-sg", [
		{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/1"]},
		{"from_port": 3000, "to_port": 4000, "protocol": "6", "cidr_blocks": ["128.0.0.0/1"]},
	])
	open_ingress.deny == {"networking/app-sg (aws_security_group) ingress[0, 1] admits the whole IPv4 internet (tcp 3389-3389)"} with input as inp
}

test_halves_on_different_ports_pass if {
	inp := group("app-sg", [
		{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/1"]},
		{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["128.0.0.0/1"]},
	])
	count(open_ingress.deny) == 0 with input as inp
}

test_all_traffic_spelt_all_capitals_denied if {
	inp := one_rule("edge-sg", {"from_port": 0, "to_port": 0, "protocol": "ALL", "cidr_blocks": ["0.0.0.0/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_all_traffic_spelt_all_denied if {
	inp := one_rule("edge-sg", {"from_port": 0, "to_port": 0, "protocol": "all", "cidr_blocks": ["0.0.0.0/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

# HTTPS at the edge is TCP 443 however TCP is spelt; a -1 port bound is every port.
test_edge_https_spelt_6_passes if {
	inp := one_rule("edge-sg", {"from_port": 443, "to_port": 443, "protocol": "6", "cidr_blocks": ["0.0.0.0/0"]})
	count(open_ingress.deny) == 0 with input as inp
}

test_edge_tcp_every_port_denied if {
	inp := one_rule("edge-sg", {"from_port": -1, "to_port": -1, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_edge_udp_443_denied if {
	inp := one_rule("edge-sg", {"from_port": 443, "to_port": 443, "protocol": "17", "cidr_blocks": ["0.0.0.0/0"]})
	count(open_ingress.deny) == 1 with input as inp
}

test_not_a_cidr_denied if {
	inp := group("app-sg", [{"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/00"]}])
	open_ingress.deny == {`networking/app-sg (aws_security_group) ingress[0] admits "0.0.0.0/00", which is not a CIDR block`} with input as inp
}

test_unknown_source_is_unknown_not_a_pass if {
	inp := group("app-sg", [{"from_port": 3389, "to_port": 3389, "protocol": "tcp", "cidr_blocks": ["(known after apply)"]}])
	count(open_ingress.deny) == 0 with input as inp
	open_ingress.unknown == {"networking/app-sg (aws_security_group): ingress[0].cidr_blocks is only known at apply"} with input as inp
}

test_sensitive_ingress_is_unknown if {
	inp := group("app-sg", "(sensitive value)")
	open_ingress.unknown == {"networking/app-sg (aws_security_group): ingress is only known at apply"} with input as inp
}
