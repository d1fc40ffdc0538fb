//! The sample incident delivered in every container (`fixtures/containers`,
//! made by `fixtures/make_containers.py` from `fixtures/incident`): each
//! gives the folder's lineage and timeline rows, with only `source_file`
//! differing, and the report counts inputs by format.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::support::{SEED, TestEnv, code, credentials, json, read, show};

/// A trace's timeline rows without `source_file`, its `source_file`s, its
/// report.
struct Traced {
    rows: Vec<String>,
    sources: Vec<String>,
    report: Value,
}

fn trace(env: &TestEnv, name: &str, sources: &[&str], extra: &[&str]) -> Traced {
    let csv = env.path(&format!("{name}.csv"));
    let report = env.path(&format!("{name}.json"));
    let mut args = vec!["--key", SEED];
    args.extend(sources);
    args.extend([
        "-o",
        csv.to_str().expect("readable test output"),
        "--report",
        report.to_str().expect("readable test output"),
        "-q",
    ]);
    args.extend(extra);
    let out = env.trace(&args);
    assert_eq!(code(&out), 0, "{name}: {}", show(&out));
    let mut reader = ::csv::Reader::from_path(&csv).expect("readable test output");
    let at = reader
        .headers()
        .expect("readable test output")
        .iter()
        .position(|h| h == "source_file")
        .expect("readable test output");
    let (mut rows, mut sources) = (Vec::new(), Vec::new());
    for r in reader.records() {
        let r = r.expect("readable test output");
        sources.push(r[at].to_owned());
        rows.push(
            r.iter()
                .enumerate()
                .filter(|(i, _)| *i != at)
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join("\u{1f}"),
        );
    }
    assert!(!read(&csv).is_empty());
    Traced {
        rows,
        sources,
        report: json(&report),
    }
}

fn formats(report: &Value) -> BTreeMap<String, u64> {
    report["inputs"]["formats"]
        .as_object()
        .expect("readable test output")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("readable test output")))
        .collect()
}

fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

/// A container: its name, its sources, the formats its report counts, and
/// how its `source_file`s start.
type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, u64)], &'a str);

#[test]
fn every_container_gives_the_folders_lineage_and_rows() {
    let env = TestEnv::new();
    let folder = trace(&env, "folder", &["fixtures/incident"], &[]);
    assert_eq!(formats(&folder.report), map(&[("records", 173)]));
    let cases: &[Case] = &[
        (
            "zip",
            &["fixtures/containers/incident.zip"],
            &[("records", 173)],
            "fixtures/containers/incident.zip!/AWSLogs/",
        ),
        (
            "tar",
            &["fixtures/containers/incident.tar"],
            &[("records", 173)],
            "fixtures/containers/incident.tar!/case-42/AWSLogs/",
        ),
        (
            "tar.gz",
            &["fixtures/containers/incident.tar.gz"],
            &[("records", 173)],
            "fixtures/containers/incident.tar.gz!/o-exampleorg1/AWSLogs/o-exampleorg1/",
        ),
        (
            "export",
            &["fixtures/containers/cloudwatch-export"],
            &[("cloudwatch-export", 4)],
            "fixtures/containers/cloudwatch-export/9f3c1b2e",
        ),
        (
            "firehose",
            &["fixtures/containers/firehose"],
            &[("cloudwatch-subscription", 1)],
            "fixtures/containers/firehose/2025/12/10/",
        ),
        (
            "logstash",
            &["fixtures/containers/siem/logstash.jsonl.gz"],
            &[("siem", 1)],
            "fixtures/containers/siem/logstash",
        ),
        (
            "elastic",
            &["fixtures/containers/siem/elastic.ndjson.gz"],
            &[("siem", 1)],
            "fixtures/containers/siem/elastic",
        ),
        (
            "mixed",
            &[
                "fixtures/containers/mixed/part.zip",
                "fixtures/containers/mixed/cloudwatch-export",
                "fixtures/containers/mixed/firehose",
                "fixtures/containers/mixed/siem.jsonl",
            ],
            &[
                ("records", 80),
                ("cloudwatch-export", 4),
                ("cloudwatch-subscription", 1),
                ("siem", 1),
            ],
            "fixtures/containers/mixed/",
        ),
    ];
    for (name, sources, want_formats, prefix) in cases {
        let got = trace(&env, name, sources, &[]);
        assert_eq!(got.rows, folder.rows, "{name}: timeline rows");
        assert_eq!(
            credentials(&got.report),
            credentials(&folder.report),
            "{name}: lineage"
        );
        assert_eq!(
            got.report["footholds"], folder.report["footholds"],
            "{name}"
        );
        assert_eq!(formats(&got.report), map(want_formats), "{name}: formats");
        assert!(
            got.sources.iter().all(|s| s.starts_with(prefix)),
            "{name}: {:?}",
            &got.sources[..3]
        );
        assert_ne!(got.sources, folder.sources, "{name}");
        let inputs = &got.report["inputs"];
        assert_eq!(inputs["skipped"], Value::Array(vec![]), "{name}");
        assert_eq!(inputs["partial"], Value::Array(vec![]), "{name}");
        assert_eq!(inputs["bad_records"], Value::Array(vec![]), "{name}");
        assert_eq!(
            got.report["timeline"]["duplicates_dropped"],
            folder.report["timeline"]["duplicates_dropped"],
            "{name}: nothing counted twice"
        );
        let by_design = inputs["skipped_by_design"].to_string();
        match *name {
            "zip" | "tar" | "tar.gz" => {
                assert!(by_design.contains("digest"), "{name}: {by_design}")
            }
            "export" => assert!(by_design.contains("aws-logs-write-test"), "{by_design}"),
            "firehose" => assert!(
                by_design.contains("1 CloudWatch Logs CONTROL_MESSAGE"),
                "{by_design}"
            ),
            _ => {}
        }
    }
    // Threads never change a bundle's output.
    let one = trace(
        &env,
        "zip-j1",
        &["fixtures/containers/incident.zip"],
        &["-j", "1"],
    );
    let three = trace(
        &env,
        "zip-j3",
        &["fixtures/containers/incident.zip"],
        &["-j", "3"],
    );
    assert_eq!((one.rows, one.sources), (three.rows, three.sources));
}

