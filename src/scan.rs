//! The orchestrator: the one place where work is parallel.
//!
//! Files are read in time order by a fixed pool of workers, each pulling the
//! next file from a shared queue. While they read, the watch list of key ids
//! grows as minting events turn up, and every worker looks for the newest
//! list. A key can still be discovered after files in its window were read
//! (a late-delivered `CreateAccessKey`, a file outside the layout): the scan
//! therefore runs in passes until no file has a relevant key it has not been
//! searched for. A re-read looks only for the keys that file has not been
//! searched for, and never re-collects a record it collected before, so each
//! file outside every derived window is read at most once.
//!
//! Everything after the scan (dedupe, trace, ordering) is sequential and
//! deterministic, so the timeline does not depend on the thread count.

use std::collections::BTreeSet;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use aho_corasick::AhoCorasick;

use crate::config::{Config, SourceSpec};
use crate::decode::{self, Scratch, Status};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::model::AccessKeyId;
use crate::output::progress::Progress;
use crate::source::layout::Catalog;
use crate::source::local::LocalStore;
use crate::source::s3::S3Store;
use crate::source::{Body, Entry, Input, OpenError, PassedOver, Span, Store};
use crate::timeline::{Timeline, dedupe};
use crate::trace::{Lineage, Watch, trace};

/// A file or object that could not be read completely, or was passed over.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct InputIssue {
    /// The path or `s3://` URL.
    pub source: String,
    /// Why.
    pub reason: String,
}

/// A record that mentions a lineage key but could not be used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordIssue {
    /// The path or `s3://` URL of its file.
    pub source: String,
    /// Its index in the file, from 0.
    pub record: u64,
    /// Why it could not be used.
    pub reason: String,
}

/// What was read, and what could not be.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct InputStats {
    /// Files and objects listed in the layout windows and outside the layout.
    pub files_listed: u64,
    /// Distinct files and objects read at least once.
    pub files_read: u64,
    /// Files listed but outside every key's window, so never read.
    pub files_pruned: u64,
    /// Re-reads of a file for keys discovered after it was first read.
    pub rereads: u64,
    /// Compressed bytes read, re-reads included.
    pub bytes_read: u64,
    /// Records seen in the files read.
    pub records: u64,
    /// Inputs that could not be read at all (failures).
    pub skipped: Vec<InputIssue>,
    /// Inputs read only up to some damage.
    pub partial: Vec<InputIssue>,
    /// Inputs left alone by design: digests, Insights, FIFOs, folder symlinks.
    pub skipped_by_design: Vec<InputIssue>,
    /// Records that mention a lineage key but could not be used.
    pub bad_records: Vec<RecordIssue>,
}

impl InputStats {
    /// Whether some evidence may be missing: the run's exit status is 3.
    pub fn incomplete(&self) -> bool {
        !self.skipped.is_empty() || !self.partial.is_empty() || !self.bad_records.is_empty()
    }
}

/// Everything a run found.
#[derive(Debug)]
pub struct Outcome {
    /// The credential lineage.
    pub lineage: Lineage,
    /// The ordered timeline.
    pub timeline: Timeline,
    /// What was read.
    pub inputs: InputStats,
}

/// The key ids being looked for, as one automaton.
struct Matcher {
    ac: AhoCorasick,
    keys: Vec<(AccessKeyId, Span)>,
    seeds: BTreeSet<AccessKeyId>,
}

impl Matcher {
    fn new(watch: &Watch) -> Matcher {
        let keys: Vec<(AccessKeyId, Span)> = watch
            .windows()
            .iter()
            .map(|(k, w)| (k.clone(), *w))
            .collect();
        // Building fails only past the automaton's size limits, which
        // thousands of key ids of at most 128 bytes do not approach.
        #[allow(clippy::expect_used)]
        let ac = AhoCorasick::new(keys.iter().map(|(k, _)| k.as_str()))
            .expect("key ids fit in an automaton");
        Matcher {
            ac,
            keys,
            seeds: watch.seeds().clone(),
        }
    }
}

struct Shared {
    watch: Watch,
    matcher: Arc<Matcher>,
}

