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
//! Listings are parallel here too, for another reason: against S3 each is a
//! round trip, and an organization trail needs a few for every account and
//! region folder, so they are kept in flight side by side.
//!
//! Everything after the scan (dedupe, trace, ordering) is sequential and
//! deterministic, so the timeline does not depend on the thread count.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::config::{Config, SourceSpec};
use crate::decode::record::key_fields;
use crate::decode::{self, Scratch, Status};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::model::AccessKeyId;
use crate::output::progress::Progress;
use crate::source::layout::{Catalog, RegionRoot};
use crate::source::local::LocalStore;
use crate::source::s3::S3Store;
use crate::source::{Body, Entry, Input, ListError, Listing, OpenError, PassedOver, Span, Store};
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

/// The key ids being looked for, with their windows.
///
/// Keys are only ever added, and each keeps its position: that position is
/// its id in a [`KeySet`], so sets made against an older matcher stay valid.
#[derive(Clone)]
struct Matcher {
    keys: Vec<(AccessKeyId, Span)>,
    /// Ids by the [`key_hash`] of their key: the scan hashes every
    /// `accessKeyId` value it meets for the file's filter anyway.
    ids: HashMap<u64, Vec<usize>>,
    seeds: KeySet,
}

impl Matcher {
    fn new(watch: &Watch) -> Matcher {
        let empty = Matcher {
            keys: Vec::new(),
            ids: HashMap::new(),
            seeds: KeySet::default(),
        };
        empty.grown(watch)
    }

    /// This matcher with the keys the watch list gained since it was made.
    fn grown(&self, watch: &Watch) -> Matcher {
        let mut grown = self.clone();
        for (k, w) in watch.windows() {
            let hash = key_hash(k.as_str().as_bytes());
            if grown.id(k.as_str().as_bytes(), hash).is_none() {
                let id = grown.keys.len();
                if watch.seeds().contains(k) {
                    grown.seeds.insert(id);
                }
                grown.ids.entry(hash).or_default().push(id);
                grown.keys.push((k.clone(), *w));
            }
        }
        grown
    }

    /// The id of a key found in a record, with its [`key_hash`], if it is
    /// watched.
    fn id(&self, key: &[u8], hash: u64) -> Option<usize> {
        self.ids
            .get(&hash)?
            .iter()
            .copied()
            .find(|&id| self.keys[id].0.as_str().as_bytes() == key)
    }

    /// The keys a file with this span has to be searched for: those whose
    /// window it overlaps, and the seeds, whose deactivation can come after
    /// `--until` and decides what counts as after deactivation.
    fn relevant(&self, span: &Span) -> impl Iterator<Item = usize> {
        self.keys
            .iter()
            .enumerate()
            .filter(move |(id, (_, w))| w.overlaps(span) || self.seeds.contains(*id))
            .map(|(id, _)| id)
    }
}

/// A set of watched keys, by id: a word for the first 64, so the few bytes
/// kept per file do not grow with the number of keys in the usual case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct KeySet {
    first: u64,
    rest: Box<[u64]>,
}

impl KeySet {
    fn word(&self, id: usize) -> u64 {
        match id / 64 {
            0 => self.first,
            n => self.rest.get(n - 1).copied().unwrap_or(0),
        }
    }

    fn contains(&self, id: usize) -> bool {
        self.word(id) & (1 << (id % 64)) != 0
    }

    fn insert(&mut self, id: usize) {
        let word = match id / 64 {
            0 => &mut self.first,
            n => {
                self.grow(n);
                &mut self.rest[n - 1]
            }
        };
        *word |= 1 << (id % 64);
    }

    fn extend(&mut self, other: &KeySet) {
        self.first |= other.first;
        self.grow(other.rest.len());
        for (a, b) in self.rest.iter_mut().zip(&other.rest) {
            *a |= b;
        }
    }

