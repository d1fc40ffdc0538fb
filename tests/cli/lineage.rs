//! The lineage rules on `fixtures/lineage` (written by
//! `fixtures/make_lineage.py`, whose docstring tells the scenarios and the
//! sources of the record shapes): reactivated keys, reused temporary key ids,
//! leaked sessions given as seeds, `AssumeRoot` root sessions, and console
//! sign-ins through the federation endpoint.
//!
//! The scenarios share one archive, each with its own seed key: a test traces
//! one of them, and the others are noise to it. Event ids are looked up in the
//! archive itself by name and time, a pair the generator keeps unique.

use std::io::Read;
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::support::{
    Row, TestEnv, code, credentials, csv_rows, json as read_json, read, root, show,
};

/// The archive, relative to the repository root (where keytrail runs).
const TRAIL: &str = "fixtures/lineage";

// A. Reactivation.
const REAC: &str = "AKIAEXAMPLEREAC00001";
// B. Reused temporary id.
const REUS: &str = "AKIAEXAMPLEREUS00001";
const REUS_ROLE: &str = "ASIAEXAMPLEREUS00002";
// C. Leaked sessions as seeds.
const SEED_ROLE: &str = "ASIAEXAMPLESEEDROLE1";
const SEED_FEDR: &str = "ASIAEXAMPLESEEDFEDR1";
const SEED_SESS: &str = "ASIAEXAMPLESEEDSESS1";
const SEED_CONS: &str = "ASIAEXAMPLESEEDCONS1";
const SEED_LONG: &str = "AKIAEXAMPLESEEDLONG1";
const PRNT: &str = "AKIAEXAMPLEPRNT00001";
// D. AssumeRoot.
const ROOT: &str = "AKIAEXAMPLEROOT00001";
const ROOT_SESS: &str = "ASIAEXAMPLEROOT00002";
const TASK_POLICY: &str = "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy";
// E. Console sessions.
const CONS: &str = "AKIAEXAMPLECONS00001";
const CONS_FED: &str = "ASIAEXAMPLECONS00002";
const CONS_WEB: &str = "ASIAEXAMPLECONS00003";
const CONS_LATER: &str = "ASIAEXAMPLECONS00004";

/// One scenario traced with `--report`, `-o T.csv`, `--deny-policy` and
/// `--cutoff`.
struct Traced {
    report: Value,
    rows: Vec<Row>,
    deny: PathBuf,
    /// Holds the outputs until the test ends.
    _env: TestEnv,
}

/// `keytrail trace --key KEY fixtures/lineage … --cutoff CUTOFF -q`.
fn trace(key: &str, cutoff: &str) -> Traced {
    trace_with(key, cutoff, &[])
}

/// [`trace`], with more options.
fn trace_with(key: &str, cutoff: &str, more: &[&str]) -> Traced {
    let env = TestEnv::new();
    let report = env.path("report.json");
    let csv = env.path("timeline.csv");
    let deny = env.path("deny");
    let mut args = vec![
        "--key",
        key,
        TRAIL,
        "--report",
        report.to_str().expect("utf-8 path"),
        "-o",
        csv.to_str().expect("utf-8 path"),
        "--deny-policy",
        deny.to_str().expect("utf-8 path"),
        "--cutoff",
        cutoff,
        "-q",
    ];
    args.extend_from_slice(more);
    let out = env.trace(&args);
    assert_eq!(code(&out), 0, "{}", show(&out));
    Traced {
        report: read_json(&report),
        rows: csv_rows(&csv),
        deny,
        _env: env,
    }
}

impl Traced {
    /// The report's entry for `key`; fails if it is not in the lineage.
    fn credential(&self, key: &str) -> Value {
        credentials(&self.report).remove(key).unwrap_or_else(|| {
            panic!(
                "{key} is not in the lineage: {:#}",
                self.report["credentials"]
            )
        })
    }

    /// Whether `key` is a lineage credential.
    fn has_credential(&self, key: &str) -> bool {
        credentials(&self.report).contains_key(key)
    }

