//! `keytrail trace` on local fixtures.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::support::{Running, SEED, TestEnv, code, golden, json, read, root, show};

fn expected() -> Value {
    json(&root().join("fixtures/incident.expected.json"))
}

/// Credentials of a report (or of the expected file), by key.
fn credentials(report: &Value) -> BTreeMap<String, Value> {
    report["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(|c| {
            let fields = [
                "kind",
                "parent_key_id",
                "depth",
                "minted_by_event_id",
                "issued_at",
                "expires_at",
                "deactivated_at",
                "actions",
                "actions_after_deactivation",
            ];
            let picked: serde_json::Map<String, Value> = fields
                .iter()
                .map(|f| (f.to_string(), c[f].clone()))
                .collect();
            (
                c["access_key_id"].as_str().expect("key").to_owned(),
                Value::Object(picked),
            )
        })
        .collect()
}

#[test]
fn sample_incident_matches_ground_truth_and_golden_csv() {
    let env = TestEnv::new();
    let csv = env.path("timeline.csv");
    let report = env.path("report.json");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-o",
        csv.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let report = json(&report);
    assert_eq!(credentials(&report), credentials(&expected()));
    assert_eq!(
        report["timeline"]["duplicates_dropped"],
        expected()["duplicates_dropped"]
    );
    assert_eq!(report["inputs"]["skipped"], Value::Array(vec![]));
    assert_eq!(
        report["inputs"]["skipped_by_design"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let timeline = read(&csv);
    golden("incident.csv", &timeline);

    // Rows by relation, against the ground truth.
    let rows: Vec<Vec<String>> = ::csv::Reader::from_path(&csv)
        .unwrap()
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let ids = |relation: &str| {
        let mut ids: Vec<String> = rows
            .iter()
            .filter(|r| r[2] == relation)
            .map(|r| r[1].clone())
            .collect();
        ids.sort();
        ids
    };
    let mut lifecycle: Vec<String> = expected()["lifecycle_event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    lifecycle.sort();
    assert_eq!(ids("lifecycle"), lifecycle);
    let copies: Vec<String> = expected()["copy_event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids("copy"), copies);
    assert_eq!(
        ids("action").len() as u64,
        expected()["lineage_action_rows"].as_u64().unwrap()
    );
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let env = TestEnv::new();
    let mut outputs = Vec::new();
    for j in ["1", "2", "4"] {
        for ext in ["csv", "jsonl"] {
            let path = env.path(&format!("t{j}.{ext}"));
            let out = env.trace(&[
                "-j",
                j,
                "--key",
                SEED,
                "fixtures/incident",
                "-o",
                path.to_str().unwrap(),
                "-q",
            ]);
            assert_eq!(code(&out), 0, "{}", show(&out));
            outputs.push((ext, std::fs::read(&path).unwrap()));
        }
    }
    for ext in ["csv", "jsonl"] {
        let of: Vec<_> = outputs
            .iter()
            .filter(|(e, _)| *e == ext)
            .map(|(_, b)| b)
            .collect();
        assert!(
            of.windows(2).all(|w| w[0] == w[1]),
            "{ext} differs between thread counts"
        );
    }
}

#[test]
fn no_session_token_reaches_any_output() {
    let env = TestEnv::new();
    let tokens: Vec<String> = expected()["session_tokens_in_archive"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(!tokens.is_empty());
    for ext in ["csv", "jsonl", "parquet"] {
        let path = env.path(&format!("t.{ext}"));
        let report = env.path(&format!("r-{ext}.json"));
        let out = env.trace(&[
            "--key",
            SEED,
            "fixtures/incident",
            "-o",
            path.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 0, "{}", show(&out));
        let mut all = std::fs::read(&path).unwrap();
        all.extend(std::fs::read(&report).unwrap());
        all.extend(&out.stdout);
        all.extend(&out.stderr);
        let all = String::from_utf8_lossy(&all);
        for t in &tokens {
            assert!(!all.contains(t.as_str()), "{ext}: session token leaked");
        }
    }
}

#[test]
fn jsonl_keeps_values_and_nests_json() {
    let env = TestEnv::new();
    let path = env.path("t.jsonl");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-o",
        path.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let rows: Vec<Value> = read(&path)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let hyperlink = rows
        .iter()
        .find(|r| r["user_agent"] == "=HYPERLINK(\"http://x\",\"y\")");
    assert!(hyperlink.is_some(), "the formula is kept verbatim in JSONL");
    assert!(rows.iter().any(|r| r["request_parameters"].is_object()));
    let keys: Vec<&String> = rows[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 23);
}

#[test]
fn csv_neutralises_formulas() {
    let env = TestEnv::new();
    let path = env.path("t.csv");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-o",
        path.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let mut reader = ::csv::Reader::from_path(&path).unwrap();
    for record in reader.records() {
        for cell in record.unwrap().iter() {
            assert!(
                !matches!(
                    cell.as_bytes().first(),
                    Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
                ),
                "unneutralised cell {cell:?}"
            );
        }
    }
    let text = read(&path);
    assert!(text.contains("'=HYPERLINK"));
}

#[test]
fn summary_escapes_terminal_sequences() {
    let env = TestEnv::new();
    let out = env.trace(&["--key", SEED, "fixtures/incident"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(!out.stdout.contains(&0x1b), "raw ESC in summary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\\x1b[31m"), "{stdout}");
    assert!(stdout.contains("Lineage"));
}

#[test]
fn parquet_reads_back_with_the_csv_rows() {
    use polars::prelude::*;
    let env = TestEnv::new();
    let pq = env.path("t.parquet");
    let csv = env.path("t.csv");
    for p in [&pq, &csv] {
        let out = env.trace(&[
            "--key",
            SEED,
            "fixtures/incident",
            "-o",
            p.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(code(&out), 0, "{}", show(&out));
    }
    let df = ParquetReader::new(std::fs::File::open(&pq).unwrap())
        .finish()
        .unwrap();
    let rows: Vec<::csv::StringRecord> = ::csv::Reader::from_path(&csv)
        .unwrap()
        .records()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(df.height(), rows.len());
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let header: Vec<String> = ::csv::Reader::from_path(&csv)
        .unwrap()
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, header);
    let time = df.column("event_time").unwrap().dtype();
    assert!(
        matches!(time, DataType::Datetime(TimeUnit::Milliseconds, Some(_))),
        "{time:?}"
    );
    assert_eq!(df.column("depth").unwrap().dtype(), &DataType::UInt32);
    assert_eq!(
        df.column("after_deactivation").unwrap().dtype(),
        &DataType::Boolean
    );
    let ids = df.column("event_id").unwrap().str().unwrap();
    let after = df.column("after_deactivation").unwrap().bool().unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(ids.get(i), Some(&row[1]));
        assert_eq!(
            after.get(i).map(|b| b.to_string()).as_deref(),
            Some(&row[18])
        );
    }
}

#[test]
fn stratus_federation_chain() {
    let env = TestEnv::new();
    let report = env.path("r.json");
    let out = env.trace(&[
        "--key",
        "AKIA6V1GNZTT65XQH36M",
        "fixtures/stratus/aws.persistence.sts-federation-token.json",
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let creds = credentials(&json(&report));
    let fed = &creds["ASIASTJKC5GCM7ZE6LUP"];
    assert_eq!(fed["kind"], "federated");
    assert_eq!(fed["parent_key_id"], "AKIA6V1GNZTT65XQH36M");
    assert_eq!(fed["expires_at"], "2024-11-30T20:43:17Z");
    assert_eq!(fed["actions"], 1);
}

#[test]
fn stratus_assume_role_chains() {
    // (file, seed, used session, its action count): see fixtures/stratus/PROVENANCE.txt.
    let cases = [
        (
            "aws.credential-access.ec2-get-password-data.json",
            "AKIAWOGXN38MFN92ING5",
            "ASIANQQHHS551LWULIWD",
            30,
        ),
        (
            "aws.discovery.ec2-download-user-data.json",
            "AKIAMJ2320ZAXACWCPJI",
            "ASIA4URVX2JM5MT0ZGK8",
            15,
        ),
        (
            "aws.execution.ec2-launch-unusual-instances.json",
            "AKIAR7ISFR69YWROPYAN",
            "ASIA9F6MXE9HSYOXYQOS",
            1,
        ),
        (
            "aws.defense-evasion.organizations-leave.json",
            "AKIADVISM0T50G52IF0D",
            "ASIA36EV31F1RB3OA8IG",
            1,
        ),
    ];
    for (file, seed, session, actions) in cases {
        let env = TestEnv::new();
        let report = env.path("r.json");
        let path = format!("fixtures/stratus/{file}");
        let out = env.trace(&[
            "--key",
            seed,
            &path,
            "--report",
            report.to_str().unwrap(),
            "-q",
        ]);
        assert_eq!(code(&out), 0, "{file}: {}", show(&out));
        let creds = credentials(&json(&report));
        let s = &creds[session];
        assert_eq!(s["kind"], "assumed-role", "{file}");
        assert_eq!(s["parent_key_id"], seed, "{file}");
        assert_eq!(s["actions"], actions, "{file}");
    }
}

#[test]
fn damaged_inputs_exit_3_and_are_reported() {
    let env = TestEnv::new();
    let report = env.path("r.json");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/broken",
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 3, "{}", show(&out));
    let report = json(&report);
    let named = |list: &str| -> Vec<String> {
        report["inputs"][list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{} {}",
                    e["source"].as_str().unwrap(),
                    e["reason"].as_str().unwrap()
                )
            })
            .collect()
    };
    let skipped = named("skipped");
    let partial = named("partial");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in [
        "corrupt-deflate.json.gz",
        "empty.json.gz",
        "empty.json",
        "not-cloudtrail.json",
    ] {
        assert!(
            skipped.iter().any(|s| s.contains(name)),
            "{name} not skipped: {skipped:?}"
        );
        assert!(stderr.contains(name), "{name} not on stderr");
    }
    for name in [
        "truncated.json.gz",
        "invalid-json-midway.json",
        "bad-crc.json.gz",
    ] {
        assert!(
            partial.iter().any(|s| s.contains(name)),
            "{name} not partial: {partial:?}"
        );
    }
    // Recognised by content: a plain JSON file with a .gz name is read in full.
    for name in ["good.json.gz", "concatenated.json.gz", "not-gzip.json.gz"] {
        assert!(
            !skipped.iter().chain(&partial).any(|s| s.contains(name)),
            "{name} reported"
        );
    }
    // Records before the damage are kept.
    let seed = &credentials(&report)[SEED];
    assert!(seed["actions"].as_u64().unwrap() > 3, "{seed}");
}

#[test]
fn refuses_to_overwrite_without_force() {
    let env = TestEnv::new();
    let path = env.path("t.csv");
    std::fs::write(&path, "keep me").unwrap();
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-o",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert_eq!(read(&path), "keep me");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-o",
        path.to_str().unwrap(),
        "--force",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(read(&path).starts_with("event_time,"));
}

#[test]
fn usage_and_fatal_errors() {
    let env = TestEnv::new();
    assert_eq!(
        code(&env.trace(&["--key", "akia-lowercase", "fixtures/incident"])),
        2
    );
    assert_eq!(code(&env.trace(&["fixtures/incident"])), 2);
    assert_eq!(
        code(&env.trace(&["--key", SEED, "fixtures/incident", "-o", "x.txt"])),
        2
    );
    assert_eq!(
        code(&env.trace(&["--key", SEED, "--since", "yesterday", "fixtures/incident"])),
        2
    );
    let out = env.trace(&["--key", SEED, "fixtures/does-not-exist"]);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does-not-exist"));
}

#[test]
fn stdout_timeline_moves_the_summary_to_stderr() {
    let env = TestEnv::new();
    let out = env.trace(&["--key", SEED, "fixtures/incident", "-o", "-"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("event_time,event_id,relation,"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Lineage"));
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // `keytrail trace … -o - | head -c0`: when whatever reads the timeline
    // stops, keytrail stops too, quietly and successfully, as ripgrep does.
    let env = TestEnv::new();
    let mut wrong = Vec::new();
    for format in ["csv", "jsonl", "parquet"] {
        let out = Running::spawn_with_stdout_closed(env.keytrail().arg("trace").args([
            "--key",
            SEED,
            "fixtures/incident",
            "-o",
            "-",
            "--format",
            format,
        ]))
        .wait();
        // The summary still goes to stderr, and has an "Errors:" section
        // (the calls that failed); a message would say "keytrail: error:".
        let stderr = String::from_utf8_lossy(&out.stderr);
        let complaint = ["error:", "Broken pipe", "os error", "panicked"]
            .iter()
            .any(|word| stderr.contains(word));
        if code(&out) != 0 || complaint {
            wrong.push(format!("--format {format}: {}", show(&out)));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// The seed window of the window tests: the day of the leak, up to 14:30.
const WINDOW: [&str; 4] = ["--since", "2025-12-08", "--until", "2025-12-08T14:30:00Z"];

/// Traces the seed within [`WINDOW`] on `source`, with `extra` options, and
/// returns the report.
fn trace_window(env: &TestEnv, source: &str, extra: &[&str]) -> Value {
    let report = env.path("r.json");
    let mut args = vec!["--key", SEED, source, "-q", "--force"];
    args.extend(WINDOW);
    args.extend(["--report", report.to_str().expect("utf-8 path")]);
    args.extend(extra);
    let out = env.trace(&args);
    assert_eq!(code(&out), 0, "{source}: {}", show(&out));
    json(&report)
}

#[test]
fn seed_window_bounds_seed_activity_but_follows_minted_credentials() {
    let env = TestEnv::new();
    let got = credentials(&trace_window(&env, "fixtures/incident", &[]));
    let all = credentials(&expected());
    // Seed actions before the 8th are out; everything minted inside is followed in full.
    assert!(got[SEED]["actions"].as_u64() < all[SEED]["actions"].as_u64());
    for (key, c) in &all {
        if key != SEED {
            assert_eq!(&got[key], c, "{key}");
        }
    }
}

#[test]
fn seed_deactivation_after_until_is_still_found() {
    // The defender's UpdateAccessKey (16:30) lies outside the seed window and
    // its file's span, but that file is read for the live sessions.
    let env = TestEnv::new();
    let report = trace_window(&env, "fixtures/incident", &["--delivery-margin", "1h"]);
    let got = credentials(&report);
    assert_eq!(got[SEED]["deactivated_at"], "2025-12-08T16:30:00Z");
    let all = credentials(&expected());
    assert_eq!(got["ASIAEXAMPLESESS00001"], all["ASIAEXAMPLESESS00001"]);
}

#[test]
fn a_source_inside_the_delivery_layout_is_read_as_its_place_in_it() {
    // Analysts point keytrail at `…/AWSLogs`, or at one region's folder, as
    // often as at the folder above. The layout is recognised across the
    // source's own path: digests are passed over by design, not opened, and
    // a region lists only the day folders the window reaches.
    let env = TestEnv::new();
    let run = |source: &str| {
        let csv = env.path("t.csv");
        let report = trace_window(&env, source, &["-o", csv.to_str().unwrap()]);
        (report["inputs"].clone(), read(&csv))
    };
    let (above, above_csv) = run("fixtures/incident");
    let (awslogs, awslogs_csv) = run("fixtures/incident/AWSLogs");
    assert_eq!(awslogs_csv, above_csv);
    for field in [
        "files_listed",
        "files_read",
        "files_pruned",
        "skipped_by_design",
    ] {
        assert_eq!(awslogs[field], above[field], "{field}");
    }
    assert_eq!(
        awslogs["skipped_by_design"][0]["reason"],
        "skipped by design: digest files (integrity hashes, no events)"
    );
    // A link named `AWSLogs` to a copy elsewhere says the same.
    #[cfg(unix)]
    {
        let link = env.path("AWSLogs");
        std::os::unix::fs::symlink(root().join("fixtures/incident/AWSLogs"), &link).unwrap();
        let (linked, _) = run(link.to_str().unwrap());
        for field in ["files_listed", "files_read", "files_pruned"] {
            assert_eq!(linked[field], above[field], "{field}");
        }
    }

    let region = "fixtures/incident/AWSLogs/111111111111/CloudTrail/us-east-1";
    let (region_inputs, region_csv) = run(region);
    // Below a region, every file is listed, and the window prunes them.
    let (month, month_csv) = run(&format!("{region}/2025/12"));
    assert_eq!(region_csv, month_csv);
    assert_eq!(region_inputs["files_read"], month["files_read"]);
    let listed = |inputs: &Value| inputs["files_listed"].as_u64().unwrap();
    assert!(
        listed(&region_inputs) < listed(&month),
        "{region_inputs} / {month}"
    );
}

/// `-o /dev/null --force` (how the benchmarks time a run) writes into the
/// device: the atomic rename used for files would replace `/dev/null` itself
/// with a regular file, for every process on the machine.
#[cfg(unix)]
#[test]
fn writing_to_dev_null_leaves_the_device_alone() {
    use std::os::unix::fs::FileTypeExt;
    let env = TestEnv::new();
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "-o",
        "/dev/null",
        "--format",
        "csv",
        "--force",
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/null was replaced");
}