    fn grow(&mut self, words: usize) {
        if self.rest.len() < words {
            let mut rest = std::mem::take(&mut self.rest).into_vec();
            rest.resize(words, 0);
            self.rest = rest.into_boxed_slice();
        }
    }

    fn is_empty(&self) -> bool {
        self.first == 0 && self.rest.iter().all(|w| *w == 0)
    }
}

struct Shared {
    watch: Watch,
    matcher: Arc<Matcher>,
}

/// What the scan knows about one listed file beyond its listing.
#[derive(Default)]
struct Scanned {
    /// Keys it was searched for, over all reads.
    searched: KeySet,
    seen: Seen,
}

/// How much of a file was read.
#[derive(Clone, Copy, Default)]
enum Seen {
    #[default]
    Unread,
    /// Read, but not whole: it may hold any key.
    Partly,
    /// Read whole: the key ids it holds are in [`Filters`] at `at`.
    Whole { at: u32, len: u8 },
}

/// The [`KeyFilter`]s of the files read whole, one after another, in chunks:
/// a single vector would at times hold room for twice the filters.
#[derive(Default)]
struct Filters {
    chunks: Vec<Vec<u64>>,
}

impl Filters {
    const CHUNK: usize = 4096;

    /// Keeps a filter, returning how the file's [`Seen`] finds it.
    fn add(&mut self, words: &[u64]) -> Seen {
        if self
            .chunks
            .last()
            .is_none_or(|c| c.len() + words.len() > Self::CHUNK)
        {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let last = self.chunks.len() - 1;
        let chunk = &mut self.chunks[last];
        let at = u32::try_from(last * Self::CHUNK + chunk.len());
        match (at, u8::try_from(words.len())) {
            (Ok(at), Ok(len)) if words.len() <= Self::CHUNK => {
                chunk.extend_from_slice(words);
                Seen::Whole { at, len }
            }
            _ => Seen::Partly,
        }
    }

    /// Whether a file may hold `key`, as far as its reads tell.
    fn may_hold(&self, seen: Seen, key: &AccessKeyId) -> bool {
        let Seen::Whole { at, len } = seen else {
            return true;
        };
        let (chunk, from) = (at as usize / Self::CHUNK, at as usize % Self::CHUNK);
        self.chunks
            .get(chunk)
            .and_then(|c| c.get(from..from + usize::from(len)))
            .is_none_or(|words| KeyFilter(words).may_contain(key.as_str().as_bytes()))
    }
}

/// What the reads so far add up to; workers fold their results in as they
/// finish, so nothing per file is held beyond [`Scanned`] and its filter.
#[derive(Default)]
struct Tally {
    files: Vec<Scanned>,
    filters: Filters,
    stats: InputStats,
    events: Vec<Event>,
}

impl Tally {
    fn add(&mut self, r: FileResult) {
        let file = &mut self.files[r.index];
        let stats = &mut self.stats;
        stats.bytes_read += r.bytes;
        if let Seen::Unread = file.seen {
            stats.files_read += 1;
            stats.records += r.records;
        } else {
            stats.rereads += 1;
        }
        file.searched.extend(&r.searched);
        // A re-read's filter is kept anew: the words of the first are left
        // unused, at most 128 bytes for each of the few files re-read.
        file.seen = match r.keys {
            Some(f) => self.filters.add(&f.0),
            None => Seen::Partly,
        };
        let source = &r.name;
        stats
            .bad_records
            .extend(r.bad.into_iter().map(|(record, reason)| RecordIssue {
                source: source.to_string(),
                record,
                reason,
            }));
        // Every read reports its damage: a re-read that fails (an expired
        // token, an object gone) loses events as surely as a first read. The
        // lists are deduplicated at the end.
        let issue = |reason| InputIssue {
            source: source.to_string(),
            reason,
        };
        match r.status {
            Status::Complete => {}
            Status::Partial(reason) => stats.partial.push(issue(reason)),
            Status::Failed(reason) => stats.skipped.push(issue(reason)),
            Status::NotEvents(reason) => stats.skipped_by_design.push(issue(reason)),
        }
        self.events.extend(r.events);
    }
}

struct FileResult {
    index: usize,
    name: Arc<str>,
    searched: KeySet,
    bytes: u64,
    records: u64,
    events: Vec<Event>,
    bad: Vec<(u64, String)>,
    status: Status,
    /// The key ids in the file's `accessKeyId` fields, when it was read whole.
    keys: Option<KeyFilter<Vec<u64>>>,
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
    let mut tally = Tally::default();
    for p in std::mem::take(&mut catalog.passed_over) {
        push_passed_over(&mut tally.stats, p);
    }
    let mut inputs: Vec<Input> = std::mem::take(&mut catalog.free);
    let watch = Watch::new(&config.trace);
    let shared = RwLock::new(Shared {
        matcher: Arc::new(Matcher::new(&watch)),
        watch,
    });
    let done = AtomicU64::new(0);
    loop {
        let matcher = Arc::clone(&read(&shared).matcher);
        let hull = matcher.keys.iter().fold(None::<Span>, |h, (_, w)| {
            Some(h.map_or(*w, |h| Span {
                start: h.start.min(w.start),
                end: h.end.max(w.end),
            }))
        });
        if let Some(hull) = hull {
            expand_regions(
                &mut catalog.regions,
                &stores,
                hull,
                config,
                &mut inputs,
                &mut tally.stats,
            )?;
        }
        tally.files.resize_with(inputs.len(), Scanned::default);
        let mut work: Vec<usize> = (0..inputs.len())
            .filter(|&i| has_pending(&inputs[i], &tally.files[i], &tally.filters, &matcher))
            .collect();
        if work.is_empty() {
            break;
        }
        work.sort_by(|&a, &b| {
            let (a, b) = (&inputs[a], &inputs[b]);
            a.span.start.cmp(&b.span.start).then_with(|| a.cmp_path(b))
        });
        progress.queued(
            work.len() as u64,
            work.iter().map(|&i| inputs[i].size).sum(),
        );
        let lock = Mutex::new(tally);
        scan_pass(
            &pool,
            config.threads,
            &stores,
            &inputs,
            &work,
            &shared,
            &lock,
            progress,
            &done,
        );
        tally = lock.into_inner().unwrap_or_else(PoisonError::into_inner);
        // A minting record collected before its actor was watched taught
        // the watch list nothing; replay the minting events to a fixpoint so
        // what is searched for does not depend on how workers interleaved.
        let mut guard = shared.write().unwrap_or_else(PoisonError::into_inner);
        let mut learned = false;
        loop {
            let mut grew = false;
            for e in tally.events.iter().filter(|e| e.minted.is_some()) {
                grew |= guard.watch.observe(e).is_some();
            }
            learned |= grew;
            if !grew {
                break;
            }
        }
        if learned {
            guard.matcher = Arc::new(guard.matcher.grown(&guard.watch));
        }
    }
    progress.finish();
    // What was kept per file is not needed past the counts: free it before
    // the timeline is built, the run's other high point of memory.
    drop((inputs, catalog));
    let Tally {
        files,
        mut stats,
        events,
        filters,
    } = tally;
    stats.files_listed = files.len() as u64;
    stats.files_pruned = files
        .iter()
        .filter(|f| matches!(f.seen, Seen::Unread))
        .count() as u64;
    drop((files, filters));
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

/// Whether a key relevant to this file has not been searched for in it.
/// The worker recomputes the exact set with the newest watch list.
///
/// A file read whole is re-read only for keys its `accessKeyId` fields may
/// hold: every appearance that makes an event part of the lineage is such a
/// field. This is what keeps a late-discovered long-lived key from
/// re-reading every file after it.
fn has_pending(input: &Input, file: &Scanned, filters: &Filters, matcher: &Matcher) -> bool {
    matcher.keys.iter().enumerate().any(|(id, (k, w))| {
        w.overlaps(&input.span) && !file.searched.contains(id) && filters.may_hold(file.seen, k)
    })
}

/// Lists the day folders `window` needs in every region, adding their files
/// to `inputs` in region order.
///
/// Each region's files join `inputs` as soon as the regions before it are in:
/// holding every region's listing until the last is done would double the
/// memory the listing needs, which grows with the archive.
fn expand_regions(
    regions: &mut [RegionRoot],
    stores: &[Box<dyn Store>],
    window: Span,
    config: &Config,
    inputs: &mut Vec<Input>,
    stats: &mut InputStats,
) -> Result<()> {
    let listers = stores.iter().map(|s| s.listers()).max().unwrap_or(1);
    let mut first_error = Ok(());
    side_by_side(
        regions.iter_mut(),
        listers,
        |region| {
            let store = stores[region.store()].as_ref();
            region
                .expand(store, window, config.delivery_margin)
                .map_err(|e| source_error(store, "", &e.0))
        },
        |expansion| match expansion {
            Ok(found) => {
                inputs.extend(found.inputs);
                for p in found.passed_over {
                    push_passed_over(stats, p);
                }
            }
            Err(e) => {
                if first_error.is_ok() {
                    first_error = Err(e);
                }
            }
        },
    );
    first_error
}

/// Lists one level of a walk of `store`, in the order given.
fn list_level(store: &dyn Store, dirs: &[String]) -> Vec<Result<Listing, ListError>> {
    let mut listings = Vec::with_capacity(dirs.len());
    side_by_side(
        dirs.iter(),
        store.listers(),
        |d| store.list_dir(d),
        |l| listings.push(l),
    );
    listings
}

/// Runs `list` on every item, `listers` at once, and hands the results to
/// `each` in item order, each as soon as those before it are in. With one
/// lister, on this thread: spreading a local disk's listings over threads
/// would gain nothing and leave each thread's malloc arena behind (3 MB of
/// peak RSS).
fn side_by_side<T: Send, R: Send>(
    items: impl ExactSizeIterator<Item = T> + Send,
    listers: usize,
    list: impl Fn(T) -> R + Sync,
    mut each: impl FnMut(R),
) {
    let listers = listers.min(items.len());
    if listers <= 1 {
        items.map(list).for_each(each);
        return;
    }
    let next = Mutex::new(items.enumerate());
    let (next, list) = (&next, &list);
    let (done, results) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..listers {
            let done = done.clone();
            scope.spawn(move || {
                loop {
                    // Taken in a statement of its own: a `while let` would
                    // hold the lock through the listing, one at a time.
                    let taken = lock(next).next();
                    let Some((i, item)) = taken else {
                        break;
                    };
                    if done.send((i, list(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        // Results that came in before one ahead of them, by position.
        let mut early = BTreeMap::new();
        let mut due = 0;
        for (i, r) in results {
            early.insert(i, r);
            while let Some(r) = early.remove(&due) {
                each(r);
                due += 1;
            }
        }
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read(shared: &RwLock<Shared>) -> std::sync::RwLockReadGuard<'_, Shared> {
    shared.read().unwrap_or_else(PoisonError::into_inner)
}

#[allow(clippy::too_many_arguments)]
fn scan_pass(
    pool: &rayon::ThreadPool,
    threads: usize,
    stores: &[Box<dyn Store>],
    inputs: &[Input],
    work: &[usize],
    shared: &RwLock<Shared>,
    tally: &Mutex<Tally>,
    progress: &Progress,
    done: &AtomicU64,
) {
    // One ordered stream of bodies per store, drained by all workers.
    let mut queues = Vec::new();
    for (s, store) in stores.iter().enumerate() {
        let mine: Vec<usize> = work
            .iter()
            .copied()
            .filter(|&i| inputs[i].store() == s)
            .collect();
        if mine.is_empty() {
            continue;
        }
        let rels = Box::new(mine.clone().into_iter().map(|i| inputs[i].rel()));
        queues.push(mine.into_iter().zip(store.open_all(rels)));
    }
    let queue = Mutex::new(queues.into_iter().flatten());
    pool.scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| {
                let mut scratch = Scratch::default();
                loop {
                    let Some((index, body)) = lock(&queue).next() else {
                        break;
                    };
                    let input = &inputs[index];
                    let name = Arc::from(stores[input.store()].display(&input.rel()));
                    let before = lock(tally).files[index].searched.clone();
                    let r = scan_file(index, name, input.span, &before, body, shared, &mut scratch);
                    progress.read(done.fetch_add(1, Ordering::Relaxed) + 1, r.bytes);
                    lock(tally).add(r);
                }
            });
        }
    });
}

fn scan_file(
    index: usize,
    name: Arc<str>,
    span: Span,
    before: &KeySet,
    body: Result<Body, OpenError>,
    shared: &RwLock<Shared>,
    scratch: &mut Scratch,
) -> FileResult {
    let mut sink = FileSink {
        shared,
        matcher: Arc::clone(&read(shared).matcher),
        span,
        before,
        live: KeySet::default(),
        events: Vec::new(),
        keys: Vec::new(),
    };
    sink.refresh();
    let mut result = FileResult {
        index,
        name,
        searched: sink.live.clone(),
        bytes: 0,
        records: 0,
        events: Vec::new(),
        bad: Vec::new(),
        status: Status::Complete,
        keys: None,
    };
    if result.searched.is_empty() {
        return result;
    }
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            result.status = Status::Failed(e.0);
            return result;
        }
    };
    let counted = AtomicU64::new(0);
    let reader = Counting {
        inner: body,
        count: &counted,
    };
    let decoded = decode::decode(reader, &result.name, &mut sink, scratch);
    result.events = sink.events;
    result.bytes = counted.load(Ordering::Relaxed);
    result.records = decoded.records;
    result.bad = decoded
        .bad_records
        .into_iter()
        .map(|b| (b.index, b.reason))
        .collect();
    result.keys = match decoded.status {
        Status::Complete => Some(KeyFilter::of(&mut sink.keys)),
        // A digest holds no events, so no key can make it worth a re-read.
        Status::NotEvents(_) => Some(KeyFilter(Vec::new())),
        Status::Partial(_) | Status::Failed(_) => None,
    };
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
    before: &'a KeySet,
    /// Keys looked for: those this read is for, plus keys learned mid-file.
    /// The latter are not recorded as searched, as records before the point
    /// they were learned were not checked for them; a later pass re-reads.
    live: KeySet,
    events: Vec<Event>,
    /// The [`key_hash`] of every `accessKeyId` value seen.
    keys: Vec<u64>,
}

impl FileSink<'_> {
    /// Takes in keys the watch list gained that can appear in this file.
    fn refresh(&mut self) {
        for id in self.matcher.relevant(&self.span) {
            if !self.before.contains(id) {
                self.live.insert(id);
            }
        }
    }
}

impl decode::Sink for FileSink<'_> {
    // A record is parsed when it holds a key this read looks for, and no key
    // an earlier read of this file was for (that read collected it).
    fn wants(&mut self, record: &[u8]) -> bool {
        let (mut hit, mut collected) = (false, false);
        for key in key_fields(record) {
            let hash = key_hash(key);
            self.keys.push(hash);
            if let Some(id) = self.matcher.id(key, hash) {
                hit |= self.live.contains(id);
                collected |= self.before.contains(id);
            }
        }
        hit && !collected
    }

