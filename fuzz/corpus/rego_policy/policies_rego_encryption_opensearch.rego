package tollgate.encryption.opensearch

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-004",
	"title": "OpenSearch encrypts at rest, between nodes, and serves HTTPS only with TLS 1.2+",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_opensearch_domain"],
	"description": "Search indexes copy the data they index; they need the same protection as the source.",
	"rationale": "An index is a searchable copy of customer data; unencrypted disks, clear-text node traffic or old TLS versions would make it the weakest copy.",
	"remediation": "Set encrypt_at_rest.enabled, node_to_node_encryption.enabled and domain_endpoint_options.enforce_https to true, and tls_security_policy to Policy-Min-TLS-1-2-2019-07 (or newer).",
}

tls12_policies := {"Policy-Min-TLS-1-2-2019-07", "Policy-Min-TLS-1-2-PFS-2023-10"}

checks := [
	["encrypt_at_rest", "enabled"],
	["node_to_node_encryption", "enabled"],
	["domain_endpoint_options", "enforce_https"],
]

deny contains msg if {
	some path in checks
	not object.get(lib.props, path, false) == true
	msg := sprintf("%s has %s.%s not true", [lib.name, path[0], path[1]])
}

deny contains msg if {
	policy := object.get(lib.props, ["domain_endpoint_options", "tls_security_policy"], "unset")
	not policy in tls12_policies
	msg := sprintf("%s allows TLS below 1.2 (tls_security_policy: %s)", [lib.name, policy])
}
