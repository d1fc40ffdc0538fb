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
use crate::analyze::FootholdUse;
use crate::analyze::containment::{Containment, CredentialState, Cutoff, PrincipalType, Status};
use crate::error::{Error, Result};
use crate::model::AccessKeyId;
use crate::model::{Arn, FootholdKind};
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

/// What `apply.sh` does between its settings and the first account: the
/// functions that run each attachment, record a failure and go on.
///
/// Issue 14, part 6: under `set -e` the first refused `put-*-policy` (a
/// service-linked role, an SCP) left every later principal unprotected. Now
/// each attachment is attempted; a failure keeps the aws CLI's stderr for
/// that command, and the summary at the end lists them and sets the status.
const APPLY_FUNCTIONS: &str = r#"ERR=$(mktemp) || exit 1
trap 'rm -f "$ERR"' EXIT
trap 'exit 1' HUP INT TERM
attempted=0
failed=0
failures=
account_error=

# use_account ACCOUNT PROFILE: checks that PROFILE really is ACCOUNT. If it
# is not, each attachment in ACCOUNT is recorded as failed instead of run,
# and the other accounts go on.
use_account() {
    account_error=
    if [ -z "$2" ]; then
        account_error="PROFILE_$1 is not set"
    elif actual=$(aws sts get-caller-identity --profile "$2" --query Account --output text 2>"$ERR"); then
        if [ "$actual" != "$1" ]; then
            # Never attach in the wrong account.
            account_error="profile $2 is account $actual, not $1"
        fi
    else
        status=$?
        account_error="cannot check profile $2: $(error_text "$status")"
    fi
    if [ -n "$account_error" ]; then
        printf 'apply.sh: skipping account %s: %s\n' "$1" "$account_error" >&2
    fi
}

# attach WHAT COMMAND...: runs one put-*-policy command unless its account
# failed its check. A failure is recorded, never fatal.
attach() {
    what=$1
    shift
    attempted=$((attempted + 1))
    if [ -n "$account_error" ]; then
        record "$what" "$account_error"
    elif "$@" 2>"$ERR"; then
        printf 'apply.sh: attached to %s\n' "$what"
    else
        status=$?
        record "$what" "$(error_text "$status")"
    fi
}

# error_text STATUS: what the failed command wrote to stderr, without the
# blank lines the aws CLI puts around it.
error_text() {
    if grep -q '[^[:space:]]' "$ERR"; then
        sed '/^[[:space:]]*$/d' "$ERR"
    else
        echo "exit status $1, no message"
    fi
}

# record WHAT WHY: one failed attachment, for the summary.
record() {
    failed=$((failed + 1))
    printf 'apply.sh: FAILED %s\n' "$1" >&2
    failures="$failures
  $1:
$(printf '%s\n' "$2" | sed 's/^/    /')"
}
"#;

/// The end of the commands in `apply.sh`: the failures, then the status.
const APPLY_SUMMARY: &str = r#"
if [ "$failed" -ne 0 ]; then
    printf 'apply.sh: %s of %s attachments FAILED; those principals are NOT contained:%s\n' "$failed" "$attempted" "$failures" >&2
    exit 1
fi
printf 'apply.sh: all %s attachments done\n' "$attempted"
"#;

