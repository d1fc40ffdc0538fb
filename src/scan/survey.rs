//! The scan split in two passes, for a cluster (`keytrail shard`).
//!
//! On one machine the scan learns new keys while it reads and comes back
//! for the files a late key needs. Spread over a cluster that would mean
//! a round of tasks per generation of keys. Instead:
//!
//! 1. [`survey`] reads every file once, without knowing the lineage, and
//!    keeps only what can extend it (every minting, lifecycle, sign-in,
//!    console and foothold record) and the file's key filter, the same
//!    Bloom filter the one-machine scan keeps to decide re-reads;
//! 2. the lineage's watch list is closed over those few records alone
//!    (the orchestrator does it, with the trace's own rule);
//! 3. [`select`] reads again only the files whose filter may hold a key of
//!    the closed watch list ([`Needles::pending`]), and keeps the records
//!    the one-machine scan would have kept ([`Needles::wants`]).
//!
//! Records travel between the steps as compact JSON with every
//! `sessionToken` redacted ([`normalized`]), which parses back into the
//! same [`Event`](crate::event::Event).

use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;
use chrono::NaiveDate;

use super::filter::{KeyFilter, key_hash};
use super::keys::{Matcher, Needle};
use super::listing::{self, source_error};
use super::parallel::{lock, workers};
use super::{ScanParams, Watchlist};
use crate::decode::record::{key_fields, lineage_fields, normalized};
use crate::decode::{self, Scratch, Status};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::inputs::Format;
use crate::model::AccessKeyId;
use crate::source::local::LocalStore;
use crate::source::s3::S3Store;
use crate::source::{Body, OpenError, PassedOver, SourceSpec, Store};
use crate::time::Span;

/// One file a listing found.
#[derive(Clone, Debug)]
pub struct Listed {
    /// Which of the sources holds it.
    pub source: usize,
    /// Its path or key relative to the source's store.
    pub rel: String,
    /// How it is named in outputs (`source_file`).
    pub name: String,
    /// Its size as listed.
    pub size: u64,
    /// The event times it can hold.
    pub span: Span,
    /// Its day folder, for a file inside a region's day folders: it is
    /// listed only when a key's window reaches that day. `None` for files
    /// that are always listed.
    pub day: Option<NaiveDate>,
}

/// What listing the sources found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every file, in listing order.
    pub files: Vec<Listed>,
    /// Entries passed over, with the day folder they were in, if any.
    pub passed_over: Vec<(PassedOver, Option<NaiveDate>)>,
}

/// Lists `sources` with the layout pruning of the scan, for a window of
/// keys `window`: the day folders it can reach, and everything outside the
/// layout.
pub fn list(sources: &[SourceSpec], params: &ScanParams, window: Span) -> Result<Listing> {
    let (stores, mut catalog) = listing::open_sources(sources, params)?;
    let mut out = Listing::default();
    let entry = |stores: &[Box<dyn Store>], i: &crate::source::Input, day| {
        let store = stores[i.store()].as_ref();
        Listed {
            source: i.store(),
            rel: i.rel(),
            name: store.display(&i.rel()),
            size: i.size,
            span: i.span,
            day,
        }
    };
    for i in &catalog.free {
        out.files.push(entry(&stores, i, None));
    }
    out.passed_over
        .extend(catalog.passed_over.drain(..).map(|p| (p, None)));
    let mut first_error = Ok(());
    for region in &mut catalog.regions {
        let store = stores[region.store()].as_ref();
        match region.expand(store, window, params.delivery_margin) {
            Ok(found) => {
                for (i, day) in found.inputs.iter().zip(&found.input_days) {
                    out.files.push(entry(&stores, i, Some(*day)));
                }
                out.passed_over
                    .extend(found.passed_over.into_iter().zip(found.passed_over_days));
            }
            Err(e) => {
                if first_error.is_ok() {
                    first_error = Err(source_error(store, "", &e.0));
                }
            }
        }
    }
    first_error.map(|()| out)
}

