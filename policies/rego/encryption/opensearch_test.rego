package tollgate.encryption.opensearch_test

import data.tollgate.encryption.opensearch
import data.tollgate.lib_test as fx
import rego.v1

compliant := {
	"domain_name": "wer1-prod-fixture",
	"engine_version": "OpenSearch_2.15",
	"cluster_config": {"instance_type": "t3.medium.search", "instance_count": 1},
	"ebs_options": {"ebs_enabled": true, "volume_size": 10, "volume_type": "gp3"},
	"encrypt_at_rest": {"enabled": true, "kms_key_id": "${key}"},
	"node_to_node_encryption": {"enabled": true},
	"domain_endpoint_options": {"enforce_https": true, "tls_security_policy": "Policy-Min-TLS-1-2-2019-07"},
	"vpc_options": {"subnet_ids": ["${networking.private-a}"], "security_group_ids": ["${networking.search-sg}"]},
}

domain(overrides) := fx.prod("search", "aws_opensearch_domain", object.union(compliant, overrides))

test_compliant_domain_passes if {
	count(opensearch.deny) == 0 with input as domain({})
}

test_pfs_tls_policy_passes if {
	count(opensearch.deny) == 0 with input as domain({"domain_endpoint_options": {"tls_security_policy": "Policy-Min-TLS-1-2-PFS-2023-10"}})
}

test_tls_1_0_denied if {
	opensearch.deny == {"fixture/search (aws_opensearch_domain) allows TLS below 1.2 (tls_security_policy: Policy-Min-TLS-1-0-2019-07)"} with input as domain({"domain_endpoint_options": {"tls_security_policy": "Policy-Min-TLS-1-0-2019-07"}})
}

test_no_tls_policy_denied if {
	props := object.union(object.remove(compliant, ["domain_endpoint_options"]), {"domain_endpoint_options": {"enforce_https": true}})
	inp := fx.prod("search", "aws_opensearch_domain", props)
	opensearch.deny == {"fixture/search (aws_opensearch_domain) allows TLS below 1.2 (tls_security_policy: unset)"} with input as inp
}

test_no_encryption_at_rest_denied if {
	opensearch.deny == {"fixture/search (aws_opensearch_domain) has encrypt_at_rest.enabled not true"} with input as domain({"encrypt_at_rest": {"enabled": false}})
}

test_no_node_to_node_encryption_denied if {
	opensearch.deny == {"fixture/search (aws_opensearch_domain) has node_to_node_encryption.enabled not true"} with input as domain({"node_to_node_encryption": {"enabled": false}})
}

test_https_not_enforced_denied if {
	opensearch.deny == {"fixture/search (aws_opensearch_domain) has domain_endpoint_options.enforce_https not true"} with input as domain({"domain_endpoint_options": {"enforce_https": false}})
}

test_bare_domain_denied_on_every_setting if {
	inp := fx.prod("search", "aws_opensearch_domain", {"domain_name": "wer1-prod-fixture"})
	opensearch.deny == {
		"fixture/search (aws_opensearch_domain) has encrypt_at_rest.enabled not true",
		"fixture/search (aws_opensearch_domain) has node_to_node_encryption.enabled not true",
		"fixture/search (aws_opensearch_domain) has domain_endpoint_options.enforce_https not true",
		"fixture/search (aws_opensearch_domain) allows TLS below 1.2 (tls_security_policy: unset)",
	} with input as inp
}
