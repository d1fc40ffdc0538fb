//! Which events are findings: one rule per line.
//!
//! Responders argue about what counts as persistence or evasion, and the
//! list grows with every incident. Keeping it as one data table, apart from
//! the counting, means a new rule is one reviewed line, and the test below
//! checks no rule is listed twice.

use serde::Serialize;
use serde_json::Value;

/// A class of findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// New identities, keys, logins and policies: a way back in, or more power.
    PersistenceAndPrivilege,
    /// Blinding the defenders: trails, detectors, recorders, flow logs.
    DefenseEvasion,
    /// Reading secrets and credentials.
    CredentialAccess,
    /// Resource policies and sharing that open data to other accounts.
    Exposure,
}

impl Category {
    /// A heading for people.
    pub fn title(self) -> &'static str {
        match self {
            Category::PersistenceAndPrivilege => "Persistence and privilege",
            Category::DefenseEvasion => "Defense evasion",
            Category::CredentialAccess => "Credential access",
            Category::Exposure => "Exposure of resources",
        }
    }
}

/// When a rule of [`CLASSIFICATION`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Always.
    Always,
    /// Only when this boolean request parameter is true
    /// (e.g. `withDecryption` on SSM reads).
    ParamTrue(&'static str),
    /// Only when this string request parameter has this value
    /// (e.g. `status` `Active` on `UpdateAccessKey`: a key brought back).
    ParamIs(&'static str, &'static str),
}

/// How events become findings: `(eventSource, eventName, when, category)`.
/// Failed calls are findings too: an attempt is a signal.
pub const CLASSIFICATION: &[(&str, &str, When, Category)] = {
    use Category::*;
    use When::*;
    &[
        // Persistence and privilege.
        (
            "iam.amazonaws.com",
            "CreateUser",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreateAccessKey",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "UpdateAccessKey",
            ParamIs("status", "Active"),
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreateLoginProfile",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "UpdateLoginProfile",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "AttachUserPolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "AttachRolePolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "AttachGroupPolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "PutUserPolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "PutRolePolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "PutGroupPolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreateRole",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "AddUserToGroup",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreatePolicyVersion",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "SetDefaultPolicyVersion",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreateVirtualMFADevice",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "EnableMFADevice",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "DeactivateMFADevice",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "AddRoleToInstanceProfile",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "DeleteUserPermissionsBoundary",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "DeleteRolePermissionsBoundary",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreateSAMLProvider",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "iam.amazonaws.com",
            "CreateOpenIDConnectProvider",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "sts.amazonaws.com",
            "GetFederationToken",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "ec2.amazonaws.com",
            "ImportKeyPair",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "lambda.amazonaws.com",
            "UpdateFunctionCode20150331v2",
            Always,
            PersistenceAndPrivilege,
        ),
        (
            "sso.amazonaws.com",
            "CreatePermissionSet",
            Always,
            PersistenceAndPrivilege,
        ),
        // Defense evasion.
        (
            "cloudtrail.amazonaws.com",
            "StopLogging",
            Always,
            DefenseEvasion,
        ),
        (
            "cloudtrail.amazonaws.com",
            "DeleteTrail",
            Always,
            DefenseEvasion,
        ),
        (
            "cloudtrail.amazonaws.com",
            "UpdateTrail",
            Always,
            DefenseEvasion,
        ),
        (
            "cloudtrail.amazonaws.com",
            "PutEventSelectors",
            Always,
            DefenseEvasion,
        ),
        (
            "cloudtrail.amazonaws.com",
            "PutInsightSelectors",
            Always,
            DefenseEvasion,
        ),
        (
            "cloudtrail.amazonaws.com",
            "DeleteEventDataStore",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "DeleteDetector",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "UpdateDetector",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "CreateFilter",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "UpdateFilter",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "CreateIPSet",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "UpdateIPSet",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "DeleteMembers",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "DisassociateFromMasterAccount",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "DisassociateFromAdministratorAccount",
            Always,
            DefenseEvasion,
        ),
        (
            "guardduty.amazonaws.com",
            "StopMonitoringMembers",
            Always,
            DefenseEvasion,
        ),
        (
            "securityhub.amazonaws.com",
            "DisableSecurityHub",
            Always,
            DefenseEvasion,
        ),
        (
            "securityhub.amazonaws.com",
            "BatchDisableStandards",
            Always,
            DefenseEvasion,
        ),
        (
            "securityhub.amazonaws.com",
            "DisableImportFindingsForProduct",
            Always,
            DefenseEvasion,
        ),
        (
            "securityhub.amazonaws.com",
            "DeleteMembers",
            Always,
            DefenseEvasion,
        ),
        (
            "config.amazonaws.com",
            "StopConfigurationRecorder",
            Always,
            DefenseEvasion,
        ),
        (
            "config.amazonaws.com",
            "DeleteConfigurationRecorder",
            Always,
            DefenseEvasion,
        ),
        (
            "config.amazonaws.com",
            "DeleteDeliveryChannel",
            Always,
            DefenseEvasion,
        ),
        (
            "ec2.amazonaws.com",
            "DeleteFlowLogs",
            Always,
            DefenseEvasion,
        ),
        (
            "logs.amazonaws.com",
            "DeleteLogGroup",
            Always,
            DefenseEvasion,
        ),
        (
            "logs.amazonaws.com",
            "DeleteLogStream",
            Always,
            DefenseEvasion,
        ),
        (
            "organizations.amazonaws.com",
            "LeaveOrganization",
            Always,
            DefenseEvasion,
        ),
        (
            "bedrock.amazonaws.com",
            "DeleteGuardrail",
            Always,
            DefenseEvasion,
        ),
        // Credential access.
        (
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            Always,
            CredentialAccess,
        ),
        (
            "secretsmanager.amazonaws.com",
            "BatchGetSecretValue",
            Always,
            CredentialAccess,
        ),
        (
            "ssm.amazonaws.com",
            "GetParameter",
            ParamTrue("withDecryption"),
            CredentialAccess,
        ),
        (
            "ssm.amazonaws.com",
            "GetParameters",
            ParamTrue("withDecryption"),
            CredentialAccess,
        ),
        (
            "ssm.amazonaws.com",
            "GetParametersByPath",
            ParamTrue("withDecryption"),
            CredentialAccess,
        ),
        (
            "ssm.amazonaws.com",
            "GetParameterHistory",
            ParamTrue("withDecryption"),
            CredentialAccess,
        ),
        (
            "ec2.amazonaws.com",
            "GetPasswordData",
            Always,
            CredentialAccess,
        ),
        (
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            Always,
            CredentialAccess,
        ),
        ("kms.amazonaws.com", "Decrypt", Always, CredentialAccess),
        // Exposure.
        ("s3.amazonaws.com", "PutBucketPolicy", Always, Exposure),
        ("s3.amazonaws.com", "PutBucketAcl", Always, Exposure),
        ("s3.amazonaws.com", "PutObjectAcl", Always, Exposure),
        (
            "s3.amazonaws.com",
            "DeleteBucketPublicAccessBlock",
            Always,
            Exposure,
        ),
        (
            "s3.amazonaws.com",
            "PutBucketPublicAccessBlock",
            Always,
            Exposure,
        ),
        (
            "ec2.amazonaws.com",
            "ModifySnapshotAttribute",
            Always,
            Exposure,
        ),
        (
            "ec2.amazonaws.com",
            "ModifyImageAttribute",
            Always,
            Exposure,
        ),
        (
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            Always,
            Exposure,
        ),
        (
            "rds.amazonaws.com",
            "ModifyDBSnapshotAttribute",
            Always,
            Exposure,
        ),
        (
            "rds.amazonaws.com",
            "ModifyDBClusterSnapshotAttribute",
            Always,
            Exposure,
        ),
        (
            "secretsmanager.amazonaws.com",
            "PutResourcePolicy",
            Always,
            Exposure,
        ),
        ("kms.amazonaws.com", "PutKeyPolicy", Always, Exposure),
        (
            "lambda.amazonaws.com",
            "AddPermission20150331v2",
            Always,
            Exposure,
        ),
        ("ecr.amazonaws.com", "SetRepositoryPolicy", Always, Exposure),
    ]
};

