//! Footholds on `fixtures/footholds` (written by `fixtures/make_footholds.py`,
//! whose docstring tells the intrusion, the negative case of each kind and
//! the sources of the record shapes), and on the Stratus Red Team
//! persistence detonations in `fixtures/stratus`.
//!
//! Rows are found by event name and time, a pair the generator keeps unique.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::{Row, TestEnv, code, credentials, csv_rows, json as read_json, read, show};

const TRAIL: &str = "fixtures/footholds";
const SEED: &str = "AKIAEXAMPLEFOOT00001";
const CUTOFF: &str = "2025-12-09T00:00:00Z";

struct Traced {
    report: Value,
    rows: Vec<Row>,
    csv: String,
    deny: PathBuf,
    _env: TestEnv,
}

fn trace(source: &str, key: &str, more: &[&str]) -> Traced {
    let env = TestEnv::new();
    let report = env.path("report.json");
    let csv = env.path("timeline.csv");
    let deny = env.path("deny");
    let mut args = vec![
        "--key",
        key,
        source,
        "--report",
        report.to_str().expect("utf-8 path"),
        "-o",
        csv.to_str().expect("utf-8 path"),
        "--deny-policy",
        deny.to_str().expect("utf-8 path"),
        "--cutoff",
        CUTOFF,
        "-q",
    ];
    args.extend_from_slice(more);
    let out = env.trace(&args);
    assert_eq!(code(&out), 0, "{}", show(&out));
    Traced {
        report: read_json(&report),
        rows: csv_rows(&csv),
        csv: read(&csv),
        deny,
        _env: env,
    }
}

impl Traced {
    /// The row of the event named `name` at 2025-12-08T`time`:00Z, if any.
    fn row(&self, name: &str, time: &str) -> Option<&Row> {
        let at = if time.contains('T') {
            format!("{time}:00Z")
        } else {
            format!("2025-12-08T{time}:00Z")
        };
        self.rows
            .iter()
            .find(|r| r["event_name"] == name && r["event_time"] == at)
    }

    /// `relation, access_key_id, credential_kind, parent_key_id, depth` of
    /// that row; fails when it is not on the timeline.
    fn cells(&self, name: &str, time: &str) -> [&str; 5] {
        let r = self
            .row(name, time)
            .unwrap_or_else(|| panic!("no {name} at {time} on the timeline"));
        [
            r["relation"].as_str(),
            r["access_key_id"].as_str(),
            r["credential_kind"].as_str(),
            r["parent_key_id"].as_str(),
            r["depth"].as_str(),
        ]
    }

    fn footholds(&self) -> &Vec<Value> {
        self.report["footholds"].as_array().expect("footholds")
    }

    fn foothold(&self, kind: &str, arn_end: &str) -> &Value {
        self.footholds()
            .iter()
            .find(|f| f["kind"] == kind && f["arn"].as_str().is_some_and(|a| a.ends_with(arn_end)))
            .unwrap_or_else(|| panic!("no {kind} foothold {arn_end}: {:#?}", self.footholds()))
    }
}

const FOOT: &str = "foothold-session";

#[test]
fn each_kind_lets_in_what_its_name_links() {
    let t = trace(TRAIL, SEED, &[]);
    // role-trust: sessions of outside callers, after the trust was written.
    assert_eq!(
        t.cells("AssumeRole", "09:20"),
        ["foothold", "ASIAEXAMPLEFOOT00010", FOOT, SEED, "1"]
    );
    assert_eq!(
        t.cells("ListBuckets", "09:25"),
        ["foothold", "ASIAEXAMPLEFOOT00010", FOOT, SEED, "1"]
    );
    assert_eq!(
        t.cells("AssumeRole", "09:30"),
        ["foothold", "ASIAEXAMPLEFOOT00011", FOOT, SEED, "1"]
    );
    // user and login-profile, built by a foothold session: the rule recurses.
    assert_eq!(
        t.cells("CreateUser", "09:40"),
        ["foothold", "ASIAEXAMPLEFOOT00011", FOOT, SEED, "1"]
    );
    let by = "ASIAEXAMPLEFOOT00011";
    // A ConsoleLogin brings no key: filed under the key that built the way in.
    assert_eq!(
        t.cells("ConsoleLogin", "09:50"),
        ["foothold", "", FOOT, by, "2"]
    );
    assert_eq!(
        t.cells("ListUsers", "09:55"),
        ["foothold", "ASIAEXAMPLEFOOT00012", FOOT, by, "2"]
    );
    // instance, function, identity provider: the sessions their services mint.
    assert_eq!(
        t.cells("AssumeRole", "10:02"),
        ["foothold", "ASIAEXAMPLEFOOT00020", FOOT, SEED, "1"]
    );
    assert_eq!(
        t.cells("ListBuckets", "10:10"),
        ["foothold", "ASIAEXAMPLEFOOT00020", FOOT, SEED, "1"]
    );
    assert_eq!(
        t.cells("AssumeRole", "10:35"),
        ["foothold", "ASIAEXAMPLEFOOT00030", FOOT, SEED, "1"]
    );
    assert_eq!(
        t.cells("AssumeRoleWithSAML", "11:10"),
        ["foothold", "ASIAEXAMPLEFOOT00040", FOOT, SEED, "1"]
    );
    // user-credential: the user's own key, after the credential was added.
    assert_eq!(
        t.cells("GitPull", "11:40"),
        ["foothold", "AKIAEXAMPLEGITMIRR01", FOOT, SEED, "1"]
    );
    // login-profile on an existing user: its console sign-in and session.
    assert_eq!(
        t.cells("ConsoleLogin", "12:10"),
        ["foothold", "", FOOT, SEED, "1"]
    );
    assert_eq!(
        t.cells("ListBuckets", "12:12"),
        ["foothold", "ASIAEXAMPLEFOOT00060", FOOT, SEED, "1"]
    );
    // The password still works after the leaked key is deactivated.
    let late = t.row("ListBuckets", "13:30").expect("late console call");
    assert_eq!(late["after_deactivation"], "true");
    assert_eq!(t.rows.len(), 26, "{}", t.csv);

    let kinds: Vec<&str> = t
        .footholds()
        .iter()
        .map(|f| f["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        [
            "role-trust",
            "role-trust",
            "user",
            "login-profile",
            "instance",
            "function",
            "identity-provider",
            "user-credential",
            "login-profile"
        ]
    );
    let c = credentials(&t.report);
    assert_eq!(c["ASIAEXAMPLEFOOT00012"]["came_through_foothold"], 3);
    assert_eq!(c["ASIAEXAMPLEFOOT00020"]["came_through_foothold"], 4);
}