    /// The event ids of the rows with this relation and key, in timeline order.
    fn ids(&self, relation: &str, key: &str) -> Vec<&str> {
        self.rows
            .iter()
            .filter(|r| r["relation"] == relation && r["access_key_id"] == key)
            .map(|r| r["event_id"].as_str())
            .collect()
    }

    /// The row of this event, if it is on the timeline.
    fn row(&self, event_id: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r["event_id"] == event_id)
    }

    /// The containment entry of `key`.
    fn containment(&self, key: &str) -> &Value {
        self.report["containment"]["credentials"]
            .as_array()
            .expect("containment credentials")
            .iter()
            .find(|c| c["access_key_id"] == key)
            .unwrap_or_else(|| panic!("{key} has no containment entry"))
    }

    /// Its status at the cut-off.
    fn status(&self, key: &str) -> &str {
        self.containment(key)["status"].as_str().expect("status")
    }

    /// The files of the `--deny-policy` folder, sorted.
    fn deny_files(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.deny)
            .expect("deny-policy folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn apply_sh(&self) -> String {
        read(&self.deny.join("apply.sh"))
    }
}

/// Every record of the archive.
fn archive() -> &'static [Value] {
    static RECORDS: OnceLock<Vec<Value>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut files = Vec::new();
        let mut dirs = vec![root().join(TRAIL)];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("fixture folder") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        assert!(!files.is_empty(), "run python3 fixtures/make_lineage.py");
        let mut records = Vec::new();
        for path in files {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(&path).expect("fixture file"))
                .read_to_string(&mut text)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let doc: Value = serde_json::from_str(&text).expect("fixture JSON");
            records.extend(doc["Records"].as_array().expect("Records").iter().cloned());
        }
        records
    })
}

/// The `eventID` of the one record named `name` at `time`: `HH:MM` on
/// 2025-12-08, or a full RFC 3339 time.
fn event_id(name: &str, time: &str) -> &'static str {
    let time = if time.len() == 5 {
        format!("2025-12-08T{time}:00Z")
    } else {
        time.to_owned()
    };
    let found: Vec<&Value> = archive()
        .iter()
        .filter(|r| r["eventName"] == name && r["eventTime"] == time.as_str())
        .collect();
    assert_eq!(found.len(), 1, "{name} at {time} in {TRAIL}");
    found[0]["eventID"].as_str().expect("eventID")
}

/// `HH:MM` on 2025-12-08, as the report writes times.
fn at(hh_mm: &str) -> String {
    format!("2025-12-08T{hh_mm}:00Z")
}

// ---------------------------------------------------------------------------
// A. Reactivation

#[test]
fn reactivated_key_status_changes_and_after_deactivation() {
    let t = trace(REAC, "2025-12-08T12:00:00Z");
    let deactivated = event_id("UpdateAccessKey", "10:10");
    let reactivated = event_id("UpdateAccessKey", "10:30");

    let seed = t.credential(REAC);
    assert_eq!(
        seed["status_changes"],
        json!([
            {"time": at("10:10"), "status": "inactive", "event_id": deactivated},
            {"time": at("10:30"), "status": "active", "event_id": reactivated},
        ])
    );
    assert_eq!(seed["deactivated_at"], at("10:10"));

    // The rejected call falls in the inactive period; the last one after the
    // key was brought back does not.
    let flags: Vec<(&str, &str)> = t
        .rows
        .iter()
        .filter(|r| r["relation"] == "action")
        .map(|r| (r["event_time"].as_str(), r["after_deactivation"].as_str()))
        .collect();
    let (t1000, t1020, t1040) = (at("10:00"), at("10:20"), at("10:40"));
    assert_eq!(
        flags,
        [
            (t1000.as_str(), "false"),
            (t1020.as_str(), "true"),
            (t1040.as_str(), "false"),
        ]
    );
    let rejected = t.row(event_id("ListUsers", "10:20")).expect("10:20 row");
    assert_eq!(rejected["error_code"], "InvalidClientTokenId");

    // Both status changes are lifecycle rows of the seed, whoever made them.
    assert_eq!(t.ids("lifecycle", REAC), [deactivated, reactivated]);
    assert_eq!(t.status(REAC), "key-active");

    // Bringing the key back is persistence, though no lineage key made it.
    let findings = t.report["blast_radius"]["findings"]
        .as_array()
        .expect("findings");
    let persistence: Vec<(&Value, &Value)> = findings
        .iter()
        .filter(|f| f["category"] == "persistence-and-privilege")
        .flat_map(|f| f["events"].as_array().expect("events"))
        .map(|e| (&e["event_id"], &e["action"]))
        .collect();
    assert_eq!(
        persistence,
        [(&json!(reactivated), &json!("UpdateAccessKey"))],
        "{findings:#?}"
    );
}

