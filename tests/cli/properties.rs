//! Properties (issue 5): decoding never panics, damage never loses what came
//! before it, and the traced lineage does not depend on the order files are
//! read in.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use keytrail::decode::{Scratch, Sink, Status, decode};
use keytrail::event::Event;
use keytrail::model::AccessKeyId;
use keytrail::scan::{self, ScanParams};
use keytrail::source::SourceSpec;
use keytrail::source::s3::S3Options;
use keytrail::time::Span;
use keytrail::timeline::{Timeline, dedupe};
use keytrail::trace::{Lineage, TraceParams, Watch, trace};
use proptest::prelude::*;

use crate::support::{SEED, TestEnv, code, credentials, gzip, json, root, show};

/// Keeps every record.
#[derive(Default)]
struct All(Vec<Event>);

impl Sink for All {
    fn wants(&mut self, _: &[u8]) -> bool {
        true
    }
    fn event(&mut self, e: Event) {
        self.0.push(e);
    }
}

fn decode_all(bytes: &[u8], origin: &str) -> (Vec<Event>, keytrail::decode::Decoded) {
    let mut sink = All::default();
    let d = decode(
        bytes,
        &Arc::from(origin),
        &mut sink,
        &mut Scratch::default(),
    );
    (sink.0, d)
}

/// Pieces that JSON-ish fuzz input is assembled from, so that random input
/// reaches past the first byte of the splitter and the record parser.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"[".to_vec()),
        Just(b"]".to_vec()),
        Just(b",".to_vec()),
        Just(b":".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\"Records\":".to_vec()),
        Just(b"\"Events\":".to_vec()),
        Just(b"\"eventID\":\"e1\"".to_vec()),
        Just(b"\"eventTime\":\"2025-12-08T14:00:00Z\"".to_vec()),
        Just(b"\"eventTime\":\"2021-01-01 01:01:01.000000000\"".to_vec()),
        Just(b"\"userIdentity\":{\"accessKeyId\":\"AKIAEXAMPLESEED00001\"}".to_vec()),
        Just(b"\"eventSource\":\"sts.amazonaws.com\",\"eventName\":\"AssumeRole\"".to_vec()),
        Just(b"\"responseElements\":{\"credentials\":{\"accessKeyId\":\"ASIAEXAMPLE000000001\",\"expiration\":\"Dec 10, 2025, 2:03:12 AM\",\"sessionToken\":\"x\"}}".to_vec()),
        Just(b"\"requestParameters\":{\"durationSeconds\":18446744073709551615}".to_vec()),
        Just(b"\"CloudTrailEvent\":\"{\\\"eventID\\\":\\\"i\\\"}\"".to_vec()),
        Just(b"\"digestStartTime\":\"x\"".to_vec()),
        Just(b"\"readOnly\":\"true\"".to_vec()),
        Just(b"\\ud83d\\ude00".to_vec()),
        Just(b"\\ud800".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        Just(b"\x1f\x8b".to_vec()),
        Just(b"null".to_vec()),
        Just(b"1e999".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ]
}

/// Records that became events or bad records: with a sink that wants every
/// record, that is every record the decoder counted.
fn accounted(events: &[Event], d: &keytrail::decode::Decoded) -> u64 {
    (events.len() + d.bad_records.len()) as u64
}

fn jsonish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(fragment(), 0..64).prop_map(|v| v.concat())
}

