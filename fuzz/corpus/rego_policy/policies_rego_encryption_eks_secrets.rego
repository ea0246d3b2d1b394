package tollgate.encryption.eks_secrets

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-006",
	"title": "EKS encrypts Kubernetes secrets with a KMS key",
	"family": "encryption",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_eks_cluster"],
	"description": "Envelope encryption of secrets in etcd keeps them unreadable from a leaked etcd backup.",
	"rationale": "Kubernetes secrets hold database passwords and API tokens; without envelope encryption they sit base64-encoded in etcd and in every etcd backup.",
	"remediation": "Set encryption_config = {resources = [\"secrets\"], provider = {key_arn = \"${cluster_key}\"}}.",
}

deny contains msg if {
	not "secrets" in object.get(lib.props, ["encryption_config", "resources"], [])
	msg := sprintf("%s does not encrypt secrets (encryption_config.resources lacks \"secrets\")", [lib.name])
}

deny contains msg if {
	"secrets" in object.get(lib.props, ["encryption_config", "resources"], [])
	object.get(lib.props, ["encryption_config", "provider", "key_arn"], "") == ""
	msg := sprintf("%s names no KMS key for secrets encryption", [lib.name])
}
