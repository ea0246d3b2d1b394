package tollgate.tagging.stack_test

import data.tollgate.lib_test as fx
import data.tollgate.tagging.stack
import rego.v1

key(stack_tag) := {"stack": fx.prod_stack, "resource": object.union(
	fx.resource(fx.prod_stack, "key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true}),
	{"tags": {"stack": stack_tag}},
)}

test_matching_stack_tag_passes if {
	count(stack.deny) == 0 with input as key("fixture")
}

test_other_stack_tag_denied if {
	stack.deny == {`fixture/key (aws_kms_key) is tagged stack="networking" but belongs to stack "fixture"`} with input as key("networking")
}

# A missing or empty tag is TG-TAG-001's finding, not this rule's.
test_empty_tag_not_judged if {
	count(stack.deny) == 0 with input as key("")
}

test_untaggable_resource_not_judged if {
	inp := object.union(key("networking"), {"resource": {"taggable": false}})
	count(stack.deny) == 0 with input as inp
}

test_blank_tag_not_judged if {
	count(stack.deny) == 0 with input as key("\u200b ")
}