#[test]
fn reactivated_key_is_deactivated_at_a_cutoff_inside_the_inactive_period() {
    let t = trace(REAC, "2025-12-08T10:15:00Z");
    assert_eq!(t.status(REAC), "key-deactivated");
    assert_eq!(t.containment(REAC)["deactivated_at"], at("10:10"));
}

// ---------------------------------------------------------------------------
// B. Reused temporary id

#[test]
fn reused_temporary_id_acts_only_inside_its_validity_and_principal() {
    let t = trace(REUS, "2025-12-08T12:00:00Z");
    let role = t.credential(REUS_ROLE);
    assert_eq!(role["kind"], "assumed-role");
    assert_eq!(role["parent_key_id"], REUS);
    assert_eq!(role["depth"], 1);
    assert_eq!(role["minted_by_event_id"], event_id("AssumeRole", "09:00"));
    assert_eq!(role["expires_at"], at("10:00"));
    assert_eq!(role["actions"], 3);
    // 10:04 is past the 10:00 expiry, inside the five minutes of slack.
    assert_eq!(
        t.ids("action", REUS_ROLE),
        [
            event_id("ListBuckets", "09:10"),
            event_id("GetDatabases", "09:50"),
            event_id("GetCallerIdentity", "10:04"),
        ]
    );
    assert_eq!(t.ids("action", REUS), [event_id("AssumeRole", "09:00")]);
    assert_eq!(t.rows.len(), 4, "{:#?}", t.rows);
}

#[test]
fn reused_temporary_id_elsewhere_is_counted_not_followed() {
    let t = trace(REUS, "2025-12-08T12:00:00Z");
    // Same time, another principal in another account; and the same ARN two
    // days later, far outside the validity.
    for id in [
        event_id("DescribeInstances", "09:30"),
        event_id("GetCallerIdentity", "2025-12-10T09:10:00Z"),
    ] {
        assert!(t.row(id).is_none(), "{id} is on the timeline");
    }
    // Only the files that can hold the credential's events are read for
    // its id: its validity, with slack, plus the delivery margin. The reuse
    // at the same time is counted; the one two days later lies in files
    // never searched for this id, unless the margin reaches them.
    assert_eq!(t.credential(REUS_ROLE)["same_id_elsewhere"], 1);
    assert_eq!(t.credential(REUS)["same_id_elsewhere"], 0);
    let wide = trace_with(REUS, "2025-12-08T12:00:00Z", &["--delivery-margin", "72h"]);
    assert_eq!(wide.credential(REUS_ROLE)["same_id_elsewhere"], 2);
    assert!(
        wide.row(event_id("GetCallerIdentity", "2025-12-10T09:10:00Z"))
            .is_none()
    );
}

// ---------------------------------------------------------------------------
// C. Leaked sessions as seeds