    fn event(&mut self, e: Event) {
        if e.minted.is_some() {
            let mut guard = self.shared.write().unwrap_or_else(PoisonError::into_inner);
            if guard.watch.observe(&e).is_some() {
                guard.matcher = Arc::new(guard.matcher.grown(&guard.watch));
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
                        catalog.free.extend(Input::from_entries(
                            idx,
                            vec![Entry { rel, size }],
                            |_| Span::ALL,
                        ));
                    }
                    None => catalog
                        .discover(&store, idx, "", config.delivery_margin, &|dirs| {
                            list_level(&store, dirs)
                        })
                        .map_err(|e| fatal(e.0))?,
                }
                stores.push(Box::new(store));
            }
            SourceSpec::S3(url) => {
                let store = S3Store::connect(url, &config.s3).map_err(|e| fatal(e.0))?;
                catalog
                    .discover(&store, idx, &url.prefix, config.delivery_margin, &|dirs| {
                        list_level(&store, dirs)
                    })
                    .map_err(|e| fatal(e.0))?;
                stores.push(Box::new(store));
            }
        }
    }
    Ok((stores, catalog))
}

/// A Bloom filter of the key ids in one file's `accessKeyId` fields. The
/// scan keeps one for every file read, so it is sized to the file's distinct
/// ids: 12 bits each and 6 hashes (about 0.4 % false positives), in whole
/// words, at most 16 (128 bytes: 3 % false positives at 150 ids, the busiest
/// 5-minute files seen). A false positive costs one needless re-read when a
/// key is discovered late. On the benchmark corpus that is about 100 bytes a
/// file and 270 re-reads, where a fixed 128 bytes gave 256, 10 bits a key
/// 312, and a fixed 64 bytes 708.
struct KeyFilter<W>(W);