/// Writes `apply.sh`: one `aws iam put-user-policy` / `put-role-policy` per
/// principal, grouped by account, each account behind a check that the
/// profile given for it really is that account. Every attachment is
/// attempted even when others fail or an account's check fails; the script
/// then lists each failure with the aws CLI's error and exits 1 (0 when all
/// succeeded). Refused principals and the long-term keys are listed as
/// comments, never as commands.
pub fn write_apply_script<W: Write>(
    c: &Containment,
    footholds: &[FootholdUse],
    mut out: W,
) -> io::Result<()> {
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
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Every attachment is attempted, even after one fails or an account's profile"
    );
    let _ = writeln!(
        s,
        "# is missing or wrong. The failures, with the aws CLI's error for each, are"
    );
    let _ = writeln!(s, "# listed at the end, and the script then exits 1.");
    let _ = writeln!(s);
    let _ = writeln!(s, "set -u");
    let _ = writeln!(s, "cd \"$(dirname \"$0\")\" || exit 1");
    let _ = writeln!(s, "POLICY_NAME={}", sh_quote(&c.policy_name));
    s.push_str(APPLY_FUNCTIONS);
    for account in &accounts {
        // Accounts of targets are validated as 12 digits: safe in a variable name.
        let _ = writeln!(s);
        let _ = writeln!(s, "# Account {account}");
        let _ = writeln!(s, "profile=${{PROFILE_{account}:-}}");
        let _ = writeln!(s, "use_account {} \"$profile\"", sh_quote(account));
        for t in c
            .principals
            .iter()
            .filter(|t| t.principal.account.as_str() == *account)
        {
            let keys: Vec<&str> = t.keys.iter().map(AccessKeyId::as_str).collect();
            let p = &t.principal;
            let kind = p.kind.as_str();
            let _ = writeln!(s, "# {kind} {}: {}", p.name, keys.join(", "));
            let _ = writeln!(
                s,
                "attach {} aws iam put-{kind}-policy --profile \"$profile\" --{kind}-name {} --policy-name \"$POLICY_NAME\" --policy-document {}",
                sh_quote(&format!("{kind} {} in account {account}", p.name)),
                sh_quote(&p.name),
                sh_quote(&format!("file://{}", t.policy_file)),
            );
        }
    }
    s.push_str(APPLY_SUMMARY);
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
    write_footholds(&mut s, footholds);
    out.write_all(s.as_bytes())?;
    out.flush()
}

