package tollgate.supply_chain.github_repository_test

import data.tollgate.lib_test as fx
import data.tollgate.supply_chain.github_repository
import rego.v1

repo(overrides) := fx.prod("repo", "github_repository", object.union(
	{
		"name": "aws-eu-west-1-prod-fixture-main",
		"description": "Fixture stack",
		"visibility": "private",
		"vulnerability_alerts": true,
		"delete_branch_on_merge": true,
	},
	overrides,
))

test_private_repository_with_alerts_passes if {
	count(github_repository.deny) == 0 with input as repo({})
}

test_public_repository_denied if {
	github_repository.deny == {"fixture/repo (github_repository) has visibility public"} with input as repo({"visibility": "public"})
}

# "internal" is visible to the whole enterprise: not private either.
test_internal_repository_denied if {
	github_repository.deny == {"fixture/repo (github_repository) has visibility internal"} with input as repo({"visibility": "internal"})
}

test_alerts_off_denied if {
	github_repository.deny == {"fixture/repo (github_repository) has vulnerability alerts off"} with input as repo({"vulnerability_alerts": false})
}

test_bare_repository_denied_twice if {
	inp := fx.prod("repo", "github_repository", {"name": "aws-eu-west-1-prod-fixture-main"})
	github_repository.deny == {
		"fixture/repo (github_repository) has visibility unset",
		"fixture/repo (github_repository) has vulnerability alerts off",
	} with input as inp
}
