//! Containment: the `aws:TokenIssueTime` deny policy, `apply.sh`, and what
//! was live at the cut-off.
//!
//! Deactivating or deleting an access key does not end the sessions minted
//! from it: STS credentials stay valid until they expire, up to 36 hours. The
//! standard containment is an inline policy that denies every action to every
//! session issued before a cut-off, attached to each principal that holds or
//! can mint such sessions. keytrail knows exactly which principals those are,
//! so it writes the policies, and the commands that attach them, but never
//! calls AWS itself: a person reviews and runs `apply.sh`.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html>
//!
//! [`Containment::assess`] decides everything once: who gets a policy, which
//! credentials it neutralises, which it cannot reach, and which long-term keys
//! must still be deactivated. Every output (the policy directory, the JSON
//! report, the Markdown report, the graph) renders that one assessment.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Serialize, Serializer};

use super::sanitize::terminal;
use super::write_atomically;
use crate::error::{Error, Result};
use crate::model::{AccessKeyId, CredentialKind};
use crate::time::Timestamp;
use crate::trace::{Credential, Lineage};

/// The file in the policy directory that holds the commands.
pub const APPLY_SCRIPT: &str = "apply.sh";

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
    fn compact(&self) -> String {
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
    pub account: String,
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
        if !(self.account.len() == 12 && self.account.bytes().all(|b| b.is_ascii_digit())) {
            return Some("the account id is not 12 digits");
        }
        if !is_iam_name(&self.name) {
            return Some("the name is not a valid IAM name ([\\w+=,.@-]{1,64})");
        }
        None
    }

    /// `111111111111-role-deploy-role.json`. Only called on valid principals,
    /// so the name holds no path separator.
    fn file_name(&self) -> String {
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
    Root(Option<String>),
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
    pub fn assess(lineage: &Lineage, cutoff: Cutoff) -> Containment {
        let mut ordered: Vec<&Credential> = lineage.credentials.values().collect();
        ordered.sort_by(|a, b| (a.depth, &a.key).cmp(&(b.depth, &b.key)));
        let mut targets: BTreeMap<Principal, Vec<AccessKeyId>> = BTreeMap::new();
        let mut refused: BTreeMap<Principal, (Vec<AccessKeyId>, &'static str)> = BTreeMap::new();
        let mut credentials = Vec::new();
        for c in ordered {
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
                Holder::Root(_) => (
                    None,
                    Some("held by the root user, whose permissions no policy can change"),
                ),
                Holder::Unknown => (
                    None,
                    Some("the trail does not say which user or role holds it"),
                ),
            };
            let status = status(c, is_long_term(c), principal.is_some(), cutoff.time);
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

/// Long-term keys are seeds and created keys, unless the trail shows the
/// seed is itself a session (a leaked `ASIA…` key with its token).
fn is_long_term(c: &Credential) -> bool {
    match c.kind {
        CredentialKind::CreatedKey => true,
        CredentialKind::Seed => !c
            .principal_arn
            .as_deref()
            .and_then(parse_arn)
            .is_some_and(|a| matches!(a, Arn::AssumedRole { .. } | Arn::Federated)),
        _ => false,
    }
}

fn status(c: &Credential, long_term: bool, reachable: bool, cutoff: Timestamp) -> Status {
    if long_term {
        return match c.deactivated_at {
            Some(d) if d <= cutoff => Status::KeyDeactivated,
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

/// The parts of a principal ARN that matter here.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Arn {
    User { account: String, name: String },
    Role { account: String, name: String },
    AssumedRole { account: String, role: String },
    Federated,
    Root { account: String },
}

fn parse_arn(arn: &str) -> Option<Arn> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, _partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if prefix != "arn" {
        return None;
    }
    let account = account.to_owned();
    // Users and roles may carry a path (`user/division/NAME`): the name is
    // the last segment, which is what the IAM commands take.
    let last = |r: &str| r.rsplit('/').next().map(str::to_owned);
    match (service, resource) {
        ("iam", "root") => Some(Arn::Root { account }),
        ("iam", r) if r.starts_with("user/") => Some(Arn::User {
            account,
            name: last(r)?,
        }),
        ("iam", r) if r.starts_with("role/") => Some(Arn::Role {
            account,
            name: last(r)?,
        }),
        ("sts", r) if r.starts_with("assumed-role/") => Some(Arn::AssumedRole {
            account,
            role: r.split('/').nth(1)?.to_owned(),
        }),
        ("sts", r) if r.starts_with("federated-user/") => Some(Arn::Federated),
        _ => None,
    }
}

/// The principal whose policies apply to `c`.
fn holder(lineage: &Lineage, c: &Credential) -> Holder {
    let parent = || {
        c.parent
            .as_ref()
            .and_then(|p| lineage.get(p))
            .map_or(Holder::Unknown, |p| holder(lineage, p))
    };
    let role = |account: String, name: String| {
        Holder::Iam(Principal {
            account,
            kind: PrincipalType::Role,
            name,
        })
    };
    // A role session is governed by the role, in the role's own account;
    // requestParameters.roleArn names it with its path, the session ARN without.
    if let Some(Arn::Role { account, name }) = c.role_arn.as_deref().and_then(parse_arn) {
        return role(account, name);
    }
    match c.principal_arn.as_deref().and_then(parse_arn) {
        Some(Arn::User { account, name }) => {
            return Holder::Iam(Principal {
                account,
                kind: PrincipalType::User,
                name,
            });
        }
        Some(Arn::Role { account, name }) => return role(account, name),
        Some(Arn::AssumedRole {
            account,
            role: name,
        }) => return role(account, name),
        Some(Arn::Root { account }) => return Holder::Root(Some(account)),
        // GetFederationToken can only be called with the long-term keys of an
        // IAM user (or of the root user), and the federated session's
        // permissions are those of that user intersected with the session
        // policy; AWS documents that editing the policies attached to the
        // user changes the permissions of its GetFederationToken and
        // GetSessionToken sessions. So the policy goes on the parent's user.
        // <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_control-access_disable-perms.html>
        Some(Arn::Federated) => return parent(),
        None => {}
    }
    match c.kind {
        CredentialKind::SessionToken | CredentialKind::Federated => parent(),
        CredentialKind::Seed | CredentialKind::CreatedKey => match (&c.user_name, &c.account_id) {
            (Some(name), Some(account)) => Holder::Iam(Principal {
                account: account.clone(),
                kind: PrincipalType::User,
                name: name.clone(),
            }),
            _ => Holder::Unknown,
        },
        CredentialKind::AssumedRole => Holder::Unknown,
    }
}

#[derive(Serialize)]
struct Policy<'a> {
    #[serde(rename = "Version")]
    version: &'static str,
    #[serde(rename = "Statement")]
    statement: [Statement<'a>; 1],
}

#[derive(Serialize)]
struct Statement<'a> {
    #[serde(rename = "Sid")]
    sid: &'a str,
    #[serde(rename = "Effect")]
    effect: &'static str,
    #[serde(rename = "Action")]
    action: &'static str,
    #[serde(rename = "Resource")]
    resource: &'static str,
    #[serde(rename = "Condition")]
    condition: Condition,
}

#[derive(Serialize)]
struct Condition {
    #[serde(rename = "DateLessThan")]
    date_less_than: TokenIssueTime,
}

#[derive(Serialize)]
struct TokenIssueTime {
    #[serde(rename = "aws:TokenIssueTime")]
    before: Timestamp,
}

/// Writes the policy document: one statement denying every action on every
/// resource to sessions whose `aws:TokenIssueTime` is before the cut-off.
/// Requests signed with long-term keys carry no `aws:TokenIssueTime`, so the
/// condition never matches them.
pub fn write_policy<W: Write>(cutoff: &Cutoff, mut out: W) -> io::Result<()> {
    // Sid allows only [A-Za-z0-9].
    let sid = format!("DenyAllToSessionsIssuedBefore{}", cutoff.compact());
    let policy = Policy {
        version: "2012-10-17",
        statement: [Statement {
            sid: &sid,
            effect: "Deny",
            action: "*",
            resource: "*",
            condition: Condition {
                date_less_than: TokenIssueTime {
                    before: cutoff.time,
                },
            },
        }],
    };
    serde_json::to_writer_pretty(&mut out, &policy)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Single-quotes `s` for POSIX sh: nothing inside single quotes is special
/// except the quote itself, written as `'\''`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Text recorded by CloudTrail, made safe for a one-line shell comment.
fn comment_text(s: &str) -> String {
    format!("{:?}", terminal(s))
}

/// Writes `apply.sh`: one `aws iam put-user-policy` / `put-role-policy` per
/// principal, grouped by account, each account behind a check that the
/// profile given for it really is that account. Refused principals and the
/// long-term keys are listed as comments, never as commands.
pub fn write_apply_script<W: Write>(c: &Containment, mut out: W) -> io::Result<()> {
    let mut s = String::new();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Written by keytrail {}. keytrail never calls AWS itself: review, then run.",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Attaches an inline policy that denies every action to every session issued"
    );
    let _ = writeln!(
        s,
        "# before {} ({}), to each user and role that holds or can mint",
        c.cutoff.time,
        c.cutoff.source.as_str()
    );
    let _ = writeln!(
        s,
        "# sessions of the traced lineage. Long-term access keys are NOT affected:"
    );
    let _ = writeln!(
        s,
        "# deactivate them first (listed at the end), or sessions they mint after the"
    );
    let _ = writeln!(s, "# cut-off stay valid.");
    let _ = writeln!(
        s,
        "# https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html"
    );
    let _ = writeln!(s, "#");
    let accounts: Vec<&str> = {
        let mut a: Vec<&str> = c
            .principals
            .iter()
            .map(|t| t.principal.account.as_str())
            .collect();
        a.dedup();
        a
    };
    let _ = writeln!(
        s,
        "# Set PROFILE_<account> to an AWS CLI profile with IAM rights in each account:"
    );
    let usage: Vec<String> = accounts
        .iter()
        .map(|a| format!("PROFILE_{a}=..."))
        .collect();
    let _ = writeln!(s, "#   {} sh apply.sh", usage.join(" "));
    let _ = writeln!(s);
    let _ = writeln!(s, "set -eu");
    let _ = writeln!(s, "cd \"$(dirname \"$0\")\"");
    let _ = writeln!(s, "POLICY_NAME={}", sh_quote(&c.policy_name));
    let _ = writeln!(s);
    let _ = writeln!(s, "in_account() {{");
    let _ = writeln!(s, "    # Never attach in the wrong account.");
    let _ = writeln!(
        s,
        "    actual=$(aws sts get-caller-identity --profile \"$1\" --query Account --output text)"
    );
    let _ = writeln!(s, "    if [ \"$actual\" != \"$2\" ]; then");
    let _ = writeln!(
        s,
        "        echo \"apply.sh: profile $1 is account $actual, not $2\" >&2"
    );
    let _ = writeln!(s, "        exit 1");
    let _ = writeln!(s, "    fi");
    let _ = writeln!(s, "}}");
    for account in &accounts {
        // Accounts of targets are validated as 12 digits: safe in a variable name.
        let var = format!("PROFILE_{account}");
        let _ = writeln!(s);
        let _ = writeln!(s, "# Account {account}");
        let _ = writeln!(
            s,
            "in_account \"${{{var}:?set {var} to an AWS CLI profile for account {account}}}\" {}",
            sh_quote(account)
        );
        for t in c
            .principals
            .iter()
            .filter(|t| t.principal.account == *account)
        {
            let keys: Vec<&str> = t.keys.iter().map(AccessKeyId::as_str).collect();
            let p = &t.principal;
            let _ = writeln!(s, "# {} {}: {}", p.kind.as_str(), p.name, keys.join(", "));
            let _ = writeln!(
                s,
                "aws iam put-{kind}-policy --profile \"${var}\" --{kind}-name {} --policy-name \"$POLICY_NAME\" --policy-document {}",
                sh_quote(&p.name),
                sh_quote(&format!("file://{}", t.policy_file)),
                kind = p.kind.as_str(),
            );
        }
    }
    if !c.refused_principals.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# REFUSED: these names from the trail cannot be used safely in a command."
        );
        let _ = writeln!(
            s,
            "# Check them in IAM and attach the policy by hand if they are real:"
        );
        for r in &c.refused_principals {
            let keys: Vec<&str> = r.keys.iter().map(AccessKeyId::as_str).collect();
            let _ = writeln!(
                s,
                "#   {} {} in account {}: {} ({})",
                r.principal.kind.as_str(),
                comment_text(&r.principal.name),
                comment_text(&r.principal.account),
                r.reason,
                keys.join(", ")
            );
        }
    }
    let unreachable: Vec<&CredentialState> = c.with_status(Status::Unreachable).collect();
    if !unreachable.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# NOT REACHABLE by this policy, though valid at the cut-off:"
        );
        for u in unreachable {
            let _ = writeln!(
                s,
                "#   {} ({}): {}",
                u.access_key_id,
                u.kind,
                u.reason.unwrap_or("no principal")
            );
        }
    }
    let keys: Vec<&CredentialState> = c.long_term_keys().collect();
    if !keys.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "# STILL TO DO: the policy does not touch long-term keys. Deactivate, then delete, each:"
        );
        for k in keys {
            let state = match (k.status, k.deactivated_at) {
                (Status::KeyDeactivated, Some(d)) => {
                    format!("deactivated {d} per the trail; confirm, then delete")
                }
                _ => "no deactivation before the cut-off on the trail".to_owned(),
            };
            let _ = writeln!(s, "#   {} ({}): {state}", k.access_key_id, k.kind);
            match &k.principal {
                Some(p) if p.kind == PrincipalType::User => {
                    let common = format!(
                        "--profile \"$PROFILE_{}\" --user-name {} --access-key-id {}",
                        p.account,
                        sh_quote(&p.name),
                        k.access_key_id
                    );
                    let _ = writeln!(
                        s,
                        "#     aws iam update-access-key {common} --status Inactive"
                    );
                    let _ = writeln!(s, "#     aws iam delete-access-key {common}");
                }
                _ => {
                    let _ = writeln!(
                        s,
                        "#     (owner unknown: find it with aws iam get-access-key-last-used --access-key-id {})",
                        k.access_key_id
                    );
                }
            }
        }
    }
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// Writes one policy per target and `apply.sh` into `dir`, creating it if
/// needed. Each file is written atomically. Returns the files written.
pub fn write_dir(dir: &Path, c: &Containment) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Output {
        path: dir.to_owned(),
        source,
    })?;
    let mut written = Vec::new();
    for t in &c.principals {
        let path = dir.join(&t.policy_file);
        write_atomically(&path, |w| write_policy(&c.cutoff, w))?;
        written.push(path);
    }
    let script = dir.join(APPLY_SCRIPT);
    write_atomically(&script, |w| write_apply_script(c, w))?;
    make_executable(&script)?;
    written.push(script);
    Ok(written)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(|source| {
        Error::Output {
            path: path.to_owned(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<()> {
    Ok(())
}

/// Fails if the policy directory exists and is not an empty directory, unless
/// overwriting was allowed; run before the scan, like the other outputs.
pub fn check_dir_writable(dir: &Path, force: bool) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if !force && entries.next().is_some() {
                return Err(Error::OutputExists {
                    path: dir.to_owned(),
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::Output {
            path: dir.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_event_time;

    fn key(s: &str) -> AccessKeyId {
        AccessKeyId::parse(&format!("{s:A<20}")).unwrap()
    }

    fn t(s: &str) -> Timestamp {
        parse_event_time(s).unwrap()
    }

    fn cred(k: &str, kind: CredentialKind, parent: Option<&str>) -> Credential {
        Credential {
            kind,
            parent: parent.map(key),
            depth: u32::from(parent.is_some()),
            ..Credential::seed(key(k))
        }
    }

    fn lineage(creds: Vec<Credential>) -> Lineage {
        Lineage {
            credentials: creds.into_iter().map(|c| (c.key.clone(), c)).collect(),
            seed_window: None,
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
    fn policy_is_the_token_issue_time_deny() {
        let mut out = Vec::new();
        write_policy(&Cutoff::given(t("2025-12-09T00:00:00Z")), &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyAllToSessionsIssuedBefore20251209T000000Z",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2025-12-09T00:00:00Z"}}
                }]
            })
        );
    }

    #[test]
    fn live_expired_and_after_cutoff() {
        let mut seed = cred("SEED", CredentialKind::Seed, None);
        seed.principal_arn = Some("arn:aws:iam::111111111111:user/ops/ci".into());
        seed.deactivated_at = Some(t("2025-12-08T16:00:00Z"));
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
        let c = Containment::assess(&l, Cutoff::given(t("2025-12-09T00:00:00Z")));
        let status = |k: &str| c.state(&key(k)).unwrap().status;
        assert_eq!(status("LIVE"), Status::Neutralised);
        assert_eq!(status("EXPD"), Status::Expired);
        assert_eq!(status("AFTR"), Status::IssuedAfterCutoff);
        assert_eq!(status("ROOT"), Status::Unreachable);
        assert_eq!(status("SEED"), Status::KeyDeactivated);
        // Before the seed's deactivation, the seed was active.
        let early = Containment::assess(&l, Cutoff::given(t("2025-12-08T12:00:00Z")));
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
    fn hostile_names_are_refused_and_quoted() {
        let mut seed = cred("SEED", CredentialKind::Seed, None);
        seed.principal_arn = Some("arn:aws:iam::111111111111:user/ci".into());
        let mut role = cred("ROLE", CredentialKind::AssumedRole, Some("SEED"));
        role.role_arn = Some("arn:aws:iam::111111111111:role/x';touch /tmp/pwned;'\n".into());
        role.issued_at = Some(t("2025-12-08T10:00:00Z"));
        role.expires_at = Some(t("2025-12-09T10:00:00Z"));
        let c = Containment::assess(
            &lineage(vec![seed, role]),
            Cutoff::given(t("2025-12-09T00:00:00Z")),
        );
        assert_eq!(c.refused_principals.len(), 1);
        assert_eq!(c.state(&key("ROLE")).unwrap().status, Status::Unreachable);
        let mut out = Vec::new();
        write_apply_script(&c, &mut out).unwrap();
        let script = String::from_utf8(out).unwrap();
        for line in script.lines().filter(|l| l.contains("touch")) {
            assert!(line.starts_with('#'), "{line}");
        }
        assert!(!script.contains("pwned;'\n"), "{script}");
        assert!(script.contains("--user-name 'ci'"));
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }

    #[test]
    fn arns() {
        assert_eq!(
            parse_arn("arn:aws:sts::222222222222:assumed-role/OrgRole/=10+20+cmd@evil"),
            Some(Arn::AssumedRole {
                account: "222222222222".into(),
                role: "OrgRole".into()
            })
        );
        assert_eq!(
            parse_arn("arn:aws-cn:iam::1:role/a/b/R"),
            Some(Arn::Role {
                account: "1".into(),
                name: "R".into()
            })
        );
        assert_eq!(
            parse_arn("arn:aws:sts::1:federated-user/bob"),
            Some(Arn::Federated)
        );
        assert_eq!(parse_arn("nope"), None);
        assert!(is_iam_name("svc.backup+x=y,z@w_-1"));
        assert!(
            !is_iam_name("a b")
                && !is_iam_name("a/b")
                && !is_iam_name("")
                && !is_iam_name(&"a".repeat(65))
        );
    }
}
