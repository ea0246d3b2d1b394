package tollgate.network.ssh_sources

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-002",
	"title": "SSH only from the VPN or the bastion",
	"family": "network",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_security_group"],
	"description": "SSH (TCP 22) is reachable only from the Client VPN's address range or from the bastion's security group, so every session passes through an authenticated, logged path.",
	"rationale": "SSH open to wider ranges is brute-forced continuously; going through the VPN or the bastion adds authentication, MFA and a session log before anyone reaches a shell.",
	"remediation": "Use cidr_blocks from data.config.network.vpn_client_cidrs, or security_groups = [\"${bastion.bastion-sg}\"].",
}

network := data.config.network

deny contains msg if {
	some i, rule in object.get(lib.props, "ingress", [])
	lib.covers_port(rule, 22)
	some cidr in lib.open_sources(rule)
	not cidr in network.vpn_client_cidrs
	msg := sprintf("%s ingress[%d] allows SSH from %s (only the VPN range %v may)", [lib.name, i, cidr, network.vpn_client_cidrs])
}

deny contains msg if {
	some i, rule in object.get(lib.props, "ingress", [])
	lib.covers_port(rule, 22)
	some sg in object.get(rule, "security_groups", [])
	not bastion_group(sg)
	msg := sprintf("%s ingress[%d] allows SSH from security group %s (only the bastion's may)", [lib.name, i, sg])
}

bastion_group(sg) if sg in network.ssh_source_security_groups

# Inside the bastion stack, its own group is written without the stack prefix.
bastion_group(sg) if sprintf("${%s.%s}", [input.stack.id, trim_suffix(trim_prefix(sg, "${"), "}")]) in network.ssh_source_security_groups
