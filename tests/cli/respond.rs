//! `--deny-policy`, `--cutoff`, `--summary-md`, `--graph` and the response
//! keys of the JSON report, on the sample incident and on a hostile trail.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::{SEED, TestEnv, code, golden, golden_dir, json as read_json, read, run, show};

/// Between the expiry of the deploy-role session (15:07:02) and the issue of
/// the ReadOnlyAuditor session (15:15:00), before any deactivation.
const CUTOFF: &str = "2025-12-08T15:10:00Z";

fn trace_incident(env: &TestEnv, extra: &[&str]) -> Value {
    run_incident(env, &[&["-q"], extra].concat()).1
}

/// Traces the sample incident with `extra` options: what it printed, and
/// the report.
fn run_incident(env: &TestEnv, extra: &[&str]) -> (Output, Value) {
    let report = env.path("report.json");
    let mut args = vec!["--key", SEED, "fixtures/incident", "--force"];
    args.extend(["--report", report.to_str().expect("utf-8 path")]);
    args.extend(extra);
    let out = env.trace(&args);
    assert_eq!(code(&out), 0, "{}", show(&out));
    (out, read_json(&report))
}

/// `status` of each credential in the report's containment section.
fn statuses(report: &Value) -> BTreeMap<String, String> {
    report["containment"]["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(|c| {
            (
                c["access_key_id"].as_str().expect("key").to_owned(),
                c["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

#[test]
fn deny_policy_for_the_incident_principals() {
    let env = TestEnv::new();
    let dir = env.path("deny");
    let report = trace_incident(
        &env,
        &["--cutoff", CUTOFF, "--deny-policy", dir.to_str().unwrap()],
    );

    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "111111111111-role-ReadOnlyAuditor.json",
            "111111111111-role-deploy-role.json",
            "111111111111-user-ci-deployer.json",
            "111111111111-user-svc-backup.json",
            "222222222222-role-OrganizationAccountAccessRole.json",
            "apply.sh",
        ]
    );
    for f in files.iter().filter(|f| f.ends_with(".json")) {
        let policy = read_json(&dir.join(f));
        assert_eq!(
            policy,
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyAllToSessionsIssuedBefore20251208T151000Z",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": CUTOFF}}
                }]
            }),
            "{f}"
        );
    }

    // Who holds what: the federated session is covered by the user that
    // called GetFederationToken; the cross-account role in its own account.
    let principals: BTreeMap<String, Vec<String>> = report["containment"]["principals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let name = format!(
                "{}:{}/{}",
                p["account"].as_str().unwrap(),
                p["type"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            );
            let keys = p["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_owned())
                .collect();
            (name, keys)
        })
        .collect();
    let expected: BTreeMap<String, Vec<String>> = [
        (
            "111111111111:user/ci-deployer",
            vec![SEED, "ASIAEXAMPLEFEDR00001", "ASIAEXAMPLESESS00001"],
        ),
        (
            "111111111111:user/svc-backup",
            vec!["AKIAEXAMPLECRTD00001", "ASIAEXAMPLESESS00002"],
        ),
        (
            "111111111111:role/deploy-role",
            vec!["ASIAEXAMPLEROLE00001"],
        ),
        (
            "111111111111:role/ReadOnlyAuditor",
            vec!["ASIAEXAMPLEROLE00003"],
        ),
        (
            "222222222222:role/OrganizationAccountAccessRole",
            vec!["ASIAEXAMPLEXACC00001"],
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(principals, expected);

    let script = read(&dir.join("apply.sh"));
    let commands: Vec<&str> = script
        .lines()
        .filter(|l| l.starts_with("attach "))
        .collect();
    assert_eq!(commands.len(), 5, "{script}");
    assert!(commands.contains(&"attach 'user ci-deployer in account 111111111111' aws iam put-user-policy --profile \"$profile\" --user-name 'ci-deployer' --policy-name \"$POLICY_NAME\" --policy-document 'file://111111111111-user-ci-deployer.json'"));
    assert!(commands.contains(&"attach 'role OrganizationAccountAccessRole in account 222222222222' aws iam put-role-policy --profile \"$profile\" --role-name 'OrganizationAccountAccessRole' --policy-name \"$POLICY_NAME\" --policy-document 'file://222222222222-role-OrganizationAccountAccessRole.json'"));
    // Each account's attachments come after the check of its profile.
    assert!(
        script.contains(
            "profile=${PROFILE_222222222222:-}\nuse_account '222222222222' \"$profile\"\n# role OrganizationAccountAccessRole"
        ),
        "{script}"
    );
    // No set -e: a failed attachment is recorded and the others go on.
    assert!(script.contains("\nset -u\n"), "{script}");
    assert!(!script.contains("set -e"), "{script}");
    // The long-term keys are named, one by one, and never acted on.
    for key in [SEED, "AKIAEXAMPLECRTD00001"] {
        assert!(
            script.contains(&format!("#   {key} (")),
            "{key} not named:\n{script}"
        );
        assert!(
            script
                .lines()
                .filter(|l| l.contains(key) && l.contains("update-access-key"))
                .all(|l| l.starts_with('#'))
        );
    }
    assert_sh_syntax(&dir.join("apply.sh"));
}

fn assert_sh_syntax(path: &Path) {
    let out = run(Command::new("sh").arg("-n").arg(path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn live_versus_expired_around_the_cutoff() {
    let env = TestEnv::new();
    let at = |cutoff: &str| statuses(&trace_incident(&env, &["--cutoff", cutoff]));

    let s = at(CUTOFF);
    for key in [
        "ASIAEXAMPLEFEDR00001",
        "ASIAEXAMPLESESS00001",
        "ASIAEXAMPLEXACC00001",
        "ASIAEXAMPLESESS00002",
    ] {
        assert_eq!(s[key], "neutralised", "{key}");
    }
    assert_eq!(s["ASIAEXAMPLEROLE00001"], "expired");
    assert_eq!(s["ASIAEXAMPLEROLE00003"], "issued-after-cutoff");
    assert_eq!(s[SEED], "key-active");
    assert_eq!(s["AKIAEXAMPLECRTD00001"], "key-active");

    // Exactly at an expiry the session is expired; a millisecond before, live.
    assert_eq!(
        at("2025-12-08T15:12:44Z")["ASIAEXAMPLEXACC00001"],
        "expired"
    );
    assert_eq!(
        at("2025-12-08T15:12:43.999Z")["ASIAEXAMPLEXACC00001"],
        "expired",
        "rounded up to 15:12:44"
    );
    assert_eq!(
        at("2025-12-08T15:12:43Z")["ASIAEXAMPLEXACC00001"],
        "neutralised"
    );

    // The next day only the 36-hour session is left; both keys were deactivated.
    let s = at("2025-12-09T12:00:00Z");
    let live: Vec<&str> = s
        .iter()
        .filter(|(_, v)| *v == "neutralised")
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(live, ["ASIAEXAMPLESESS00001"]);
    assert_eq!(s[SEED], "key-deactivated");
    assert_eq!(s["AKIAEXAMPLECRTD00001"], "key-deactivated");
}

#[test]
fn the_terminal_summary_restates_containment() {
    let env = TestEnv::new();
    let (out, report) = run_incident(&env, &["--cutoff", CUTOFF]);
    let summary = String::from_utf8(out.stdout).unwrap();
    let block: Vec<&str> = summary
        .lines()
        .skip_while(|l| !l.starts_with("Containment at "))
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(
        block.first(),
        Some(&"Containment at 2025-12-08T15:10:00Z (--cutoff):"),
        "{summary}"
    );
    // Every credential still to act on is named; the expired ones counted.
    let named = |key: &str| block.iter().any(|l| l.trim() == key);
    let statuses = statuses(&report);
    for (key, status) in &statuses {
        assert_eq!(named(key), status != "expired", "{key} {status}");
    }
    let counted: usize = block[1..]
        .iter()
        .filter_map(|l| l.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    assert_eq!(counted, statuses.len(), "{summary}");
    assert!(
        block
            .iter()
            .any(|l| l.contains("issued after the cut-off, NOT covered")),
        "{summary}"
    );
}

#[test]
fn cutoff_defaults_to_the_time_of_the_run() {
    let env = TestEnv::new();
    let before = chrono_now();
    let report = trace_incident(&env, &[]);
    assert_eq!(report["cutoff"]["source"], "time of the run");
    let given = trace_incident(&env, &["--cutoff", "2025-12-09"]);
    assert_eq!(
        given["cutoff"],
        json!({"time": "2025-12-09T00:00:00Z", "source": "--cutoff"})
    );
    let time = report["cutoff"]["time"].as_str().unwrap();
    assert!(time >= before.as_str(), "{time} < {before}");
    // At the time of the run every session of 2025 has long expired.
    assert!(
        statuses(&report)
            .values()
            .all(|s| s.starts_with("expired") || s.starts_with("key-"))
    );
}

/// Now, as RFC 3339 to the second.
fn chrono_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[test]
fn blast_radius_classifies_the_incident() {
    let env = TestEnv::new();
    let report = trace_incident(&env, &["--cutoff", CUTOFF]);
    let blast = &report["blast_radius"];
    assert_eq!(blast["actions"], 38);
    let findings: BTreeMap<String, Vec<(String, Value)>> = blast["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let events = f["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    (
                        e["action"].as_str().unwrap().to_owned(),
                        e["error_code"].clone(),
                    )
                })
                .collect();
            (f["category"].as_str().unwrap().to_owned(), events)
        })
        .collect();
    let names = |c: &str| {
        findings[c]
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("persistence-and-privilege"),
        ["CreateUser", "GetFederationToken", "CreateAccessKey"]
    );
    assert_eq!(
        findings["persistence-and-privilege"][0].1, "AccessDenied",
        "the denied CreateUser is kept"
    );
    assert_eq!(names("defense-evasion"), ["StopLogging"]);
    assert_eq!(names("credential-access"), ["GetSecretValue"]);
    assert_eq!(names("exposure"), ["PutBucketPolicy"]);

    let service = |name: &str| {
        blast["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["action"] == name)
            .cloned()
            .unwrap()
    };
    let list_users = service("ListUsers");
    assert_eq!(
        (
            list_users["calls"].as_u64(),
            list_users["reads"].as_u64(),
            list_users["denied"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(service("PutBucketPolicy")["writes"], 1);

    let resources: Vec<(String, String)> = blast["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap().to_owned(),
                r["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for expected in [
        ("s3-bucket", "s3://acme-ci-artifacts"),
        ("secret", "prod/db/master"),
        (
            "arn",
            "arn:aws:secretsmanager:eu-west-1:111111111111:secret:prod/db/master-Ab12Cd",
        ),
        ("iam-user", "svc-backup"),
        ("iam-role", "arn:aws:iam::111111111111:role/BreakGlassAdmin"),
    ] {
        assert!(
            resources.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{expected:?} in {resources:?}"
        );
    }
    // No S3 object was read by the lineage.
    assert_eq!(blast["egress_bytes"], 0);
    let ips: Vec<&str> = blast["source_ips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap())
        .collect();
    assert_eq!(ips, ["192.0.2.80", "198.51.100.23", "203.0.113.45"]);
    let accounts: Vec<&str> = blast["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["111111111111", "222222222222"]);
    // The pre-existing keys are untouched.
    for key in [
        "keytrail_version",
        "seed_keys",
        "window",
        "credentials",
        "inputs",
        "timeline",
        "complete",
    ] {
        assert!(report.get(key).is_some(), "{key}");
    }
}

/// Every output of a run on the sample incident but the CSV (which
/// `trace.rs` pins), byte for byte: the JSONL timeline, the report, the
/// deny policies and `apply.sh`, the Markdown summary and the DOT graph.
/// The cut-off is fixed, and the run uses one worker thread: the report's
/// `inputs.rereads` and `inputs.bytes_read` count the files a worker re-read
/// for keys found late, which depends on how workers interleave. Nothing
/// else needs normalising: sources are named relative to the repository
/// root, and outputs never name their own paths.
#[test]
fn outputs_match_golden_files() {
    let env = TestEnv::new();
    let md = env.path("incident.md");
    let dot = env.path("incident.dot");
    let jsonl = env.path("incident.jsonl");
    let deny = env.path("deny");
    let path = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
    let (md_path, dot_path, jsonl_path, deny_path) =
        (path(&md), path(&dot), path(&jsonl), path(&deny));
    trace_incident(
        &env,
        &[
            "-j",
            "1",
            "--cutoff",
            CUTOFF,
            "-o",
            &jsonl_path,
            "--summary-md",
            &md_path,
            "--graph",
            &dot_path,
            "--deny-policy",
            &deny_path,
        ],
    );
    let md = read(&md);
    let dot = read(&dot);
    golden("incident.md", &md);
    golden("incident.dot", &dot);
    golden("incident.jsonl", &read(&jsonl));
    golden("incident.report.json", &read(&env.path("report.json")));
    golden_dir("deny", &deny);
    assert!(md.contains("```mermaid\nflowchart LR\n"));
    assert!(!md.contains('\u{1b}') && !dot.contains('\u{1b}'));
    assert!(md.contains("` aws-cli/2.22.4 \\x1b[31mPWNED\\x1b[0m os/linux `"));
}

/// Graphviz's `dot`, which must be installed (`scripts/test.sh` installs it).
fn dot_program() -> &'static str {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("dot").is_file()));
    assert!(
        found,
        "Graphviz's `dot` is not on PATH: run scripts/test.sh, or apt-get install graphviz"
    );
    "dot"
}

/// A trail whose attacker picked hostile role and session names and user agent.
fn hostile_trail(dir: &Path) -> &'static str {
    const SESSION: &str = "x\"];evil[\"pwn|`</td>\n}\\N";
    let role = "arn:aws:iam::111111111111:role/evil';touch pwned;'";
    let records = json!({"Records": [
        {
            "eventVersion": "1.08", "eventID": "e1", "eventTime": "2025-12-08T14:00:00Z",
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.9", "userAgent": "ua",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/ci", "accountId": "111111111111",
                             "accessKeyId": "AKIAHOSTILESEED00001", "userName": "ci"},
            "requestParameters": {"roleArn": role, "roleSessionName": SESSION},
            "responseElements": {
                "credentials": {"accessKeyId": "ASIAHOSTILEROLE00001", "expiration": "2025-12-08T15:00:00Z"},
                "assumedRoleUser": {"arn": format!("arn:aws:sts::111111111111:assumed-role/evil';touch pwned;'/{SESSION}")}
            },
            "recipientAccountId": "111111111111"
        },
        {
            "eventVersion": "1.08", "eventID": "e2", "eventTime": "2025-12-08T14:05:00Z",
            "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.9", "userAgent": "a|b`c\u{1b}[31m<img src=x>\n| x |",
            "readOnly": true,
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:aws:sts::111111111111:assumed-role/evil';touch pwned;'/{SESSION}"),
                             "accountId": "111111111111", "accessKeyId": "ASIAHOSTILEROLE00001"},
            "requestParameters": {"bucketName": "b", "key": "k|`x`"},
            "additionalEventData": {"bytesTransferredOut": 1024},
            "recipientAccountId": "111111111111"
        }
    ]});
    std::fs::write(
        dir.join("trail.json"),
        serde_json::to_vec(&records).expect("json"),
    )
    .expect("write trail");
    "AKIAHOSTILESEED00001"
}

#[test]
fn hostile_names_cannot_break_out_of_labels() {
    let env = TestEnv::new();
    let seed = hostile_trail(env.dir.path());
    let (md, dot, deny) = (env.path("s.md"), env.path("g.dot"), env.path("deny"));
    let trail = env.path("trail.json");
    let out = env.trace(&[
        "--key",
        seed,
        trail.to_str().unwrap(),
        "-q",
        "--cutoff",
        "2025-12-08T14:30:00Z",
        "--summary-md",
        md.to_str().unwrap(),
        "--graph",
        dot.to_str().unwrap(),
        "--deny-policy",
        deny.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));

    // DOT: two nodes and one edge, each statement on one line, and every
    // quote inside a label escaped.
    let dot = read(&dot);
    let statements: Vec<&str> = dot.lines().filter(|l| l.contains("label=")).collect();
    assert_eq!(statements.len(), 3, "{dot}");
    for line in &statements {
        let bare = line.replace("\\\\", "").replace("\\\"", "");
        let expected = if line.contains("->") { 6 } else { 4 };
        assert_eq!(bare.matches('"').count(), expected, "{line}");
        assert!(line.ends_with("];"), "{line}");
    }
    // Outside escaped backslashes, the only escapes left are ours: \n and \".
    let unescaped = dot.replace("\\\\", "");
    assert!(
        !unescaped.contains("\\N"),
        "a Graphviz escape survived: {dot}"
    );
    // Graphviz itself reads the same two nodes and one edge, and no node
    // named by the attacker (scripts/test.sh installs it; without it this
    // check cannot run, so the test fails).
    let out = run(Command::new(dot_program())
        .arg("-Tplain")
        .arg(env.path("g.dot")));
    assert!(out.status.success(), "dot -Tplain: {}", show(&out));
    let plain = String::from_utf8_lossy(&out.stdout);
    let statements = |kind: &str, fields: usize| -> Vec<String> {
        plain
            .lines()
            .filter_map(|l| l.strip_prefix(kind))
            .map(|l| l.split(' ').take(fields).collect::<Vec<_>>().join(" "))
            .collect()
    };
    assert_eq!(
        statements("node ", 1),
        ["AKIAHOSTILESEED00001", "ASIAHOSTILEROLE00001"],
        "{plain}"
    );
    assert_eq!(
        statements("edge ", 2),
        ["AKIAHOSTILESEED00001 ASIAHOSTILEROLE00001"],
        "{plain}"
    );

    // Mermaid: each node and edge label keeps exactly its own two quotes.
    let md = read(&md);
    let mermaid: Vec<&str> = md
        .lines()
        .skip_while(|l| *l != "```mermaid")
        .skip(1)
        .take_while(|l| *l != "```")
        .collect();
    let labelled: Vec<&&str> = mermaid.iter().filter(|l| l.contains('"')).collect();
    assert_eq!(labelled.len(), 3, "{mermaid:?}");
    for line in labelled {
        assert_eq!(line.matches('"').count(), 2, "{line}");
        // Labels join their lines with <br/>; nothing else may open a tag
        // or end the code fence.
        assert!(!line.contains('`'), "{line}");
        assert!(!line.replace("<br/>", "").contains('<'), "{line}");
        assert!(line.ends_with("\"]") || line.contains("-->|\""), "{line}");
    }

    // Markdown tables: every row has as many unescaped cell separators as its
    // header; nothing raw from the trail reaches the page.
    let mut columns = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            columns = None;
            continue;
        }
        let n = line.replace("\\|", "").matches('|').count();
        match columns {
            None => columns = Some(n),
            Some(c) => assert_eq!(n, c, "{line}"),
        }
    }
    assert!(!md.contains('\u{1b}'));
    assert!(
        !md.contains("\n| x |"),
        "a newline in a user agent started a row"
    );

    // apply.sh: the role name is refused, only as a comment.
    let script = read(&deny.join("apply.sh"));
    for line in script.lines().filter(|l| l.contains("touch")) {
        assert!(line.starts_with('#'), "{line}");
    }
    assert!(script.contains("# REFUSED"), "{script}");
    assert_eq!(
        script.lines().filter(|l| l.starts_with("attach ")).count(),
        1,
        "only user ci: {script}"
    );
    assert_sh_syntax(&deny.join("apply.sh"));
    let files = std::fs::read_dir(&deny).unwrap().count();
    assert_eq!(files, 2, "ci's policy and apply.sh");
}

#[test]
fn outputs_are_checked_before_the_scan() {
    let env = TestEnv::new();
    let dir = env.path("deny");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let graph = env.path("g.dot");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-q",
        "--deny-policy",
        dir.to_str().unwrap(),
        "--graph",
        graph.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        show(&out)
    );
    assert!(!graph.exists(), "nothing written before the refusal");
    assert!(!dir.join("apply.sh").exists());

    std::fs::write(&graph, "old").unwrap();
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-q",
        "--graph",
        graph.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", show(&out));

    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-q",
        "--force",
        "--deny-policy",
        dir.to_str().unwrap(),
        "--graph",
        graph.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(dir.join("apply.sh").exists() && dir.join("notes.txt").exists());
    assert!(read(&graph).starts_with("digraph"));

    let out = env.trace(&["--key", SEED, "fixtures/incident", "--graph", "-"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
    let out = env.trace(&["--key", SEED, "fixtures/incident", "--cutoff", "yesterday"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
}