/// The commands that take each open foothold away, commented out: they
/// delete or replace what may also be legitimate, so a person decides.
/// Every recorded name is quoted and made one printable line.
fn write_footholds(s: &mut String, footholds: &[FootholdUse]) {
    let open: Vec<&FootholdUse> = footholds
        .iter()
        .filter(|f| f.status == crate::analyze::FootholdStatus::Open)
        .collect();
    if open.is_empty() {
        return;
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "# FOOTHOLDS: ways back in that need no key, still standing at the cut-off."
    );
    let _ = writeln!(
        s,
        "# These commands delete or replace things: review each, then run it by hand."
    );
    for f in open {
        let q = |v: &str| sh_quote(&terminal(v));
        let account = f.account_id.as_ref().filter(|a| a.is_well_formed());
        let profile = account.map_or(String::new(), |a| format!(" --profile \"$PROFILE_{a}\""));
        let region = Arn::parse(&f.arn)
            .map(|a| a.region)
            .filter(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .map_or(String::new(), |r| format!(" --region {r}"));
        let name = q(&f.link_value);
        let _ = writeln!(
            s,
            "#   {} {}, built {} by {} ({} event(s) through it):",
            f.kind,
            comment_text(&f.arn),
            f.created_at,
            f.created_by_key,
            f.events
        );
        let mut cmd = |line: String| {
            let _ = writeln!(s, "#     {line}");
        };
        match f.kind {
            FootholdKind::User | FootholdKind::LoginProfile | FootholdKind::UserCredential => {
                cmd(format!(
                    "aws iam delete-login-profile{profile} --user-name {name}"
                ));
                cmd(format!(
                    "aws iam list-access-keys{profile} --user-name {name}"
                ));
                cmd(format!(
                    "aws iam update-access-key{profile} --user-name {name} --access-key-id KEY --status Inactive   # each key listed"
                ));
                if f.kind == FootholdKind::UserCredential {
                    cmd(format!(
                        "aws iam list-ssh-public-keys{profile} --user-name {name}"
                    ));
                    cmd(format!(
                        "aws iam list-service-specific-credentials{profile} --user-name {name}"
                    ));
                    cmd(format!(
                        "aws iam list-signing-certificates{profile} --user-name {name}"
                    ));
                }
            }
            FootholdKind::RoleTrust => {
                if let Some(policy) = &f.trust_policy {
                    cmd("the trust policy the attacker wrote:".to_owned());
                    let pretty = serde_json::from_str::<serde_json::Value>(policy)
                        .and_then(|v| serde_json::to_string_pretty(&v))
                        .unwrap_or_else(|_| policy.clone());
                    for line in pretty.lines() {
                        cmd(format!("  {}", terminal(line)));
                    }
                }
                cmd(format!(
                    "aws iam update-assume-role-policy{profile} --role-name {name} --policy-document file://REVIEWED-trust-policy.json"
                ));
            }
            FootholdKind::IdentityProvider => {
                let arn = q(&f.link_value);
                if f.link_value.contains(":saml-provider/") {
                    cmd(format!(
                        "aws iam delete-saml-provider{profile} --saml-provider-arn {arn}"
                    ));
                } else {
                    cmd(format!(
                        "aws iam delete-open-id-connect-provider{profile} --open-id-connect-provider-arn {arn}"
                    ));
                }
            }
            FootholdKind::Instance => {
                cmd(format!(
                    "aws ec2 describe-iam-instance-profile-associations{profile}{region} --filters Name=instance-id,Values={name}"
                ));
                cmd(format!(
                    "aws ec2 disassociate-iam-instance-profile{profile}{region} --association-id ASSOCIATION   # from the line above"
                ));
                cmd(format!(
                    "aws ec2 stop-instances{profile}{region} --instance-ids {name}   # or stop it"
                ));
            }
            FootholdKind::Function => {
                cmd(format!(
                    "aws lambda update-function-configuration{profile}{region} --function-name {name} --role REVIEWED_ROLE_ARN"
                ));
                cmd(format!(
                    "aws lambda delete-function{profile}{region} --function-name {name}   # or delete it"
                ));
            }
        }
    }
}

/// Writes one policy per target and `apply.sh` into `dir`, creating it if
/// needed. Each file is written atomically. Returns the files written.
pub fn write_dir(dir: &Path, c: &Containment, footholds: &[FootholdUse]) -> Result<Vec<PathBuf>> {
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
    write_atomically(&script, |w| write_apply_script(c, footholds, w))?;
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
    use crate::analyze::containment::tests::{cred, key, lineage, t};
    use crate::model::CredentialKind;

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
        write_apply_script(&c, &[], &mut out).unwrap();
        let script = String::from_utf8(out).unwrap();
        for line in script.lines().filter(|l| l.contains("touch")) {
            assert!(line.starts_with('#'), "{line}");
        }
        assert!(!script.contains("pwned;'\n"), "{script}");
        assert!(script.contains("--user-name 'ci'"));
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }

    /// A stand-in for the aws CLI: logs each call as `op profile name`,
    /// knows profiles `prof-a` (111111111111) and `prof-b` (222222222222),
    /// refuses `put-role-policy` on `$FAKE_AWS_REFUSE_ROLE` the way IAM
    /// refuses a service-linked role, and checks the policy file is there.
    const FAKE_AWS: &str = r#"#!/bin/sh
op="$1 $2"
profile= name= doc=
while [ $# -gt 0 ]; do
    case $1 in
        --profile) profile=$2 ;;
        --user-name | --role-name) name=$2 ;;
        --policy-document) doc=${2#file://} ;;
    esac
    shift
done
printf '%s %s %s\n' "$op" "$profile" "${name:--}" >>"$FAKE_AWS_LOG"
case $op in
    'sts get-caller-identity')
        case $profile in
            prof-a) echo 111111111111 ;;
            prof-b) echo 222222222222 ;;
            *)
                printf '\nThe config profile (%s) could not be found\n' "$profile" >&2
                exit 255
                ;;
        esac
        ;;
    'iam put-user-policy' | 'iam put-role-policy')
        [ -f "$doc" ] || { echo "no policy file $doc" >&2; exit 252; }
        if [ "$op" = 'iam put-role-policy' ] && [ "$name" = "$FAKE_AWS_REFUSE_ROLE" ]; then
            printf '\nAn error occurred (UnmodifiableEntity) when calling the PutRolePolicy operation: Cannot perform the operation on the protected role '\''%s'\'' - this role is only modifiable by AWS\n\n' "$name" >&2
            exit 254
        fi
        ;;
    *)
        echo "fake aws: unexpected $op" >&2
        exit 2
        ;;
