//! Footholds: ways back in that a lineage credential built and that need no
//! key of the lineage.
//!
//! A leaked key's lineage ends where the attacker stops using keys: a user
//! with a console password, a role that trusts their own account, an
//! instance or a function running with an admin role. What comes through
//! those later is linked to them only by a name CloudTrail records (a user
//! name, a role name, a provider ARN, an instance id as `roleSessionName`,
//! a function name as `roleSessionName`), never by a key. So a foothold
//! admits an event only after it was built, and only by an exact match of
//! that name, and every foothold says which name linked it, so that the
//! analyst can judge the link.

use crate::event::{Door, Event};
use crate::model::{
    AccessKeyId, AccountId, Arn, ArnPrincipal, EventId, FootholdKind, IdentityKind,
};
use crate::time::Timestamp;

use super::user_name;

/// A way in built by a successful event of a lineage credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Foothold {
    /// What kind of foothold.
    pub kind: FootholdKind,
    /// The user, role, provider, instance or function, as an ARN.
    pub resource: String,
    /// The account it lives in.
    pub account_id: Option<AccountId>,
    /// The event that built it.
    pub created_by_event_id: EventId,
    /// The lineage key that built it.
    pub created_by_key: AccessKeyId,
    /// When it was built: nothing before this comes through it.
    pub created_at: Timestamp,
    /// For `role-trust`: the principals the written trust policy allows.
    pub trusted: Vec<String>,
    /// For `role-trust`: the written trust policy, as JSON text.
    pub trust_policy: Option<String>,
    /// What links later events to it.
    pub link: Link,
    /// The first successful call after it was built that took it away
    /// (deleted the user, login profile, role, provider or function,
    /// replaced the trust policy, terminated the instance), if the events
    /// read hold one.
    pub removed: Option<(Timestamp, EventId)>,
}

/// The name that links an event to a foothold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// An IAM user, by account and name (`userIdentity`).
    User {
        /// The user's account.
        account: Option<AccountId>,
        /// The user's name, without path.
        name: String,
        /// Only console sign-ins and console sessions (a login profile).
        console_only: bool,
    },
    /// `AssumeRole*` into a role, by account and name (`roleArn`).
    Role {
        /// The role's account.
        account: Option<AccountId>,
        /// The role's name, without path.
        name: String,
    },
    /// `AssumeRoleWithSAML` / `AssumeRoleWithWebIdentity` through a provider.
    Provider {
        /// The provider's ARN.
        arn: String,
    },
    /// EC2's `AssumeRole` for an instance: `roleSessionName` is its id.
    Instance {
        /// The instance id.
        id: String,
    },
    /// Lambda's `AssumeRole` for a function: `roleSessionName` is its name.
    Function {
        /// The function's name.
        name: String,
    },
}

impl Link {
    /// The record field and value that link an event, for the report.
    pub fn describe(&self) -> (&'static str, &str) {
        match self {
            Link::User { name, .. } => ("userIdentity.userName", name),
            Link::Role { name, .. } => ("requestParameters.roleArn (role name)", name),
            Link::Provider { arn } => ("requestParameters.principalArn / identityProvider", arn),
            Link::Instance { id } => ("requestParameters.roleSessionName (instance id)", id),
            Link::Function { name } => ("requestParameters.roleSessionName (function name)", name),
        }
    }

    /// Whether the link is a name anyone could reuse, rather than an ARN.
    pub fn is_by_name(&self) -> bool {
        !matches!(self, Link::Provider { .. })
    }

    /// What the scan searches records for: text that every event this link
    /// admits contains, exactly as CloudTrail writes it (with its quotes, so
    /// that a short name is not found inside a longer one).
    pub fn needles(&self) -> Vec<String> {
        match self {
            Link::User { name, .. } | Link::Function { name } => vec![format!("\"{name}\"")],
            Link::Instance { id } => vec![format!("\"{id}\"")],
            // `roleArn` ends with the name; `roleName` is the name.
            Link::Role { name, .. } => vec![format!("/{name}\""), format!("\"{name}\"")],
            Link::Provider { arn } => {
                let mut n = vec![arn.clone()];
                if let Some((_, host)) = arn.split_once(":oidc-provider/") {
                    n.push(host.to_owned());
                }
                n
            }
        }
    }
}