impl KeyFilter<Vec<u64>> {
    const BITS_PER_KEY: usize = 12;
    const MAX_WORDS: usize = 16;

    /// The filter of the ids with these hashes (sorted and deduplicated).
    fn of(hashes: &mut Vec<u64>) -> Self {
        hashes.sort_unstable();
        hashes.dedup();
        let words = (hashes.len() * Self::BITS_PER_KEY).div_ceil(64);
        let mut f = KeyFilter(vec![0; words.min(Self::MAX_WORDS)]);
        for &h in hashes.iter() {
            for p in positions(h, f.0.len()) {
                f.0[p / 64] |= 1 << (p % 64);
            }
        }
        f
    }
}

impl KeyFilter<&[u64]> {
    fn may_contain(&self, key: &[u8]) -> bool {
        let words = self.0;
        !words.is_empty()
            && positions(key_hash(key), words.len()).all(|p| words[p / 64] & (1 << (p % 64)) != 0)
    }
}

/// FNV-1a of a key id: its two halves serve as the two hashes of double
/// hashing.
fn key_hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The bits of a key with hash `h` in a filter of `words` words.
fn positions(h: u64, words: usize) -> impl Iterator<Item = usize> {
    const HASHES: usize = 6;
    let bits = words * 64;
    let (a, b) = (h as u32 as usize, (h >> 32) as usize | 1);
    (0..HASHES).map(move |i| a.wrapping_add(b.wrapping_mul(i)) % bits)
}

