package tollgate.consistency.repository_environment

import rego.v1

metadata := {
	"id": "TG-ENV-001",
	"title": "The repository's name agrees with the stack's environment",
	"family": "consistency",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"scope": "stack",
	"description": "Repositories are named aws-<region>-<environment or account>-<component>-main, or <component>-<environment>-main for stacks outside one AWS region. A prod stack kept in a repository named for another environment is deployed by that environment's pipeline, with its reviewers and credentials; a repository whose name follows neither pattern says nothing about its environment, so it is a finding too (waive it with the reason when the naming is deliberate). Closest Checkov check: none (a Tollgate naming convention).",
	"rationale": "Prod changes must go through prod's pipeline, reviewers and credentials; a repository named for another environment routes prod changes through weaker controls and keeps them out of prod's audit trail.",
	"remediation": "Rename the repository to match the stack's environment (or account), or move the stack to the environment its repository names.",
}

parts := regex.find_all_string_submatch_n(`^aws-([a-z]+-[a-z]+-[0-9]+)-([a-z]+)-[a-z0-9-]+-main$`, input.stack.repository, 1)

# The environment words the second pattern, <component>-<environment>-main, may end with.
environments := {"prod", "production", "staging", "stage", "preprod", "uat", "qa", "test", "dev", "development", "sandbox", "root"}

tail := regex.find_all_string_submatch_n(`^[a-z0-9]+(?:-[a-z0-9]+)*-([a-z]+)-main$`, input.stack.repository, 1)

# <component>-<environment>-main: the environment word before `-main`.
component_segment := tail[0][1] if {
	count(parts) == 0
	count(tail) == 1
	tail[0][1] in environments
}

deny contains msg if {
	input.stack.repository == ""
	msg := sprintf("stack %s has no repository name (give it with --repository or a tollgate.toml), so its environment cannot be checked against it", [input.stack.id])
}

deny contains msg if {
	input.stack.repository != ""
	count(parts) == 0
	not component_segment
	msg := sprintf("stack %s's repository %s matches no known naming pattern (aws-<region>-<environment>-<component>-main or <component>-<environment>-main), so its environment cannot be checked", [input.stack.id, input.stack.repository])
}

deny contains msg if {
	segment := component_segment
	not segment in {input.stack.environment, input.stack.account}
	msg := sprintf("stack %s is %s (account %s) but its repository %s is named for %q", [input.stack.id, input.stack.environment, input.stack.account, input.stack.repository, segment])
}

deny contains msg if {
	count(parts) == 1
	segment := parts[0][2]
	not segment in {input.stack.environment, input.stack.account}
	msg := sprintf("stack %s is %s (account %s) but its repository %s is named for %q", [input.stack.id, input.stack.environment, input.stack.account, input.stack.repository, segment])
}

deny contains msg if {
	count(parts) == 1
	region := parts[0][1]
	input.stack.region != ""
	region != input.stack.region
	msg := sprintf("stack %s is in %s but its repository %s is named for %s", [input.stack.id, input.stack.region, input.stack.repository, region])
}