/// How an event came in through a foothold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    /// Made by the foothold's user with this key: the key comes in.
    UserKey(AccessKeyId),
    /// Minted a session through the foothold: the minted key comes in.
    Minted(AccessKeyId),
    /// Came in, but brings no key: a `ConsoleLogin`, a failed call.
    Keyless,
}

impl Foothold {
    /// The footholds `e` built, made with lineage key `by`; none unless it
    /// succeeded.
    pub fn built(e: &Event, by: &AccessKeyId) -> Vec<Foothold> {
        let Some(opening) = e.opening.as_ref().filter(|_| e.succeeded()) else {
            return Vec::new();
        };
        let account = e
            .identity
            .account_id
            .clone()
            .or_else(|| e.recipient_account_id.clone());
        let partition = e
            .identity
            .arn
            .as_deref()
            .and_then(Arn::parse)
            .map(|a| a.partition)
            .filter(|p| !p.is_empty())
            .unwrap_or("aws");
        let acct = account.as_ref().map_or("", AccountId::as_str);
        let region = e.region.as_str();
        let one =
            |resource: String, link: Link, trusted: Vec<String>, policy: Option<String>| Foothold {
                kind: opening.kind,
                resource,
                account_id: account.clone(),
                created_by_event_id: e.id.clone(),
                created_by_key: by.clone(),
                created_at: e.time,
                trusted,
                trust_policy: policy,
                link,
                removed: None,
            };
        match &opening.door {
            Door::User { name, arn } => vec![one(
                arn.clone()
                    .unwrap_or_else(|| format!("arn:{partition}:iam::{acct}:user/{name}")),
                Link::User {
                    account: account.clone(),
                    name: name.clone(),
                    console_only: opening.kind == FootholdKind::LoginProfile,
                },
                Vec::new(),
                None,
            )],
            Door::Role {
                name,
                arn,
                trusted,
                policy,
            } => vec![one(
                arn.clone()
                    .unwrap_or_else(|| format!("arn:{partition}:iam::{acct}:role/{name}")),
                Link::Role {
                    account: account.clone(),
                    name: name.clone(),
                },
                trusted.clone(),
                policy.clone(),
            )],
            Door::Provider { arn } => vec![one(
                arn.clone(),
                Link::Provider { arn: arn.clone() },
                Vec::new(),
                None,
            )],
            Door::Instances { ids, .. } => ids
                .iter()
                .map(|id| {
                    one(
                        format!("arn:{partition}:ec2:{region}:{acct}:instance/{id}"),
                        Link::Instance { id: id.clone() },
                        Vec::new(),
                        None,
                    )
                })
                .collect(),
            Door::Function { name, .. } => vec![one(
                format!("arn:{partition}:lambda:{region}:{acct}:function:{name}"),
                Link::Function { name: name.clone() },
                Vec::new(),
                None,
            )],
        }
    }

    /// How `e` came in through this foothold, if it did: made after the
    /// foothold was built, and linked by exactly its name.
    pub fn entry(&self, e: &Event) -> Option<Entry> {
        if e.time < self.created_at {
            return None;
        }
        let minted = || {
            e.minted
                .as_ref()
                .filter(|_| e.succeeded())
                .map_or(Entry::Keyless, |m| Entry::Minted(m.key.clone()))
        };
        let same_account = |want: &Option<AccountId>, got: Option<AccountId>| match (want, got) {
            (Some(a), Some(b)) => *a == b,
            _ => true,
        };
        match &self.link {
            Link::User {
                account,
                name,
                console_only,
            } => {
                let admitted = user_name(&e.identity) == Some(name.as_str())
                    && same_account(account, e.identity.account_id.clone())
                    && (!console_only || e.name == "ConsoleLogin" || e.from_console);
                admitted.then(|| {
                    e.identity
                        .access_key_id
                        .clone()
                        .map_or(Entry::Keyless, Entry::UserKey)
                })
            }
            Link::Role { account, name } => {
                let arn = e.request_str("roleArn").and_then(Arn::parse)?;
                let into = is_assume_role(e)
                    && arn.principal() == Some(ArnPrincipal::Role(name))
                    && same_account(account, arn.account_id());
                into.then(minted)
            }
            Link::Provider { arn } => {
                let by_principal = e.request_str("principalArn") == Some(arn.as_str());
                let host = arn.split_once(":oidc-provider/").map(|(_, h)| h);
                let by_identity = e
                    .identity
                    .identity_provider
                    .as_deref()
                    .is_some_and(|p| p == arn || Some(p) == host);
                let through = matches!(
                    e.name.as_str(),
                    "AssumeRoleWithSAML" | "AssumeRoleWithWebIdentity"
                ) && (by_principal || by_identity);
                through.then(minted)
            }
            Link::Instance { id } => (service_session(e, "ec2.amazonaws.com", id)).then(minted),
            Link::Function { name } => {
                (service_session(e, "lambda.amazonaws.com", name)).then(minted)
            }
        }
    }
}

