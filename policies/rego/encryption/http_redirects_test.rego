package tollgate.encryption.http_redirects_test

import data.tollgate.encryption.http_redirects
import data.tollgate.lib_test as fx
import rego.v1

http(actions) := fx.prod("http", "aws_lb_listener", {"load_balancer_arn": "${edge}", "port": 80, "protocol": "HTTP", "default_action": actions})

redirect := {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "status_code": "HTTP_301"}}

test_redirecting_listener_passes if {
	count(http_redirects.deny) == 0 with input as http([redirect])
}

test_forwarding_listener_denied if {
	http_redirects.deny == {"fixture/http (aws_lb_listener) serves plain HTTP (default_action[0] is forward, not a redirect to HTTPS)"} with input as http([{"type": "forward", "target_group_arn": "${app}"}])
}

test_listener_without_actions_denied if {
	count(http_redirects.deny) == 1 with input as http([])
}

test_https_listener_not_judged_here if {
	inp := fx.prod("https", "aws_lb_listener", {"load_balancer_arn": "${edge}", "port": 443, "protocol": "HTTPS", "default_action": [{"type": "forward"}]})
	count(http_redirects.deny) == 0 with input as inp
}

cdn(default_policy, ordered) := fx.prod("cdn", "aws_cloudfront_distribution", {
	"default_cache_behavior": {"target_origin_id": "app", "viewer_protocol_policy": default_policy},
	"ordered_cache_behavior": [{"path_pattern": "/static/*", "target_origin_id": "app", "viewer_protocol_policy": ordered}],
})

test_https_behaviours_pass if {
	count(http_redirects.deny) == 0 with input as cdn("redirect-to-https", "https-only")
}

test_allow_all_in_an_ordered_behaviour_denied if {
	http_redirects.deny == {"fixture/cdn (aws_cloudfront_distribution) serves viewers plain HTTP (ordered_cache_behavior[0].viewer_protocol_policy: allow-all)"} with input as cdn("redirect-to-https", "allow-all")
}

test_allow_all_by_default_denied if {
	count(http_redirects.deny) == 1 with input as cdn("allow-all", "https-only")
}
