//! Micro-benchmarks of the hot paths (issue 4): decoding one delivered file,
//! the key prefilter, the full parse of one record, and the lineage fixpoint
//! on a large graph.
//!
//! Inputs come from the corpus generator (`examples/gen_corpus.rs`, included
//! below), so the records have the sizes and shapes of the benchmark corpus.
//! Each group runs in a few seconds: `cargo bench --bench micro`.

// `criterion_main!` generates an undocumented `pub fn main`.
#![allow(missing_docs)]

use std::collections::{BTreeSet, HashSet};
use std::hint::black_box;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use flate2::Compression;
use flate2::write::GzEncoder;
use keytrail::decode::record::{key_fields, parse_record};
use keytrail::decode::{self, Scratch, Sink};
use keytrail::event::Event;
use keytrail::model::AccessKeyId;
use keytrail::time::Span;
use keytrail::trace::{TraceParams, trace};
use memchr::memmem;

#[allow(dead_code, unreachable_pub, clippy::all)]
#[path = "../examples/gen_corpus.rs"]
mod gen_corpus;

/// Records in the sample file: a typical file of the 1.5 M-event corpus.
const FILE_RECORDS: usize = 220;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::new(6));
    e.write_all(data).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

/// Parses the records whose `accessKeyId` fields hold a watched key, as
/// keytrail's scan does.
struct KeySink {
    keys: HashSet<String>,
    events: usize,
}

impl KeySink {
    fn new(keys: &[String]) -> KeySink {
        KeySink {
            keys: keys.iter().cloned().collect(),
            events: 0,
        }
    }
}

impl Sink for KeySink {
    fn wants(&mut self, record: &[u8]) -> bool {
        watched(&self.keys, record)
    }
    fn event(&mut self, _: Event) {
        self.events += 1;
    }
}

fn watched(keys: &HashSet<String>, record: &[u8]) -> bool {
    key_fields(record).any(|k| std::str::from_utf8(k).is_ok_and(|k| keys.contains(k)))
}

/// Parses nothing, or everything.
struct AllOrNothing(bool, usize);

impl Sink for AllOrNothing {
    fn wants(&mut self, _: &[u8]) -> bool {
        self.0
    }
    fn event(&mut self, _: Event) {
        self.1 += 1;
    }
}

fn decode_file(c: &mut Criterion) {
    let (json, keys) = gen_corpus::sample_file(1, FILE_RECORDS);
    let gz = gzip(json.as_bytes());
    let origin: Arc<str> = Arc::from("bench.json.gz");
    let mut g = c.benchmark_group("decode_file");
    g.throughput(Throughput::Bytes(json.len() as u64));
    let mut scratch = Scratch::default();
    g.bench_function("gz_prefilter_8_keys", |b| {
        let mut sink = KeySink::new(&keys);
        b.iter(|| decode::decode(black_box(&gz[..]), &origin, &mut sink, &mut scratch));
    });
    g.bench_function("gz_parse_nothing", |b| {
        let mut sink = AllOrNothing(false, 0);
        b.iter(|| decode::decode(black_box(&gz[..]), &origin, &mut sink, &mut scratch));
    });
    g.bench_function("gz_parse_everything", |b| {
        let mut sink = AllOrNothing(true, 0);
        b.iter(|| decode::decode(black_box(&gz[..]), &origin, &mut sink, &mut scratch));
    });
    g.bench_function("plain_prefilter_8_keys", |b| {
        let mut sink = KeySink::new(&keys);
        b.iter(|| decode::decode(black_box(json.as_bytes()), &origin, &mut sink, &mut scratch));
    });
    g.bench_function("inflate_only_flate2", |b| {
        let mut out = Vec::with_capacity(json.len());
        b.iter(|| {
            out.clear();
            let mut d = flate2::read::MultiGzDecoder::new(black_box(&gz[..]));
            std::io::copy(&mut d, &mut out).expect("inflate");
            out.len()
        });
    });
    g.finish();
}