impl Foothold {
    /// Whether `e` took this foothold away.
    pub fn is_removed_by(&self, e: &Event) -> bool {
        if e.time <= self.created_at || !e.succeeded() {
            return false;
        }
        let names = |field: &str, want: &str| e.request_str(field) == Some(want);
        match &self.link {
            Link::User {
                name, console_only, ..
            } => {
                let deletes = match e.name.as_str() {
                    "DeleteUser" => true,
                    "DeleteLoginProfile" => *console_only,
                    _ => false,
                };
                deletes && e.service == "iam.amazonaws.com" && names("userName", name)
            }
            Link::Role { name, .. } => {
                matches!(e.name.as_str(), "DeleteRole" | "UpdateAssumeRolePolicy")
                    && e.service == "iam.amazonaws.com"
                    && names("roleName", name)
            }
            Link::Provider { arn } => {
                (e.name == "DeleteSAMLProvider" && names("sAMLProviderArn", arn))
                    || (e.name == "DeleteOpenIDConnectProvider"
                        && names("openIDConnectProviderArn", arn))
            }
            Link::Instance { id } => {
                e.name == "TerminateInstances"
                    && e.request_parameters
                        .as_ref()
                        .and_then(|r| r.get("instancesSet")?.get("items")?.as_array())
                        .is_some_and(|items| {
                            items
                                .iter()
                                .any(|i| i.get("instanceId").and_then(|v| v.as_str()) == Some(id))
                        })
            }
            Link::Function { name } => {
                e.service == "lambda.amazonaws.com"
                    && e.name.starts_with("DeleteFunction")
                    && e.request_str("functionName")
                        .is_some_and(|f| f == name || f.ends_with(&format!(":function:{name}")))
            }
        }
    }
}

/// `sts:AssumeRole*`.
fn is_assume_role(e: &Event) -> bool {
    e.service == "sts.amazonaws.com" && e.name.starts_with("AssumeRole")
}

