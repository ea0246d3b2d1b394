package tollgate.encryption.webhook_transport

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-009",
	"title": "Webhook endpoints use HTTPS and HMAC-SHA256 signatures",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["webhook_endpoint"],
	"description": "A webhook over plain HTTP, or without a signature, lets anyone on the path read or forge deliveries.",
	"rationale": "Webhook deliveries trigger actions in our systems; without TLS they can be read in transit, and without a signature anyone who learns the URL can forge them.",
	"remediation": "Use an https:// url, signature_algorithm = \"hmac-sha256\", and a signing_secret_ref naming the secret (never the secret itself).",
}

deny contains msg if {
	not startswith(object.get(lib.props, "url", ""), "https://")
	msg := sprintf("%s url is not https: %s", [lib.name, object.get(lib.props, "url", "unset")])
}

deny contains msg if {
	not lib.props.signature_algorithm == "hmac-sha256"
	msg := sprintf("%s is not signed with hmac-sha256 (signature_algorithm: %v)", [lib.name, object.get(lib.props, "signature_algorithm", "unset")])
}

deny contains msg if {
	object.get(lib.props, "signing_secret_ref", "") == ""
	msg := sprintf("%s has no signing_secret_ref", [lib.name])
}
