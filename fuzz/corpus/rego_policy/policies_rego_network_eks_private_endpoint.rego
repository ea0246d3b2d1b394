package tollgate.network.eks_private_endpoint

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-004",
	"title": "EKS API endpoints are private",
	"family": "network",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_eks_cluster"],
	"description": "The Kubernetes API is reached through the VPN; a public endpoint exposes it to credential stuffing and API exploits.",
	"rationale": "A public Kubernetes API is scanned constantly; a leaked kubeconfig or an API server vulnerability is then exploitable from anywhere rather than only from inside the VPN.",
	"remediation": "Set vpc_config.endpoint_public_access = false and vpc_config.endpoint_private_access = true.",
}

deny contains msg if {
	not object.get(lib.props, ["vpc_config", "endpoint_public_access"], true) == false
	msg := sprintf("%s has a public API endpoint", [lib.name])
}

deny contains msg if {
	not object.get(lib.props, ["vpc_config", "endpoint_private_access"], false) == true
	msg := sprintf("%s has no private API endpoint", [lib.name])
}
