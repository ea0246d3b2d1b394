package tollgate.network.open_ingress

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-001",
	"title": "No ingress from the whole internet, except HTTPS at the edge",
	"family": "network",
	"severity": "critical",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_security_group"],
	"description": "Ingress rules whose address ranges, alone or together, cover the whole IPv4 or IPv6 internet (0.0.0.0/0, ::/0 and every other spelling: 0::/0, long forms, host bits set, 0.0.0.0/1 + 128.0.0.0/1) expose the port to every scanner on the internet. Protocols are read as AWS reads them (-1, all, ALL: every protocol and port; 6 is TCP, 17 UDP); a port bound of -1 or one only known at apply is every port. Only the load balancers' edge security groups (data.config.network.edge_security_groups) may accept HTTPS (TCP 443 only) from anywhere. A source only known at apply is `unknown`. Closest Checkov checks: CKV_AWS_24/25/260 (SSH, RDP, HTTP from 0.0.0.0/0) and CKV_AWS_277 (all ports): stricter — every port, every spelling, and ranges that only together cover the internet.",
	"rationale": "Internet-wide scanners find an open port within minutes; every port exposed beyond HTTPS at the edge is attack surface that authentication and patching must then hold alone.",
	"remediation": "Narrow cidr_blocks to known ranges or reference a security group; for public HTTPS put the service behind the edge load balancer.",
}

# Any set of rules whose ranges together cover the whole IPv4 or IPv6 internet on some port
# (0.0.0.0/0, ::/0, 0::/0, 0.0.0.0/1 + 128.0.0.0/1, host bits set, …), HTTPS at the edge aside.
opens := lib.open_to_world(lib.world_judged_rules)

# One message per set of rules and address family, naming every place they are open.
groups := {[o[0], o[1]] | some o in opens}

deny contains msg if {
	some g in groups
	spans := sort([o[2] | some o in opens; o[0] == g[0]; o[1] == g[1]])
	msg := sprintf("%s ingress%v admits the whole %s internet (%s)", [lib.name, sort(g[0]), g[1], concat("; ", spans)])
}

deny contains msg if {
	some i, rule in lib.world_judged_rules
	some c in lib.sources(rule)
	lib.invalid_source(c)
	msg := sprintf("%s ingress[%d] admits %q, which is not a CIDR block", [lib.name, i, c])
}

# A source only known at apply might be the whole internet: not judgeable now (when nothing else
# already fails the group; Cedar says the same).
unknown contains msg if {
	count(deny) == 0
	some why in lib.unknown_ingress
	msg := sprintf("%s: %s", [lib.name, why])
}