struct FileState {
    input: Input,
    searched: BTreeSet<AccessKeyId>,
    read: bool,
    keys: Option<Box<KeyFilter>>,
}

struct FileResult {
    index: usize,
    searched: BTreeSet<AccessKeyId>,
    bytes: u64,
    records: u64,
    events: Vec<Event>,
    bad: Vec<(u64, String)>,
    status: Status,
    /// The key ids in the file's `accessKeyId` fields, when it was read whole.
    keys: Option<Box<KeyFilter>>,
}

/// Runs the whole trace: list, scan to a fixpoint, dedupe, trace, order.
pub fn run(config: &Config, progress: &Progress) -> Result<Outcome> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()
        .map_err(|e| Error::Threads {
            threads: config.threads,
            reason: e.to_string(),
        })?;
    let (stores, mut catalog) = open_sources(config)?;
    let mut stats = InputStats::default();
    for p in std::mem::take(&mut catalog.passed_over) {
        push_passed_over(&mut stats, p);
    }
    let mut files: Vec<FileState> = std::mem::take(&mut catalog.free)
        .into_iter()
        .map(FileState::new)
        .collect();
    let watch = Watch::new(&config.trace);
    let shared = RwLock::new(Shared {
        matcher: Arc::new(Matcher::new(&watch)),
        watch,
    });
    let mut events = Vec::new();
    let done = AtomicU64::new(0);
    loop {
        // The matcher is rebuilt with every change to the watch list, so its
        // keys are the watch list's windows.
        let matcher = Arc::clone(&read(&shared).matcher);
        let windows = &matcher.keys;
        let hull = windows.iter().fold(None::<Span>, |h, (_, w)| {
            Some(h.map_or(*w, |h| Span {
                start: h.start.min(w.start),
                end: h.end.max(w.end),
            }))
        });
        if let Some(hull) = hull {
            for region in &mut catalog.regions {
                let store = stores[region.store()].as_ref();
                let found = region
                    .expand(store, hull, config.delivery_margin)
                    .map_err(|e| source_error(store, "", &e.0))?;
                files.extend(found.inputs.into_iter().map(FileState::new));
                for p in found.passed_over {
                    push_passed_over(&mut stats, p);
                }
            }
        }
        let mut work: Vec<usize> = (0..files.len())
            .filter(|&i| files[i].has_pending(windows))
            .collect();
        if work.is_empty() {
            break;
        }
        work.sort_by(|&a, &b| {
            let (a, b) = (&files[a].input, &files[b].input);
            (a.span.start, &a.name).cmp(&(b.span.start, &b.name))
        });
        progress.queued(
            work.len() as u64,
            work.iter().map(|&i| files[i].input.size).sum(),
        );
        let results = scan_pass(
            &pool,
            config.threads,
            &stores,
            &files,
            &work,
            &shared,
            progress,
            &done,
        );
        for r in results {
            let file = &mut files[r.index];
            stats.bytes_read += r.bytes;
            if file.read {
                stats.rereads += 1;
            } else {
                stats.files_read += 1;
                stats.records += r.records;
            }
            file.read = true;
            file.searched.extend(r.searched);
            file.keys = r.keys;
            let source = file.input.name.to_string();
            stats
                .bad_records
                .extend(r.bad.into_iter().map(|(record, reason)| RecordIssue {
                    source: source.clone(),
                    record,
                    reason,
                }));
            events.extend(r.events);
            // Every read reports its damage: a re-read that fails (an
            // expired token, an object gone) loses events as surely as a
            // first read. The lists are deduplicated below.
            let issue = |reason| InputIssue {
                source: source.clone(),
                reason,
            };
            match r.status {
                Status::Complete => {}
                Status::Partial(reason) => stats.partial.push(issue(reason)),
                Status::Failed(reason) => stats.skipped.push(issue(reason)),
                Status::NotEvents(reason) => stats.skipped_by_design.push(issue(reason)),
            }
        }
        // A minting record collected before its actor was watched taught
        // the watch list nothing; replay the minting events to a fixpoint so
        // what is searched for does not depend on how workers interleaved.
        let mut guard = shared.write().unwrap_or_else(PoisonError::into_inner);
        let mut learned = false;
        loop {
            let mut grew = false;
            for e in events.iter().filter(|e| e.minted.is_some()) {
                grew |= guard.watch.observe(e).is_some();
            }
            learned |= grew;
            if !grew {
                break;
            }
        }
        if learned {
            guard.matcher = Arc::new(Matcher::new(&guard.watch));
        }
    }
    progress.finish();
    stats.files_listed = files.len() as u64;
    stats.files_pruned = files.iter().filter(|f| !f.read).count() as u64;
    for list in [
        &mut stats.skipped,
        &mut stats.partial,
        &mut stats.skipped_by_design,
    ] {
        list.sort_by(|a, b| (&a.source, &a.reason).cmp(&(&b.source, &b.reason)));
        list.dedup();
    }
    stats
        .bad_records
        .sort_by(|a, b| (&a.source, a.record).cmp(&(&b.source, b.record)));
    stats.bad_records.dedup();

    let (events, duplicates) = dedupe(events);
    let lineage = trace(&events, &config.trace);
    let timeline = Timeline::build(events, &lineage, duplicates);
    Ok(Outcome {
        lineage,
        timeline,
        inputs: stats,
    })
}