fn prefilter(c: &mut Criterion) {
    // About 2 MB of decompressed records, searched whole.
    let (json, keys) = gen_corpus::sample_file(2, FILE_RECORDS * 10);
    let hay = json.as_bytes();
    let mut g = c.benchmark_group("prefilter");
    g.throughput(Throughput::Bytes(hay.len() as u64));
    g.bench_function("memmem_1_key", |b| {
        let finder = memmem::Finder::new(keys[0].as_bytes());
        b.iter(|| finder.find_iter(black_box(hay)).count());
    });
    // What the scan does per record: every `accessKeyId` value, looked up.
    let mut records: Vec<Vec<u8>> = Vec::new();
    decode::split::split(hay, decode::MAX_RECORD, &mut Vec::new(), |p| {
        if let decode::split::Piece::Record(r) = p {
            records.push(r.to_vec());
        }
    })
    .expect("generated records split");
    for n in [1, 8] {
        let watch: HashSet<String> = keys[..n].iter().cloned().collect();
        g.bench_with_input(BenchmarkId::new("key_fields", n), &watch, |b, watch| {
            b.iter(|| {
                records
                    .iter()
                    .filter(|r| watched(watch, black_box(r)))
                    .count()
            });
        });
    }
    g.finish();
}

fn parse_one(c: &mut Criterion) {
    let (plain, sts) = gen_corpus::sample_records(3);
    let origin: Arc<str> = Arc::from("bench.json.gz");
    let mut g = c.benchmark_group("parse_record");
    for (name, rec) in [("plain", &plain), ("sts_with_credentials", &sts)] {
        g.throughput(Throughput::Bytes(rec.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(name), rec, |b, rec| {
            b.iter(|| parse_record(black_box(rec.as_bytes()), &origin).expect("valid record"));
        });
    }
    g.finish();
}

fn key(i: usize) -> String {
    format!("ASIA{i:016}")
}

/// A lineage of `creds` credentials, each with `actions` noise events: chains
/// up to `depth` deep, each credential minting two children, plus the same
/// number of minting events by keys outside the lineage.
fn lineage_events(creds: usize, depth: usize, actions: usize) -> Vec<Event> {
    let origin: Arc<str> = Arc::from("bench");
    let base = 1_765_152_000_i64;
    let time = |s: i64| {
        let t = chrono::DateTime::from_timestamp(base + s, 0).expect("in range");
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    };
    let mut json = Vec::new();
    // Credential i > 0 is minted by (i - 1) / 2 in a binary tree, except
    // that the first `depth` form one long chain.
    for i in 1..creds {
        let parent = if i < depth { i - 1 } else { (i - depth) / 2 };
        let t = i as i64;
        json.push(format!(
            r#"{{"eventID":"m{i}","eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userIdentity":{{"type":"AssumedRole","accessKeyId":"{}"}},"requestParameters":{{"roleArn":"arn:aws:iam::111111111111:role/r","roleSessionName":"s"}},"responseElements":{{"credentials":{{"accessKeyId":"{}","sessionToken":"tok","expiration":"Dec 20, 2025, 2:03:12 AM"}}}}}}"#,
            time(t),
            key(parent),
            key(i)
        ));
        json.push(format!(
            r#"{{"eventID":"x{i}","eventTime":"{}","eventSource":"sts.amazonaws.com","eventName":"GetSessionToken","userIdentity":{{"type":"IAMUser","accessKeyId":"AKIA{i:016}"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIB{i:016}","expiration":"Dec 20, 2025, 2:03:12 AM"}}}}}}"#,
            time(t)
        ));
        for a in 0..actions {
            json.push(format!(
                r#"{{"eventID":"a{i}-{a}","eventTime":"{}","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{{"type":"AssumedRole","accessKeyId":"{}"}}}}"#,
                time(t + 1 + a as i64),
                key(i)
            ));
        }
    }
    json.iter()
        .map(|j| parse_record(j.as_bytes(), &origin).expect("valid record"))
        .collect()
}

fn fixpoint(c: &mut Criterion) {
    let events = lineage_events(20_000, 2_000, 3);
    let params = TraceParams {
        seeds: BTreeSet::from([AccessKeyId::parse(&key(0)).expect("key id")]),
        seed_window: Span::ALL,
        follow_created_keys: true,
        follow_footholds: true,
    };
    let lineage = trace(&events, &params);
    assert_eq!(lineage.credentials.len(), 20_000);
    let mut g = c.benchmark_group("trace_fixpoint");
    g.sample_size(10);
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("100k_events_20k_creds_depth_2000", |b| {
        b.iter(|| trace(black_box(&events), &params).credentials.len());
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = decode_file, prefilter, parse_one, fixpoint
}
criterion_main!(benches);