#[cfg(test)]
mod tests {
    use super::{AccessKeyId, Filters, KeyFilter, KeySet, Seen, key_hash, side_by_side};

    fn filter_of(keys: &[String]) -> KeyFilter<Vec<u64>> {
        KeyFilter::of(&mut keys.iter().map(|k| key_hash(k.as_bytes())).collect())
    }

    fn false_positives(f: &KeyFilter<Vec<u64>>) -> usize {
        (0..10_000)
            .filter(|i| {
                KeyFilter(&f.0[..]).may_contain(format!("AKIAEXAMPLENONE{i:05}").as_bytes())
            })
            .count()
    }

    #[test]
    fn key_filter_holds_what_was_inserted_and_little_else() {
        for (n, words, at_most) in [(5, 1, 150), (40, 8, 100), (100, 16, 100), (400, 16, 10_000)] {
            let held: Vec<String> = (0..n).map(|i| format!("ASIAEXAMPLEHELD{i:05}")).collect();
            let f = filter_of(&held);
            assert_eq!(f.0.len(), words, "{n} keys");
            assert!(
                held.iter()
                    .all(|k| KeyFilter(&f.0[..]).may_contain(k.as_bytes()))
            );
            // 0.4 % expected at 12 bits a key, and for 100 keys in 1024 bits; a
            // one-word filter does worse, about 1 %.
            let misses = false_positives(&f);
            assert!(
                misses < at_most,
                "{misses} false positives in 10,000 for {n} keys"
            );
        }
    }