/// `{"Records":[…]}` of `n` seed actions, and the offset just past each record.
fn document(n: usize) -> (Vec<u8>, Vec<usize>) {
    let mut doc = b"{\"Records\":[".to_vec();
    let mut ends = Vec::new();
    for i in 0..n {
        if i > 0 {
            doc.push(b',');
        }
        doc.extend(
            format!(
                r#"{{"eventID":"e{i}","eventTime":"2025-12-08T14:00:{:02}Z","userAgent":"a\"b\\c{i}","userIdentity":{{"accessKeyId":"{SEED}"}},"requestParameters":{{"k":[{i},{{"n":null}}]}}}}"#,
                i % 60
            )
            .as_bytes(),
        );
        ends.push(doc.len());
    }
    doc.extend(b"]}");
    (doc, ends)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        for bytes in [bytes.clone(), gzip(&bytes)] {
            let (events, d) = decode_all(&bytes, "raw");
            prop_assert_eq!(accounted(&events, &d), d.records);
        }
    }

    #[test]
    fn decoding_jsonish_bytes_never_panics(bytes in jsonish()) {
        for bytes in [bytes.clone(), gzip(&bytes)] {
            let (events, d) = decode_all(&bytes, "raw");
            prop_assert_eq!(accounted(&events, &d), d.records);
        }
        let _ = keytrail::decode::record::parse_record(&bytes, &Arc::from("r"));
    }

    /// A file cut anywhere keeps exactly the records that ended before the
    /// cut, and is never reported complete.
    #[test]
    fn truncation_keeps_every_record_before_the_cut(n in 1usize..12, cut in 0.0f64..1.0) {
        let (doc, ends) = document(n);
        let at = ((doc.len() as f64) * cut) as usize;
        let (events, d) = decode_all(&doc[..at], "cut");
        let expected = ends.iter().filter(|&&e| e <= at).count();
        prop_assert_eq!(events.len(), expected);
        prop_assert!(d.status != Status::Complete, "{at}/{}: {:?}", doc.len(), d.status);
        let ids: Vec<String> = events.iter().map(|e| e.id.as_str().to_owned()).collect();
        let want: Vec<String> = (0..expected).map(|i| format!("e{i}")).collect();
        prop_assert_eq!(ids, want);
    }

    /// Same for a gzip stream cut anywhere: never more than what was
    /// written, always in order, never complete.
    #[test]
    fn truncated_gzip_keeps_a_prefix(n in 1usize..40, cut in 0.0f64..1.0) {
        let (doc, _) = document(n);
        let z = gzip(&doc);
        let at = ((z.len() as f64) * cut) as usize;
        let (events, d) = decode_all(&z[..at], "cut.gz");
        prop_assert!(events.len() <= n);
        prop_assert!(d.status != Status::Complete, "{at}/{}: {:?}", z.len(), d.status);
        for (i, e) in events.iter().enumerate() {
            prop_assert_eq!(e.id.as_str(), format!("e{i}"));
        }
    }

    /// A document split anywhere across two gzip members reads in full.
    #[test]
    fn concatenated_members_read_in_full(n in 1usize..12, cut in 0.0f64..1.0) {
        let (doc, _) = document(n);
        let at = ((doc.len() as f64) * cut) as usize;
        let two = [gzip(&doc[..at]), gzip(&doc[at..])].concat();
        let (events, d) = decode_all(&two, "two.gz");
        prop_assert_eq!(events.len(), n);
        prop_assert_eq!(d.status, Status::Complete);
    }
}

// ---------------------------------------------------------------------------
// The lineage does not depend on the order files are read in

