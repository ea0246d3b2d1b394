package tollgate.encryption.customer_keys

import data.tollgate.lib
import rego.v1

metadata := {
	"id": "TG-ENC-011",
	"title": "In prod, secrets, parameters, images, tables and backups use a customer-managed key",
	"family": "encryption",
	"severity": "medium",
	"enforcement": "soft-mandatory",
	"resource_types": ["aws_secretsmanager_secret", "aws_ssm_parameter", "aws_ecr_repository", "aws_dynamodb_table", "aws_backup_vault"],
	"description": "In prod each of these names a customer-managed KMS key: a secret's kms_key_id, a SecureString parameter's key_id, a repository's encryption_configuration (KMS with kms_key), a table's server_side_encryption (enabled with kms_key_arn), a backup vault's kms_key_arn. No key, or an AWS-managed one (alias/aws/…), fails. String parameters hold no secret and pass; outside prod everything passes. Closest Checkov checks: CKV_AWS_149 (secret CMK), CKV_AWS_337 (SSM SecureString CMK), CKV_AWS_136 (ECR KMS), CKV_AWS_119 (DynamoDB CMK), CKV_AWS_166 (backup vault KMS): the same in prod, looser outside prod.",
	"rationale": "With an AWS-managed key anyone the account lets use the service can decrypt; a customer-managed key's policy decides who may, every use is logged, and disabling it revokes every copy at once.",
	"remediation": "Create a customer-managed aws_kms_key and name it: kms_key_id (secret), key_id (SecureString parameter), encryption_configuration {encryption_type = \"KMS\", kms_key} (repository), server_side_encryption {enabled = true, kms_key_arn} (table), kms_key_arn (backup vault).",
}

# The key a resource names, or "" when it names none (or is not encrypted with KMS).
key := object.get(lib.props, "kms_key_id", "") if input.resource.type == "aws_secretsmanager_secret"

key := object.get(lib.props, "key_id", "") if input.resource.type == "aws_ssm_parameter"

key := object.get(lib.props, "kms_key_arn", "") if input.resource.type == "aws_backup_vault"

key := object.get(lib.props, ["encryption_configuration", "kms_key"], "") if {
	input.resource.type == "aws_ecr_repository"
	object.get(lib.props, ["encryption_configuration", "encryption_type"], "AES256") == "KMS"
}

key := "" if {
	input.resource.type == "aws_ecr_repository"
	object.get(lib.props, ["encryption_configuration", "encryption_type"], "AES256") != "KMS"
}

key := object.get(lib.props, ["server_side_encryption", "kms_key_arn"], "") if {
	input.resource.type == "aws_dynamodb_table"
	object.get(lib.props, ["server_side_encryption", "enabled"], false) == true
}

key := "" if {
	input.resource.type == "aws_dynamodb_table"
	not object.get(lib.props, ["server_side_encryption", "enabled"], false) == true
}

# Only SecureString parameters hold a secret.
judged if input.resource.type != "aws_ssm_parameter"

judged if object.get(lib.props, "type", "") == "SecureString"

customer_managed(k) if {
	is_string(k)
	k != ""
	not contains(k, "alias/aws/")
}

deny contains msg if {
	lib.is_prod
	judged
	not customer_managed(key)
	msg := sprintf("%s is not encrypted with a customer-managed KMS key (key: %v)", [lib.name, shown(key)])
}

shown(k) := "none" if k == ""

shown(k) := k if k != ""
