//! `keytrail trace` on `s3://` sources, against a real S3 server on 127.0.0.1.
//!
//! The server is moto's (`pip install 'moto[server]'`), started by
//! `tests/moto_server.py` on a free port, one per test: the tests count the
//! requests it logs, and one of them switches IAM enforcement on, so they
//! must not share it. [`Moto`] kills the server when dropped, which also
//! happens when a test panics; should the test process die without
//! unwinding, the launcher's parent-death signal stops the server.
//! Buckets are seeded with boto3 by `tests/s3_seed.py`.
//!
//! Every `keytrail` run has a deadline, so a hang fails the test instead of
//! stalling the suite.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use crate::support::{SEED, TestEnv, code, json, read, root, run, show};

/// The Python that has moto and boto3.
pub(crate) fn python() -> String {
    std::env::var("KEYTRAIL_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// A moto S3 server, stopped when dropped.
pub(crate) struct Moto {
    child: Child,
    pub(crate) endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    pub(crate) fn start() -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("moto.log");
        let child = Command::new(python())
            .arg(root().join("tests/moto_server.py"))
            .arg(std::process::id().to_string())
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(File::create(dir.path().join("moto.out")).unwrap())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python()));
        // From here on the guard owns the process, whatever happens.
        let mut moto = Moto {
            child,
            endpoint: String::new(),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&moto.log).unwrap_or_default();
            if let Some(at) = text.find("Running on http://127.0.0.1:") {
                let rest = &text[at + "Running on ".len()..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                moto.endpoint = rest[..end].to_owned();
                return moto;
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!(
                    "moto's server exited ({status}); install it with pip install 'moto[server]'\n{text}"
                );
            }
            assert!(
                Instant::now() < deadline,
                "moto did not start within 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `s3_seed.py ENDPOINT ARGS…` and returns its stdout.
    pub(crate) fn seed(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(python());
        cmd.arg(root().join("tests/s3_seed.py"))
            .arg(&self.endpoint)
            .args(args);
        for (k, v) in aws_env() {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert!(
            out.status.success(),
            "s3_seed.py {args:?} failed:\n{}",
            show(&out)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The requests the server has answered so far, as `(method, target)`
    /// with the target as logged (query values decoded).
    fn requests(&self) -> Vec<(String, String)> {
        read(&self.log)
            .lines()
            .filter_map(|line| {
                let quoted = line.split('"').nth(1)?;
                let mut parts = quoted.split(' ');
                Some((parts.next()?.to_owned(), parts.next()?.to_owned()))
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The seeding credentials: moto accepts any until IAM is switched on.
pub(crate) fn aws_env() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}

/// Runs `keytrail trace ARGS…` with only `vars` in its environment (plus a
/// scratch `HOME`, so the machine's `~/.aws` plays no part), with a deadline.
fn trace(env: &TestEnv, args: &[&str], vars: &[(&str, String)]) -> Output {
    let mut cmd = env.keytrail();
    cmd.arg("trace")
        .args(args)
        .env_clear()
        .env("HOME", env.path("home"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// `keytrail trace --key SEED [EXTRA…] SOURCES… -o CSV --report JSON -q`,
/// which must exit with `expect`; returns the CSV and the report.
fn traced(
    env: &TestEnv,
    name: &str,
    extra: &[&str],
    expect: i32,
    vars: &[(&str, String)],
) -> (String, Value) {
    let csv = env.path(&format!("{name}.csv"));
    let report = env.path(&format!("{name}.json"));
    let mut args = vec!["--key", SEED, "-q"];
    args.extend_from_slice(extra);
    args.extend([
        "-o",
        csv.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    let out = trace(env, &args, vars);
    assert_eq!(code(&out), expect, "{name}: {}", show(&out));
    (read(&csv), json(&report))
}

/// The timeline's rows without the `source_file` column, and that column.
fn split_source_file(csv: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let at = headers
        .iter()
        .position(|h| h == "source_file")
        .expect("source_file column");
    let mut rows = vec![
        headers
            .iter()
            .filter(|h| *h != "source_file")
            .map(str::to_owned)
            .collect(),
    ];
    let mut sources = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        sources.push(record[at].to_owned());
        rows.push(
            record
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, f)| f.to_owned())
                .collect(),
        );
    }
    (rows, sources)
}

fn with_endpoint(moto: &Moto) -> Vec<(&'static str, String)> {
    let mut vars = aws_env();
    vars.push(("AWS_ENDPOINT_URL", moto.endpoint.clone()));
    vars
}

fn incident() -> PathBuf {
    root().join("fixtures/incident")
}

/// One delivered file of the incident, to copy under other names.
fn incident_sample() -> PathBuf {
    incident()
        .join("AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/08")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn s3_timeline_equals_the_local_one_apart_from_source_file() {
    let moto = Moto::start();
    let logs = incident().join("AWSLogs");
    moto.seed(&["upload", "trail-plain", path_str(&logs), "AWSLogs/"]);
    // An organization trail under a bucket prefix: PREFIX/AWSLogs/o-ORG/ACCOUNT/…
    moto.seed(&[
        "upload",
        "trail-org",
        path_str(&logs),
        "org/AWSLogs/o-exampleorg/",
    ]);
    let env = TestEnv::new();
    let vars = aws_env();

    let (local, local_report) = traced(&env, "local", &["fixtures/incident"], 0, &vars);
    let (local_rows, _) = split_source_file(&local);
    assert!(
        local_rows.len() > 10,
        "the fixture should give a real timeline:\n{local}"
    );

    let endpoint = moto.endpoint.as_str();
    let runs: [(&str, &[&str], &str); 3] = [
        (
            "plain",
            &["--endpoint-url", endpoint, "s3://trail-plain"],
            "s3://trail-plain/AWSLogs/",
        ),
        (
            "org",
            &["--endpoint-url", endpoint, "s3://trail-org/org"],
            "s3://trail-org/org/AWSLogs/o-exampleorg/",
        ),
        // Mixed sources: one account on disk, the other in the bucket.
        (
            "mixed",
            &[
                "--endpoint-url",
                endpoint,
                "fixtures/incident/AWSLogs/222222222222",
                "s3://trail-org/org/AWSLogs/o-exampleorg/111111111111/",
            ],
            "",
        ),
    ];
    for (name, args, prefix) in runs {
        let (csv, report) = traced(&env, name, args, 0, &vars);
        let (rows, sources) = split_source_file(&csv);
        assert!(
            rows == local_rows,
            "{name}: the S3 timeline differs from the local one:\n{csv}\n--- local\n{local}"
        );
        assert!(
            sources.iter().all(|s| s.starts_with(prefix)),
            "{name}: source_file should be the object's URL: {sources:?}"
        );
        assert_eq!(report["credentials"], local_report["credentials"], "{name}");
        assert_eq!(report["inputs"]["skipped"], Value::Array(vec![]), "{name}");
    }
}

/// Days of the delivery layout named in a request target, if any.
fn day_of(target: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = target.split(['/', '?', '&', '=']).collect();
    parts.windows(3).find_map(|w| {
        if w[0].len() == 4 && w[1].len() == 2 && w[2].len() == 2 {
            NaiveDate::from_ymd_opt(w[0].parse().ok()?, w[1].parse().ok()?, w[2].parse().ok()?)
        } else {
            None
        }
    })
}

/// The listings (`ListObjectsV2`) and object GETs among `requests`.
fn lists_and_gets(requests: &[(String, String)]) -> (Vec<&str>, Vec<&str>) {
    let gets = |list: bool| {
        requests
            .iter()
            .filter(|(m, t)| m == "GET" && t.contains("list-type=2") == list)
            .map(|(_, t)| t.as_str())
            .collect()
    };
    (gets(true), gets(false))
}

#[test]
fn a_time_window_limits_what_is_listed_and_fetched() {
    let moto = Moto::start();
    moto.seed(&[
        "upload",
        "trail",
        path_str(&incident().join("AWSLogs")),
        "AWSLogs/",
    ]);
    // Decoys far outside the window, in day folders of their own.
    let sample = incident_sample();
    for day in ["2025/11/30", "2025/12/20"] {
        let key = format!("AWSLogs/111111111111/CloudTrail/us-east-1/{day}/decoy.json.gz");
        moto.seed(&["put", "trail", &key, path_str(&sample)]);
    }
    let env = TestEnv::new();
    let vars = with_endpoint(&moto);

    // Control: without a window every day is read, decoys included, so the
    // request log does show out-of-window fetches when they happen.
    let before = moto.requests().len();
    traced(&env, "all", &["s3://trail"], 0, &vars);
    let all = moto.requests()[before..].to_vec();
    let (_, gets) = lists_and_gets(&all);
    assert!(
        gets.iter().any(|t| t.contains("/2025/12/20/decoy")),
        "{gets:?}"
    );
    assert!(gets.iter().any(|t| t.contains("/2025/12/06/")), "{gets:?}");

    // Windowed: created keys are not followed, so every followed credential
    // has an end and the days needed are bounded on both sides.
    let before = moto.requests().len();
    let (_, report) = traced(
        &env,
        "window",
        &[
            "--since",
            "2025-12-08T10:00:00Z",
            "--until",
            "2025-12-08T18:00:00Z",
            "--no-follow-created-keys",
            "s3://trail",
        ],
        0,
        &vars,
    );
    let windowed = moto.requests()[before..].to_vec();

    // The window: from the first day of --since to the last end of any
    // followed credential (or --until), plus the default 6 h delivery margin.
    let mut end: DateTime<Utc> = "2025-12-08T18:00:00Z".parse().unwrap();
    for c in report["credentials"].as_array().unwrap() {
        let bound = c["expires_at"].as_str().or(c["deactivated_at"].as_str());
        let bound: DateTime<Utc> = bound
            .expect("every followed credential ends")
            .parse()
            .unwrap();
        end = end.max(bound);
    }
    let first = NaiveDate::from_ymd_opt(2025, 12, 8).unwrap();
    let last = (end + chrono::Duration::hours(6)).date_naive();
    let inside = |d: NaiveDate| first <= d && d <= last;

    let (lists, gets) = lists_and_gets(&windowed);
    let listed_days: BTreeSet<NaiveDate> = lists.iter().filter_map(|t| day_of(t)).collect();
    let fetched_days: BTreeSet<NaiveDate> = gets.iter().filter_map(|t| day_of(t)).collect();
    assert!(
        listed_days.iter().all(|d| inside(*d)),
        "listed days {listed_days:?} outside {first}..={last}"
    );
    assert!(
        fetched_days.iter().all(|d| inside(*d)),
        "fetched days {fetched_days:?} outside {first}..={last}"
    );
    assert!(
        fetched_days.contains(&first),
        "the window's own day must be read: {gets:?}"
    );
    // Flat listings only ever cover a single day folder, never the bucket or
    // an account or region.
    for t in &lists {
        if !t.contains("delimiter=") {
            assert!(day_of(t).is_some(), "flat listing above day level: {t}");
        }
    }
    // Fewer objects than the full read.
    assert!(gets.len() < lists_and_gets(&all).1.len());
}

#[test]
fn unreadable_objects_are_skipped_and_reported() {
    let moto = Moto::start();
    let day = "AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/08/";
    moto.seed(&["upload", "trail", path_str(&incident().join(day)), day]);
    let sample = incident_sample();
    let cold = format!("{day}111111111111_CloudTrail_us-east-1_20251208T2355Z_cold.json.gz");
    let secret = format!("{day}111111111111_CloudTrail_us-east-1_20251208T2356Z_secret.json.gz");
    moto.seed(&["put", "trail", &cold, path_str(&sample), "GLACIER"]);
    moto.seed(&["put", "trail", &secret, path_str(&sample)]);
    // The credentials keytrail gets may list the bucket and read every
    // object except `secret`: an IAM user whose policy denies s3:GetObject on
    // that one key. moto enforces identity policies once IAM is switched on
    // (which `deny-key` does last), answering AccessDenied like S3 would.
    // This is the real mechanism, not a simulation of it; a bucket policy
    // would be the other common one, but moto does not enforce those.
    let keys: Value = serde_json::from_str(&moto.seed(&["deny-key", "trail", &secret])).unwrap();
    let mut vars = with_endpoint(&moto);
    vars.retain(|(k, _)| !k.starts_with("AWS_ACCESS_KEY_ID") && !k.starts_with("AWS_SECRET"));
    vars.push((
        "AWS_ACCESS_KEY_ID",
        keys["access_key_id"].as_str().unwrap().to_owned(),
    ));
    vars.push((
        "AWS_SECRET_ACCESS_KEY",
        keys["secret_access_key"].as_str().unwrap().to_owned(),
    ));

    let env = TestEnv::new();
    let (csv, report) = traced(&env, "partial", &[&format!("s3://trail/{day}")], 3, &vars);
    assert!(
        csv.lines().count() > 1,
        "readable objects still give a timeline:\n{csv}"
    );
    let skipped = report["inputs"]["skipped"].as_array().unwrap();
    let reason = |key: &str| {
        let url = format!("s3://trail/{key}");
        skipped
            .iter()
            .find(|s| s["source"] == url.as_str())
            .and_then(|s| s["reason"].as_str())
            .unwrap_or_else(|| panic!("{url} not in skipped: {skipped:?}"))
            .to_owned()
    };
    let r = reason(&cold);
    assert!(
        r.contains("archived in storage class GLACIER; restore it first"),
        "{r}"
    );
    let r = reason(&secret);
    assert!(
        r.contains("access denied") && r.contains("s3:GetObject"),
        "{r}"
    );
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(report["inputs"]["files_read"].as_u64().unwrap() > 0);
}

#[test]
fn a_missing_bucket_is_fatal_with_a_clear_message() {
    let moto = Moto::start();
    let env = TestEnv::new();
    let out = trace(
        &env,
        &["--key", SEED, "-q", "s3://no-such-bucket"],
        &with_endpoint(&moto),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bucket \"no-such-bucket\" does not exist"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_endpoint_is_fatal_and_fast() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let endpoint = format!("http://{closed}");
    let env = TestEnv::new();
    let started = Instant::now();
    let out = trace(
        &env,
        &[
            "--key",
            SEED,
            "-q",
            "--endpoint-url",
            &endpoint,
            "s3://trail",
        ],
        &aws_env(),
    );
    assert_eq!(code(&out), 1, "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the S3 endpoint {endpoint}")),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn missing_credentials_are_fatal_and_say_how_to_provide_them() {
    let env = TestEnv::new();
    let vars = [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9".to_owned()),
    ];
    let out = trace(&env, &["--key", SEED, "-q", "s3://trail"], &vars);
    assert_eq!(code(&out), 1, "{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for hint in [
        "no AWS credentials",
        "--profile",
        "AWS_ACCESS_KEY_ID",
        "--no-sign-request",
    ] {
        assert!(stderr.contains(hint), "{hint:?} missing from: {stderr}");
    }
}

#[test]
fn anonymous_requests_and_the_endpoint_variable_work() {
    let moto = Moto::start();
    let day = "AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/08/";
    moto.seed(&[
        "upload",
        "public-trail",
        path_str(&incident().join(day)),
        day,
        "public-read",
    ]);
    let env = TestEnv::new();
    // No credentials at all: --no-sign-request must not look for any.
    let vars = [
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("AWS_ENDPOINT_URL_S3", moto.endpoint.clone()),
    ];
    let (csv, report) = traced(
        &env,
        "anon",
        &["--no-sign-request", "s3://public-trail"],
        0,
        &vars,
    );
    assert!(csv.lines().count() > 1, "{csv}");
    assert!(report["inputs"]["files_read"].as_u64().unwrap() > 0);
    assert!(moto.requests().iter().any(|(m, _)| m == "GET"));
}

/// `acquire` copies a trail with its digests' `x-amz-meta-signature` into
/// sidecars, and `verify` then validates the copy, newest digest included.
#[test]
fn acquire_keeps_digest_signatures_for_verify() {
    let moto = Moto::start();
    let env = TestEnv::new();
    let trail = crate::verify::Trail::build(&env.path("original"), None);
    trail.sidecars();
    moto.seed(&["upload", "trail", trail.dir.to_str().unwrap(), ""]);
    let copy = env.path("copy");
    let mut cmd = env.keytrail();
    cmd.arg("acquire")
        .arg("s3://trail")
        .arg(&copy)
        .env_clear()
        .env("HOME", env.path("home"));
    for (k, v) in with_endpoint(&moto) {
        cmd.env(k, v);
    }
    let out = run(&mut cmd);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("9 copied"), "{stdout}");
    assert!(
        stdout.contains("3 digest signature(s) captured"),
        "{stdout}"
    );
    let manifest = read(&copy.join("keytrail-manifest.csv"));
    assert_eq!(manifest.lines().count(), 10, "{manifest}");
    assert!(manifest.contains("s3://trail/AWSLogs/"), "{manifest}");

    let keys = trail.public_keys(&env);
    let out = run(env
        .keytrail()
        .arg("verify")
        .arg(&copy)
        .arg("--public-keys")
        .arg(&keys));
    assert_eq!(code(&out), 0, "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("9 valid"), "{stdout}");

    // `verify` straight from the bucket reads the same signatures from the
    // metadata, and names the objects by URL.
    let report = env.path("s3-verify.json");
    let mut direct = env.keytrail();
    direct
        .arg("verify")
        .arg("s3://trail")
        .arg("--public-keys")
        .arg(&keys)
        .arg("--report")
        .arg(&report)
        .arg("--manifest")
        .arg(env.path("s3-manifest.csv"))
        .env_clear()
        .env("HOME", env.path("home"));
    for (k, v) in with_endpoint(&moto) {
        direct.env(k, v);
    }
    let out = run(&mut direct);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(json(&report)["counts"]["valid"], 9);
    let manifest = read(&env.path("s3-manifest.csv"));
    let digest_row = manifest
        .lines()
        .find(|l| l.contains("CloudTrail-Digest"))
        .unwrap();
    let etag = digest_row.split(',').nth(2).unwrap();
    assert_eq!(
        etag.len(),
        32,
        "the digest's ETag is recorded: {digest_row}"
    );

    // `trace --verify` on the bucket validates what it read the same way.
    let traced_report = env.path("trace.json");
    let out = trace(
        &env,
        &[
            "--key",
            SEED,
            "s3://trail",
            "--verify",
            "--public-keys",
            keys.to_str().unwrap(),
            "--report",
            traced_report.to_str().unwrap(),
            "-q",
        ],
        &with_endpoint(&moto),
    );
    assert_eq!(code(&out), 0, "{}", show(&out));
    let r = json(&traced_report);
    assert_eq!(r["integrity"]["counts"]["valid"], 9, "{r}");
    assert_eq!(r["timeline"]["rows"], 6, "{r}");

    // A second run finds everything in place.
    let out = run(&mut cmd);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 copied, 9 already present"));
}

/// `acquire --since/--until` copies the day folders the window needs (and
/// the digests of those days and the day before), plus everything outside
/// the layout; a re-run skips files whose size and recorded ETag still
/// match, and copies again an object overwritten with the same size.
#[test]
fn acquire_prunes_by_window_and_resumes_by_etag() {
    let moto = Moto::start();
    let env = TestEnv::new();
    let src = env.path("bucket");
    let logs = "AWSLogs/111111111111/CloudTrail/us-east-1/2025/12";
    let digests = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2025/12";
    let mut files = Vec::new();
    for day in ["01", "05", "06", "07", "10"] {
        files.push(format!("{logs}/{day}/log-{day}.json"));
    }
    for day in ["03", "04", "05", "06", "07", "08", "10"] {
        files.push(format!("{digests}/{day}/digest-{day}.json"));
    }
    files.push("notes/readme.txt".to_owned());
    for rel in &files {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{{\"v\":\"a\",\"f\":\"{rel}\"}}")).unwrap();
    }
    moto.seed(&["upload", "trail", path_str(&src), ""]);
    let copy = env.path("copy");
    let acquire = || {
        let mut cmd = env.keytrail();
        cmd.arg("acquire")
            .arg("s3://trail")
            .arg(&copy)
            .args(["--since", "2025-12-06", "--until", "2025-12-06"])
            .env_clear()
            .env("HOME", env.path("home"));
        for (k, v) in with_endpoint(&moto) {
            cmd.env(k, v);
        }
        let out = run(&mut cmd);
        assert_eq!(code(&out), 0, "{}", show(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = acquire();
    // Logs of 06 and 07 (06 plus the 6h margin), digests of 05..=07, the
    // loose file.
    let wanted = [
        format!("{logs}/06/log-06.json"),
        format!("{logs}/07/log-07.json"),
        format!("{digests}/05/digest-05.json"),
        format!("{digests}/06/digest-06.json"),
        format!("{digests}/07/digest-07.json"),
        "notes/readme.txt".to_owned(),
    ];
    for rel in &files {
        assert_eq!(
            copy.join(rel).is_file(),
            wanted.contains(rel),
            "{rel} on disk; {stdout}"
        );
    }
    assert!(
        stdout.contains("6 copied, 0 already present, 7 outside the window"),
        "{stdout}"
    );
    let manifest = read(&copy.join("keytrail-manifest.csv"));
    assert_eq!(manifest.lines().count(), 7, "{manifest}");
    for line in manifest.lines().skip(1) {
        let etag = line.split(',').nth(2).unwrap();
        assert_eq!(etag.len(), 32, "every row records its ETag: {line}");
    }

    // Overwrite one object with different bytes of the same size: its ETag
    // changes, so it is copied again; the others are skipped.
    let changed = format!("{logs}/06/log-06.json");
    let new_body = env.path("new-body");
    std::fs::write(&new_body, format!("{{\"v\":\"b\",\"f\":\"{changed}\"}}")).unwrap();
    assert_eq!(
        std::fs::metadata(&new_body).unwrap().len(),
        std::fs::metadata(copy.join(&changed)).unwrap().len()
    );
    moto.seed(&["put", "trail", &changed, path_str(&new_body)]);
    let stdout = acquire();
    assert!(stdout.contains("1 copied, 5 already present"), "{stdout}");
    assert!(read(&copy.join(&changed)).contains("\"v\":\"b\""));
    let after = read(&copy.join("keytrail-manifest.csv"));
    assert_eq!(after.lines().count(), 7, "{after}");
    let row = |m: &str, rel: &str| {
        m.lines()
            .find(|l| l.starts_with(&format!("s3://trail/{rel},")))
            .unwrap_or_else(|| panic!("{rel} missing from {m}"))
            .to_owned()
    };
    assert_ne!(row(&manifest, &changed), row(&after, &changed));
    let kept = format!("{logs}/07/log-07.json");
    assert_eq!(
        row(&manifest, &kept),
        row(&after, &kept),
        "skipped rows carry over"
    );

    // A file present with no manifest row is copied again.
    std::fs::remove_file(copy.join("keytrail-manifest.csv")).unwrap();
    let stdout = acquire();
    assert!(stdout.contains("6 copied, 0 already present"), "{stdout}");
}

/// Bundles and CloudWatch Logs deliveries in a bucket give the folder's
/// timeline: a zip and a tar.gz object are read in place (copied as they
/// are, never unpacked), members named `s3://…/bundle.zip!/AWSLogs/…`.
#[test]
fn bundles_and_cloudwatch_objects_in_s3_give_the_folders_timeline() {
    let moto = Moto::start();
    let containers = root().join("fixtures/containers");
    moto.seed(&["bucket", "evidence"]);
    for name in ["incident.zip", "incident.tar.gz"] {
        moto.seed(&[
            "put",
            "evidence",
            &format!("customer/{name}"),
            path_str(&containers.join(name)),
        ]);
    }
    moto.seed(&[
        "upload",
        "evidence",
        path_str(&containers.join("cloudwatch-export")),
        "exports/",
    ]);
    let env = TestEnv::new();
    let vars = aws_env();
    let (local, local_report) = traced(&env, "local", &["fixtures/incident"], 0, &vars);
    let (local_rows, _) = split_source_file(&local);
    let endpoint = moto.endpoint.as_str();
    for (name, source, prefix) in [
        (
            "zip",
            "s3://evidence/customer/incident.zip",
            "s3://evidence/customer/incident.zip!/AWSLogs/",
        ),
        (
            "tar.gz",
            "s3://evidence/customer/incident.tar.gz",
            "s3://evidence/customer/incident.tar.gz!/o-exampleorg1/AWSLogs/",
        ),
        (
            "export",
            "s3://evidence/exports/",
            "s3://evidence/exports/9f3c1b2e",
        ),
    ] {
        let (csv, report) = traced(&env, name, &["--endpoint-url", endpoint, source], 0, &vars);
        let (rows, sources) = split_source_file(&csv);
        assert!(rows == local_rows, "{name}:\n{csv}\n--- local\n{local}");
        assert!(
            sources.iter().all(|s| s.starts_with(prefix)),
            "{name}: {sources:?}"
        );
        assert_eq!(report["credentials"], local_report["credentials"], "{name}");
        assert_eq!(report["inputs"]["skipped"], Value::Array(vec![]), "{name}");
    }
}

/// Security Lake's bucket read over S3: the Parquet objects are recognised
/// by content like local files, and give the local lake's rows.
#[test]
fn a_security_lake_bucket_gives_the_local_lake_s_rows() {
    let moto = Moto::start();
    let lake = root().join("fixtures/ocsf/v2");
    moto.seed(&["upload", "lake", path_str(&lake), ""]);
    let env = TestEnv::new();
    let vars = aws_env();
    let (local, local_report) = traced(&env, "local", &["fixtures/incident"], 0, &vars);
    let (local_rows, _) = split_source_file(&local);
    let endpoint = moto.endpoint.as_str();
    let (csv, report) = traced(
        &env,
        "lake",
        &["--endpoint-url", endpoint, "s3://lake"],
        0,
        &vars,
    );
    let (rows, sources) = split_source_file(&csv);
    assert!(rows == local_rows, "{csv}\n--- local\n{local}");
    assert!(
        sources
            .iter()
            .all(|s| s.starts_with("s3://lake/aws-security-data-lake-")
                && s.contains(".gz.parquet#row=")),
        "{sources:?}"
    );
    assert_eq!(report["credentials"], local_report["credentials"]);
    assert_eq!(report["inputs"]["formats"]["ocsf"], 16);
    assert_eq!(report["inputs"]["skipped"], Value::Array(vec![]));
}