#[test]
fn bundles_prune_by_their_layout() {
    let env = TestEnv::new();
    let window = ["--since", "2025-12-09", "--until", "2025-12-09"];
    let folder = trace(&env, "folder", &["fixtures/incident"], &window);
    for bundle in ["incident.zip", "incident.tar", "incident.tar.gz"] {
        let got = trace(
            &env,
            bundle,
            &[&format!("fixtures/containers/{bundle}")],
            &window,
        );
        assert_eq!(got.rows, folder.rows, "{bundle}");
        let (a, b) = (&got.report["inputs"], &folder.report["inputs"]);
        assert_eq!(a["files_pruned"], b["files_pruned"], "{bundle}");
        assert!(a["files_pruned"].as_u64().unwrap() > 0);
    }
}

/// A damaged zip member is partial or skipped like a damaged file; a member
/// that climbs out of the bundle is refused and named; the run exits 3.
#[test]
fn hostile_and_damaged_bundles_are_named() {
    let env = TestEnv::new();
    let good =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/broken/good.json.gz"))
            .unwrap();
    let path = env.path("hostile.zip");
    {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let stored = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("good.json.gz", stored).unwrap();
        w.write_all(&good).unwrap();
        w.start_file("../escape.json.gz", stored).unwrap();
        w.write_all(&good).unwrap();
        w.start_file("damaged.json.gz", stored).unwrap();
        w.write_all(&good[..good.len() / 2]).unwrap();
        w.start_file("plain.json", stored).unwrap();
        w.write_all(br#"{"Records":[]}"#).unwrap();
        w.finish().unwrap();
    }
    // Cut the damaged member's bytes after the fact: its CRC no longer holds.
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == br#"{"Records":[]}"#)
        .unwrap();
    bytes[at + 2] = b'X';
    std::fs::write(&path, &bytes).unwrap();
    let report = env.path("r.json");
    let out = env.trace(&[
        "--key",
        SEED,
        path.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 3, "{}", show(&out));
    let inputs = json(&report)["inputs"].clone();
    let text = inputs.to_string();
    assert!(text.contains("hostile.zip!/../escape.json.gz"), "{text}");
    assert!(text.contains("climbs out"), "{text}");
    assert!(text.contains("hostile.zip!/damaged.json.gz"), "{text}");
    assert!(
        text.contains("hostile.zip!/plain.json") && text.contains("CRC"),
        "{text}"
    );
    assert_eq!(inputs["formats"]["records"], 1, "{text}");

    // A truncated tar.gz keeps the members before the damage.
    let tgz = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/containers/incident.tar.gz"),
    )
    .unwrap();
    let cut = env.path("cut.tar.gz");
    std::fs::write(&cut, &tgz[..tgz.len() / 2]).unwrap();
    let report = env.path("cut.json");
    let out = env.trace(&[
        "--key",
        SEED,
        cut.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 3, "{}", show(&out));
    let inputs = json(&report)["inputs"].clone();
    assert!(
        inputs["formats"]["records"].as_u64().unwrap() > 10,
        "{inputs}"
    );
    assert!(
        inputs["skipped"].to_string().contains("cut.tar.gz"),
        "{inputs}"
    );
}
