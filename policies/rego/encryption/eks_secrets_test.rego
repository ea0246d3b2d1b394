package tollgate.encryption.eks_secrets_test

import data.tollgate.encryption.eks_secrets
import data.tollgate.lib_test as fx
import rego.v1

cluster(extra) := fx.prod("cluster", "aws_eks_cluster", object.union(
	{
		"name": "wer1-prod-fixture",
		"version": "1.31",
		"role_arn": "${iam.eks-cluster-role}",
		"vpc_config": {
			"subnet_ids": ["${networking.private-a}", "${networking.private-b}"],
			"endpoint_private_access": true,
			"endpoint_public_access": false,
		},
		"enabled_cluster_log_types": ["api", "audit", "authenticator"],
	},
	extra,
))

test_secrets_encrypted_with_key_passes if {
	inp := cluster({"encryption_config": {"resources": ["secrets"], "provider": {"key_arn": "${key}"}}})
	count(eks_secrets.deny) == 0 with input as inp
}

test_no_encryption_config_denied if {
	eks_secrets.deny == {`fixture/cluster (aws_eks_cluster) does not encrypt secrets (encryption_config.resources lacks "secrets")`} with input as cluster({})
}

test_encryption_config_without_secrets_denied if {
	inp := cluster({"encryption_config": {"resources": [], "provider": {"key_arn": "${key}"}}})
	eks_secrets.deny == {`fixture/cluster (aws_eks_cluster) does not encrypt secrets (encryption_config.resources lacks "secrets")`} with input as inp
}

test_secrets_without_key_denied if {
	inp := cluster({"encryption_config": {"resources": ["secrets"]}})
	eks_secrets.deny == {"fixture/cluster (aws_eks_cluster) names no KMS key for secrets encryption"} with input as inp
}

test_secrets_with_empty_key_denied if {
	inp := cluster({"encryption_config": {"resources": ["secrets"], "provider": {"key_arn": ""}}})
	eks_secrets.deny == {"fixture/cluster (aws_eks_cluster) names no KMS key for secrets encryption"} with input as inp
}

# A key created in the same plan is "(known after apply)": some key is named, which is enough.
test_key_known_after_apply_passes if {
	inp := cluster({"encryption_config": {"resources": ["secrets"], "provider": {"key_arn": "(known after apply)"}}})
	count(eks_secrets.deny) == 0 with input as inp
}
