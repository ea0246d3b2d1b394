package tollgate.tagging.environment_test

import data.tollgate.lib_test as fx
import data.tollgate.tagging.environment
import rego.v1

key(stack, env_tag) := {"stack": stack, "resource": object.union(
	fx.resource(stack, "key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true}),
	{"tags": {"environment": env_tag}},
)}

test_matching_environment_passes if {
	count(environment.deny) == 0 with input as key(fx.prod_stack, "prod")
	count(environment.deny) == 0 with input as key(fx.dev_stack, "dev")
}

test_dev_tag_in_prod_stack_denied if {
	inp := key(fx.prod_stack, "dev")
	environment.deny == {`fixture/key (aws_kms_key) is tagged environment="dev" in a "prod" stack`} with input as inp
}

test_prod_tag_in_dev_stack_denied if {
	inp := key(fx.dev_stack, "prod")
	environment.deny == {`fixture/key (aws_kms_key) is tagged environment="prod" in a "dev" stack`} with input as inp
}

# A missing or empty tag is TG-TAG-001's finding, not this rule's.
test_missing_or_empty_tag_not_judged if {
	count(environment.deny) == 0 with input as key(fx.prod_stack, "")
	no_tags := {"stack": fx.prod_stack, "resource": object.union(object.remove(fx.prod("key", "aws_kms_key", {}).resource, ["tags"]), {"tags": {}})}
	count(environment.deny) == 0 with input as no_tags
}

test_untaggable_resource_not_judged if {
	inp := object.union(key(fx.prod_stack, "dev"), {"resource": {"taggable": false}})
	count(environment.deny) == 0 with input as inp
}

# Environments are compared by meaning.
test_spellings_of_the_same_environment_pass if {
	every e in ["Prod", "PROD", "production", " prod "] {
		count(environment.deny) == 0 with input as key(fx.prod_stack, e)
	}
	count(environment.deny) == 0 with input as key(object.union(fx.prod_stack, {"environment": "Production"}), "prod")
}

test_blank_tag_not_judged if {
	count(environment.deny) == 0 with input as key(fx.prod_stack, " \u200b")
}
