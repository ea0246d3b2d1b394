package tollgate.consistency.repository_environment_test

import data.tollgate.consistency.repository_environment
import data.tollgate.lib_test as fx
import rego.v1

key := fx.resource(fx.prod_stack, "key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true})

stack(fields) := {"stack": object.union(fx.prod_stack, fields), "resources": [key]}

test_repository_named_for_the_environment_passes if {
	count(repository_environment.deny) == 0 with input as stack({})
}

# The budgeting repository is named for its account (root), not its environment.
test_repository_named_for_the_account_passes if {
	inp := stack({"id": "budgeting", "repository": "aws-eu-west-1-root-budgeting-main", "account": "root"})
	count(repository_environment.deny) == 0 with input as inp
}

# <component>-<environment>-main names the environment too.
test_component_environment_repository_passes if {
	count(repository_environment.deny) == 0 with input as stack({"id": "fluxcd", "repository": "fluxcd-prod-main"})
}

test_component_repository_for_another_environment_denied if {
	inp := stack({"id": "fluxcd", "repository": "fluxcd-dev-main"})
	repository_environment.deny == {`stack fluxcd is prod (account prod) but its repository fluxcd-dev-main is named for "dev"`} with input as inp
}

# A name that follows no known pattern says nothing about the environment: a finding, not a pass.
test_repository_outside_the_naming_patterns_denied if {
	repository_environment.deny == {"stack argocd's repository argocd-main matches no known naming pattern (aws-<region>-<environment>-<component>-main or <component>-<environment>-main), so its environment cannot be checked"} with input as stack({"id": "argocd", "repository": "argocd-main"})
	count(repository_environment.deny) == 1 with input as stack({"repository": "media-processing-server-main"})
	count(repository_environment.deny) == 1 with input as stack({"repository": "Prod-Fixture"})
	count(repository_environment.deny) == 1 with input as stack({"repository": "aws-eu-west-1-prod-fixture"})
	count(repository_environment.deny) == 1 with input as stack({"repository": ""})
}

# The estate's database stack: a prod stack in a dev repository.
test_dev_repository_for_prod_stack_denied if {
	inp := stack({"id": "database", "repository": "aws-eu-west-1-dev-database-main"})
	repository_environment.deny == {`stack database is prod (account prod) but its repository aws-eu-west-1-dev-database-main is named for "dev"`} with input as inp
}

test_prod_repository_for_dev_stack_denied if {
	inp := stack({"environment": "dev", "account": "dev"})
	repository_environment.deny == {`stack fixture is dev (account dev) but its repository aws-eu-west-1-prod-fixture-main is named for "prod"`} with input as inp
}

test_repository_named_for_another_region_denied if {
	inp := stack({"repository": "aws-us-east-1-prod-fixture-main"})
	repository_environment.deny == {"stack fixture is in eu-west-1 but its repository aws-us-east-1-prod-fixture-main is named for us-east-1"} with input as inp
}

test_wrong_region_and_environment_both_reported if {
	inp := stack({"repository": "aws-us-east-1-staging-fixture-main"})
	count(repository_environment.deny) == 2 with input as inp
}

test_unknown_repository_denied_with_what_to_give if {
	inp := stack({"repository": ""})
	repository_environment.deny == {"stack fixture has no repository name (give it with --repository or a tollgate.toml), so its environment cannot be checked against it"} with input as inp
}
