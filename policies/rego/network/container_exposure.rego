package tollgate.network.container_exposure

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-NET-010",
	"title": "Containers get no public address and do not share the host's network",
	"family": "network",
	"severity": "high",
	"enforcement": "hard-mandatory",
	"resource_types": ["aws_ecs_service", "aws_ecs_task_definition"],
	"description": "An ECS service does not set network_configuration.assign_public_ip = true (tasks are reached through a load balancer); a task definition does not use network_mode = \"host\" (which bypasses the task's own security groups). Closest Checkov checks: CKV_AWS_333 (ECS services do not assign public IPs): the same; CKV_AWS_249 (execution and task roles differ, not judged here) and CKV_AWS_97 (EFS volumes encrypted in transit, not judged here) judge other task definition settings; the host-network check is Tollgate's.",
	"rationale": "A task with a public address answers the internet on every port its security group allows; host networking gives a container the instance's network and every other task's traffic.",
	"remediation": "Set assign_public_ip = false and put the service behind a load balancer; use network_mode = \"awsvpc\".",
}

deny contains msg if {
	input.resource.type == "aws_ecs_service"
	object.get(lib.props, ["network_configuration", "assign_public_ip"], false) == true
	msg := sprintf("%s gives its tasks public IP addresses", [lib.name])
}

deny contains msg if {
	input.resource.type == "aws_ecs_task_definition"
	object.get(lib.props, "network_mode", "") == "host"
	msg := sprintf("%s shares the host's network (network_mode = host)", [lib.name])
}