#[test]
fn leaked_role_session_seed_names_its_minting_event_and_its_role() {
    let t = trace(SEED_ROLE, "2025-12-08T08:50:00Z");
    let seed = t.credential(SEED_ROLE);
    assert_eq!(seed["kind"], "seed");
    assert_eq!(seed["seed_type"], "assumed-role");
    assert_eq!(seed["issued_at"], at("08:00"));
    assert_eq!(seed["minted_by_event_id"], event_id("AssumeRole", "08:00"));
    assert_eq!(seed["minted_by_key"], PRNT);
    assert_eq!(seed["expires_at"], at("09:00"));
    // The key that minted it is not part of the incident.
    assert_eq!(t.report["credentials"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        t.ids("action", SEED_ROLE),
        [
            event_id("DescribeInstances", "08:30"),
            event_id("ListBuckets", "08:45")
        ]
    );
    // A session: the role's policy reaches it, and there is no key to
    // deactivate.
    assert_eq!(t.status(SEED_ROLE), "neutralised");
    assert_eq!(
        t.deny_files(),
        ["111111111111-role-app-role.json", "apply.sh"]
    );
    let apply = t.apply_sh();
    assert!(
        !apply.contains("update-access-key") && !apply.contains("delete-access-key"),
        "{apply}"
    );
}

#[test]
fn a_leaked_federated_session_is_contained_on_the_user_that_issued_it() {
    let t = trace(SEED_FEDR, "2025-12-08T07:45:00Z");
    let state = &t.report["containment"]["credentials"][0];
    assert_eq!(state["status"], "neutralised", "{state}");
    assert_eq!(state["principal"]["name"], "deployer", "{state}");
    assert!(t.deny.join("111111111111-user-deployer.json").is_file());
}

#[test]
fn leaked_sessions_are_typed_by_their_own_events() {
    for (key, seed_type, issued_at, cutoff) in [
        (SEED_FEDR, "federated", at("07:00"), "2025-12-08T07:45:00Z"),
        (
            SEED_SESS,
            "session-token",
            at("06:00"),
            "2025-12-08T06:30:00Z",
        ),
        (
            SEED_CONS,
            "console-session",
            at("05:25"),
            "2025-12-08T05:45:00Z",
        ),
    ] {
        let t = trace(key, cutoff);
        let seed = t.credential(key);
        assert_eq!(seed["seed_type"], seed_type, "{key}");
        assert_eq!(seed["issued_at"], issued_at.as_str(), "{key}");
        assert_eq!(seed["minted_by_event_id"], Value::Null, "{key}");
        assert_eq!(t.report["credentials"].as_array().map(Vec::len), Some(1));
        assert_eq!(t.ids("action", key).len(), 1, "{key}");
        assert!(
            !t.apply_sh().contains("update-access-key"),
            "{key}: a session has no key to deactivate\n{}",
            t.apply_sh()
        );
    }
}

#[test]
fn long_term_seed_is_still_a_key_to_deactivate() {
    let t = trace(SEED_LONG, "2025-12-08T06:00:00Z");
    let seed = t.credential(SEED_LONG);
    assert_eq!(seed["seed_type"], "long-term");
    assert_eq!(seed["issued_at"], Value::Null);
    assert_eq!(t.status(SEED_LONG), "key-active");
    let apply = t.apply_sh();
    for command in ["aws iam update-access-key", "aws iam delete-access-key"] {
        assert!(
            apply.lines().any(|l| l.contains(command)
                && l.contains("--user-name 'reporter'")
                && l.contains(&format!("--access-key-id {SEED_LONG}"))),
            "{command} for {SEED_LONG} missing from apply.sh:\n{apply}"
        );
    }
}

#[test]
fn summary_says_what_each_seed_is() {
    for (key, label) in [
        (SEED_ROLE, "seed (assumed-role) ["),
        (SEED_FEDR, "seed (federated) ["),
        (SEED_SESS, "seed (session-token) ["),
        (SEED_CONS, "seed (console-session) ["),
        (SEED_LONG, "seed [long-term]"),
    ] {
        let env = TestEnv::new();
        let csv = env.path("timeline.csv");
        let out = env.trace(&["--key", key, TRAIL, "-o", csv.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", show(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no lineage line for {key}:\n{stdout}"));
        assert!(line.starts_with(&format!("{key} {label}")), "{key}: {line}");
        if key.starts_with("ASIA") {
            assert!(!line.contains("[long-term]"), "{line}");
        }
    }
}

// ---------------------------------------------------------------------------
// D. AssumeRoot

#[test]
fn assume_root_session_is_traced_and_out_of_any_policy_reach() {
    let t = trace(ROOT, "2025-12-08T11:10:00Z");
    let session = t.credential(ROOT_SESS);
    assert_eq!(session["kind"], "root-session");
    assert_eq!(session["parent_key_id"], ROOT);
    assert_eq!(session["depth"], 1);
    assert_eq!(
        session["minted_by_event_id"],
        event_id("AssumeRoot", "11:00")
    );
    assert_eq!(session["issued_at"], at("11:00"));
    // No expiration in the response: AssumeRoot's 900 s default.
    assert_eq!(session["expires_at"], at("11:15"));
    assert_eq!(session["task_policy_arn"], TASK_POLICY);
    assert_eq!(
        t.ids("action", ROOT_SESS),
        [event_id("DeleteBucketPolicy", "11:05")]
    );

    assert_eq!(t.status(ROOT_SESS), "unreachable");
    let reason = t.containment(ROOT_SESS)["reason"].as_str().expect("reason");
    assert!(reason.contains("sts:AssumeRoot"), "{reason}");
    // Nothing in the member account can carry a policy for it.
    let files = t.deny_files();
    assert!(
        !files.iter().any(|f| f.starts_with("444444444444")),
        "{files:?}"
    );
    let apply = t.apply_sh();
    assert!(
        apply
            .lines()
            .any(|l| l.trim_start().starts_with('#') && l.contains("AssumeRoot")),
        "{apply}"
    );
}

#[test]
fn assume_root_session_ends_after_900_seconds() {
    let t = trace(ROOT, "2025-12-08T11:10:00Z");
    // 11:30 is past 11:15 plus the five minutes of slack.
    let late = event_id("DeleteBucketPolicy", "11:30");
    assert!(t.row(late).is_none(), "{late} is on the timeline");
    assert_eq!(t.credential(ROOT_SESS)["actions"], 1);
    assert_eq!(t.credential(ROOT_SESS)["same_id_elsewhere"], 1);
}

// ---------------------------------------------------------------------------
// E. Console sessions

#[test]
fn console_sign_in_links_the_console_session_to_its_federation_token() {
    let t = trace(CONS, "2025-12-08T16:00:00Z");
    // The sign-in token is asked for with the federation credentials.
    assert_eq!(
        t.ids("action", CONS_FED),
        [event_id("GetSigninToken", "13:05")]
    );
    let login = t
        .row(event_id("ConsoleLogin", "13:06"))
        .expect("the 13:06 ConsoleLogin is on the timeline");
    assert_eq!(login["relation"], "sign-in");
    assert_eq!(login["access_key_id"], "");
    assert_eq!(login["parent_key_id"], CONS_FED);
    assert_eq!(login["credential_kind"], "console-session");

    let web = t.credential(CONS_WEB);
    assert_eq!(web["kind"], "console-session");
    assert_eq!(web["parent_key_id"], CONS_FED);
    assert_eq!(web["depth"], 2);
    assert_eq!(
        t.ids("action", CONS_WEB),
        [
            event_id("CreateRole", "13:10"),
            event_id("ListBuckets", "14:00")
        ]
    );
}

#[test]
fn console_session_outside_the_sign_in_window_is_not_linked() {
    let t = trace(CONS, "2025-12-08T16:00:00Z");
    assert!(
        !t.has_credential(CONS_LATER),
        "{CONS_LATER} joined the lineage"
    );
    for id in [
        event_id("ConsoleLogin", "15:00"),
        event_id("ListUsers", "15:05"),
    ] {
        assert!(t.row(id).is_none(), "{id} is on the timeline");
    }
    assert!(
        !t.rows.iter().any(|r| r["access_key_id"] == CONS_LATER),
        "a row names {CONS_LATER}"
    );
    assert_eq!(
        t.rows.iter().filter(|r| r["relation"] == "sign-in").count(),
        1
    );
}

#[test]
fn console_session_lives_as_long_as_its_federation_credentials() {
    let t = trace(CONS, "2025-12-08T16:00:00Z");
    // GetFederationToken with durationSeconds 129600 at 13:00: 36 hours.
    assert_eq!(t.credential(CONS_FED)["expires_at"], "2025-12-10T01:00:00Z");
    assert_eq!(t.credential(CONS_WEB)["expires_at"], "2025-12-10T01:00:00Z");
    assert_ne!(t.status(CONS_WEB), "expired");
}