/// The finding category of an event, if [`CLASSIFICATION`] has one.
pub fn classify(service: &str, name: &str, params: Option<&Value>) -> Option<Category> {
    CLASSIFICATION
        .iter()
        .find(|(s, n, when, _)| {
            *s == service
                && *n == name
                && match when {
                    When::Always => true,
                    When::ParamTrue(p) => params
                        .and_then(|v| v.get(*p))
                        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true")),
                    When::ParamIs(p, value) => {
                        params.and_then(|v| v.get(*p)).and_then(Value::as_str) == Some(*value)
                    }
                }
        })
        .map(|(_, _, _, c)| *c)
}

/// Whether an `errorCode` means the call was refused by authorization.
pub fn is_denied(error_code: &str) -> bool {
    // AccessDenied, AccessDeniedException, Client.UnauthorizedOperation, …
    error_code.contains("AccessDenied")
        || error_code.contains("Unauthorized")
        || error_code == "Forbidden"
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn classification_table() {
        assert_eq!(
            classify("iam.amazonaws.com", "CreateUser", None),
            Some(Category::PersistenceAndPrivilege)
        );
        assert_eq!(
            classify("cloudtrail.amazonaws.com", "StopLogging", None),
            Some(Category::DefenseEvasion)
        );
        let decrypt = serde_json::json!({"name": "/prod/db", "withDecryption": true});
        let plain = serde_json::json!({"name": "/prod/db"});
        assert_eq!(
            classify("ssm.amazonaws.com", "GetParameter", Some(&decrypt)),
            Some(Category::CredentialAccess)
        );
        assert_eq!(
            classify("ssm.amazonaws.com", "GetParameter", Some(&plain)),
            None
        );
        assert_eq!(classify("s3.amazonaws.com", "ListBuckets", None), None);
        let status = |s: &str| serde_json::json!({"accessKeyId": "AKIA", "status": s});
        assert_eq!(
            classify(
                "iam.amazonaws.com",
                "UpdateAccessKey",
                Some(&status("Active"))
            ),
            Some(Category::PersistenceAndPrivilege)
        );
        assert_eq!(
            classify(
                "iam.amazonaws.com",
                "UpdateAccessKey",
                Some(&status("Inactive"))
            ),
            None
        );
        // No rule is listed twice.
        let mut seen = BTreeSet::new();
        for (s, n, _, _) in CLASSIFICATION {
            assert!(seen.insert((s, n)), "{s} {n}");
        }
    }
}