/// Connects to a source's store without listing it.
pub fn connect(spec: &SourceSpec, params: &ScanParams) -> Result<Box<dyn Store>> {
    let fatal = |reason: String| Error::Source {
        source_name: spec.to_string(),
        reason,
    };
    Ok(match spec {
        // A file named as the source: its store is its folder.
        SourceSpec::Local(path) => Box::new(LocalStore::open(path).map_err(|e| fatal(e.0))?.0),
        SourceSpec::S3(url) => Box::new(S3Store::connect(url, &params.s3).map_err(|e| fatal(e.0))?),
    })
}

/// Opens `files` (store index, relative path) and hands each body to
/// `each`, `threads` at a time; the results come back in the order given.
pub fn read_each<R: Send>(
    stores: &[Box<dyn Store>],
    files: &[(usize, String)],
    threads: usize,
    each: impl Fn(usize, Arc<str>, std::result::Result<Body, OpenError>, &mut Scratch) -> R + Sync,
) -> Vec<R> {
    let mut queues = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        let mine: Vec<usize> = (0..files.len()).filter(|&i| files[i].0 == s).collect();
        if mine.is_empty() {
            continue;
        }
        let rels = Box::new(mine.clone().into_iter().map(|i| files[i].1.clone()));
        queues.push(mine.into_iter().zip(store.open_all(rels)));
    }
    let queue = Mutex::new(queues.into_iter().flatten());
    let results = Mutex::new(Vec::with_capacity(files.len()));
    workers(threads, || {
        let mut scratch = Scratch::default();
        loop {
            let Some((index, body)) = lock(&queue).next() else {
                break;
            };
            let (store, rel) = &files[index];
            let name: Arc<str> = Arc::from(stores[*store].display(rel));
            let r = each(index, name, body, &mut scratch);
            lock(&results).push((index, r));
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// What one read of one file found.
#[derive(Debug, Default)]
pub struct Read {
    /// Records in it.
    pub records: u64,
    /// Compressed bytes read.
    pub bytes: u64,
    /// How far it could be read.
    pub status: Status,
    /// What its content was recognised as, when it held records.
    pub format: Option<Format>,
    /// Kept records that could not be used: `(index, reason)`.
    pub bad: Vec<(u64, String)>,
    /// Its key filter, when it was read whole ([`survey`] only).
    pub filter: Option<Vec<u64>>,
    /// The records kept, [`normalized`] (pass 2) or cut to
    /// [`lineage_fields`] (pass 1).
    pub records_kept: Vec<String>,
}

/// Pass 1: reads a file for what can extend any lineage, and its key
/// filter.
pub fn survey(
    name: &Arc<str>,
    body: std::result::Result<Body, OpenError>,
    scratch: &mut Scratch,
) -> Read {
    let mut sink = Keeper {
        keep: Keep::Extending,
        keys: Vec::new(),
        wanted: Vec::new(),
        kept: Vec::new(),
    };
    let mut read = read_with(name, body, &mut sink, scratch);
    read.filter = match read.status {
        Status::Complete => Some(KeyFilter::of(&mut sink.keys).0),
        Status::NotEvents(_) => Some(Vec::new()),
        Status::Partial(_) | Status::Failed(_) => None,
    };
    // Pass 1 is blind to the lineage: a damaged record it parsed for lack
    // of a better test is reported by pass 2, if it matters.
    read.bad.clear();
    read.records_kept = sink.kept;
    read
}

/// Pass 2: reads a file for the records that `needles` select, as the
/// one-machine scan would keep them.
pub fn select(
    name: &Arc<str>,
    span: Span,
    needles: &Needles,
    body: std::result::Result<Body, OpenError>,
    scratch: &mut Scratch,
) -> Read {
    let mut sink = Keeper {
        keep: Keep::Selected(needles, span),
        keys: Vec::new(),
        wanted: Vec::new(),
        kept: Vec::new(),
    };
    let mut read = read_with(name, body, &mut sink, scratch);
    read.records_kept = sink.kept;
    read
}

fn read_with(
    name: &Arc<str>,
    body: std::result::Result<Body, OpenError>,
    sink: &mut Keeper<'_>,
    scratch: &mut Scratch,
) -> Read {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return Read {
                status: Status::Failed(e.0),
                ..Read::default()
            };
        }
    };
    let mut counting = Counting {
        inner: body,
        count: 0,
    };
    let decoded = decode::decode(&mut counting, name, sink, scratch);
    Read {
        records: decoded.records,
        bytes: counting.count,
        status: decoded.status,
        format: decoded.format,
        bad: decoded
            .bad_records
            .into_iter()
            .map(|b| (b.index, b.reason))
            .collect(),
        filter: None,
        records_kept: Vec::new(),
    }
}

struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

enum Keep<'a> {
    /// Records that can extend a lineage, whoever made them.
    Extending,
    /// Records the needles select, in a file with this span.
    Selected(&'a Needles, Span),
}

struct Keeper<'a> {
    keep: Keep<'a>,
    keys: Vec<u64>,
    /// The bytes of the record last wanted, until it parses.
    wanted: Vec<u8>,
    kept: Vec<String>,
}

