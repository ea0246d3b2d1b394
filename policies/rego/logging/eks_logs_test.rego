package tollgate.logging.eks_logs_test

import data.tollgate.lib_test as fx
import data.tollgate.logging.eks_logs
import rego.v1

cluster(log_types) := fx.prod("cluster", "aws_eks_cluster", {
	"name": "wer1-prod-fixture",
	"version": "1.31",
	"vpc_config": {"endpoint_private_access": true, "endpoint_public_access": false},
	"encryption_config": {"resources": ["secrets"], "provider": {"key_arn": "${key}"}},
	"enabled_cluster_log_types": log_types,
})

test_all_required_logs_pass if {
	count(eks_logs.deny) == 0 with input as cluster(["api", "audit", "authenticator"])
	count(eks_logs.deny) == 0 with input as cluster(["api", "audit", "authenticator", "controllerManager", "scheduler"])
}

test_only_api_logs_denied if {
	eks_logs.deny == {
		"fixture/cluster (aws_eks_cluster) does not ship audit logs",
		"fixture/cluster (aws_eks_cluster) does not ship authenticator logs",
	} with input as cluster(["api"])
}

test_no_log_types_denied_three_times if {
	inp := fx.prod("cluster", "aws_eks_cluster", {"name": "wer1-prod-fixture"})
	count(eks_logs.deny) == 3 with input as inp
}