impl FileState {
    fn new(input: Input) -> FileState {
        FileState {
            input,
            searched: BTreeSet::new(),
            read: false,
            keys: None,
        }
    }

    /// Whether a key relevant to this file has not been searched for in it.
    /// The worker recomputes the exact set with the newest watch list.
    ///
    /// A file read whole is re-read only for keys its `accessKeyId` fields may
    /// hold: every appearance that makes an event part of the lineage (the
    /// caller's key, a minted key, a key acted on) is such a field. This is
    /// what keeps a late-discovered long-lived key from re-reading every file
    /// after it.
    fn has_pending(&self, windows: &[(AccessKeyId, Span)]) -> bool {
        windows.iter().any(|(k, w)| {
            w.overlaps(&self.input.span)
                && !self.searched.contains(k)
                && self.keys.as_ref().is_none_or(|f| f.may_contain(k.as_str()))
        })
    }
}

fn read(shared: &RwLock<Shared>) -> std::sync::RwLockReadGuard<'_, Shared> {
    shared.read().unwrap_or_else(PoisonError::into_inner)
}

#[allow(clippy::too_many_arguments)]
fn scan_pass(
    pool: &rayon::ThreadPool,
    threads: usize,
    stores: &[Box<dyn Store>],
    files: &[FileState],
    work: &[usize],
    shared: &RwLock<Shared>,
    progress: &Progress,
    done: &AtomicU64,
) -> Vec<FileResult> {
    // One ordered stream of bodies per store, drained by all workers.
    let mut queues = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        let mine: Vec<usize> = work
            .iter()
            .copied()
            .filter(|&i| files[i].input.store == s)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let rels = mine.iter().map(|&i| files[i].input.rel.clone()).collect();
        queues.push(mine.into_iter().zip(store.open_all(rels)));
    }
    let queue = Mutex::new(queues.into_iter().flatten());
    let results = Mutex::new(Vec::with_capacity(work.len()));
    pool.scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| {
                let mut scratch = Scratch::default();
                loop {
                    let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
                    let Some((index, body)) = next else { break };
                    let r = scan_file(index, &files[index], body, shared, &mut scratch);
                    progress.read(done.fetch_add(1, Ordering::Relaxed) + 1, r.bytes);
                    results
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(r);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(PoisonError::into_inner)
}

fn scan_file(
    index: usize,
    file: &FileState,
    body: Result<Body, OpenError>,
    shared: &RwLock<Shared>,
    scratch: &mut Scratch,
) -> FileResult {
    let mut sink = FileSink {
        shared,
        matcher: Arc::clone(&read(shared).matcher),
        span: file.input.span,
        before: &file.searched,
        searched: BTreeSet::new(),
        live: BTreeSet::new(),
        events: Vec::new(),
        keys: Box::default(),
    };
    sink.refresh();
    sink.searched = sink.live.clone();
    let mut result = FileResult {
        index,
        searched: BTreeSet::new(),
        bytes: 0,
        records: 0,
        events: Vec::new(),
        bad: Vec::new(),
        status: Status::Complete,
        keys: None,
    };
    if sink.searched.is_empty() {
        return result;
    }
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            result.searched = sink.searched;
            result.status = Status::Failed(e.0);
            return result;
        }
    };
    let counted = AtomicU64::new(0);
    let reader = Counting {
        inner: body,
        count: &counted,
    };
    let decoded = decode::decode(reader, &file.input.name, &mut sink, scratch);
    result.searched = sink.searched;
    result.events = sink.events;
    result.bytes = counted.load(Ordering::Relaxed);
    result.records = decoded.records;
    result.bad = decoded
        .bad_records
        .into_iter()
        .map(|b| (b.index, b.reason))
        .collect();
    if decoded.status == Status::Complete {
        result.keys = Some(sink.keys);
    }
    result.status = decoded.status;
    result
}