#[test]
fn names_used_before_or_elsewhere_are_not_followed() {
    let t = trace(TRAIL, SEED, &[]);
    for (name, time, why) in [
        (
            "AssumeRole",
            "08:30",
            "a legitimate AssumeRole before the trust change",
        ),
        (
            "AssumeRole",
            "10:03",
            "EC2's session for an instance of another role",
        ),
        (
            "AssumeRole",
            "2025-12-07T10:35",
            "a session named like the function, before it existed",
        ),
        (
            "AssumeRoleWithSAML",
            "11:12",
            "a session through another provider",
        ),
        (
            "ConsoleLogin",
            "2025-12-06T15:00",
            "an older user of the same name",
        ),
        (
            "ConsoleLogin",
            "07:00",
            "a sign-in before the password was set",
        ),
        (
            "DescribeInstances",
            "12:20",
            "the user's own key, not the console",
        ),
        ("GitPull", "11:00", "the user's activity before the SSH key"),
        (
            "GitPull",
            "11:27",
            "the same, minutes before: no slack before a foothold",
        ),
    ] {
        assert!(
            t.row(name, time).is_none(),
            "{why}: {name} at {time} is on the timeline"
        );
    }
    let c = credentials(&t.report);
    for key in [
        "ASIAEXAMPLEDEPLOY0001",
        "ASIAEXAMPLEOTHER0021",
        "ASIAEXAMPLEOLDFN0031",
        "ASIAEXAMPLECORPSAML1",
        "AKIAEXAMPLEAUDITOR01",
    ] {
        assert!(!c.contains_key(key), "{key} joined the lineage");
    }
}

#[test]
fn the_report_says_what_linked_each_and_whether_it_stands() {
    let t = trace(TRAIL, SEED, &[]);
    let backdoor = t.foothold("role-trust", ":role/backdoor-role");
    assert_eq!(
        backdoor["trusted_principals"],
        serde_json::json!(["arn:aws:iam::666666666666:root"])
    );
    assert_eq!(backdoor["created_by_key"], SEED);
    assert_eq!(backdoor["linked_by_name"], true);
    assert_eq!(backdoor["link_value"], "backdoor-role");
    assert_eq!(backdoor["events"], 3);
    assert_eq!(backdoor["status"], "open");
    let deploy = t.foothold("role-trust", ":role/deploy-role");
    assert_eq!(
        deploy["trusted_principals"],
        serde_json::json!(["arn:aws:iam::666666666666:root", "codebuild.amazonaws.com"])
    );
    assert_eq!(deploy["first_used"], "2025-12-08T09:20:00Z");
    let user = t.foothold("user", ":user/support-backup");
    assert_eq!(user["created_by_key"], "ASIAEXAMPLEFOOT00011");
    // The sign-ins came in through the password, the later and more
    // specific of the two ways in.
    assert_eq!(user["events"], 0);
    assert_eq!(
        t.foothold("login-profile", ":user/support-backup")["events"],
        4
    );
    let saml = t.foothold("identity-provider", ":saml-provider/okta-backup");
    assert_eq!(saml["linked_by_name"], false);
    let instance = t.foothold("instance", ":instance/i-0feed00000000001");
    assert_eq!(instance["link_value"], "i-0feed00000000001");
    assert_eq!(instance["events"], 2);
    let auditor = t.foothold("login-profile", ":user/auditor");
    assert_eq!(auditor["status"], "removed");
    assert!(auditor["removed_by_event_id"].is_string());

    // Containment: the backdoored roles get the deny policy like any
    // lineage role, and apply.sh carries each open foothold's commands,
    // commented out.
    for file in [
        "111111111111-role-backdoor-role.json",
        "111111111111-role-deploy-role.json",
    ] {
        assert!(t.deny.join(file).is_file(), "{file} missing");
    }
    let apply = read(&t.deny.join("apply.sh"));
    let section = apply.split("# FOOTHOLDS").nth(1).expect("foothold section");
    for want in [
        "#     aws iam delete-login-profile --profile \"$PROFILE_111111111111\" --user-name 'support-backup'",
        "#     aws iam update-assume-role-policy --profile \"$PROFILE_111111111111\" --role-name 'backdoor-role'",
        "\"AWS\": \"arn:aws:iam::666666666666:root\"",
        "#     aws iam delete-saml-provider --profile \"$PROFILE_111111111111\" --saml-provider-arn 'arn:aws:iam::111111111111:saml-provider/okta-backup'",
        "#     aws ec2 disassociate-iam-instance-profile --profile \"$PROFILE_111111111111\" --region us-east-1",
        "#     aws lambda delete-function --profile \"$PROFILE_111111111111\" --region us-east-1 --function-name 'exfil-fn'",
    ] {
        assert!(section.contains(want), "apply.sh lacks {want}:\n{section}");
    }
    assert!(
        !section.contains("user/auditor"),
        "a removed foothold is not listed"
    );
    assert!(
        section
            .lines()
            .skip(1)
            .all(|l| l.is_empty() || l.starts_with('#')),
        "foothold commands must stay commented out"
    );
}

