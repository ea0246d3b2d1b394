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
	"description": "SSH (TCP 22) is reachable only from inside the Client VPN's address ranges (containment, not spelling: a narrower block inside the range is fine, a wider one is not) or from the bastion's security group, so every session passes through an authenticated, logged path. A rule admits SSH when its protocol is TCP in any spelling (tcp, 6) or every protocol (-1, all) and its port range holds 22 (-1: every port). A source only known at apply is `unknown`. Closest Checkov check: CKV_AWS_24 (no SSH from 0.0.0.0/0): stricter — every source outside the VPN, not only the whole internet.",
	"rationale": "SSH open to wider ranges is brute-forced continuously; going through the VPN or the bastion adds authentication, MFA and a session log before anyone reaches a shell.",
	"remediation": "Use cidr_blocks from data.config.network.vpn_client_cidrs, or security_groups = [\"${bastion.bastion-sg}\"].",
}

network := data.config.network

# Every source must lie inside a VPN range: 10.100.1.0/24 inside 10.100.0.0/22 is fine, the
# wider 10.0.0.0/8 is not, whatever its spelling.
deny contains msg if {
	some i, rule in lib.ssh_rules
	some cidr in lib.sources(rule)
	not lib.unknown(cidr)
	not lib.inside_any(cidr, network.vpn_client_cidrs)
	msg := sprintf("%s ingress[%d] allows SSH from %s (only the VPN range %v may)", [lib.name, i, cidr, network.vpn_client_cidrs])
}

deny contains msg if {
	some i, rule in lib.ssh_rules
	some sg in object.get(rule, "security_groups", [])
	not lib.unknown(sg)
	not lib.ssh_source_group(sg)
	msg := sprintf("%s ingress[%d] allows SSH from security group %s (only the bastion's may)", [lib.name, i, sg])
}

# A source only known at apply, on a rule that admits SSH, or a rule only known at apply.
unknown contains msg if {
	some i, rule in lib.ssh_rules
	some key in ["cidr_blocks", "ipv6_cidr_blocks", "security_groups"]
	some v in lib.as_list(object.get(rule, key, []))
	lib.unknown(v)
	msg := sprintf("%s: ingress[%d].%s admits SSH from a source only known at apply", [lib.name, i, key])
}

unknown contains msg if {
	some why in lib.unknown_ingress
	not contains(why, "].")
	msg := sprintf("%s: %s", [lib.name, why])
}
