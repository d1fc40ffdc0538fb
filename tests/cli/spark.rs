//! `keytrail shard` and the Spark driver (`contrib/spark/keytrail_spark.py`)
//! give the outputs of `keytrail trace`, byte for byte.
//!
//! The shard steps are first chained by hand, as two map tasks each, which
//! needs nothing but the binary. The driver then runs on a real `pyspark`
//! in `local[2]` (Java 17 and `pip install pyspark`): over
//! `fixtures/incident`, `fixtures/footholds`, a generated organization
//! trail whose late keys make `trace` re-read files, and the same trail
//! in a local S3 server read as `s3a://`. Without Java or pyspark those
//! tests say so and pass, unless `KEYTRAIL_SPARK_TESTS=require` (set by
//! `scripts/test.sh`, which installs them), where they fail.
//!
//! The report is compared whole but for `inputs.rereads` and
//! `inputs.bytes_read`, which count reads and so differ by design: `trace`
//! re-reads a file when a key turns up late, the shard steps read each
//! file once and then again only those whose key filter may hold a lineage
//! key.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::s3::{Moto, aws_env, python};
use crate::support::{TestEnv, code, root, run, show};

/// The seed of the generated organization trail (`tests/spark_corpus.py`).
const ORG_SEED: &str = "AKIASPARKSEEDALICE01";

/// Every output of `trace` into `dir`, with a fixed cut-off.
fn outputs(dir: &Path, timeline: &str) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    vec![
        "-o".into(),
        p(timeline),
        "--report".into(),
        p("report.json"),
        "--deny-policy".into(),
        p("deny"),
        "--summary-md".into(),
        p("incident.md"),
        "--graph".into(),
        p("lineage.dot"),
        "--html".into(),
        p("report.html"),
        "--cutoff".into(),
        "2025-12-10T00:00:00Z".into(),
        "-q".into(),
    ]
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

/// Asserts that the outputs in `got` are those in `want`: byte for byte,
/// the report but for its two read counters.
fn same_outputs(want: &Path, got: &Path, what: &str) {
    let names = files(want);
    assert!(names.len() >= 6, "{what}: too few outputs: {names:?}");
    assert_eq!(names, files(got), "{what}: not the same files");
    for name in names {
        let (a, b) = (
            std::fs::read(want.join(&name)).unwrap(),
            std::fs::read(got.join(&name)).unwrap(),
        );
        if name == Path::new("report.json") {
            let strip = |bytes: &[u8]| {
                let mut v: Value = serde_json::from_slice(bytes).unwrap();
                let inputs = v["inputs"].as_object_mut().unwrap();
                inputs.remove("rereads");
                inputs.remove("bytes_read");
                v
            };
            let (a, b) = (strip(&a), strip(&b));
            assert!(
                a == b,
                "{what}: the reports differ\n--- trace\n{a:#}\n--- shard\n{b:#}"
            );
        } else if name == Path::new("report.html") {
            // The page carries the report's inputs too.
            let (a, b) = (read_counts_zeroed(&a), read_counts_zeroed(&b));
            assert!(
                a == b,
                "{what}: report.html differs but for the read counters"
            );
        } else {
            assert!(
                a == b,
                "{what}: {} differs\n--- trace\n{}\n--- shard\n{}",
                name.display(),
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b)
            );
        }
    }
}

/// `text` with the numbers after `"rereads":` and `"bytes_read":` zeroed.
fn read_counts_zeroed(text: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(text).into_owned();
    for field in ["\"rereads\":", "\"bytes_read\":"] {
        let mut out = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(field) {
            let (head, tail) = rest.split_at(at + field.len());
            out.push_str(head);
            out.push('0');
            rest = tail.trim_start_matches(|c: char| c.is_ascii_digit());
        }
        out.push_str(rest);
        text = out;
    }
    text
}

