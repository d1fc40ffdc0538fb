//! Containment: who gets the `aws:TokenIssueTime` deny policy, and what was
//! live at the cut-off.
//!
//! Deactivating or deleting an access key does not end the sessions minted
//! from it: STS credentials stay valid until they expire, up to 36 hours. The
//! standard containment is an inline policy that denies every action to every
//! session issued before a cut-off, attached to each principal that holds or
//! can mint such sessions. keytrail knows exactly which principals those are.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html>
//!
//! [`Containment::assess`] decides everything once: who gets a policy, which
//! credentials it neutralises, which it cannot reach, and which long-term keys
//! must still be deactivated. Every output (the policy directory, the JSON
//! report, the Markdown report, the graph) renders that one assessment.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Serialize, Serializer};

use crate::model::{AccessKeyId, AccountId, Arn, ArnPrincipal, CredentialKind};
use crate::time::Timestamp;
use crate::trace::{Credential, Lineage, Link};

/// Why the cut-off has the value it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CutoffSource {
    /// Given with `--cutoff`.
    Flag,
    /// Not given: the time keytrail ran.
    RunTime,
}

impl CutoffSource {
    /// How the reports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            CutoffSource::Flag => "--cutoff",
            CutoffSource::RunTime => "time of the run",
        }
    }
}

impl Serialize for CutoffSource {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The instant before which every lineage session is to be denied.
///
/// Rounded up to a whole second, the precision the policy is written in, so
/// that every output agrees with the policy to the second and no session
/// issued in the same second as the run escapes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cutoff {
    /// The cut-off, RFC 3339 UTC.
    pub time: Timestamp,
    /// `--cutoff` or `time of the run`.
    pub source: CutoffSource,
}

impl Cutoff {
    /// A cut-off given on the command line.
    pub fn given(at: Timestamp) -> Cutoff {
        Cutoff {
            time: ceil_to_second(at),
            source: CutoffSource::Flag,
        }
    }

    /// The default: the time of the run.
    pub fn run_time(now: Timestamp) -> Cutoff {
        Cutoff {
            time: ceil_to_second(now),
            source: CutoffSource::RunTime,
        }
    }

    /// `20251209T000000Z`, for names that allow only `[\w+=,.@-]`.
    pub fn compact(&self) -> String {
        self.time
            .to_string()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect()
    }
}

fn ceil_to_second(t: Timestamp) -> Timestamp {
    let ms = t.as_millis();
    if ms == i64::MIN || ms == i64::MAX || ms.rem_euclid(1000) == 0 {
        return t;
    }
    Timestamp::from_millis(ms - ms.rem_euclid(1000)).plus(Duration::from_secs(1))
}

/// IAM user or role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalType {
    /// An IAM user: `aws iam put-user-policy`.
    User,
    /// An IAM role: `aws iam put-role-policy`.
    Role,
}

impl PrincipalType {
    /// `user` or `role`.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "user",
            PrincipalType::Role => "role",
        }
    }
}

/// An IAM user or role that can carry an inline policy.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Principal {
    /// The account it lives in (the role's own account for cross-account roles).
    pub account: AccountId,
    /// User or role.
    #[serde(rename = "type")]
    pub kind: PrincipalType,
    /// Its name, without path: what `--user-name` / `--role-name` take.
    pub name: String,
}

impl Principal {
    /// Why the name or account cannot be put into a command, if it cannot.
    ///
    /// Names come from CloudTrail fields the caller wrote (`roleArn`,
    /// `userName`); only names IAM itself would accept are interpolated.
    /// <https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutRolePolicy.html>
    fn invalid(&self) -> Option<&'static str> {
        if !self.account.is_well_formed() {
            return Some("the account id is not 12 digits");
        }
        if !is_iam_name(&self.name) {
            return Some("the name is not a valid IAM name ([\\w+=,.@-]{1,64})");
        }
        None
    }

    /// `111111111111-role-deploy-role.json`. Only called on valid principals,
    /// so the name holds no path separator.
    pub fn file_name(&self) -> String {
        format!("{}-{}-{}.json", self.account, self.kind.as_str(), self.name)
    }
}