impl decode::Sink for Keeper<'_> {
    fn wants(&mut self, record: &[u8]) -> bool {
        let wanted = match self.keep {
            Keep::Extending => {
                self.keys.extend(key_fields(record).map(key_hash));
                may_extend(record)
            }
            Keep::Selected(needles, span) => needles.wants(record, span),
        };
        if wanted {
            self.wanted.clear();
            self.wanted.extend_from_slice(record);
        }
        wanted
    }

    fn event(&mut self, e: Event) {
        let json = match self.keep {
            Keep::Extending if !(e.may_extend_lineage() || e.key_operation.is_some()) => return,
            // A console session's ordinary call counts only by who made
            // it, and when: its request and response stay behind.
            Keep::Extending => {
                let payload = e.minted.is_some()
                    || e.opening.is_some()
                    || e.key_operation.is_some()
                    || e.name == "GetSigninToken";
                lineage_fields(&self.wanted, payload)
            }
            Keep::Selected(..) => normalized(&self.wanted),
        };
        if let Some(json) = json {
            self.kept.push(json);
        }
    }
}

/// Words at least one of which every record that can extend a lineage
/// holds ([`Event::may_extend_lineage`], and lifecycle calls): a minted
/// credential's `credentials` or `"accessKey":`, a console session's
/// flag, a sign-in token, and the names of the calls that build footholds
/// or change a key's status. A record holding none is not parsed.
const EXTENDING: &[&str] = &[
    "credentials",
    "\"accessKey\":",
    "\\\"accessKey\\\":",
    "sessionCredentialFromConsole",
    "GetSigninToken",
    "UpdateAccessKey",
    "DeleteAccessKey",
    "CreateUser",
    "LoginProfile",
    "UploadSSHPublicKey",
    "CreateServiceSpecificCredential",
    "UploadSigningCertificate",
    "CreateRole",
    "UpdateAssumeRolePolicy",
    "SAMLProvider",
    "CreateOpenIDConnectProvider",
    "RunInstances",
    "AssociateIamInstanceProfile",
    "CreateFunction",
    "UpdateFunctionConfiguration",
];

fn may_extend(record: &[u8]) -> bool {
    static WORDS: std::sync::LazyLock<Option<AhoCorasick>> =
        std::sync::LazyLock::new(|| AhoCorasick::new(EXTENDING).ok());
    // Should the automaton not build, every record is parsed: slower,
    // never less.
    WORDS.as_ref().is_none_or(|w| w.is_match(record))
}

/// A closed watch list, fixed: what pass 2 searches for, and what decides
/// which files the one-machine scan would have read.
pub struct Needles {
    matcher: Matcher,
}

impl Needles {
    /// The needles of a watch list.
    pub fn new(watch: &impl Watchlist) -> Needles {
        Needles {
            matcher: Matcher::new(watch),
        }
    }

    /// Whether the one-machine scan keeps this record from a file with
    /// this span: a key field holds a key relevant to the span (a seed, or
    /// a key whose window overlaps it), or a watched ARN or name whose
    /// window overlaps it is in the record.
    pub fn wants(&self, record: &[u8], span: Span) -> bool {
        let m = &self.matcher;
        let by_key = key_fields(record).any(|key| {
            m.id(key, key_hash(key))
                .is_some_and(|id| m.relevant(&span).any(|r| r == id))
        });
        by_key
            || (m.may_hold_arn(record)
                && m.arns.iter().any(|&id| {
                    m.keys[id].1.overlaps(&span)
                        && m.arn(id).is_some_and(|f| f.find(record).is_some())
                }))
    }

