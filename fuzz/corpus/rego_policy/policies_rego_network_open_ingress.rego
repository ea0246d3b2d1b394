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
	"description": "A rule open to 0.0.0.0/0 or ::/0 exposes the port to every scanner on the internet. Only the load balancers' edge security groups (data.config.network.edge_security_groups) may accept HTTPS (TCP 443) from anywhere.",
	"rationale": "Internet-wide scanners find an open port within minutes; every port exposed beyond HTTPS at the edge is attack surface that authentication and patching must then hold alone.",
	"remediation": "Narrow cidr_blocks to known ranges or reference a security group; for public HTTPS put the service behind the edge load balancer.",
}

is_edge if sprintf("%s/%s", [input.stack.id, input.resource.id]) in data.config.network.edge_security_groups

https_only(rule) if {
	rule.protocol == "tcp"
	rule.from_port == 443
	rule.to_port == 443
}

deny contains msg if {
	some i, rule in object.get(lib.props, "ingress", [])
	some cidr in lib.open_sources(rule)
	cidr in lib.open_cidrs
	not allowed(rule)
	msg := sprintf("%s ingress[%d] accepts %s on %v-%v/%v", [lib.name, i, cidr, rule.from_port, rule.to_port, rule.protocol])
}

allowed(rule) if {
	is_edge
	https_only(rule)
}