/// One read of one file: decides which records to parse, and learns new
/// keys from the events as they come.
struct FileSink<'a> {
    shared: &'a RwLock<Shared>,
    matcher: Arc<Matcher>,
    span: Span,
    /// Keys earlier reads of this file were for: they collected those records.
    before: &'a BTreeSet<AccessKeyId>,
    /// Keys this whole read is for.
    searched: BTreeSet<AccessKeyId>,
    /// Keys looked for from now on: `searched`, plus keys learned mid-file.
    /// Those are not `searched`, as records before the point they were
    /// learned were not checked for them; a later pass re-reads for them.
    live: BTreeSet<AccessKeyId>,
    events: Vec<Event>,
    keys: Box<KeyFilter>,
}

impl FileSink<'_> {
    /// Takes in keys the watch list gained that can appear in this file.
    ///
    /// Seeds are looked for in every file read, whatever their window: the
    /// defender's `UpdateAccessKey`/`DeleteAccessKey` usually comes after
    /// `--until`, and the deactivation time decides `after_deactivation`.
    fn refresh(&mut self) {
        for (k, w) in &self.matcher.keys {
            let relevant = w.overlaps(&self.span) || self.matcher.seeds.contains(k);
            if relevant && !self.before.contains(k) {
                self.live.insert(k.clone());
            }
        }
    }
}

impl decode::Sink for FileSink<'_> {
    // A record is parsed when it mentions a key this read looks for, and no
    // key an earlier read of this file was for (that read collected it).
    fn wants(&mut self, record: &[u8]) -> bool {
        self.keys.add_from(record);
        // Almost every record mentions no key: answer that with the fast scan.
        if !self.matcher.ac.is_match(record) {
            return false;
        }
        let mut hit = false;
        for m in self.matcher.ac.find_overlapping_iter(record) {
            let key = &self.matcher.keys[m.pattern().as_usize()].0;
            if self.before.contains(key) {
                return false;
            }
            hit |= self.live.contains(key);
        }
        hit
    }

    fn event(&mut self, e: Event) {
        if e.minted.is_some() {
            let mut guard = self.shared.write().unwrap_or_else(PoisonError::into_inner);
            if guard.watch.observe(&e).is_some() {
                guard.matcher = Arc::new(Matcher::new(&guard.watch));
            }
            if !Arc::ptr_eq(&guard.matcher, &self.matcher) {
                self.matcher = Arc::clone(&guard.matcher);
                drop(guard);
                self.refresh();
            }
        }
        self.events.push(e);
    }
}

/// Counts the compressed bytes read from a body.
struct Counting<'a, R> {
    inner: R,
    count: &'a AtomicU64,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

fn push_passed_over(stats: &mut InputStats, p: PassedOver) {
    let issue = InputIssue {
        source: p.name,
        reason: p.reason,
    };
    if p.failure {
        stats.skipped.push(issue);
    } else {
        stats.skipped_by_design.push(issue);
    }
}

fn source_error(store: &dyn Store, rel: &str, reason: &str) -> Error {
    Error::Source {
        source_name: store.display(rel),
        reason: reason.to_owned(),
    }
}