/// IAM's character set for user and role names.
fn is_iam_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// Who holds a credential, as far as the deny policy is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Holder {
    Iam(Principal),
    Root,
    RootSession,
    Unknown,
}

/// What the cut-off means for one credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Temporary, issued before the cut-off and still valid at it: the policy
    /// denies it.
    Neutralised,
    /// Temporary, expired at or before the cut-off.
    Expired,
    /// Temporary, issued at or after the cut-off: the policy does not touch it.
    IssuedAfterCutoff,
    /// Temporary and valid at the cut-off, but its holder cannot carry the
    /// policy (root user, unknown principal, or a name keytrail refused).
    Unreachable,
    /// Long-term key with no deactivation before the cut-off on the trail.
    KeyActive,
    /// Long-term key deactivated or deleted before the cut-off, per the trail.
    KeyDeactivated,
}

impl Status {
    /// A short phrase for people.
    pub fn label(self) -> &'static str {
        match self {
            Status::Neutralised => "live at cut-off, neutralised by the deny policy",
            Status::Expired => "expired at cut-off",
            Status::IssuedAfterCutoff => "issued after the cut-off, NOT covered",
            Status::Unreachable => "live at cut-off, NOT reachable by the policy",
            Status::KeyActive => "long-term key, active at cut-off: deactivate and delete",
            Status::KeyDeactivated => "long-term key, deactivated: confirm and delete",
        }
    }

    /// Whether the credential could still be used at the cut-off if nothing
    /// else were done.
    pub fn is_live(self) -> bool {
        !matches!(self, Status::Expired | Status::KeyDeactivated)
    }
}

/// One lineage credential judged at the cut-off.
#[derive(Clone, Debug, Serialize)]
pub struct CredentialState {
    /// The key id.
    pub access_key_id: AccessKeyId,
    /// Its kind.
    pub kind: CredentialKind,
    /// What the cut-off means for it.
    pub status: Status,
    /// The user or role whose policy reaches it, when there is one.
    pub principal: Option<Principal>,
    /// Why the policy cannot reach it, for `unreachable`.
    pub reason: Option<&'static str>,
    /// When it expires (temporary credentials).
    pub expires_at: Option<Timestamp>,
    /// When the trail shows it deactivated (long-term keys).
    pub deactivated_at: Option<Timestamp>,
}

/// A principal that gets a policy file and an `apply.sh` line.
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// The user or role.
    #[serde(flatten)]
    pub principal: Principal,
    /// The lineage credentials it holds or minted.
    pub keys: Vec<AccessKeyId>,
    /// The policy file, relative to the policy directory.
    pub policy_file: String,
}

/// A principal named by the trail that keytrail will not put into a command.
#[derive(Clone, Debug, Serialize)]
pub struct Refused {
    /// The principal as recorded.
    #[serde(flatten)]
    pub principal: Principal,
    /// The lineage credentials it holds.
    pub keys: Vec<AccessKeyId>,
    /// Why it was refused.
    pub reason: &'static str,
}

/// The containment plan, decided once from the lineage and the cut-off.
#[derive(Clone, Debug, Serialize)]
pub struct Containment {
    /// The cut-off and why.
    pub cutoff: Cutoff,
    /// The inline policy name used in every `put-*-policy`.
    pub policy_name: String,
    /// Principals that get the policy.
    pub principals: Vec<Target>,
    /// Principals whose names cannot be used safely.
    pub refused_principals: Vec<Refused>,
    /// Every lineage credential, ordered by depth then key.
    pub credentials: Vec<CredentialState>,
}