    #[test]
    fn filters_answer_for_each_file_across_chunks() {
        let key = |i: usize| AccessKeyId::parse(&format!("ASIAEXAMPLEHELD{i:05}")).unwrap();
        let mut filters = Filters::default();
        // Enough one-word filters to fill more than a chunk; file i holds
        // keys i and i + 1.
        let seen: Vec<Seen> = (0..5000)
            .map(|i| filters.add(&filter_of(&[key(i), key(i + 1)].map(|k| k.to_string())).0))
            .collect();
        assert!(filters.chunks.len() > 1);
        for (i, s) in seen.iter().enumerate() {
            assert!(matches!(s, Seen::Whole { .. }));
            assert!(filters.may_hold(*s, &key(i)) && filters.may_hold(*s, &key(i + 1)));
        }
        let strays = (0..1000)
            .filter(|&i| filters.may_hold(seen[i], &key(i + 500)))
            .count();
        assert!(
            strays < 20,
            "{strays} of 1000 files may hold a key they do not"
        );
        assert!(filters.may_hold(Seen::Unread, &key(0)) && filters.may_hold(Seen::Partly, &key(0)));
        // A digest's empty filter holds nothing.
        let digest = filters.add(&[]);
        assert!(!filters.may_hold(digest, &key(0)));
    }