    /// Whether the one-machine scan reads a file with this span at all:
    /// some window overlaps it.
    pub fn reads(&self, span: Span) -> bool {
        self.matcher.keys.iter().any(|(_, w)| w.overlaps(&span))
    }

    /// Whether a file must be read again: the one-machine scan reads it,
    /// and a needle relevant to its span (a seed, or a needle whose window
    /// overlaps it) may be in it: a key its key filter (`None`: not read
    /// whole) may hold, or an ARN or name, which may be in any file of
    /// events.
    pub fn pending(&self, span: Span, filter: Option<&[u64]>, not_events: bool) -> bool {
        let m = &self.matcher;
        !not_events
            && self.reads(span)
            && m.relevant(&span).any(|id| match (&m.keys[id].0, filter) {
                (Needle::Key(k), Some(words)) => KeyFilter(words).may_contain_key(k),
                (Needle::Key(_), None) | (Needle::Arn(_), _) => true,
            })
    }

    /// Whether the one-machine scan keeps this record from a file with
    /// this span: it reads the file, and [`Needles::wants`] the record.
    pub fn keeps(&self, record: &[u8], span: Span) -> bool {
        self.reads(span) && self.wants(record, span)
    }

    /// The smallest span holding every window: the day folders the
    /// one-machine scan lists.
    pub fn hull(&self) -> Option<Span> {
        self.matcher
            .keys
            .iter()
            .map(|(_, w)| *w)
            .reduce(|a, b| a.hull(&b))
    }

    /// The watched keys and their windows, then the ARNs and names.
    pub fn describe(&self) -> Vec<(String, Span)> {
        self.matcher
            .keys
            .iter()
            .map(|(n, w)| {
                let text = match n {
                    Needle::Key(k) => k.to_string(),
                    Needle::Arn(f) => String::from_utf8_lossy(f.needle()).into_owned(),
                };
                (text, *w)
            })
            .collect()
    }
}

impl KeyFilter<&[u64]> {
    fn may_contain_key(&self, key: &AccessKeyId) -> bool {
        self.may_contain(key.as_str().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::decode::record::parse_record;

    /// Every record of the fixtures, as bytes.
    fn records(dir: &Path, out: &mut Vec<Vec<u8>>) {
        struct All<'a>(&'a mut Vec<Vec<u8>>);
        impl decode::Sink for All<'_> {
            fn wants(&mut self, record: &[u8]) -> bool {
                self.0.push(record.to_vec());
                false
            }
            fn event(&mut self, _: Event) {}
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                records(&path, out);
            } else if path.to_string_lossy().contains(".json") {
                let body = std::fs::File::open(&path).unwrap();
                let name: Arc<str> = Arc::from("x");
                decode::decode(body, &name, &mut All(out), &mut Scratch::default());
            }
        }
    }

    #[test]
    fn the_prefilter_passes_every_record_that_can_extend_a_lineage() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut all = Vec::new();
        for set in ["incident", "lineage", "footholds", "stratus"] {
            records(&root.join(set), &mut all);
        }
        let origin: Arc<str> = Arc::from("x");
        let mut extending = 0;
        for bytes in &all {
            let Ok(e) = parse_record(bytes, &origin) else {
                continue;
            };
            if e.may_extend_lineage() || e.key_operation.is_some() {
                extending += 1;
                assert!(may_extend(bytes), "{}", String::from_utf8_lossy(bytes));
                // What pass 1 ships parses back into the same lineage facts.
                let cut = lineage_fields(bytes, true).unwrap();
                let back = parse_record(cut.as_bytes(), &origin).unwrap();
                assert_eq!(
                    (
                        &back.id,
                        back.time,
                        &back.identity,
                        &back.minted,
                        &back.opening
                    ),
                    (&e.id, e.time, &e.identity, &e.minted, &e.opening)
                );
                assert!(!cut.contains("sessionToken\":\"IQo"), "{cut}");
            }
        }
        assert!(extending > 50, "{extending} of {} records", all.len());
    }
}
