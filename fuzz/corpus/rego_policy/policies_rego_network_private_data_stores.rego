package tollgate.network.private_data_stores

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-003",
	"title": "Data stores are never publicly accessible",
	"family": "network",
	"severity": "critical",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_rds_cluster_instance", "aws_opensearch_domain"],
	"description": "Databases and search domains answer only inside the VPC; a public endpoint is one leaked password away from a breach.",
	"rationale": "Publicly reachable databases are among the most common causes of large data leaks; inside the VPC a leaked password is not enough on its own.",
	"remediation": "Set publicly_accessible = false (database instances); give search domains vpc_options with private subnets.",
}

deny contains msg if {
	input.resource.type == "aws_rds_cluster_instance"
	not lib.props.publicly_accessible == false
	msg := sprintf("%s has publicly_accessible %v", [lib.name, object.get(lib.props, "publicly_accessible", "unset (defaults vary)")])
}

deny contains msg if {
	input.resource.type == "aws_opensearch_domain"
	count(object.get(lib.props, ["vpc_options", "subnet_ids"], [])) == 0
	msg := sprintf("%s is not inside a VPC (no vpc_options.subnet_ids)", [lib.name])
}
