//! Security Lake's OCSF Parquet (issue 17, item 3): the sample incident
//! converted by `fixtures/make_ocsf.py` into source versions 1 and 2 gives
//! the same lineage and the same timeline rows as the CloudTrail archive it
//! came from, with only `source_file` differing.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{Row, SEED, TestEnv, code, credentials, csv_rows, json, show};

const LAKE: &str = "aws-security-data-lake-us-east-1-examplelake0001";

/// Traces `sources`; returns the exit code, the rows and the report.
fn trace(env: &TestEnv, name: &str, sources: &[&str]) -> (i32, Vec<Row>, Value) {
    let csv = env.path(&format!("{name}.csv"));
    let report = env.path(&format!("{name}.json"));
    let mut args = vec!["--key", SEED, "-q", "-j", "2"];
    args.extend_from_slice(sources);
    let (csv_arg, report_arg) = (csv.to_str().expect("path"), report.to_str().expect("path"));
    args.extend_from_slice(&["-o", csv_arg, "--report", report_arg]);
    let out = env.trace(&args);
    assert!(matches!(code(&out), 0 | 3), "{}", show(&out));
    (code(&out), csv_rows(&csv), json(&report))
}

/// The rows with `source_file` taken out, and the `source_file`s.
fn split_source(rows: &[Row]) -> (Vec<Row>, Vec<String>) {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            let source = r.remove("source_file").expect("source_file column");
            (r, source)
        })
        .unzip()
}

fn issues(report: &Value, list: &str) -> Vec<(String, String)> {
    report["inputs"][list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| {
            (
                i["source"].as_str().expect("source").to_owned(),
                i["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect()
}

#[test]
fn security_lake_gives_the_archive_s_lineage_and_rows() {
    let env = TestEnv::new();
    let (archive_code, archive_rows, archive) = trace(&env, "archive", &["fixtures/incident"]);
    assert_eq!(archive_code, 0);
    assert_eq!(archive["inputs"]["formats"], json!({"records": 173}));
    let (archive_rows, _) = split_source(&archive_rows);
    for version in [1, 2] {
        let dir = format!("fixtures/ocsf/v{version}");
        let (exit, rows, report) = trace(&env, &format!("v{version}"), &[&dir]);
        assert_eq!(exit, 0, "v{version}: {}", report["inputs"]);
        let (rows, sources) = split_source(&rows);
        assert_eq!(rows.len(), archive_rows.len(), "v{version}");
        for (a, b) in archive_rows.iter().zip(&rows) {
            assert_eq!(a, b, "v{version}");
        }
        let prefix = format!("{dir}/{LAKE}/aws/CLOUD_TRAIL_MGMT/{version}.0/region=");
        for s in &sources {
            let (file, row) = s.rsplit_once("#row=").expect("a row number");
            assert!(
                file.starts_with(&prefix) && file.ends_with(".gz.parquet"),
                "{s}"
            );
            assert!(row.parse::<u32>().is_ok(), "{s}");
        }
        // The whole lineage, and the duplicate delivery counted as in the
        // archive (both copies sit in one Parquet file, at two rows).
        assert_eq!(credentials(&report), credentials(&archive), "v{version}");
        assert_eq!(report["timeline"], archive["timeline"], "v{version}");
        assert_eq!(report["inputs"]["formats"], json!({"ocsf": 16}));
        assert_eq!(report["inputs"]["records"], archive["inputs"]["records"]);
        assert_eq!(issues(&report, "skipped"), []);
        assert_eq!(issues(&report, "partial"), []);
        assert_eq!(report["inputs"]["bad_records"], json!([]));
        // Iceberg's metadata and a custom source's OCSF are passed over by
        // design, recognised by their content.
        let by_design = issues(&report, "skipped_by_design");
        let reasons: Vec<&str> = by_design.iter().map(|(_, r)| r.as_str()).collect();
        assert_eq!(by_design.len(), 3, "{by_design:?}");
        assert!(reasons.iter().any(|r| r.contains("Iceberg table metadata")));
        assert!(reasons.iter().any(|r| r.contains("Avro")));
        assert!(
            by_design
                .iter()
                .any(|(s, r)| s.contains("/ext/") && r.contains("no CloudTrail source"))
        );
        for (source, _) in &by_design {
            assert!(Path::new(&crate::support::root().join(source)).is_file());
        }
    }
}

#[test]
fn archive_and_lake_together_give_each_event_once() {
    let env = TestEnv::new();
    let (_, archive_rows, archive) = trace(&env, "archive", &["fixtures/incident"]);
    let (exit, rows, report) = trace(&env, "mixed", &["fixtures/ocsf/v2", "fixtures/incident"]);
    assert_eq!(exit, 0);
    // Every event is read twice and kept once: the archive's copy, whose
    // origin sorts first.
    assert_eq!(rows, archive_rows);
    assert_eq!(credentials(&report), credentials(&archive));
    assert_eq!(
        report["inputs"]["formats"],
        json!({"records": 173, "ocsf": 16})
    );
    let dropped = |r: &Value| r["timeline"]["duplicates_dropped"].as_u64().unwrap();
    assert!(dropped(&report) >= dropped(&archive) + rows.len() as u64);
}

#[test]
fn damaged_and_foreign_parquet_are_named() {
    let env = TestEnv::new();
    let dir = env.path("lake");
    std::fs::create_dir_all(&dir).unwrap();
    // The largest fixture: several row groups of 16 rows.
    let good = walk(&crate::support::root().join("fixtures/ocsf/v2"))
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("a Parquet fixture");
    let bytes = std::fs::read(&good).unwrap();
    // Cut off its footer; break the data of its later row groups (the
    // footer, at the end, says where it starts); one that is Parquet but
    // not OCSF.
    std::fs::write(dir.join("cut.gz.parquet"), &bytes[..bytes.len() / 2]).unwrap();
    let footer = u32::from_le_bytes(bytes[bytes.len() - 8..bytes.len() - 4].try_into().unwrap());
    let data_end = bytes.len() - 8 - footer as usize;
    let mut broken = bytes.clone();
    for b in &mut broken[data_end * 3 / 5..data_end * 19 / 20] {
        *b ^= 0x55;
    }
    std::fs::write(dir.join("broken.gz.parquet"), &broken).unwrap();
    std::fs::copy(
        crate::support::root().join("fixtures/ocsf/broken/not-ocsf.parquet"),
        dir.join("not-ocsf.parquet"),
    )
    .unwrap();
    let (exit, _, report) = trace(&env, "damaged", &[dir.to_str().unwrap()]);
    assert_eq!(exit, 3);
    let skipped = issues(&report, "skipped");
    let partial = issues(&report, "partial");
    let reason = |name: &str| {
        skipped
            .iter()
            .chain(&partial)
            .find(|(s, _)| s.ends_with(name))
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("{name} not named: {skipped:?} {partial:?}"))
    };
    assert!(reason("cut.gz.parquet").contains("Parquet"), "{skipped:?}");
    assert!(
        reason("not-ocsf.parquet").contains("not OCSF"),
        "{skipped:?}"
    );
    // Rows before the damage are kept.
    assert!(
        partial
            .iter()
            .any(|(s, r)| s.ends_with("broken.gz.parquet") && r.contains("row group")),
        "{skipped:?} {partial:?}"
    );
    // Damage is never a silent loss: what was read is counted.
    assert_eq!(report["inputs"]["formats"]["ocsf"], json!(1));
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("fixtures") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "parquet")
            && !p.to_string_lossy().contains("/ext/")
        {
            out.push(p);
        }
    }
    out.sort();
    out
}
