package tollgate.network.eks_private_endpoint_test

import data.tollgate.lib_test as fx
import data.tollgate.network.eks_private_endpoint
import rego.v1

cluster(vpc_config) := fx.prod("cluster", "aws_eks_cluster", {
	"name": "wer1-prod-fixture",
	"version": "1.31",
	"role_arn": "${iam.eks-cluster-role}",
	"vpc_config": object.union({"subnet_ids": ["${networking.private-a}", "${networking.private-b}"]}, vpc_config),
	"encryption_config": {"resources": ["secrets"], "provider": {"key_arn": "${key}"}},
	"enabled_cluster_log_types": ["api", "audit", "authenticator"],
})

test_private_only_endpoint_passes if {
	inp := cluster({"endpoint_private_access": true, "endpoint_public_access": false})
	count(eks_private_endpoint.deny) == 0 with input as inp
}

test_public_endpoint_denied if {
	inp := cluster({"endpoint_private_access": true, "endpoint_public_access": true})
	eks_private_endpoint.deny == {"fixture/cluster (aws_eks_cluster) has a public API endpoint"} with input as inp
}

test_no_private_endpoint_denied if {
	inp := cluster({"endpoint_private_access": false, "endpoint_public_access": false})
	eks_private_endpoint.deny == {"fixture/cluster (aws_eks_cluster) has no private API endpoint"} with input as inp
}

# EKS's defaults are a public endpoint and no private one.
test_defaults_denied_twice if {
	eks_private_endpoint.deny == {
		"fixture/cluster (aws_eks_cluster) has a public API endpoint",
		"fixture/cluster (aws_eks_cluster) has no private API endpoint",
	} with input as cluster({})
}
