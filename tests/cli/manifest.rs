//! `--manifest`: the custody manifest of `trace` and `verify` (issue 16).
//! Every hash it gives is recomputed here from the file on disk.

#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use sha2::{Digest as _, Sha256};

use crate::support::{SEED, TestEnv, code, read, root, run, show};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The stored and uncompressed SHA-256 of a file.
fn hashes(path: &Path) -> (String, String) {
    let stored = std::fs::read(path).unwrap();
    let mut content = Vec::new();
    if stored.starts_with(&[0x1f, 0x8b]) {
        MultiGzDecoder::new(&stored[..])
            .read_to_end(&mut content)
            .unwrap();
    } else {
        content.clone_from(&stored);
    }
    (
        hex(&Sha256::digest(&stored)),
        hex(&Sha256::digest(&content)),
    )
}

/// Checks every row of a manifest against the file it names, and returns
/// the rows.
fn check(manifest: &Path) -> Vec<csv::StringRecord> {
    let mut r = csv::Reader::from_path(manifest).unwrap();
    assert_eq!(
        r.headers().unwrap(),
        vec![
            "source",
            "size",
            "s3_etag",
            "s3_version_id",
            "sha256_stored",
            "sha256_content",
            "records",
            "read_at"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    for row in &rows {
        let path = root().join(&row[0]);
        let (stored, content) = hashes(&path);
        assert_eq!(&row[1], std::fs::metadata(&path).unwrap().len().to_string());
        assert_eq!((&row[2], &row[3]), ("", ""), "local files have no ETag");
        assert_eq!(&row[4], stored, "{}", &row[0]);
        assert_eq!(&row[5], content, "{}", &row[0]);
        assert!(row[7].ends_with('Z'), "{}", &row[7]);
    }
    rows
}

#[test]
fn trace_writes_one_row_per_input_read_with_its_hashes() {
    let env = TestEnv::new();
    let manifest = env.path("custody.csv");
    let report = env.path("report.json");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "--report",
        report.to_str().unwrap(),
        "--manifest",
        manifest.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let rows = check(&manifest);
    let report: serde_json::Value = serde_json::from_str(&read(&report)).unwrap();
    assert_eq!(
        rows.len() as u64,
        report["inputs"]["files_read"].as_u64().unwrap()
    );
    let records: u64 = rows.iter().map(|r| r[6].parse::<u64>().unwrap()).sum();
    assert_eq!(records, report["inputs"]["records"].as_u64().unwrap());
    let mut sources: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    let n = sources.len();
    sources.dedup();
    assert_eq!(
        sources.len(),
        n,
        "one row per input, re-reads included once"
    );
}

#[test]
fn trace_without_manifest_writes_none_and_refuses_stdout() {
    let env = TestEnv::new();
    let out = env.trace(&["--key", SEED, "fixtures/incident", "--manifest", "-"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
}

#[test]
fn verify_writes_the_manifest_of_every_file() {
    let env = TestEnv::new();
    let manifest = env.path("custody.csv");
    let out = run(env
        .keytrail()
        .arg("verify")
        .arg("fixtures/incident")
        .arg("-q")
        .arg("--manifest")
        .arg(&manifest));
    // The incident fixture has no digests: every log file is not covered.
    assert_eq!(code(&out), 4, "{}", show(&out));
    let rows = check(&manifest);
    assert!(rows.len() > 100, "{}", rows.len());
}
