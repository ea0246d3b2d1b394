package tollgate.encryption.tls_in_transit_test

import data.tollgate.encryption.tls_in_transit
import data.tollgate.lib_test as fx
import rego.v1

listener(props) := fx.prod("https", "aws_lb_listener", object.union({"load_balancer_arn": "${edge}", "port": 443}, props))

test_tls13_listener_passes if {
	count(tls_in_transit.deny) == 0 with input as listener({"protocol": "HTTPS", "ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"})
}

test_default_policy_denied if {
	tls_in_transit.deny == {"fixture/https (aws_lb_listener) accepts TLS below 1.2 (ssl_policy: unset (ELBSecurityPolicy-2016-08))"} with input as listener({"protocol": "HTTPS"})
}

test_old_policy_denied if {
	count(tls_in_transit.deny) == 1 with input as listener({"protocol": "TLS", "ssl_policy": "ELBSecurityPolicy-TLS-1-1-2017-01"})
}

test_plain_http_listener_is_not_judged_here if {
	count(tls_in_transit.deny) == 0 with input as listener({"protocol": "HTTP", "port": 80})
}

test_distribution_with_tls12_passes if {
	inp := fx.prod("cdn", "aws_cloudfront_distribution", {"viewer_certificate": {"acm_certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/x", "minimum_protocol_version": "TLSv1.2_2021"}})
	count(tls_in_transit.deny) == 0 with input as inp
}

test_distribution_with_default_certificate_denied if {
	inp := fx.prod("cdn", "aws_cloudfront_distribution", {"viewer_certificate": {"cloudfront_default_certificate": true, "minimum_protocol_version": "TLSv1.2_2021"}})
	count(tls_in_transit.deny) == 1 with input as inp
}

test_distribution_with_tls1_denied if {
	inp := fx.prod("cdn", "aws_cloudfront_distribution", {"viewer_certificate": {"acm_certificate_arn": "arn:x", "minimum_protocol_version": "TLSv1"}})
	tls_in_transit.deny == {"fixture/cdn (aws_cloudfront_distribution) accepts TLS below 1.2 from viewers (viewer_certificate.minimum_protocol_version: TLSv1)"} with input as inp
}

test_kafka_with_plaintext_clients_denied if {
	inp := fx.prod("kafka", "aws_msk_cluster", {"cluster_name": "events", "encryption_info": {"encryption_in_transit": {"client_broker": "TLS_PLAINTEXT"}}})
	tls_in_transit.deny == {"fixture/kafka (aws_msk_cluster) lets clients connect without TLS (client_broker: TLS_PLAINTEXT)"} with input as inp
}

test_kafka_defaults_pass if {
	count(tls_in_transit.deny) == 0 with input as fx.prod("kafka", "aws_msk_cluster", {"cluster_name": "events"})
}

test_kafka_clear_in_cluster_denied if {
	inp := fx.prod("kafka", "aws_msk_cluster", {"cluster_name": "events", "encryption_info": {"encryption_in_transit": {"client_broker": "TLS", "in_cluster": false}}})
	count(tls_in_transit.deny) == 1 with input as inp
}