/// The role session a service mints for one of its resources, named after
/// it: `AssumeRole` by `AWSService` `service`, `roleSessionName` = `name`.
fn service_session(e: &Event, service: &str, name: &str) -> bool {
    let by_service = e.identity.kind == Some(IdentityKind::AwsService)
        && (e.identity.invoked_by.as_deref() == Some(service) || e.source_ip == service);
    is_assume_role(e) && by_service && e.request_str("roleSessionName") == Some(name)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::decode::record::parse_record;

    fn event(json: &str) -> Event {
        parse_record(json.as_bytes(), &Arc::from("t")).expect("record")
    }

    const BUILDER: &str = "AKIAEXAMPLEBUILDER01";

    fn built(json: &str) -> Vec<Foothold> {
        let by = AccessKeyId::parse(BUILDER).expect("key");
        Foothold::built(&event(json), &by)
    }

    #[test]
    fn a_role_trust_admits_assume_role_into_that_role_after_it_only() {
        let f = built(
            r#"{"eventID":"a","eventTime":"2025-12-08T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"UpdateAssumeRolePolicy","userIdentity":{"type":"IAMUser","accountId":"111111111111","accessKeyId":"AKIAEXAMPLEBUILDER01"},"requestParameters":{"roleName":"deploy","policyDocument":"{}"}}"#,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].resource, "arn:aws:iam::111111111111:role/deploy");
        let assume = |time: &str, role: &str| {
            event(&format!(
                r#"{{"eventID":"b","eventTime":"{time}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{{"type":"AWSAccount","accountId":"666666666666"}},"requestParameters":{{"roleArn":"{role}","roleSessionName":"x"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLEINSIDE001","expiration":"Dec 8, 2025, 11:00:00 AM"}}}}}}"#
            ))
        };
        let inside = AccessKeyId::parse("ASIAEXAMPLEINSIDE001").expect("key");
        let path = "arn:aws:iam::111111111111:role/ops/deploy";
        assert_eq!(
            f[0].entry(&assume("2025-12-08T09:10:00Z", path)),
            Some(Entry::Minted(inside))
        );
        assert_eq!(
            f[0].entry(&assume("2025-12-08T08:59:00Z", path)),
            None,
            "before"
        );
        let other = "arn:aws:iam::222222222222:role/deploy";
        assert_eq!(
            f[0].entry(&assume("2025-12-08T09:10:00Z", other)),
            None,
            "other account"
        );
        let longer = "arn:aws:iam::111111111111:role/deploy-2";
        assert_eq!(
            f[0].entry(&assume("2025-12-08T09:10:00Z", longer)),
            None,
            "other role"
        );
    }

    #[test]
    fn service_sessions_are_only_the_services_own() {
        let f = built(
            r#"{"eventID":"a","eventTime":"2025-12-08T09:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"eu-west-1","userIdentity":{"type":"IAMUser","accountId":"111111111111","accessKeyId":"AKIAEXAMPLEBUILDER01"},"requestParameters":{"iamInstanceProfile":{"name":"admin"}},"responseElements":{"instancesSet":{"items":[{"instanceId":"i-01"},{"instanceId":"i-02"}]}}}"#,
        );
        assert_eq!(f.len(), 2, "one foothold per instance");
        assert_eq!(
            f[1].resource,
            "arn:aws:ec2:eu-west-1:111111111111:instance/i-02"
        );
        let session = |caller: &str| {
            event(&format!(
                r#"{{"eventID":"b","eventTime":"2025-12-08T09:10:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{caller},"requestParameters":{{"roleArn":"arn:aws:iam::111111111111:role/admin","roleSessionName":"i-01"}}}}"#
            ))
        };
        let ec2 = r#"{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#;
        assert_eq!(
            f[0].entry(&session(ec2)),
            Some(Entry::Keyless),
            "no credentials recorded"
        );
        assert_eq!(f[1].entry(&session(ec2)), None, "another instance");
        let user = r#"{"type":"IAMUser","userName":"u","accessKeyId":"AKIAEXAMPLEOTHERU001"}"#;
        assert_eq!(
            f[0].entry(&session(user)),
            None,
            "a user naming its session like the instance"
        );
    }

    #[test]
    fn a_login_profile_admits_console_use_of_its_user_only() {
        let f = built(
            r#"{"eventID":"a","eventTime":"2025-12-08T09:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateLoginProfile","userIdentity":{"type":"IAMUser","accountId":"111111111111","accessKeyId":"AKIAEXAMPLEBUILDER01"},"requestParameters":{"userName":"bob"}}"#,
        );
        let by_bob = |name: &str, key: &str, console: bool| {
            event(&format!(
                r#"{{"eventID":"b","eventTime":"2025-12-08T09:10:00Z","eventSource":"x","eventName":"{name}","userIdentity":{{"type":"IAMUser","accountId":"111111111111","arn":"arn:aws:iam::111111111111:user/bob","userName":"bob"{key}}},"sessionCredentialFromConsole":"{console}"}}"#
            ))
        };
        assert_eq!(
            f[0].entry(&by_bob("ConsoleLogin", "", false)),
            Some(Entry::Keyless)
        );
        let console_key = AccessKeyId::parse("ASIAEXAMPLEBOBCONS01").expect("key");
        assert_eq!(
            f[0].entry(&by_bob(
                "ListUsers",
                r#","accessKeyId":"ASIAEXAMPLEBOBCONS01""#,
                true
            )),
            Some(Entry::UserKey(console_key))
        );
        assert_eq!(
            f[0].entry(&by_bob(
                "ListUsers",
                r#","accessKeyId":"AKIAEXAMPLEBOBOWN001""#,
                false
            )),
            None,
            "bob's own key is not the password"
        );
        assert_eq!(f[0].link.needles(), ["\"bob\""]);
    }
}
