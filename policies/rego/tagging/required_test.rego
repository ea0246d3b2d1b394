package tollgate.tagging.required_test

import data.tollgate.lib_test as fx
import data.tollgate.tagging.required
import rego.v1

key := fx.prod("key", "aws_kms_key", {"description": "fixture key", "enable_key_rotation": true})

# The key with exactly `tags` (object.union would merge them into the full set).
with_tags(tags) := {"stack": key.stack, "resource": object.union(object.remove(key.resource, ["tags"]), {"tags": tags})}

test_all_required_tags_pass if {
	count(required.deny) == 0 with input as key
}

test_missing_tags_denied if {
	inp := with_tags({"owner": "security", "environment": "prod"})
	required.deny == {
		`fixture/key (aws_kms_key) is missing the tag "cost-center"`,
		`fixture/key (aws_kms_key) is missing the tag "stack"`,
	} with input as inp
}

test_empty_tag_denied if {
	inp := with_tags({"owner": "", "environment": "prod", "cost-center": "cc-sec", "stack": "fixture"})
	required.deny == {`fixture/key (aws_kms_key) is missing the tag "owner"`} with input as inp
}

test_untagged_resource_denied_per_tag if {
	count(required.deny) == 4 with input as with_tags({})
}

# Types that cannot carry tags (the registry's `taggable`) are not judged.
test_untaggable_resource_not_judged if {
	inp := object.union(with_tags({}), {"resource": {"taggable": false, "type": "github_branch_protection", "id": "repo-main"}})
	count(required.deny) == 0 with input as inp
}

test_required_list_comes_from_data if {
	inp := with_tags({"owner": "security", "environment": "prod", "cost-center": "cc-sec", "stack": "fixture"})
	required.deny == {`fixture/key (aws_kms_key) is missing the tag "data-classification"`} with input as inp with data.config.tagging.required_tags as ["owner", "data-classification"]
}

# A tag of only whitespace or zero-width characters is missing.
test_blank_tags_denied if {
	every v in [" ", "\t", "\u200b", "\u200c\u200d", "\ufeff", "\u2060"] {
		required.deny == {`fixture/key (aws_kms_key) is missing the tag "owner"`} with input as with_tags({"owner": v, "environment": "prod", "cost-center": "cc-sec", "stack": "fixture"})
	}
}
