package tollgate.supply_chain.branch_protection_test

import data.tollgate.lib_test as fx
import data.tollgate.supply_chain.branch_protection
import rego.v1

protection(overrides) := fx.prod("repo-main", "github_branch_protection", object.union(
	{
		"repository_id": "${repo}",
		"pattern": "main",
		"enforce_admins": true,
		"allows_force_pushes": false,
		"allows_deletions": false,
		"required_pull_request_reviews": {"required_approving_review_count": 1, "dismiss_stale_reviews": true},
	},
	overrides,
))

test_reviewed_protected_branch_passes if {
	count(branch_protection.deny) == 0 with input as protection({})
	count(branch_protection.deny) == 0 with input as protection({"required_pull_request_reviews": {"required_approving_review_count": 2}})
}

test_admin_bypass_denied if {
	branch_protection.deny == {"fixture/repo-main (github_branch_protection) lets admins bypass protection"} with input as protection({"enforce_admins": false})
}

test_zero_reviews_denied if {
	inp := protection({"required_pull_request_reviews": {"required_approving_review_count": 0}})
	branch_protection.deny == {"fixture/repo-main (github_branch_protection) requires no approving review"} with input as inp
}

test_stale_approvals_kept_denied if {
	inp := protection({"required_pull_request_reviews": {"dismiss_stale_reviews": false}})
	branch_protection.deny == {"fixture/repo-main (github_branch_protection) keeps approvals after new pushes"} with input as inp
}

test_no_review_settings_denied if {
	inp := fx.prod("repo-main", "github_branch_protection", {"repository_id": "${repo}", "pattern": "main", "enforce_admins": true})
	branch_protection.deny == {
		"fixture/repo-main (github_branch_protection) requires no approving review",
		"fixture/repo-main (github_branch_protection) keeps approvals after new pushes",
	} with input as inp
}

# A plan's "(known after apply)" might be 0: the rule fails closed.
test_unknown_review_count_denied if {
	inp := protection({"required_pull_request_reviews": {"required_approving_review_count": "(known after apply)"}})
	branch_protection.deny == {"fixture/repo-main (github_branch_protection) requires an unknown number of approving reviews ((known after apply))"} with input as inp
}