    #[test]
    fn side_by_side_keeps_item_order() {
        let slow_first = |i: u32| {
            std::thread::sleep(std::time::Duration::from_millis(u64::from(40 - i) % 7));
            i * 2
        };
        let collect = |items: std::ops::Range<u32>, listers| {
            let mut out = Vec::new();
            side_by_side(items, listers, slow_first, |r| out.push(r));
            out
        };
        for listers in [1, 16] {
            assert_eq!(
                collect(0..40, listers),
                (0..40).map(|i| i * 2).collect::<Vec<_>>()
            );
            assert!(collect(0..0, listers).is_empty());
        }
    }

    #[test]
    fn side_by_side_lists_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let list = |_| {
            most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(20));
            now.fetch_sub(1, Ordering::SeqCst);
        };
        side_by_side(0..8, 4, list, |()| {});
        assert!(most.load(Ordering::SeqCst) > 1);
    }

    #[test]
    fn a_file_without_keys_holds_none() {
        let f = filter_of(&[]);
        assert!(f.0.is_empty());
        assert_eq!(false_positives(&f), 0);
        // Repeats of one id take the room of one.
        assert_eq!(
            filter_of(&vec!["ASIAEXAMPLEHELD00001".to_owned(); 50])
                .0
                .len(),
            1
        );
    }

    #[test]
    fn key_sets_past_one_word() {
        let mut a = KeySet::default();
        assert!(a.is_empty());
        for id in [0, 63, 64, 200] {
            a.insert(id);
        }
        assert!([0, 63, 64, 200].iter().all(|&id| a.contains(id)));
        assert!(!a.contains(1) && !a.contains(65) && !a.contains(1000));
        let mut b = KeySet::default();
        b.insert(5);
        b.extend(&a);
        assert!(b.contains(5) && b.contains(200) && !b.is_empty());
    }
}
