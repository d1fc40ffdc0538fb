//! Hostile and broken input, end to end (issue 5): odd shapes seen in real
//! logs, resource limits, file-system trouble, attacker-written text, and the
//! inputs the fuzzers found.
//!
//! Inputs are small synthetic files written into temp folders by each test,
//! plus a few verbatim samples from `fixtures/samples/` (see its
//! `PROVENANCE.txt`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keytrail::decode::{Scratch, Sink, Status, decode};
use keytrail::event::Event;
use serde_json::{Value, json};

use crate::support::{
    Running, SEED, TestEnv, code, credentials, gzip, json, read, root, run, show,
};
const SESSION: &str = "ASIAEXAMPLESESS00001";
const ROLE: &str = "ASIAEXAMPLEROLE00001";
/// A session token shaped like a real one (base64, hundreds of characters).
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLETOKENxQ2FBZ0VCYnN0cmluZ3Nlc3Npb250b2tlbmZvcnRlc3RzMTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo";

/// A successful action of `key` (the seed unless patched), with the fields of
/// a current (1.08) record. `patch` overrides fields; `"<absent>"` removes one.
fn record(id: &str, patch: Value) -> Value {
    let mut r = json!({
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEPRINCIPAL",
            "arn": "arn:aws:iam::111111111111:user/ci-deployer",
            "accountId": "111111111111",
            "accessKeyId": SEED,
            "userName": "ci-deployer"
        },
        "eventTime": "2025-12-08T14:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"Host": "s3.amazonaws.com"},
        "responseElements": null,
        "eventID": id,
        "readOnly": true,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111111111111",
        "eventCategory": "Management"
    });
    let map = r.as_object_mut().expect("object");
    for (k, v) in patch.as_object().expect("patch is an object") {
        if v == "<absent>" {
            map.remove(k);
        } else {
            map.insert(k.clone(), v.clone());
        }
    }
    r
}

/// A user identity acting with `key`.
fn identity(key: &str, arn: &str) -> Value {
    json!({"type": "AssumedRole", "arn": arn, "accountId": "111111111111", "accessKeyId": key})
}

/// `record` serialized, with `marker` replaced by raw `bytes`.
fn with_bytes(record: Value, marker: &str, bytes: &[u8]) -> Vec<u8> {
    let text = record.to_string();
    let at = text.find(marker).expect("marker");
    [
        &text.as_bytes()[..at],
        bytes,
        &text.as_bytes()[at + marker.len()..],
    ]
    .concat()
}

/// `{"Records":[…]}` as CloudTrail delivers it.
fn document(records: &[Value]) -> String {
    json!({ "Records": records }).to_string()
}

/// Runs a trace over `source` writing JSONL and a report; returns
/// (output, rows by event id, report).
fn trace_jsonl(
    env: &TestEnv,
    source: &Path,
    extra: &[&str],
) -> (Output, BTreeMap<String, Value>, Value) {
    let jsonl = env.path("t.jsonl");
    let report = env.path("r.json");
    let mut args = vec![
        "--key",
        SEED,
        source.to_str().expect("utf-8 path"),
        "-o",
        jsonl.to_str().expect("utf-8 path"),
        "--report",
        report.to_str().expect("utf-8 path"),
        "--force",
    ];
    args.extend_from_slice(extra);
    let out = env.trace(&args);
    let rows = read(&jsonl)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("JSONL row"))
        .map(|r| (r["event_id"].as_str().expect("event_id").to_owned(), r))
        .collect();
    (out, rows, json(&report))
}

/// `source: reason` lines of one of the report's input lists.
fn issues(report: &Value, list: &str) -> Vec<String> {
    report["inputs"][list]
        .as_array()
        .unwrap_or_else(|| panic!("inputs.{list}"))
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["source"].as_str().unwrap_or(""),
                e["reason"].as_str().unwrap_or("")
            )
        })
        .collect()
}

/// Fails if `text` holds a terminal control character (C0 other than
/// newline, DEL, C1) or a bidirectional override, raw.
fn assert_terminal_safe(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for (i, c) in text.char_indices() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{61c}');
        assert!(
            !bad,
            "{what}: raw {c:?} at byte {i}: {:?}",
            &text[i.saturating_sub(60)..(i + 20).min(text.len())]
        );
    }
}

/// Fails if any 12-character piece of [`TOKEN`] appears in `text`.
fn assert_no_token(what: &str, text: &str) {
    let chars: Vec<char> = TOKEN.chars().collect();
    for w in chars.windows(12) {
        let piece: String = w.iter().collect();
        assert!(
            !text.contains(&piece),
            "{what}: session token fragment {piece:?} leaked"
        );
    }
}

// ---------------------------------------------------------------------------
// Odd shapes seen in real logs