impl Containment {
    /// Decides who gets the policy and what it reaches.
    /// `by_depth` is every credential of `lineage`, in the order the plan
    /// lists them.
    pub fn assess(lineage: &Lineage, by_depth: &[&Credential], cutoff: Cutoff) -> Containment {
        let mut targets: BTreeMap<Principal, Vec<AccessKeyId>> = BTreeMap::new();
        let mut refused: BTreeMap<Principal, (Vec<AccessKeyId>, &'static str)> = BTreeMap::new();
        let mut credentials = Vec::new();
        for &c in by_depth {
            let holder = holder(lineage, c);
            let (principal, reason) = match holder {
                Holder::Iam(p) => match p.invalid() {
                    None => {
                        targets.entry(p.clone()).or_default().push(c.key.clone());
                        (Some(p), None)
                    }
                    Some(why) => {
                        refused
                            .entry(p)
                            .or_insert_with(|| (Vec::new(), why))
                            .0
                            .push(c.key.clone());
                        (None, Some(why))
                    }
                },
                Holder::Root => (
                    None,
                    Some("held by the root user, whose permissions no policy can change"),
                ),
                Holder::RootSession => (
                    None,
                    Some(
                        "a root session from sts:AssumeRoot: no IAM policy reaches it; restrict sts:AssumeRoot in the management account or with an SCP",
                    ),
                ),
                Holder::Unknown => (
                    None,
                    Some("the trail does not say which user or role holds it"),
                ),
            };
            let status = status(c, c.is_long_term(), principal.is_some(), cutoff.time);
            credentials.push(CredentialState {
                access_key_id: c.key.clone(),
                kind: c.kind,
                status,
                reason: if status == Status::Unreachable {
                    reason
                } else {
                    None
                },
                principal,
                expires_at: c.expires_at,
                deactivated_at: c.deactivated_at,
            });
        }
        // A role whose trust policy the attacker wrote gets the policy like
        // any lineage role, sessions through it seen or not.
        for f in &lineage.footholds {
            if let Link::Role {
                account: Some(account),
                name,
            } = &f.link
            {
                let p = Principal {
                    account: account.clone(),
                    kind: PrincipalType::Role,
                    name: name.clone(),
                };
                match p.invalid() {
                    None => {
                        targets.entry(p).or_default();
                    }
                    Some(why) => {
                        refused.entry(p).or_insert_with(|| (Vec::new(), why));
                    }
                }
            }
        }
        Containment {
            policy_name: format!("keytrail-deny-sessions-before-{}", cutoff.compact()),
            cutoff,
            principals: targets
                .into_iter()
                .map(|(principal, keys)| Target {
                    policy_file: principal.file_name(),
                    principal,
                    keys,
                })
                .collect(),
            refused_principals: refused
                .into_iter()
                .map(|(principal, (keys, reason))| Refused {
                    principal,
                    keys,
                    reason,
                })
                .collect(),
            credentials,
        }
    }

    /// The state of one credential.
    pub fn state(&self, key: &AccessKeyId) -> Option<&CredentialState> {
        self.credentials.iter().find(|c| &c.access_key_id == key)
    }

    /// Keys of the credentials with this status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &CredentialState> {
        self.credentials.iter().filter(move |c| c.status == status)
    }

    /// Long-term keys, which the policy never reaches: each must be
    /// deactivated and deleted.
    pub fn long_term_keys(&self) -> impl Iterator<Item = &CredentialState> {
        self.credentials
            .iter()
            .filter(|c| matches!(c.status, Status::KeyActive | Status::KeyDeactivated))
    }
}

fn status(c: &Credential, long_term: bool, reachable: bool, cutoff: Timestamp) -> Status {
    if long_term {
        // The last status the trail shows at the cut-off: a key deactivated
        // and then reactivated is active again.
        return match c.status_through(cutoff) {
            Some(s) if !s.is_usable() => Status::KeyDeactivated,
            _ => Status::KeyActive,
        };
    }
    // DateLessThan: a session issued exactly at the cut-off is not denied.
    if c.issued_at.is_some_and(|i| i >= cutoff) {
        return Status::IssuedAfterCutoff;
    }
    // An unknown expiry (a leaked session used as a seed) counts as valid.
    if c.expires_at.is_some_and(|e| e <= cutoff) {
        return Status::Expired;
    }
    if reachable {
        Status::Neutralised
    } else {
        Status::Unreachable
    }
}

