package tollgate.consistency.repository_environment

import rego.v1

metadata := {
	"id": "TG-ENV-001",
	"title": "The repository's name agrees with the stack's environment",
	"family": "consistency",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"scope": "stack",
	"description": "Repositories are named aws-<region>-<environment or account>-<component>-main. A prod stack kept in a repository named for another environment is deployed by that environment's pipeline, with its reviewers and credentials.",
	"rationale": "Prod changes must go through prod's pipeline, reviewers and credentials; a repository named for another environment routes prod changes through weaker controls and keeps them out of prod's audit trail.",
	"remediation": "Rename the repository to match the stack's environment (or account), or move the stack to the environment its repository names.",
}

parts := regex.find_all_string_submatch_n(`^aws-([a-z]+-[a-z]+-[0-9]+)-([a-z]+)-`, input.stack.repository, 1)

deny contains msg if {
	count(parts) == 1
	segment := parts[0][2]
	not segment in {input.stack.environment, input.stack.account}
	msg := sprintf("stack %s is %s (account %s) but its repository %s is named for %q", [input.stack.id, input.stack.environment, input.stack.account, input.stack.repository, segment])
}

deny contains msg if {
	count(parts) == 1
	region := parts[0][1]
	region != input.stack.region
	msg := sprintf("stack %s is in %s but its repository %s is named for %s", [input.stack.id, input.stack.region, input.stack.repository, region])
}