fn trace_into(
    env: &TestEnv,
    dir: &Path,
    timeline: &str,
    args: &[&str],
    vars: &[(&str, String)],
) -> Output {
    let mut cmd = env.keytrail();
    cmd.arg("trace").args(args).args(outputs(dir, timeline));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// The shard steps chained by hand: each map step as two tasks.
fn shard_by_hand(env: &TestEnv, dir: &Path, timeline: &str, args: &[&str]) -> Output {
    let work = env.path(&format!(
        "{}-work",
        dir.file_name().unwrap().to_str().unwrap()
    ));
    std::fs::create_dir_all(&work).unwrap();
    let step = |step: &str, extra: &[&str]| -> Vec<u8> {
        let out = run(env.keytrail().args(["shard", step]).args(extra));
        assert_eq!(code(&out), 0, "shard {step}: {}", show(&out));
        out.stdout
    };
    let halves = |bytes: Vec<u8>, name: &str| -> [PathBuf; 2] {
        let text = String::from_utf8(bytes).unwrap();
        let (mut a, mut b) = (String::new(), String::new());
        for (i, line) in text.lines().enumerate() {
            let half = if i % 2 == 0 { &mut a } else { &mut b };
            half.push_str(line);
            half.push('\n');
        }
        let paths = [
            work.join(format!("{name}-0")),
            work.join(format!("{name}-1")),
        ];
        std::fs::write(&paths[0], a).unwrap();
        std::fs::write(&paths[1], b).unwrap();
        paths
    };
    let listed = halves(step("list", args), "listed");
    let mut scanned = Vec::new();
    for part in &listed {
        scanned.extend(step("scan", &["--in", part.to_str().unwrap(), "-j", "2"]));
    }
    let scanned = halves(scanned, "scanned");
    let mut closure_args = vec![
        "--in",
        scanned[0].to_str().unwrap(),
        "--in",
        scanned[1].to_str().unwrap(),
    ];
    closure_args.extend(args);
    let lineage = work.join("lineage.json");
    std::fs::write(&lineage, step("closure", &closure_args)).unwrap();
    let mut rows = Vec::new();
    for part in &scanned {
        rows.extend(step(
            "select",
            &[
                "--in",
                part.to_str().unwrap(),
                "--lineage",
                lineage.to_str().unwrap(),
            ],
        ));
    }
    let rows_path = work.join("rows.jsonl");
    std::fs::write(&rows_path, rows).unwrap();
    run(env
        .keytrail()
        .args(["shard", "merge", "--in", rows_path.to_str().unwrap()])
        .args(args)
        .args(outputs(dir, timeline)))
}

/// Writes the generated organization trail into `dir`.
fn org_corpus(dir: &Path) {
    let out = run(Command::new(python())
        .arg(root().join("tests/spark_corpus.py"))
        .arg(dir));
    assert!(out.status.success(), "spark_corpus.py: {}", show(&out));
}

#[test]
fn shard_steps_by_hand_give_the_outputs_of_trace() {
    let env = TestEnv::new();
    let corpus = env.path("org");
    org_corpus(&corpus);
    let corpus = corpus.to_str().unwrap().to_owned();
    let cases: Vec<(&str, &str, Vec<&str>, i32)> = vec![
        (
            "incident",
            "timeline.csv",
            vec!["--key", "AKIAEXAMPLESEED00001", "fixtures/incident"],
            0,
        ),
        (
            "footholds",
            "timeline.jsonl",
            vec!["--key", "AKIAEXAMPLEFOOT00001", "fixtures/footholds"],
            0,
        ),
        // A window: only some day folders are listed by trace; the damaged
        // file is inside it (exit 3).
        (
            "org",
            "timeline.jsonl",
            vec![
                "--key",
                ORG_SEED,
                "--since",
                "2025-12-08",
                "--until",
                "2025-12-08",
                &corpus,
            ],
            3,
        ),
    ];
    for (name, timeline, args, status) in cases {
        let want = env.path(&format!("{name}-trace"));
        let out = trace_into(&env, &want, timeline, &args, &[]);
        assert_eq!(code(&out), status, "trace {name}: {}", show(&out));
        let got = env.path(&format!("{name}-shard"));
        let out = shard_by_hand(&env, &got, timeline, &args);
        assert_eq!(code(&out), status, "shard merge {name}: {}", show(&out));
        same_outputs(&want, &got, name);
    }
    // The late key made trace read files again: the case is a real one.
    let report: Value =
        serde_json::from_slice(&std::fs::read(env.path("org-trace/report.json")).unwrap()).unwrap();
    assert!(
        report["inputs"]["rereads"].as_u64().unwrap() > 0,
        "{report:#}"
    );
    assert!(!report["inputs"]["skipped"].as_array().unwrap().is_empty());
}

#[test]
fn shard_refuses_what_needs_one_machine() {
    let env = TestEnv::new();
    let rows = env.path("rows.jsonl");
    std::fs::write(&rows, "").unwrap();
    let out = run(env.keytrail().args([
        "shard",
        "merge",
        "--in",
        rows.to_str().unwrap(),
        "--key",
        "AKIAEXAMPLESEED00001",
        "--manifest",
        env.path("m.csv").to_str().unwrap(),
        "fixtures/incident",
    ]));
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(show(&out).contains("--manifest"), "{}", show(&out));
    // A line that is no shard line is an error that names it.
    std::fs::write(&rows, "{\"kind\":\"nonsense\"}\n").unwrap();
    let out = run(env.keytrail().args([
        "shard",
        "merge",
        "--in",
        rows.to_str().unwrap(),
        "--key",
        "AKIAEXAMPLESEED00001",
        "x",
    ]));
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(show(&out).contains("line 1"), "{}", show(&out));
}

/// Whether Java and pyspark are here; fails when they must be.
fn spark_ready() -> bool {
    let java = Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    let pyspark = Command::new(python())
        .args(["-c", "import pyspark"])
        .output()
        .is_ok_and(|o| o.status.success());
    let required = std::env::var("KEYTRAIL_SPARK_TESTS").is_ok_and(|v| v == "require");
    if java && pyspark {
        return true;
    }
    let missing = format!(
        "Spark tests need Java 17 (java: {}) and pyspark (import pyspark: {}); scripts/test.sh installs both",
        if java { "found" } else { "missing" },
        if pyspark { "found" } else { "missing" }
    );
    assert!(!required, "KEYTRAIL_SPARK_TESTS=require, but {missing}");
    eprintln!("SKIPPED: {missing}");
    false
}

/// Runs the driver on `pyspark` in `local[2]`.
fn driver(
    env: &TestEnv,
    dir: &Path,
    timeline: &str,
    args: &[&str],
    vars: &[(&str, String)],
) -> Output {
    // pyspark's own launcher, installed with it.
    let mut cmd = Command::new("spark-submit");
    cmd.current_dir(root())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", python())
        .args([
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.task.maxFailures=2",
            "contrib/spark/keytrail_spark.py",
            "--keytrail",
            env!("CARGO_BIN_EXE_keytrail"),
            "--work-dir",
            env.path(&format!(
                "{}-work",
                dir.file_name().unwrap().to_str().unwrap()
            ))
            .to_str()
            .unwrap(),
        ])
        .args(args)
        .args(outputs(dir, timeline));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

#[test]
fn spark_driver_gives_the_outputs_of_trace() {
    if !spark_ready() {
        return;
    }
    let env = TestEnv::new();
    let corpus = env.path("org");
    org_corpus(&corpus);
    let corpus = corpus.to_str().unwrap().to_owned();
    let cases: Vec<(&str, &str, Vec<&str>, i32)> = vec![
        (
            "incident",
            "timeline.csv",
            vec!["--key", "AKIAEXAMPLESEED00001", "fixtures/incident"],
            0,
        ),
        (
            "footholds",
            "timeline.parquet",
            vec!["--key", "AKIAEXAMPLEFOOT00001", "fixtures/footholds"],
            0,
        ),
        ("org", "timeline.jsonl", vec!["--key", ORG_SEED, &corpus], 3),
    ];
    for (name, timeline, args, status) in cases {
        let want = env.path(&format!("{name}-trace"));
        let out = trace_into(&env, &want, timeline, &args, &[]);
        assert_eq!(code(&out), status, "trace {name}: {}", show(&out));
        let got = env.path(&format!("{name}-spark"));
        let out = driver(&env, &got, timeline, &args, &[]);
        assert_eq!(code(&out), status, "driver {name}: {}", show(&out));
        same_outputs(&want, &got, name);
    }
}

#[test]
fn spark_driver_reads_s3a_like_trace_reads_s3() {
    if !spark_ready() {
        return;
    }
    let moto = Moto::start();
    let env = TestEnv::new();
    let corpus = env.path("org");
    org_corpus(&corpus);
    moto.seed(&["upload", "org-trail", corpus.to_str().unwrap(), "prefix/"]);
    let mut vars = aws_env();
    vars.push(("AWS_ENDPOINT_URL", moto.endpoint.clone()));
    let since = [
        "--since",
        "2025-12-08T09:00:00Z",
        "--until",
        "2025-12-08T10:00:00Z",
    ];
    let mut trace_args = vec!["--key", ORG_SEED, "s3://org-trail/prefix"];
    trace_args.extend(since);
    let want = env.path("s3-trace");
    let out = trace_into(&env, &want, "timeline.csv", &trace_args, &vars);
    // The damaged file is in the lineage's windows: exit 3, as on disk.
    assert_eq!(code(&out), 3, "trace s3: {}", show(&out));
    let mut driver_args = vec!["--key", ORG_SEED, "s3a://org-trail/prefix"];
    driver_args.extend(since);
    let got = env.path("s3-spark");
    let out = driver(&env, &got, "timeline.csv", &driver_args, &vars);
    assert_eq!(code(&out), 3, "driver s3a: {}", show(&out));
    same_outputs(&want, &got, "s3");
    let csv = std::fs::read_to_string(got.join("timeline.csv")).unwrap();
    assert!(csv.contains("s3://org-trail/prefix/AWSLogs/"), "{csv}");
    assert!(
        csv.contains("AKIASPARKBOBKEY00001"),
        "the late key is followed:\n{csv}"
    );
}
