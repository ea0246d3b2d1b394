package tollgate.network.container_exposure_test

import data.tollgate.lib_test as fx
import data.tollgate.network.container_exposure
import rego.v1

test_private_service_passes if {
	count(container_exposure.deny) == 0 with input as fx.prod("api", "aws_ecs_service", {"name": "api", "network_configuration": {"subnets": ["${private-a}"], "assign_public_ip": false}})
}

test_public_service_denied if {
	container_exposure.deny == {"fixture/api (aws_ecs_service) gives its tasks public IP addresses"} with input as fx.prod("api", "aws_ecs_service", {"name": "api", "network_configuration": {"assign_public_ip": true}})
}

test_awsvpc_task_passes if {
	count(container_exposure.deny) == 0 with input as fx.prod("api-task", "aws_ecs_task_definition", {"family": "api", "network_mode": "awsvpc"})
}

test_host_network_task_denied if {
	container_exposure.deny == {"fixture/api-task (aws_ecs_task_definition) shares the host's network (network_mode = host)"} with input as fx.prod("api-task", "aws_ecs_task_definition", {"family": "api", "network_mode": "host"})
}