esac
"#;

    /// The refusal `FAKE_AWS` writes for the service-linked role.
    const REFUSAL: &str = "An error occurred (UnmodifiableEntity) when calling the PutRolePolicy operation: Cannot perform the operation on the protected role 'AWSServiceRoleForSupport' - this role is only modifiable by AWS";

    /// Every call `apply.sh` makes when both profiles are right, in order:
    /// principals sort by account, then users before roles.
    const EVERY_CALL: [&str; 6] = [
        "sts get-caller-identity prof-a -",
        "iam put-user-policy prof-a ci",
        "iam put-role-policy prof-a AWSServiceRoleForSupport",
        "iam put-role-policy prof-a deploy",
        "sts get-caller-identity prof-b -",
        "iam put-role-policy prof-b audit",
    ];

    /// What one run of `apply.sh` did.
    struct Run {
        status: Option<i32>,
        stdout: String,
        stderr: String,
        /// The fake aws's log, one call a line.
        calls: Vec<String>,
    }

    /// Writes the policies and `apply.sh` for user ci and roles deploy and
    /// AWSServiceRoleForSupport in 111111111111 and role audit in
    /// 222222222222, then runs the script with `sh` from another directory,
    /// the fake aws first on PATH and only the given `PROFILE_*` set.
    #[cfg(unix)]
    fn run_apply(profiles: &[(&str, &str)], refuse_role: &str) -> Run {
        use std::os::unix::fs::PermissionsExt;
        use std::process::Command;

        let mut seed = cred("SEED", CredentialKind::Seed, None);
        seed.principal_arn = Some("arn:aws:iam::111111111111:user/ci".into());
        let mut creds = vec![seed];
        for (k, arn) in [
            ("ROLEA", "arn:aws:iam::111111111111:role/deploy"),
            (
                "ROLEB",
                "arn:aws:iam::111111111111:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport",
            ),
            ("ROLEC", "arn:aws:iam::222222222222:role/audit"),
        ] {
            let mut role = cred(k, CredentialKind::AssumedRole, Some("SEED"));
            role.role_arn = Some(arn.into());
            creds.push(role);
        }
        let l = lineage(creds);
        let c = Containment::assess(
            &l,
            &crate::analyze::by_depth(&l),
            Cutoff::given(t("2025-12-09T00:00:00Z")),
        );
        assert_eq!(c.principals.len(), 4, "{:?}", c.principals);

        let tmp = tempfile::tempdir().unwrap();
        let deny = tmp.path().join("deny");
        write_dir(&deny, &c, &[]).unwrap();
        let bin = tmp.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let aws = bin.join("aws");
        std::fs::write(&aws, FAKE_AWS).unwrap();
        std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
        let scratch = tmp.path().join("tmp");
        std::fs::create_dir(&scratch).unwrap();
        let log = tmp.path().join("aws.log");
        std::fs::write(&log, "").unwrap();

        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs = vec![bin];
        dirs.extend(std::env::split_paths(&path));
        let mut cmd = Command::new("sh");
        cmd.arg(deny.join(APPLY_SCRIPT))
            .current_dir(tmp.path())
            .env("PATH", std::env::join_paths(dirs).unwrap())
            .env("TMPDIR", &scratch)
            .env("FAKE_AWS_LOG", &log)
            .env("FAKE_AWS_REFUSE_ROLE", refuse_role)
            .env_remove("PROFILE_111111111111")
            .env_remove("PROFILE_222222222222");
        for (var, profile) in profiles {
            cmd.env(var, profile);
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            std::fs::read_dir(&scratch).unwrap().count(),
            0,
            "apply.sh removes its temp file"
        );
        Run {
            status: out.status.code(),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            calls: std::fs::read_to_string(&log)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect(),
        }
    }

    const BOTH: [(&str, &str); 2] = [
        ("PROFILE_111111111111", "prof-a"),
        ("PROFILE_222222222222", "prof-b"),
    ];

    #[cfg(unix)]
    #[test]
    fn apply_script_goes_on_after_a_failure_and_lists_it() {
        let r = run_apply(&BOTH, "AWSServiceRoleForSupport");
        assert_eq!(r.calls, EVERY_CALL, "{}", r.stderr);
        assert_eq!(r.status, Some(1), "{}", r.stderr);
        // The principals after the refused one, in both accounts, are done.
        for what in [
            "user ci in account 111111111111",
            "role deploy in account 111111111111",
            "role audit in account 222222222222",
        ] {
            assert!(
                r.stdout
                    .contains(&format!("apply.sh: attached to {what}\n")),
                "{what}: {}",
                r.stdout
            );
        }
        assert!(
            !r.stdout.contains("AWSServiceRoleForSupport"),
            "{}",
            r.stdout
        );
        // The summary ends the run: which attachment failed, and the aws
        // CLI's error for it.
        let summary = format!(
            "apply.sh: 1 of 4 attachments FAILED; those principals are NOT contained:\n  role AWSServiceRoleForSupport in account 111111111111:\n    {REFUSAL}\n"
        );
        assert!(r.stderr.ends_with(&summary), "{}", r.stderr);
    }

    #[cfg(unix)]
    #[test]
    fn apply_script_exits_0_when_every_attachment_succeeds() {
        let r = run_apply(&BOTH, "");
        assert_eq!(r.calls, EVERY_CALL, "{}", r.stderr);
        assert_eq!(r.status, Some(0), "{}", r.stderr);
        assert_eq!(r.stderr, "");
        assert!(
            r.stdout.ends_with("apply.sh: all 4 attachments done\n"),
            "{}",
            r.stdout
        );
    }

    #[cfg(unix)]
    #[test]
    fn apply_script_goes_on_past_an_account_whose_profile_fails() {
        let in_111 = [
            "user ci in account 111111111111",
            "role AWSServiceRoleForSupport in account 111111111111",
            "role deploy in account 111111111111",
        ];
        let cases = [
            (
                "broken",
                vec!["sts get-caller-identity broken -"],
                "cannot check profile broken: The config profile (broken) could not be found",
            ),
            // Never attach in the wrong account.
            (
                "prof-b",
                vec!["sts get-caller-identity prof-b -"],
                "profile prof-b is account 222222222222, not 111111111111",
            ),
            ("", vec![], "PROFILE_111111111111 is not set"),
        ];
        for (profile, checks, why) in cases {
            let r = run_apply(
                &[
                    ("PROFILE_111111111111", profile),
                    ("PROFILE_222222222222", "prof-b"),
                ],
                "",
            );
            // Nothing is attached in 111111111111; 222222222222 is still done.
            let mut expected = checks;
            expected.extend(&EVERY_CALL[4..]);
            assert_eq!(r.calls, expected, "{profile}: {}", r.stderr);
            assert_eq!(r.status, Some(1), "{profile}: {}", r.stderr);
            assert!(
                r.stdout
                    .contains("apply.sh: attached to role audit in account 222222222222\n"),
                "{profile}: {}",
                r.stdout
            );
            assert!(
                r.stderr
                    .contains(&format!("apply.sh: skipping account 111111111111: {why}\n")),
                "{profile}: {}",
                r.stderr
            );
            let mut summary =
                "apply.sh: 3 of 4 attachments FAILED; those principals are NOT contained:\n"
                    .to_owned();
            for what in in_111 {
                summary.push_str(&format!("  {what}:\n    {why}\n"));
            }
            assert!(r.stderr.ends_with(&summary), "{profile}: {}", r.stderr);
        }
    }
}