#[test]
fn not_following_lists_the_footholds_only() {
    let t = trace(TRAIL, SEED, &["--no-follow-footholds"]);
    assert_eq!(t.report["follow_footholds"], false);
    // The user and its password were built by a session that came in
    // through the backdoored role: not followed, so not found.
    assert_eq!(t.footholds().len(), 7);
    assert!(
        t.rows.iter().all(|r| r["relation"] != "foothold"),
        "{}",
        t.csv
    );
    assert_eq!(credentials(&t.report).len(), 1, "only the seed");
}

#[test]
fn the_same_timeline_at_every_thread_count() {
    let one = trace(TRAIL, SEED, &["-j", "1"]);
    let two = trace(TRAIL, SEED, &["-j", "2"]);
    assert_eq!(one.csv, two.csv);
    assert_eq!(one.report["footholds"], two.report["footholds"]);
}

/// The Stratus Red Team persistence techniques that build users, login
/// profiles and backdoored roles: real records of each.
#[test]
fn stratus_persistence_techniques() {
    let cases = [
        (
            "aws.persistence.iam-create-admin-user.json",
            "AKIAOZUDECYXYM4ONAN4",
            "user",
            "arn:aws:iam::229654561268:user/malicious-iam-user",
        ),
        (
            "aws.persistence.iam-create-user-login-profile.json",
            "AKIAE18PGYHCY2CYMTFK",
            "login-profile",
            "arn:aws:iam::070411556318:user/stratus-red-team-login-profile-user",
        ),
        (
            "aws.persistence.iam-backdoor-role.json",
            "AKIAMUV7B57OZM0RV05D",
            "role-trust",
            "arn:aws:iam::751203476945:role/stratus-red-team-backdoor-r-role",
        ),
        (
            "aws.persistence.iam-create-backdoor-role.json",
            "AKIA0W5KI69TY8X86BGT",
            "role-trust",
            "arn:aws:iam::609418236337:role/stratus-red-team-malicious-iam-role",
        ),
    ];
    for (file, key, kind, arn) in cases {
        let t = trace(&format!("fixtures/stratus/{file}"), key, &[]);
        let f = t.footholds();
        assert_eq!(f.len(), 1, "{file}: {f:#?}");
        assert_eq!(
            (f[0]["kind"].as_str(), f[0]["arn"].as_str()),
            (Some(kind), Some(arn)),
            "{file}"
        );
        assert_eq!(f[0]["created_by_key"], key);
        assert_eq!(f[0]["status"], "open");
    }
    // The admin user's key is still followed as a created key, as before.
    let t = trace(
        "fixtures/stratus/aws.persistence.iam-create-admin-user.json",
        "AKIAOZUDECYXYM4ONAN4",
        &[],
    );
    assert_eq!(
        credentials(&t.report)["AKIAXAFZN8JEPF6L682H"]["kind"],
        "created-key"
    );
    // The backdoored role's new trust: the attacker's account, next to EC2.
    let t = trace(
        "fixtures/stratus/aws.persistence.iam-backdoor-role.json",
        "AKIAMUV7B57OZM0RV05D",
        &[],
    );
    assert_eq!(
        t.footholds()[0]["trusted_principals"],
        serde_json::json!(["arn:aws:iam::193672423079:root", "ec2.amazonaws.com"])
    );
}