/// Every file of the sample incident, as (relative path, bytes).
fn incident_files() -> Vec<(String, Vec<u8>)> {
    let base = root().join("fixtures/incident");
    let mut stack = vec![base.clone()];
    let mut files = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("incident folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(&base)
                    .expect("inside")
                    .display()
                    .to_string();
                files.push((rel, std::fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

fn params() -> TraceParams {
    TraceParams {
        seeds: BTreeSet::from([AccessKeyId::parse(SEED).expect("seed")]),
        seed_window: Span::ALL,
        follow_created_keys: true,
        follow_footholds: true,
    }
}

/// Runs the real scan (matcher, key filters, passes and re-reads) over
/// `source` with `threads` workers, then dedupes, traces and orders as a run
/// does.
fn trace_source(source: &Path, threads: usize) -> (Lineage, Timeline) {
    let scan_params = ScanParams {
        threads,
        delivery_margin: Duration::from_secs(6 * 3600),
        s3: S3Options::default(),
        manifest: false,
    };
    let sources = [SourceSpec::Local(source.to_owned())];
    let scanned = scan::run(&sources, &scan_params, Watch::new(&params()), &|_| {}).expect("scan");
    assert!(scanned.inputs.skipped.is_empty() && scanned.inputs.partial.is_empty());
    let (events, duplicates) = dedupe(scanned.events);
    let lineage = trace(&events, &params());
    let timeline = Timeline::build(events, &lineage, duplicates);
    (lineage, timeline)
}

/// What a timeline says, without `source_file` (which names the copy kept).
fn rows(timeline: &Timeline) -> Vec<String> {
    timeline
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {:?} {} {}",
                r.event.time,
                r.event.id.as_str(),
                r.relation.as_str(),
                r.key.as_str(),
                r.kind.as_str(),
                r.parent.as_ref().map(|p| p.as_str()),
                r.depth,
                r.after_deactivation
            )
        })
        .collect()
}

type Baseline = (Vec<(String, Vec<u8>)>, Lineage, Vec<String>, usize);

/// The incident read in place, in its delivery layout, computed once.
fn baseline() -> &'static Baseline {
    static BASELINE: std::sync::OnceLock<Baseline> = std::sync::OnceLock::new();
    BASELINE.get_or_init(|| {
        let (lineage, timeline) = trace_source(&root().join("fixtures/incident"), 1);
        let rows = rows(&timeline);
        (incident_files(), lineage, rows, timeline.duplicates_dropped)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Reading the incident's files in any order (the order of their
    /// names, in a flat copy outside the delivery layout) with one or two
    /// workers gives the same lineage and the same timeline rows as reading
    /// it in place.
    #[test]
    fn lineage_does_not_depend_on_file_order(
        names in Just((0..incident_files().len()).map(|i| format!("copy-{i:03}.json.gz")).collect::<Vec<String>>()).prop_shuffle(),
        threads in 1usize..=2,
    ) {
        let (files, want_lineage, want_rows, want_duplicates) = baseline();
        prop_assert!(want_lineage.credentials.len() > 3);
        let dir = tempfile::tempdir().expect("temp dir");
        for ((_, bytes), name) in files.iter().zip(&names) {
            std::fs::write(dir.path().join(name), bytes).expect("copy");
        }
        let (lineage, timeline) = trace_source(dir.path(), threads);
        prop_assert_eq!(&lineage.credentials, &want_lineage.credentials);
        prop_assert_eq!(&rows(&timeline), want_rows);
        prop_assert_eq!(timeline.duplicates_dropped, *want_duplicates);
    }
}

/// Copies every incident file flat into `dir`, file `i` named `names[i]`.
fn copy_flat(files: &[(String, Vec<u8>)], dir: &Path, names: &[String]) -> PathBuf {
    std::fs::create_dir_all(dir).expect("dir");
    for ((_, bytes), name) in files.iter().zip(names) {
        std::fs::write(dir.join(name), bytes).expect("copy");
    }
    dir.to_owned()
}

/// The CLI over differently named (so differently ordered) flat copies, and
/// with sources given in different orders, reports the same lineage and the
/// same timeline rows as over the delivered layout.
#[test]
fn cli_lineage_does_not_depend_on_file_order() {
    let env = TestEnv::new();
    let files = incident_files();
    let run = |sources: &[&str], tag: &str| {
        let csv = env.path(&format!("{tag}.csv"));
        let report = env.path(&format!("{tag}.json"));
        let mut args = vec![
            "--key",
            SEED,
            "-o",
            csv.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            "-q",
        ];
        args.extend_from_slice(sources);
        let out = env.trace(&args);
        assert_eq!(code(&out), 0, "{tag}: {}", show(&out));
        let credentials = credentials(&json(&report));
        // Every column but the last (source_file).
        let rows: Vec<String> = ::csv::Reader::from_path(&csv)
            .expect("csv")
            .records()
            .map(|r| {
                let r = r.expect("row");
                r.iter().take(r.len() - 1).collect::<Vec<_>>().join("|")
            })
            .collect();
        (credentials, rows)
    };
    let want = run(&["fixtures/incident"], "layout");
    assert!(want.0.len() > 3);

    // Forward, reversed, and interleaved names: the read order follows names.
    let n = files.len();
    let orders: [Vec<usize>; 3] = [
        (0..n).collect(),
        (0..n).rev().collect(),
        (0..n).map(|i| (i * 7 + 3) % n).collect(),
    ];
    for (k, order) in orders.iter().enumerate() {
        let mut names = vec![String::new(); n];
        for (rank, &i) in order.iter().enumerate() {
            names[i] = format!("{rank:03}-copy.json.gz");
        }
        let dir = copy_flat(&files, &env.path(&format!("flat{k}")), &names);
        let got = run(&[dir.to_str().unwrap()], &format!("flat{k}"));
        assert_eq!(got.0, want.0, "order {k}: credentials differ");
        assert_eq!(got.1, want.1, "order {k}: timeline rows differ");
    }

    // The same files split across two sources, named in either order.
    let half = env.path("half");
    let (a, b) = files.split_at(n / 2);
    let names_a: Vec<String> = (0..a.len()).map(|i| format!("a{i:03}.json.gz")).collect();
    let names_b: Vec<String> = (0..b.len()).map(|i| format!("b{i:03}.json.gz")).collect();
    let da = copy_flat(a, &half.join("one"), &names_a);
    let db = copy_flat(b, &half.join("two"), &names_b);
    let ab = run(&[da.to_str().unwrap(), db.to_str().unwrap()], "ab");
    let ba = run(&[db.to_str().unwrap(), da.to_str().unwrap()], "ba");
    assert_eq!(ab, ba, "source order changes the result");
    assert_eq!(ab.0, want.0);
}
