package tollgate.encryption.tls_in_transit

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-012",
	"title": "TLS endpoints negotiate TLS 1.2 or newer, and Kafka clients use TLS",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_lb_listener", "aws_cloudfront_distribution", "aws_msk_cluster"],
	"description": "An HTTPS or TLS listener names an ssl_policy of TLS 1.2 or 1.3 only (ELBSecurityPolicy-TLS13-1-2-…, -TLS-1-2-…, -FS-1-2-…; the default ELBSecurityPolicy-2016-08 still accepts TLS 1.0); a CloudFront distribution serves a certificate of its own with viewer_certificate.minimum_protocol_version TLSv1.2_* (the default certificate allows TLS 1.0); an MSK cluster takes client traffic over TLS only (client_broker = \"TLS\") and keeps in-cluster encryption on. Plain-HTTP listeners and viewer protocol policies are judged by TG-ENC-013. Closest Checkov checks: CKV_AWS_103 (load balancer TLS 1.2), CKV_AWS_174 (CloudFront TLS 1.2), CKV_AWS_81 (MSK in transit): the same.",
	"rationale": "TLS 1.0 and 1.1 have practical downgrade and padding attacks and are refused by current browsers and compliance regimes; a plain-text Kafka listener exposes every event on the network.",
	"remediation": "Set ssl_policy = \"ELBSecurityPolicy-TLS13-1-2-2021-06\" (listeners), viewer_certificate {acm_certificate_arn, minimum_protocol_version = \"TLSv1.2_2021\"} (distributions), encryption_info.encryption_in_transit {client_broker = \"TLS\", in_cluster = true} (MSK).",
}

tls_policy(p) if {
	is_string(p)
	regex.match(`-1-[23]-`, p)
}

deny contains msg if {
	input.resource.type == "aws_lb_listener"
	object.get(lib.props, "protocol", "") in {"HTTPS", "TLS"}
	policy := object.get(lib.props, "ssl_policy", "unset (ELBSecurityPolicy-2016-08)")
	not tls_policy(policy)
	msg := sprintf("%s accepts TLS below 1.2 (ssl_policy: %v)", [lib.name, policy])
}

deny contains msg if {
	input.resource.type == "aws_cloudfront_distribution"
	version := object.get(lib.props, ["viewer_certificate", "minimum_protocol_version"], "unset (TLSv1)")
	not tls12_viewer(version)
	msg := sprintf("%s accepts TLS below 1.2 from viewers (viewer_certificate.minimum_protocol_version: %v)", [lib.name, version])
}

tls12_viewer(v) if {
	is_string(v)
	startswith(v, "TLSv1.2_")
	not object.get(lib.props, ["viewer_certificate", "cloudfront_default_certificate"], false) == true
}

deny contains msg if {
	input.resource.type == "aws_msk_cluster"
	transit := object.get(lib.props, ["encryption_info", "encryption_in_transit"], {})
	not object.get(transit, "client_broker", "TLS") == "TLS"
	msg := sprintf("%s lets clients connect without TLS (client_broker: %v)", [lib.name, transit.client_broker])
}

deny contains msg if {
	input.resource.type == "aws_msk_cluster"
	object.get(lib.props, ["encryption_info", "encryption_in_transit", "in_cluster"], true) == false
	msg := sprintf("%s sends traffic between brokers in clear text (in_cluster: false)", [lib.name])
}
