package tollgate.encryption.customer_keys_test

import data.tollgate.encryption.customer_keys
import data.tollgate.lib_test as fx
import rego.v1

test_secret_with_customer_key_passes if {
	count(customer_keys.deny) == 0 with input as fx.prod("db-password", "aws_secretsmanager_secret", {"name": "db", "kms_key_id": "${key}"})
}

test_secret_without_key_denied if {
	customer_keys.deny == {"fixture/db-password (aws_secretsmanager_secret) is not encrypted with a customer-managed KMS key (key: none)"} with input as fx.prod("db-password", "aws_secretsmanager_secret", {"name": "db"})
}

test_aws_managed_alias_denied if {
	customer_keys.deny == {"fixture/db-password (aws_secretsmanager_secret) is not encrypted with a customer-managed KMS key (key: alias/aws/secretsmanager)"} with input as fx.prod("db-password", "aws_secretsmanager_secret", {"name": "db", "kms_key_id": "alias/aws/secretsmanager"})
}

test_outside_prod_passes if {
	count(customer_keys.deny) == 0 with input as fx.dev("db-password", "aws_secretsmanager_secret", {"name": "db"})
}

test_plain_string_parameter_passes if {
	count(customer_keys.deny) == 0 with input as fx.prod("endpoint", "aws_ssm_parameter", {"name": "/app/endpoint", "type": "String"})
}

test_secure_string_without_key_denied if {
	count(customer_keys.deny) == 1 with input as fx.prod("token", "aws_ssm_parameter", {"name": "/app/token", "type": "SecureString"})
}

test_repository_with_kms_key_passes if {
	count(customer_keys.deny) == 0 with input as fx.prod("images", "aws_ecr_repository", {"name": "app", "encryption_configuration": {"encryption_type": "KMS", "kms_key": "${key}"}})
}

test_repository_with_aes_denied if {
	count(customer_keys.deny) == 1 with input as fx.prod("images", "aws_ecr_repository", {"name": "app", "encryption_configuration": {"encryption_type": "AES256"}})
}

test_repository_with_kms_but_no_key_denied if {
	count(customer_keys.deny) == 1 with input as fx.prod("images", "aws_ecr_repository", {"name": "app", "encryption_configuration": {"encryption_type": "KMS"}})
}

test_table_with_customer_key_passes if {
	count(customer_keys.deny) == 0 with input as fx.prod("orders", "aws_dynamodb_table", {"name": "orders", "server_side_encryption": {"enabled": true, "kms_key_arn": "${key}"}})
}

test_table_with_aws_owned_key_denied if {
	count(customer_keys.deny) == 1 with input as fx.prod("orders", "aws_dynamodb_table", {"name": "orders"})
}

test_vault_without_key_denied if {
	count(customer_keys.deny) == 1 with input as fx.prod("vault", "aws_backup_vault", {"name": "prod"})
}

test_vault_with_key_passes if {
	count(customer_keys.deny) == 0 with input as fx.prod("vault", "aws_backup_vault", {"name": "prod", "kms_key_arn": "${key}"})
}