/// The principal whose policies apply to `c`.
fn holder(lineage: &Lineage, c: &Credential) -> Holder {
    if c.kind == CredentialKind::RootSession {
        return Holder::RootSession;
    }
    let parent = || {
        c.parent
            .as_ref()
            .and_then(|p| lineage.get(p))
            .map_or(Holder::Unknown, |p| holder(lineage, p))
    };
    let iam = |arn: &Arn<'_>, kind, name: &str| {
        Holder::Iam(Principal {
            account: AccountId::recorded(arn.account.unwrap_or_default()),
            kind,
            name: name.to_owned(),
        })
    };
    fn parsed(arn: &Option<String>) -> Option<(Arn<'_>, ArnPrincipal<'_>)> {
        let arn = Arn::parse(arn.as_deref()?)?;
        Some((arn, arn.principal()?))
    }
    // A role session is governed by the role, in the role's own account;
    // requestParameters.roleArn names it with its path, the session ARN without.
    if let Some((arn, ArnPrincipal::Role(name))) = parsed(&c.role_arn) {
        return iam(&arn, PrincipalType::Role, name);
    }
    match parsed(&c.principal_arn) {
        Some((arn, ArnPrincipal::User(name))) => return iam(&arn, PrincipalType::User, name),
        Some((arn, ArnPrincipal::Role(name) | ArnPrincipal::AssumedRole(name))) => {
            return iam(&arn, PrincipalType::Role, name);
        }
        Some((_, ArnPrincipal::Root)) => return Holder::Root,
        // GetFederationToken can only be called with the long-term keys of an
        // IAM user (or of the root user), and the federated session's
        // permissions are those of that user intersected with the session
        // policy; AWS documents that editing the policies attached to the
        // user changes the permissions of its GetFederationToken and
        // GetSessionToken sessions. So the policy goes on the parent's user.
        // <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html>
        // A leaked federated session used as a seed has no parent in the
        // lineage: its events name the user that issued it.
        Some((_, ArnPrincipal::FederatedUser)) if c.parent.is_some() => return parent(),
        Some((_, ArnPrincipal::FederatedUser)) => return issuing_user(c),
        None => {}
    }
    match c.kind {
        CredentialKind::SessionToken | CredentialKind::Federated => parent(),
        CredentialKind::Seed | CredentialKind::CreatedKey | CredentialKind::FootholdSession => {
            issuing_user(c)
        }
        CredentialKind::ConsoleSession => parent(),
        CredentialKind::AssumedRole | CredentialKind::RootSession => Holder::Unknown,
    }
}

