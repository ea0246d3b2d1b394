package tollgate.encryption.http_redirects

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-013",
	"title": "Plain HTTP only redirects to HTTPS",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_lb_listener", "aws_cloudfront_distribution"],
	"description": "An HTTP listener's every default_action is a redirect with redirect.protocol = \"HTTPS\"; a CloudFront distribution's default and ordered cache behaviours have viewer_protocol_policy redirect-to-https or https-only (allow-all serves HTTP). Rego only: Cedar cannot quantify over the lists of actions and behaviours. Closest Checkov checks: CKV_AWS_2 (load balancer uses HTTPS) and CKV_AWS_34 (CloudFront viewer protocol): the same; unset viewer protocol policies count as allow-all.",
	"rationale": "A page served over HTTP can be read and rewritten by anyone on the network path, including the login form that leads to the HTTPS part.",
	"remediation": "Give HTTP listeners a single default_action {type = \"redirect\", redirect {protocol = \"HTTPS\", port = \"443\", status_code = \"HTTP_301\"}}; set viewer_protocol_policy = \"redirect-to-https\" on every cache behaviour.",
}

redirects_to_https(action) if {
	action.type == "redirect"
	object.get(action, ["redirect", "protocol"], "") == "HTTPS"
}

deny contains msg if {
	input.resource.type == "aws_lb_listener"
	object.get(lib.props, "protocol", "") == "HTTP"
	some i, action in object.get(lib.props, "default_action", [])
	not redirects_to_https(action)
	msg := sprintf("%s serves plain HTTP (default_action[%d] is %v, not a redirect to HTTPS)", [lib.name, i, object.get(action, "type", "unset")])
}

deny contains msg if {
	input.resource.type == "aws_lb_listener"
	object.get(lib.props, "protocol", "") == "HTTP"
	count(object.get(lib.props, "default_action", [])) == 0
	msg := sprintf("%s serves plain HTTP (no default_action redirects to HTTPS)", [lib.name])
}

behaviours contains ["default_cache_behavior", b] if {
	input.resource.type == "aws_cloudfront_distribution"
	b := object.get(lib.props, "default_cache_behavior", {})
}

behaviours contains [sprintf("ordered_cache_behavior[%d]", [i]), b] if {
	input.resource.type == "aws_cloudfront_distribution"
	some i, b in object.get(lib.props, "ordered_cache_behavior", [])
}

deny contains msg if {
	some [where, b] in behaviours
	policy := object.get(b, "viewer_protocol_policy", "unset (allow-all)")
	not policy in {"redirect-to-https", "https-only"}
	msg := sprintf("%s serves viewers plain HTTP (%s.viewer_protocol_policy: %v)", [lib.name, where, policy])
}
