//! The containment outputs: the `aws:TokenIssueTime` deny policy, one file
//! per principal, and `apply.sh` to attach them.
//!
//! keytrail writes the policies and the commands that attach them, but never
//! calls AWS itself: a person reviews and runs `apply.sh`. Who gets a policy
//! was decided once, in [`crate::analyze::containment`]; this module only
//! renders that plan, and quotes every name it interpolates.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html>

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::sanitize::terminal;
use super::write_atomically;
use crate::analyze::containment::{Containment, CredentialState, Cutoff, PrincipalType, Status};
use crate::error::{Error, Result};
use crate::model::AccessKeyId;
use crate::time::Timestamp;

/// The file in the policy directory that holds the commands.
pub const APPLY_SCRIPT: &str = "apply.sh";

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
            .filter(|t| t.principal.account.as_str() == *account)
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
                comment_text(r.principal.account.as_str()),
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
    use crate::analyze::Cutoff;
    use crate::model::{AccessKeyId, CredentialKind};
    use crate::time::parse_event_time;
    use crate::trace::{Credential, Lineage};

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
    fn hostile_names_are_refused_and_quoted() {
        let mut seed = cred("SEED", CredentialKind::Seed, None);
        seed.principal_arn = Some("arn:aws:iam::111111111111:user/ci".into());
        let mut role = cred("ROLE", CredentialKind::AssumedRole, Some("SEED"));
        role.role_arn = Some("arn:aws:iam::111111111111:role/x';touch /tmp/pwned;'\n".into());
        role.issued_at = Some(t("2025-12-08T10:00:00Z"));
        role.expires_at = Some(t("2025-12-09T10:00:00Z"));
        let l = lineage(vec![seed, role]);
        let c = Containment::assess(
            &l,
            &crate::analyze::by_depth(&l),
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
}
