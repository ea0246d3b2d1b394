package tollgate.encryption.elasticache

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-003",
	"title": "ElastiCache encrypts at rest and in transit",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_elasticache_replication_group"],
	"description": "Cached data often holds sessions and tokens; without transit encryption it crosses the VPC in clear text. Closest Checkov checks: CKV_AWS_29 (at rest) and CKV_AWS_30 (in transit): the same; CKV_AWS_31 (auth token, not judged here).",
	"rationale": "Caches are read by many services; an attacker inside the VPC, or a misplaced snapshot, must not be able to read session tokens off the wire or off disk.",
	"remediation": "Set at_rest_encryption_enabled = true and transit_encryption_enabled = true (both need a replacement of the group).",
}

deny contains msg if {
	some setting in ["at_rest_encryption_enabled", "transit_encryption_enabled"]
	not lib.props[setting] == true
	msg := sprintf("%s has %s %v", [lib.name, setting, object.get(lib.props, setting, "unset")])
}