#[test]
fn odd_shapes_from_real_logs_are_read() {
    let env = TestEnv::new();
    let params_naming_seed = json!({"userName": "ci-deployer", "accessKeyId": SEED});
    let records = [
        record(
            "odd-readonly-string",
            json!({"readOnly": "true", "eventTime": "2021-01-01 01:01:01.000000000"}),
        ),
        record("odd-readonly-false-string", json!({"readOnly": "false"})),
        record(
            "odd-v101",
            json!({"eventVersion": "1.01", "eventType": "<absent>", "recipientAccountId": "<absent>",
            "managementEvent": "<absent>", "eventCategory": "<absent>", "readOnly": "<absent>"}),
        ),
        record(
            "odd-null-params",
            json!({"requestParameters": null, "responseElements": null}),
        ),
        record(
            "odd-omitted-object",
            json!({"requestParameters": {"omitted": true, "originalSize": 204800},
            "responseElements": {"omitted": true, "originalSize": 1048576}}),
        ),
        record(
            "odd-omitted-string",
            json!({"requestParameters": "omitted", "responseElements": "omitted"}),
        ),
        record(
            "odd-bad-ip",
            json!({"sourceIPAddress": "999.300.1.2 <not an ip>"}),
        ),
        record("odd-service-ip", json!({"sourceIPAddress": "AWS Internal"})),
        record("odd-surrogates", json!({"userAgent": "SURROGATE aws-cli"})),
        record("odd-version-future", json!({"eventVersion": "7.42"})),
        record("odd-version-number", json!({"eventVersion": 1.1})),
        record("odd-version-missing", json!({"eventVersion": "<absent>"})),
        // Records that mention the seed but are not its actions.
        record(
            "odd-identity-null",
            json!({"userIdentity": null, "eventName": "ListAccessKeys",
            "eventSource": "iam.amazonaws.com", "requestParameters": params_naming_seed}),
        ),
        record(
            "odd-identity-absent",
            json!({"userIdentity": "<absent>", "eventName": "ListAccessKeys",
            "eventSource": "iam.amazonaws.com", "requestParameters": params_naming_seed}),
        ),
        record(
            "odd-key-empty",
            json!({"userIdentity": {"type": "IAMUser", "accessKeyId": "", "userName": "ci-deployer",
            "arn": "arn:aws:iam::111111111111:user/ci-deployer"}, "eventName": "ListAccessKeys",
            "eventSource": "iam.amazonaws.com", "requestParameters": params_naming_seed}),
        ),
        // A 1.01 record still mints: GetSessionToken without eventType, then its action.
        record(
            "odd-v101-mint",
            json!({"eventVersion": "1.01", "eventType": "<absent>", "recipientAccountId": "<absent>",
            "eventSource": "sts.amazonaws.com", "eventName": "GetSessionToken", "readOnly": "<absent>",
            "requestParameters": {"durationSeconds": "3600"},
            "responseElements": {"credentials": {"accessKeyId": SESSION, "sessionToken": TOKEN,
                "expiration": "Dec 8, 2025, 3:00:00 PM"}}}),
        ),
        record(
            "odd-session-action",
            // A GetSessionToken session acts as its user: type IAMUser.
            json!({"userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/ci-deployer",
                "accountId": "111111111111", "accessKeyId": SESSION, "userName": "ci-deployer"},
            "eventTime": "2025-12-08T14:10:00Z", "readOnly": "false"}),
        ),
    ];
    // serde_json never writes surrogate escapes; real exporters do.
    let text = document(&records).replace("SURROGATE", r"\ud83d\ude00\u00e9");
    let path = env.path("odd.json");
    std::fs::write(&path, text).unwrap();

    let (out, rows, report) = trace_jsonl(&env, &path, &["-q"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(report["inputs"]["bad_records"], json!([]));
    let row = |id: &str| {
        rows.get(id)
            .unwrap_or_else(|| panic!("{id} not in the timeline: {:?}", rows.keys()))
    };
    assert_eq!(row("odd-readonly-string")["read_only"], true);
    assert_eq!(
        row("odd-readonly-string")["event_time"],
        "2021-01-01T01:01:01Z"
    );
    assert_eq!(row("odd-readonly-false-string")["read_only"], false);
    assert_eq!(row("odd-v101")["read_only"], Value::Null);
    assert_eq!(row("odd-v101")["account_id"], "111111111111");
    assert_eq!(row("odd-null-params")["request_parameters"], Value::Null);
    assert_eq!(
        row("odd-omitted-object")["response_elements"]["omitted"],
        true
    );
    assert_eq!(row("odd-omitted-string")["request_parameters"], "omitted");
    assert_eq!(row("odd-bad-ip")["source_ip"], "999.300.1.2 <not an ip>");
    assert_eq!(row("odd-service-ip")["source_ip"], "AWS Internal");
    assert_eq!(
        row("odd-surrogates")["user_agent"],
        "\u{1F600}\u{e9} aws-cli"
    );
    for id in [
        "odd-version-future",
        "odd-version-number",
        "odd-version-missing",
        "odd-v101-mint",
    ] {
        assert_eq!(row(id)["relation"], "action", "{id}");
    }
    for id in ["odd-identity-null", "odd-identity-absent", "odd-key-empty"] {
        assert!(
            !rows.contains_key(id),
            "{id} is not an action of any lineage key"
        );
    }
    let session = &credentials(&report)[SESSION];
    assert_eq!(session["kind"], "session-token");
    assert_eq!(session["parent_key_id"], SEED);
    assert_eq!(session["expires_at"], "2025-12-08T15:00:00Z");
    assert_eq!(session["actions"], 1);
    assert_eq!(row("odd-session-action")["read_only"], false);
    assert_no_token("timeline", &read(&env.path("t.jsonl")));
}

#[test]
fn records_missing_what_the_trace_needs_are_counted_not_fatal() {
    let env = TestEnv::new();
    let good = |id: &str| record(id, json!({})).to_string();
    let deep = format!(
        r#"{{"eventID":"deep","eventTime":"2025-12-08T14:00:00Z","userIdentity":{{"accessKeyId":"{SEED}"}},"requestParameters":{}1{}}}"#,
        "[".repeat(200_000),
        "]".repeat(200_000)
    );
    let pieces: Vec<Vec<u8>> = vec![
        good("first").into_bytes(),
        record("no-time", json!({"eventTime": "<absent>"}))
            .to_string()
            .into_bytes(),
        record("bad-time", json!({"eventTime": "yesterday"}))
            .to_string()
            .into_bytes(),
        record("no-id", json!({"eventID": "<absent>"}))
            .to_string()
            .into_bytes(),
        record("lone", json!({"userAgent": "LONE"}))
            .to_string()
            .replace("LONE", r"\ud800x")
            .into_bytes(),
        with_bytes(
            record("utf8", json!({"userAgent": "BYTES"})),
            "BYTES",
            b"\xff\xfe ok \xc3",
        ),
        deep.into_bytes(),
        record("wrong-type", json!({"eventTime": 20251208}))
            .to_string()
            .into_bytes(),
        good("last").into_bytes(),
    ];
    let mut doc = b"{\"Records\":[".to_vec();
    doc.extend(pieces.join(&b","[..]));
    doc.extend(b"]}");
    let path = env.path("bad-records.json");
    std::fs::write(&path, &doc).unwrap();

    let (out, rows, report) = trace_jsonl(&env, &path, &[]);
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert!(
        rows.contains_key("first") && rows.contains_key("last"),
        "{:?}",
        rows.keys()
    );
    let bad: Vec<u64> = report["inputs"]["bad_records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["record"].as_u64().unwrap())
        .collect();
    assert_eq!(
        bad,
        [1, 2, 3, 4, 5, 6, 7],
        "{:#}",
        report["inputs"]["bad_records"]
    );
    assert_eq!(issues(&report, "partial"), Vec::<String>::new());
    assert_eq!(report["complete"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("7 record(s)"), "{stderr}");
    assert_terminal_safe("stderr", &out.stderr);
    assert_terminal_safe("stdout", &out.stdout);
}

#[test]
fn verbatim_samples_never_crash_and_are_reported() {
    // (file, key that appears in it, expected exit, expected action rows or None)
    let cases: [(&str, &str, i32, Option<usize>); 6] = [
        (
            "aws.defense-evasion.bedrock-guardrail-delete.blob-30e799d0.commit-70a01c80.json",
            "AKIAFBJ48BV9CGRBRKGM",
            0,
            Some(1),
        ),
        ("aws_cloudtrail.jsonl", "0123456789ABCDEFGHIJ", 0, Some(5)),
        ("cloudtrail_samples.jsonl", SEED, 0, Some(0)),
        ("SerializerAllFieldsNull.json", SEED, 0, Some(0)),
        ("SerializerTestFileBadJsonFormat.json", SEED, 3, None),
        ("SerializerTestFileCompact.json.gz", SEED, 0, Some(0)),
    ];
    for (file, key, exit, actions) in cases {
        let env = TestEnv::new();
        let report = env.path("r.json");
        let path = root().join("fixtures/samples").join(file);
        let out = env.trace(&[
            "--key",
            key,
            path.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), exit, "{file}: {}", show(&out));
        assert_terminal_safe(file, &out.stdout);
        let report = json(&report);
        if let Some(n) = actions {
            let got = credentials(&report)
                .get(key)
                .map_or(0, |c| c["actions"].as_u64().unwrap());
            assert_eq!(got, n as u64, "{file}");
        } else {
            let listed = [issues(&report, "partial"), issues(&report, "skipped")].concat();
            assert!(
                listed.iter().any(|s| s.contains(file)),
                "{file} not reported: {listed:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Limits

#[test]
fn huge_records_are_kept_whole() {
    let env = TestEnv::new();
    let policy = "x".repeat(300 * 1024);
    let tags: Vec<Value> = (0..10_000)
        .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
        .collect();
    let big = record(
        "huge",
        json!({"eventName": "PutBucketPolicy",
        "requestParameters": {"policy": policy, "tags": tags}}),
    );
    let path = env.path("huge.json.gz");
    std::fs::write(
        &path,
        gzip(document(&[big, record("after-huge", json!({}))]).as_bytes()),
    )
    .unwrap();
    let (out, rows, _) = trace_jsonl(&env, &path, &["-q"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let params = &rows["huge"]["request_parameters"];
    assert_eq!(params["policy"].as_str().map(str::len), Some(300 * 1024));
    assert_eq!(params["tags"].as_array().map(Vec::len), Some(10_000));
    assert!(rows.contains_key("after-huge"));
}

#[test]
fn deep_nesting_outside_records_does_not_exhaust_the_stack() {
    let env = TestEnv::new();
    let dir = env.path("deep");
    std::fs::create_dir(&dir).unwrap();
    // A bare array nested a million deep, mentioning the seed at the bottom.
    let deep = format!(
        "{}\"{SEED}\"{}",
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    std::fs::write(dir.join("deep-array.json"), &deep).unwrap();
    std::fs::write(dir.join("deep-array.json.gz"), gzip(deep.as_bytes())).unwrap();
    let objects = format!("{}{}", r#"{"a":"#.repeat(500_000), "}".repeat(500_000));
    std::fs::write(dir.join("deep-object.json"), objects).unwrap();
    std::fs::write(dir.join("ok.json"), document(&[record("ok", json!({}))])).unwrap();
    let (out, rows, report) = trace_jsonl(&env, &dir, &["-q"]);
    // None of the three is a log: each is named as skipped, evidence may be
    // missing, and the one real record is still traced.
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert_eq!(rows.keys().collect::<Vec<_>>(), ["ok"]);
    let source = |name: &str| dir.join(name).to_str().expect("utf-8 path").to_owned();
    assert_eq!(
        issues(&report, "skipped"),
        [
            format!(
                "{}: invalid JSON at byte 1 of the stream, in record 0 (after 0 complete record(s)): unexpected '[' (0x5b)",
                source("deep-array.json")
            ),
            format!(
                "{}: invalid JSON at byte 1 of the decompressed stream, in record 0 (after 0 complete record(s)): unexpected '[' (0x5b)",
                source("deep-array.json.gz")
            ),
            format!(
                "{}: valid JSON, but not a CloudTrail log (no event records)",
                source("deep-object.json")
            ),
        ]
    );
    for list in ["partial", "skipped_by_design", "bad_records"] {
        assert_eq!(report["inputs"][list], json!([]), "{list}");
    }
    assert_eq!(report["inputs"]["files_read"], 4);
    assert_eq!(report["inputs"]["records"], 1);
    assert_eq!(report["complete"], false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for name in ["deep-array.json", "deep-array.json.gz", "deep-object.json"] {
        assert!(
            stderr.contains(&source(name)),
            "{name} not on stderr: {stderr}"
        );
    }
}

/// How much memory a process holds at most while it runs (Linux), by
/// polling; `None` where `/proc` is not available.
fn peak_rss_kib(pid: u32, done: &std::sync::atomic::AtomicBool) -> Option<u64> {
    let mut peak = None;
    while !done.load(std::sync::atomic::Ordering::Relaxed) {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            break;
        };
        if let Some(kib) = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = Some(peak.map_or(kib, |p: u64| p.max(kib)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    peak
}

/// A gzip file that inflates to more than 1 GiB of CloudTrail JSON, written
/// without ever holding it: gzip members concatenate (RFC 1952), so one
/// compressed megabyte of noise records is written a thousand times between
/// a member holding the head (with a seed action) and one holding the tail
/// (with another).
fn write_gzip_bomb(path: &Path) -> (u64, u64) {
    let noise = record(
        "noise",
        json!({"userIdentity": identity("AKIAEXAMPLENOISE0001", "arn:aws:iam::1:user/n"),
        "userAgent": "y".repeat(600)}),
    )
    .to_string();
    let mut chunk = String::new();
    let mut per_chunk = 0u64;
    while chunk.len() < 1024 * 1024 {
        chunk.push(',');
        chunk.push_str(&noise);
        per_chunk += 1;
    }
    let head = format!("{{\"Records\":[{}", record("bomb-first", json!({})));
    let tail = format!(
        ",{}]}}",
        record("bomb-last", json!({"eventTime": "2025-12-08T15:00:00Z"}))
    );
    let copies = 1100u64;
    let body = gzip(chunk.as_bytes());
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("test file"));
    f.write_all(&gzip(head.as_bytes())).expect("test file");
    for _ in 0..copies {
        f.write_all(&body).expect("test file");
    }
    f.write_all(&gzip(tail.as_bytes())).expect("test file");
    f.flush().expect("test file");
    let inflated = (head.len() + tail.len()) as u64 + copies * chunk.len() as u64;
    (inflated, 2 + copies * per_chunk)
}

#[test]
fn a_gzip_that_inflates_past_a_gigabyte_is_streamed() {
    let env = TestEnv::new();
    let path = env.path("bomb.json.gz");
    let (inflated, records) = write_gzip_bomb(&path);
    assert!(inflated > 1 << 30, "{inflated}");
    let compressed = std::fs::metadata(&path).unwrap().len();
    assert!(compressed < 64 << 20, "{compressed}");

    let jsonl = env.path("t.jsonl");
    let report = env.path("r.json");
    let child = Running::spawn(
        env.keytrail()
            .args([
                "trace",
                "--key",
                SEED,
                path.to_str().unwrap(),
                "-o",
                jsonl.to_str().unwrap(),
            ])
            .args(["--report", report.to_str().unwrap(), "-q"]),
    );
    let pid = child.pid();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || peak_rss_kib(pid, &done))
    };
    let started = Instant::now();
    let out = child.wait();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = watcher.join().unwrap();
    assert_eq!(code(&out), 0, "{}", show(&out));
    let report = json(&report);
    assert_eq!(report["inputs"]["records"], records);
    assert_eq!(
        credentials(&report)[SEED]["actions"],
        2,
        "the first and the last member were both read"
    );
    // One record at a time, whatever the file inflates to.
    if let Some(kib) = peak {
        assert!(kib < 256 * 1024, "peak RSS {kib} KiB for a streamed file");
    }
    eprintln!("1 GiB gzip: {:?}, peak RSS {peak:?} KiB", started.elapsed());
}

// ---------------------------------------------------------------------------
// File-system trouble

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let out = run(Command::new("mkfifo").arg(path));
    assert!(out.status.success(), "mkfifo: {}", show(&out));
}

#[cfg(unix)]
#[test]
fn file_system_trouble_is_named_and_never_hangs() {
    use std::os::unix::fs::{PermissionsExt, symlink};

    let env = TestEnv::new();
    let dir = env.path("evidence");
    let day = dir.join("AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/08");
    std::fs::create_dir_all(&day).unwrap();
    std::fs::write(
        day.join("111111111111_CloudTrail_us-east-1_20251208T1405Z_good.json.gz"),
        gzip(document(&[record("in-layout", json!({}))]).as_bytes()),
    )
    .unwrap();
    // A FIFO: opening it for reading would block forever.
    mkfifo(&dir.join("pipe.json"));
    std::fs::write(
        dir.join("good.json"),
        document(&[record("outside-layout", json!({}))]),
    )
    .unwrap();
    symlink("loop.json", dir.join("loop.json")).unwrap();
    symlink("a.json", dir.join("b.json")).unwrap();
    symlink("b.json", dir.join("a.json")).unwrap();
    symlink(".", dir.join("self")).unwrap();
    symlink("/dev/null", dir.join("null.json")).unwrap();
    symlink("/dev/zero", dir.join("zero.json.gz")).unwrap();
    symlink(dir.join("pipe.json"), dir.join("to-pipe.json")).unwrap();
    // /proc/self/mem is a regular file that opens and then fails every read
    // at offset 0 (EIO): a real unreadable file, even for root.
    let proc_mem = Path::new("/proc/self/mem").exists();
    if proc_mem {
        symlink("/proc/self/mem", dir.join("mem.json")).unwrap();
    }
    // chmod 000 does not stop root; it is checked only when it bites.
    let locked = dir.join("locked.json");
    std::fs::write(&locked, document(&[record("locked", json!({}))])).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let permissions_bite = std::fs::read(&locked).is_err();

    let started = Instant::now();
    let (out, rows, report) = trace_jsonl(&env, &dir, &[]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert!(
        rows.contains_key("in-layout") && rows.contains_key("outside-layout"),
        "{:?}",
        rows.keys()
    );
    let skipped = issues(&report, "skipped");
    let by_design = issues(&report, "skipped_by_design");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let listed = |list: &[String], name: &str, why: &str| {
        assert!(
            list.iter().any(|s| s.contains(name) && s.contains(why)),
            "{name} ({why}) not in {list:#?}"
        );
    };
    for name in ["loop.json", "a.json", "b.json"] {
        listed(&skipped, name, "loop");
        assert!(
            stderr.contains(name),
            "{name} not named on stderr: {stderr}"
        );
    }
    for name in ["pipe.json", "to-pipe.json", "null.json", "zero.json.gz"] {
        listed(&by_design, name, "not a regular file");
    }
    listed(&by_design, "self", "not followed");
    if proc_mem {
        listed(&skipped, "mem.json", "read failed");
    }
    if permissions_bite {
        listed(&skipped, "locked.json", "permission denied");
    } else {
        eprintln!(
            "running as root: chmod 000 cannot make a file unreadable, /proc/self/mem stands in"
        );
        assert!(rows.contains_key("locked"));
    }
    // Sources are never modified.
    assert_eq!(
        std::fs::symlink_metadata(&locked)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0
    );
}

/// The same trouble inside a delivered day folder
/// (`AWSLogs/…/CloudTrail/REGION/YYYY/MM/DD/`), which is listed lazily, day
/// by day, as key windows reach it.
#[cfg(unix)]
#[test]
fn trouble_inside_delivered_day_folders_is_named() {
    use std::os::unix::fs::symlink;

    let env = TestEnv::new();
    let dir = env.path("evidence");
    let day = dir.join("AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/08");
    std::fs::create_dir_all(&day).unwrap();
    let name = |stamp: &str, tag: &str| {
        format!("111111111111_CloudTrail_us-east-1_20251208T{stamp}Z_{tag}.json.gz")
    };
    std::fs::write(
        day.join(name("1405", "good")),
        gzip(document(&[record("in-layout", json!({}))]).as_bytes()),
    )
    .unwrap();
    mkfifo(&day.join(name("1410", "fifo")));
    symlink(name("1415", "loop"), day.join(name("1415", "loop"))).unwrap();
    // A day folder that is a looping link.
    symlink("09", day.parent().unwrap().join("09")).unwrap();
    // Unbounded (every day folder is listed) and bounded (the window's days
    // are listed by name) take different paths through the layout.
    let bounded = ["--since", "2025-12-08", "--until", "2025-12-09"];
    for window in [&[][..], &bounded[..]] {
        let (out, rows, report) = trace_jsonl(&env, &dir, window);
        assert!(rows.contains_key("in-layout"), "{window:?}: {}", show(&out));
        let all = [
            issues(&report, "skipped"),
            issues(&report, "skipped_by_design"),
        ]
        .concat();
        for tag in ["_fifo.json.gz", "_loop.json.gz", "12/09"] {
            assert!(
                all.iter().any(|s| s.contains(tag)),
                "{window:?}: {tag} not named: {all:#?}"
            );
        }
        // A looping link may hide delivered files: evidence may be missing.
        assert_eq!(code(&out), 3, "{window:?}: {}", show(&out));
    }
}

#[cfg(unix)]
#[test]
fn special_files_named_as_sources_fail_fast() {
    let env = TestEnv::new();
    let fifo = env.path("pipe.json");
    mkfifo(&fifo);
    for source in [fifo.to_str().unwrap(), "/dev/null", "/dev/zero"] {
        let out = env.trace(&["--key", SEED, source]);
        assert_eq!(code(&out), 1, "{source}: {}", show(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(source),
            "{}",
            show(&out)
        );
    }
}

// ---------------------------------------------------------------------------
// Attacker-written text

/// An incident whose attacker writes formulas and escape sequences wherever
/// CloudTrail records their choices: user agents, session names, error text.
fn hostile_incident(env: &TestEnv) -> PathBuf {
    let formula = r#"=HYPERLINK("http://x","y")"#;
    let session_name = r#"=HYPERLINK("http://evil.example","open")"#;
    let esc = "\u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}]8;;http://evil.example\u{1b}\\click\u{1b}]8;;\u{1b}\\\u{9b}31m\u{202e}gpj.exe\u{61c}";
    let role_arn = format!("arn:aws:sts::111111111111:assumed-role/deploy/{session_name}{esc}");
    let records = [
        record("h-formula-agent", json!({"userAgent": formula})),
        record(
            "h-esc-agent",
            json!({"userAgent": format!("aws-cli/2 {esc}"), "eventTime": "2025-12-08T14:00:01Z"}),
        ),
        record(
            "h-assume",
            json!({"eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "eventTime": "2025-12-08T14:01:00Z",
            "requestParameters": {"roleArn": "arn:aws:iam::111111111111:role/deploy", "roleSessionName": format!("{session_name}{esc}")},
            "responseElements": {"credentials": {"accessKeyId": ROLE, "sessionToken": TOKEN, "expiration": "Dec 8, 2025, 3:01:00 PM"},
                "assumedRoleUser": {"arn": role_arn, "assumedRoleId": "AROAEXAMPLE:x"}}}),
        ),
        record(
            "h-plus",
            json!({"userIdentity": identity(ROLE, &role_arn), "eventTime": "2025-12-08T14:02:00Z",
            "userAgent": "+cmd|' /C calc'!A0", "errorCode": "-1+1", "errorMessage": format!("@SUM(1+1)*cmd|' /C calc'!A0 {esc}")}),
        ),
        record(
            "h-tab",
            json!({"userIdentity": identity(ROLE, &role_arn), "eventTime": "2025-12-08T14:03:00Z",
            "userAgent": "\t=1+1", "eventName": "=cmd", "awsRegion": "@eu-west-1", "sourceIPAddress": "-203.0.113.9"}),
        ),
        record(
            "h-cr",
            json!({"userIdentity": identity(ROLE, &role_arn), "eventTime": "2025-12-08T14:04:00Z",
            "userAgent": "\r=1+1", "eventSource": format!("{esc}.amazonaws.com")}),
        ),
    ];
    let dir = env.path("hostile");
    std::fs::create_dir(&dir).expect("test file");
    std::fs::write(
        dir.join("trail.json.gz"),
        gzip(document(&records).as_bytes()),
    )
    .expect("test file");
    dir
}

#[test]
fn csv_neutralises_formula_payloads_and_jsonl_keeps_them() {
    let env = TestEnv::new();
    let dir = hostile_incident(&env);
    let csv = env.path("t.csv");
    let out = env.trace(&[
        "--key",
        SEED,
        dir.to_str().unwrap(),
        "-o",
        csv.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let stdout_csv = env.trace(&["--key", SEED, dir.to_str().unwrap(), "-o", "-", "-q"]);
    assert_eq!(code(&stdout_csv), 0, "{}", show(&stdout_csv));
    assert_eq!(
        stdout_csv.stdout,
        std::fs::read(&csv).unwrap(),
        "stdout CSV is the file CSV"
    );
    let mut n = 0;
    for record in ::csv::Reader::from_path(&csv).unwrap().records() {
        n += 1;
        for cell in record.unwrap().iter() {
            assert!(
                !matches!(
                    cell.as_bytes().first(),
                    Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
                ),
                "formula reaches the spreadsheet: {cell:?}"
            );
        }
    }
    assert_eq!(n, 6);
    let text = read(&csv);
    for cell in [
        r#"'=HYPERLINK(""http://x"",""y"")"#,
        "'+cmd|",
        "'-1+1",
        "'@SUM(1+1)",
        "'\t=1+1",
        "'\r=1+1",
        "'=cmd",
        "'@eu-west-1",
        "'-203.0.113.9",
    ] {
        assert!(text.contains(cell), "{cell:?} not in the CSV");
    }

    let (out, rows, _) = trace_jsonl(&env, &dir, &["-q"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(
        rows["h-formula-agent"]["user_agent"],
        r#"=HYPERLINK("http://x","y")"#
    );
    assert_eq!(rows["h-tab"]["user_agent"], "\t=1+1");
    assert_eq!(rows["h-cr"]["user_agent"], "\r=1+1");
    assert_eq!(rows["h-plus"]["error_code"], "-1+1");
    let session = rows["h-assume"]["request_parameters"]["roleSessionName"]
        .as_str()
        .unwrap();
    assert!(session.starts_with(r#"=HYPERLINK("http://evil.example","open")"#));
}

#[test]
fn escape_sequences_never_reach_a_terminal_raw() {
    let env = TestEnv::new();
    let dir = hostile_incident(&env);
    // A damaged file whose name and contents carry escapes: its reason is a
    // message on stderr.
    std::fs::write(dir.join("\u{1b}]0;owned\u{7}.json"), b"").unwrap();
    std::fs::write(
        dir.join("broken\u{9b}2J.json"),
        b"{\"Records\":[\x1b[31m\x07]}",
    )
    .unwrap();
    let report = env.path("r.json");
    for args in [vec![], vec!["-o", "-"], vec!["-q"]] {
        let mut all = vec![
            "--key",
            SEED,
            dir.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "--force",
        ];
        all.extend(args.iter().copied());
        let out = env.trace(&all);
        assert_eq!(code(&out), 3, "{args:?}: {}", show(&out));
        if !args.contains(&"-o") {
            assert_terminal_safe("stdout (summary)", &out.stdout);
        }
        assert_terminal_safe("stderr", &out.stderr);
        if args.is_empty() {
            let summary = String::from_utf8_lossy(&out.stdout);
            assert!(
                summary.contains("\\x1b[2J"),
                "the user agent is shown, escaped: {summary}"
            );
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("\\x1b]0;owned\\x07.json"),
            "the file is named, escaped: {stderr}"
        );
    }
}

#[test]
fn session_tokens_never_leave_in_any_output_or_message() {
    let env = TestEnv::new();
    let dir = hostile_incident(&env);
    let records = [
        // Every casing and depth keytrail can meet.
        record(
            "t-nested",
            json!({"eventSource": "sso.amazonaws.com", "eventName": "GetRoleCredentials",
            "requestParameters": {"SessionToken": TOKEN, "list": [{"sessiontoken": TOKEN}, [{"deeper": {"sessionToken": TOKEN}}]]},
            "responseElements": {"roleCredentials": {"accessKeyId": "ASIAEXAMPLEOTHER001", "sessionToken": TOKEN}},
            "additionalEventData": {"sessionToken": TOKEN}}),
        ),
        // A bad record that mentions the seed and carries a token.
        record(
            "t-bad",
            json!({"eventTime": "<absent>", "responseElements": {"credentials": {"sessionToken": TOKEN}}}),
        ),
    ];
    std::fs::write(dir.join("tokens.json"), document(&records)).unwrap();
    // LookupEvents output wraps the record in a string.
    let inner = record(
        "t-lookup",
        json!({"eventSource": "sts.amazonaws.com", "eventName": "GetSessionToken",
        "responseElements": {"credentials": {"accessKeyId": "ASIAEXAMPLELOOKUP01", "sessionToken": TOKEN}}}),
    );
    let lookup = json!({"EventId": "t-lookup", "EventName": "GetSessionToken", "CloudTrailEvent": inner.to_string()});
    std::fs::write(dir.join("lookup.jsonl"), format!("{lookup}\n")).unwrap();

    let mut seen = String::new();
    for ext in ["csv", "jsonl", "parquet"] {
        let path = env.path(&format!("t.{ext}"));
        let report = env.path(&format!("r-{ext}.json"));
        let out = env.trace(&[
            "--key",
            SEED,
            dir.to_str().unwrap(),
            "-o",
            path.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ]);
        assert_eq!(code(&out), 3, "{ext}: {}", show(&out));
        if ext == "parquet" {
            seen.push_str(&parquet_text(&path));
        } else {
            seen.push_str(&read(&path));
        }
        seen.push_str(&read(&report));
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
        assert!(
            ext == "parquet" || read(&path).contains("<redacted>"),
            "{ext}"
        );
    }
    let out = env.trace(&["--key", SEED, dir.to_str().unwrap(), "-o", "-"]);
    seen.push_str(&String::from_utf8_lossy(&out.stdout));
    seen.push_str(&String::from_utf8_lossy(&out.stderr));
    assert!(seen.contains("t-nested") && seen.contains("t-lookup"));
    assert_no_token("outputs and messages", &seen);
}

/// The reason given for a damaged file quotes the bytes where the JSON broke
/// (`split::syntax` takes 16 of them). When the damage is a lost or flipped
/// quote in front of a token, those bytes are the token: the message must
/// name the offset and the offending character, never copy the evidence.
#[test]
fn damage_messages_do_not_quote_secrets() {
    let env = TestEnv::new();
    let dir = env.path("damaged");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ok.json"), document(&[record("ok", json!({}))])).unwrap();
    // A flipped quote in front of the token value.
    let flipped = document(&[
        record("before", json!({})),
        record(
            "t-damaged",
            json!({"responseElements": {"credentials": {"sessionToken": TOKEN}}}),
        ),
    ])
    .replace(&format!("\"{TOKEN}\""), &format!("#{TOKEN}\""));
    std::fs::write(dir.join("flipped-quote.json"), flipped).unwrap();
    // A stray `export AWS_SESSION_TOKEN` file, token first.
    std::fs::write(dir.join("token-dump.json"), format!("{}\n", &TOKEN[20..])).unwrap();
    let report = env.path("r.json");
    let out = env.trace(&[
        "--key",
        SEED,
        dir.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 3, "{}", show(&out));
    let report = read(&report);
    assert!(
        report.contains("flipped-quote.json") && report.contains("token-dump.json"),
        "{report}"
    );
    assert_no_token("report", &report);
    assert_no_token("stderr", &String::from_utf8_lossy(&out.stderr));
    assert_no_token("stdout", &String::from_utf8_lossy(&out.stdout));
}

/// Every string cell of a Parquet file, as text (the file itself is
/// compressed, so searching its bytes proves nothing).
fn parquet_text(path: &Path) -> String {
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(path).expect("test file"))
        .finish()
        .expect("test file");
    let mut text = String::new();
    for name in df.get_column_names() {
        if let Ok(values) = df.column(name).expect("column").str() {
            for v in values.iter().flatten() {
                text.push_str(v);
                text.push('\n');
            }
        }
    }
    assert!(
        text.contains("<redacted>"),
        "parquet holds the redacted cells"
    );
    text
}

// ---------------------------------------------------------------------------
// Whole files that are not logs

/// The decoder's verdict on `bytes`, with a sink that wants every record.
fn status_of(bytes: &[u8]) -> (Status, u64) {
    struct All;
    impl Sink for All {
        fn wants(&mut self, _: &[u8]) -> bool {
            true
        }
        fn event(&mut self, _: Event) {}
    }
    let d = decode(bytes, &Arc::from("t"), &mut All, &mut Scratch::default());
    (d.status, d.records)
}

/// A file with nothing in it is reported, whatever it is wrapped in: README
/// "Anything else that is not a CloudTrail log is named in inputs.skipped",
/// and issue 5 "Empty files … list them as skipped". `{"Records":[]}` and
/// `[]` are real (empty) logs and stay complete.
#[test]
fn files_without_any_log_content_are_not_complete() {
    let mut wrong = Vec::new();
    for (what, bytes) in [
        ("whitespace only", b"  \n\t\r\n".to_vec()),
        ("gzip of nothing", gzip(b"")),
        ("gzip of a newline", gzip(b"\n")),
        ("a JSON number", b"42".to_vec()),
        ("JSON null", b"null".to_vec()),
        ("a JSON string", b"\"Records\"".to_vec()),
    ] {
        let (status, records) = status_of(&bytes);
        if status == Status::Complete {
            wrong.push(format!(
                "{what}: read as a complete log with {records} record(s)"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    for ok in [&b"{\"Records\":[]}"[..], b"[]"] {
        assert_eq!(status_of(ok).0, Status::Complete);
    }
}

// ---------------------------------------------------------------------------
// Inputs found by fuzzing (tests/fuzz-regressions/<target>/)

/// The fuzz targets (`fuzz/fuzz_targets/`), by folder name.
const FUZZ_TARGETS: [&str; 2] = ["decode_file", "decode_record"];

/// `decode_file`'s check, made exact: with a sink that wants every record,
/// each record counted is either an event or a bad record.
fn check_decode_file(what: &str, bytes: &[u8]) {
    #[derive(Default)]
    struct Count(u64);
    impl Sink for Count {
        fn wants(&mut self, _: &[u8]) -> bool {
            true
        }
        fn event(&mut self, _: Event) {
            self.0 += 1;
        }
    }
    let mut sink = Count::default();
    let d = decode(bytes, &Arc::from("t"), &mut sink, &mut Scratch::default());
    assert_eq!(
        sink.0 + d.bad_records.len() as u64,
        d.records,
        "{what}: a record is neither an event nor a bad record"
    );
}

/// `decode_record`'s check: a record that parses keeps no `sessionToken`, at
/// any depth, other than `"<redacted>"`. Returns how many it redacted.
fn check_decode_record(what: &str, bytes: &[u8]) -> usize {
    let Ok(event) = keytrail::decode::record::parse_record(bytes, &Arc::from("t")) else {
        return 0;
    };
    let mut redacted = 0;
    let mut stack: Vec<&Value> = [
        &event.request_parameters,
        &event.response_elements,
        &event.additional_event_data,
    ]
    .into_iter()
    .flatten()
    .collect();
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k.eq_ignore_ascii_case("sessionToken") {
                        assert_eq!(child, "<redacted>", "{what}: {k} kept");
                        redacted += 1;
                    } else {
                        stack.push(child);
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    redacted
}

/// The records of a file as the decoder splits them, which is what
/// `fuzz/seed_corpus.sh` feeds `decode_record`.
fn records_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    #[derive(Default)]
    struct Records(Vec<Vec<u8>>);
    impl Sink for Records {
        fn wants(&mut self, record: &[u8]) -> bool {
            self.0.push(record.to_vec());
            false
        }
        fn event(&mut self, _: Event) {}
    }
    let mut sink = Records::default();
    decode(bytes, &Arc::from("t"), &mut sink, &mut Scratch::default());
    sink.0
}

/// Every file under `dir`, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Replays, through the fuzz targets' own checks, every input committed
/// under `tests/fuzz-regressions/<target>/` (see its README), and the part
/// of the fuzzers' seed corpus that lives in this repository: the files of
/// `fixtures/` for `decode_file` and their records for `decode_record`.
/// The fuzzers have found nothing yet, so the regression folder holds no
/// input; the seed inputs keep the replay itself from checking nothing.
/// A file in the regression folder that no target would replay fails.
#[test]
fn fuzz_regressions_decode_without_panicking() {
    let base = root().join("tests/fuzz-regressions");
    let mut regressions = 0;
    for path in files_under(&base) {
        let rel = path.strip_prefix(&base).expect("inside").to_owned();
        if rel == Path::new("README.md") {
            continue;
        }
        let target = rel.parent().and_then(|p| p.to_str()).unwrap_or("");
        assert!(
            FUZZ_TARGETS.contains(&target),
            "tests/fuzz-regressions/{}: not under a target's folder {FUZZ_TARGETS:?}, so never replayed",
            rel.display()
        );
        let what = format!("tests/fuzz-regressions/{}", rel.display());
        let bytes = std::fs::read(&path).expect("regression input");
        if target == "decode_file" {
            check_decode_file(&what, &bytes);
        } else {
            check_decode_record(&what, &bytes);
        }
        regressions += 1;
    }

    let (mut files, mut records, mut redacted) = (0, 0, 0);
    for path in files_under(&root().join("fixtures")) {
        let name = path.to_string_lossy();
        if ![".json", ".gz", ".jsonl"].iter().any(|e| name.ends_with(e)) {
            continue;
        }
        let bytes = std::fs::read(&path).expect("fixture");
        check_decode_file(&name, &bytes);
        files += 1;
        for record in records_of(&bytes) {
            redacted += check_decode_record(&name, &record);
            records += 1;
        }
    }
    eprintln!(
        "replayed {regressions} fuzz regression(s), {files} seed file(s), {records} seed record(s) ({redacted} token(s) redacted)"
    );
    // The seed inputs were found, and hold records and tokens to check.
    assert!(files > 0 && records > 0, "no seed inputs in fixtures/");
    assert!(redacted > 0, "no sessionToken among the seed records");
}