/// The IAM user the trail names as holding `c`, if it names one.
fn issuing_user(c: &Credential) -> Holder {
    match (&c.user_name, &c.account_id) {
        (Some(name), Some(account)) => Holder::Iam(Principal {
            account: account.clone(),
            kind: PrincipalType::User,
            name: name.clone(),
        }),
        _ => Holder::Unknown,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::time::parse_event_time;

    pub(crate) fn key(s: &str) -> AccessKeyId {
        AccessKeyId::parse(&format!("{s:A<20}")).unwrap()
    }

    pub(crate) fn t(s: &str) -> Timestamp {
        parse_event_time(s).unwrap()
    }

    pub(crate) fn cred(k: &str, kind: CredentialKind, parent: Option<&str>) -> Credential {
        Credential {
            kind,
            parent: parent.map(key),
            depth: u32::from(parent.is_some()),
            ..Credential::seed(key(k))
        }
    }

    pub(crate) fn lineage(creds: Vec<Credential>) -> Lineage {
        Lineage {
            credentials: creds.into_iter().map(|c| (c.key.clone(), c)).collect(),
            ..Lineage::default()
        }
    }

    #[test]
    fn cutoff_rounds_up_to_the_second() {
        let c = Cutoff::run_time(t("2025-12-09T00:00:00.001Z"));
        assert_eq!(c.time, t("2025-12-09T00:00:01Z"));
        assert_eq!(
            Cutoff::given(t("2025-12-09T00:00:00Z")).time,
            t("2025-12-09T00:00:00Z")
        );
        assert_eq!(c.compact(), "20251209T000001Z");
    }

    #[test]
    fn live_expired_and_after_cutoff() {
        let mut seed = cred("SEED", CredentialKind::Seed, None);
        seed.principal_arn = Some("arn:aws:iam::111111111111:user/ops/ci".into());
        seed.deactivated_at = Some(t("2025-12-08T16:00:00Z"));
        seed.status_changes = vec![crate::trace::StatusChange {
            time: t("2025-12-08T16:00:00Z"),
            status: crate::model::KeyStatus::Inactive,
            event_id: crate::model::EventId("d".into()),
        }];
        let window = |k: &str, kind, issued: &str, expires: &str| {
            let mut c = cred(k, kind, Some("SEED"));
            c.issued_at = Some(t(issued));
            c.expires_at = Some(t(expires));
            c
        };
        let live = window(
            "LIVE",
            CredentialKind::SessionToken,
            "2025-12-08T10:00:00Z",
            "2025-12-09T10:00:00Z",
        );
        let exactly = window(
            "EXPD",
            CredentialKind::SessionToken,
            "2025-12-08T10:00:00Z",
            "2025-12-09T00:00:00Z",
        );
        let after = window(
            "AFTR",
            CredentialKind::SessionToken,
            "2025-12-09T00:00:00Z",
            "2025-12-09T10:00:00Z",
        );
        let mut root = window(
            "ROOT",
            CredentialKind::SessionToken,
            "2025-12-08T10:00:00Z",
            "2025-12-09T10:00:00Z",
        );
        root.principal_arn = Some("arn:aws:iam::111111111111:root".into());
        let l = lineage(vec![seed, live, exactly, after, root]);
        let c = Containment::assess(
            &l,
            &crate::analyze::by_depth(&l),
            Cutoff::given(t("2025-12-09T00:00:00Z")),
        );
        let status = |k: &str| c.state(&key(k)).unwrap().status;
        assert_eq!(status("LIVE"), Status::Neutralised);
        assert_eq!(status("EXPD"), Status::Expired);
        assert_eq!(status("AFTR"), Status::IssuedAfterCutoff);
        assert_eq!(status("ROOT"), Status::Unreachable);
        assert_eq!(status("SEED"), Status::KeyDeactivated);
        // Before the seed's deactivation, the seed was active.
        let early = Containment::assess(
            &l,
            &crate::analyze::by_depth(&l),
            Cutoff::given(t("2025-12-08T12:00:00Z")),
        );
        assert_eq!(early.state(&key("SEED")).unwrap().status, Status::KeyActive);
        assert_eq!(
            early.state(&key("AFTR")).unwrap().status,
            Status::IssuedAfterCutoff
        );
        // One user, path stripped, holds the seed and the user's sessions.
        assert_eq!(c.principals.len(), 1);
        assert_eq!(c.principals[0].principal.name, "ci");
        assert_eq!(c.principals[0].policy_file, "111111111111-user-ci.json");
    }

    #[test]
    fn iam_names() {
        assert!(is_iam_name("svc.backup+x=y,z@w_-1"));
        assert!(
            !is_iam_name("a b")
                && !is_iam_name("a/b")
                && !is_iam_name("")
                && !is_iam_name(&"a".repeat(65))
        );
    }

    #[test]
    fn session_names_do_not_change_the_role() {
        let mut seed = cred("SEED", CredentialKind::Seed, None);
        seed.principal_arn = Some("arn:aws:iam::111111111111:user/ci".into());
        let mut role = cred("ROLE", CredentialKind::AssumedRole, Some("SEED"));
        role.principal_arn =
            Some("arn:aws:sts::222222222222:assumed-role/OrgRole/=10+20+cmd@evil".into());
        let l = lineage(vec![seed, role]);
        let c = Containment::assess(
            &l,
            &crate::analyze::by_depth(&l),
            Cutoff::given(t("2025-12-09T00:00:00Z")),
        );
        let p = c.state(&key("ROLE")).unwrap().principal.clone().unwrap();
        assert_eq!(
            (p.account.as_str(), p.kind, p.name.as_str()),
            ("222222222222", PrincipalType::Role, "OrgRole")
        );
    }
}