fn open_sources(config: &Config) -> Result<(Vec<Box<dyn Store>>, Catalog)> {
    let mut stores: Vec<Box<dyn Store>> = Vec::new();
    let mut catalog = Catalog::default();
    for spec in &config.sources {
        let idx = stores.len();
        let fatal = |reason: String| Error::Source {
            source_name: spec.to_string(),
            reason,
        };
        match spec {
            SourceSpec::Local(path) => {
                let (store, file) = LocalStore::open(path).map_err(|e| fatal(e.0))?;
                match file {
                    Some(rel) => {
                        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                        catalog
                            .free
                            .push(Input::new(idx, &store, Entry { rel, size }, Span::ALL));
                    }
                    None => catalog
                        .discover(&store, idx, "", config.delivery_margin)
                        .map_err(|e| fatal(e.0))?,
                }
                stores.push(Box::new(store));
            }
            SourceSpec::S3(url) => {
                let store = S3Store::connect(url, &config.s3).map_err(|e| fatal(e.0))?;
                catalog
                    .discover(&store, idx, &url.prefix, config.delivery_margin)
                    .map_err(|e| fatal(e.0))?;
                stores.push(Box::new(store));
            }
        }
    }
    Ok((stores, catalog))
}

/// A Bloom filter of the key ids in one file's `accessKeyId` fields
/// (whatever their case, escaping or spacing, so LookupEvents strings and
/// pretty-printed exports count too). 256 bytes per file whatever its size,
/// so memory stays flat as archives grow; a false positive only costs a
/// re-read.
#[derive(Default)]
struct KeyFilter {
    bits: [u64; 32],
}

impl KeyFilter {
    const FIELD: &[u8] = b"ccessKeyId";

    /// Adds every key id that follows an `accessKeyId` field name in `record`.
    fn add_from(&mut self, record: &[u8]) {
        for at in memchr::memmem::find_iter(record, Self::FIELD) {
            let rest = &record[at + Self::FIELD.len()..];
            let start = rest
                .iter()
                .take(8)
                .position(|b| !matches!(b, b'"' | b'\\' | b':' | b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(0);
            let rest = &rest[start..];
            let len = rest
                .iter()
                .take(AccessKeyId::MAX_LEN + 1)
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                .count();
            if len >= AccessKeyId::MIN_LEN {
                self.insert(&rest[..len]);
            }
        }
    }

    fn positions(key: &[u8]) -> [usize; 3] {
        // FNV-1a, split into two hashes for double hashing.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in key {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let (a, b) = (h as u32 as usize, (h >> 32) as usize | 1);
        [a, a.wrapping_add(b), a.wrapping_add(b.wrapping_mul(2))].map(|x| x % 2048)
    }

    fn insert(&mut self, key: &[u8]) {
        for p in Self::positions(key) {
            self.bits[p / 64] |= 1 << (p % 64);
        }
    }

    fn may_contain(&self, key: &str) -> bool {
        Self::positions(key.as_bytes())
            .iter()
            .all(|&p| self.bits[p / 64] & (1 << (p % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::KeyFilter;

    #[test]
    fn key_filter_finds_keys_in_every_spelling() {
        let mut f = KeyFilter::default();
        f.add_from(br#"{"userIdentity":{"accessKeyId":"AKIAEXAMPLESEED00001"}}"#);
        f.add_from(br#"{"AccessKeyId": "ASIAEXAMPLESESS00001"}"#);
        f.add_from(br#"{"CloudTrailEvent":"{\"accessKeyId\":\"ASIAEXAMPLEROLE00001\"}"}"#);
        f.add_from(br#"{"accessKeyId":"short"}"#);
        for k in [
            "AKIAEXAMPLESEED00001",
            "ASIAEXAMPLESESS00001",
            "ASIAEXAMPLEROLE00001",
        ] {
            assert!(f.may_contain(k), "{k}");
        }
        let misses = (0..1000)
            .filter(|i| f.may_contain(&format!("AKIAEXAMPLENONE{i:05}")))
            .count();
        assert!(misses < 5, "{misses} false positives");
    }
}
