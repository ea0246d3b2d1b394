package tollgate.network.default_security_group

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-008",
	"title": "Default security groups allow no traffic",
	"family": "network",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_default_security_group"],
	"description": "A VPC's default security group, once Terraform adopts it, has no ingress and no egress rules, so anything launched without a group of its own can reach nothing and be reached by nothing. Closest Checkov check: CKV2_AWS_12 (default security group restricts all traffic): the same.",
	"rationale": "Resources land in the default group by omission (a missing vpc_security_group_ids); rules there apply to everything nobody thought about.",
	"remediation": "Declare aws_default_security_group with no ingress and no egress blocks, and give every resource a security group of its own.",
}

deny contains msg if {
	some direction in ["ingress", "egress"]
	count(object.get(lib.props, direction, [])) > 0
	msg := sprintf("%s has %d %s rule(s); the default group should allow nothing", [lib.name, count(lib.props[direction]), direction])
}
