//! One read of one file, on a worker thread.
//!
//! The worker decides record by record whether to parse, from the
//! `accessKeyId` fields (and, while a console sign-in is followed, the
//! signed-in principal's ARN anywhere in the record), and learns new keys from minting events as
//! they come, so a session minted early in a file is followed in the rest of
//! it. Everything it finds goes back to the orchestrator as one
//! [`FileResult`].

use std::fs::File;
use std::io::{self, Read, Seek};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use super::filter::{KeyFilter, key_hash};
use super::keys::{KeySet, Matcher};
use super::parallel::{lock, workers};
use super::tally::{FileResult, Tally};
use super::{Shared, Tick, Watchlist, read, write};
use crate::decode::record::key_fields;
use crate::decode::{self, Scratch, Status};
use crate::event::Event;
use crate::source::{Body, Input, OpenError, Store, bundle};
use crate::time::Span;

/// Reads the files `work` names, `threads` at a time, folding each result
/// into `tally` as it comes.
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_pass<W: Watchlist>(
    threads: usize,
    hashing: bool,
    stores: &[Box<dyn Store>],
    inputs: &[Input],
    work: &[usize],
    shared: &RwLock<Shared<W>>,
    tally: &Mutex<Tally>,
    progress: &(dyn Fn(Tick) + Sync),
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
        let mut mine = mine;
        // A store read front to back (a tar.gz) is asked in its own order.
        if let Some(&first) = mine.first()
            && store.order(&inputs[first].rel()).is_some()
        {
            mine.sort_by_cached_key(|&i| store.order(&inputs[i].rel()));
        }
        let rels = Box::new(mine.clone().into_iter().map(|i| inputs[i].rel()));
        queues.push(mine.into_iter().zip(store.open_all(rels)));
    }
    let queue = Mutex::new(queues.into_iter().flatten());
    workers(threads, || {
        let mut scratch = if hashing {
            Scratch::hashing()
        } else {
            Scratch::default()
        };
        loop {
            let Some((index, body)) = lock(&queue).next() else {
                break;
            };
            let input = &inputs[index];
            let store = &*stores[input.store()];
            let rel = input.rel();
            let name = Arc::from(store.display(&rel));
            let (before, span) = {
                let tally = lock(tally);
                let file = &tally.files[index];
                (file.searched.clone(), file.times.unwrap_or(input.span))
            };
            let local = || store.file(&rel);
            let r = scan_file(
                index,
                name,
                span,
                &before,
                body,
                &local,
                shared,
                &mut scratch,
            );
            progress(Tick::Read {
                done: done.fetch_add(1, Ordering::Relaxed) + 1,
                bytes: r.bytes,
            });
            lock(tally).add(r, hashing);
        }
    });
}

#[allow(clippy::too_many_arguments)]
fn scan_file<W: Watchlist>(
    index: usize,
    name: Arc<str>,
    span: Span,
    before: &KeySet,
    body: Result<Body, OpenError>,
    local: &dyn Fn() -> Option<File>,
    shared: &RwLock<Shared<W>>,
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
        format: None,
        times: None,
        keys: None,
        hashes: None,
        control_messages: 0,
        bundle: None,
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
    let mut reader = Counting {
        inner: body,
        count: &counted,
    };
    // A bundle is recognised by its first bytes, and opened as a store of
    // its own between passes.
    let mut head = Vec::with_capacity(bundle::SNIFF);
    let broke = (&mut reader)
        .take(bundle::SNIFF as u64)
        .read_to_end(&mut head)
        .err();
    if broke.is_none()
        && let Some(kind) = bundle::sniff(&head)
    {
        match open_bundle(&result.name, head, reader, local) {
            Ok(file) => {
                // The custody manifest names the bundle with its own hash,
                // and each member with its own.
                if scratch.hashing {
                    result.hashes = hash_file(&file).map(|h| decode::Hashes {
                        stored: h,
                        content: h,
                    });
                }
                result.bundle = Some((kind, file));
            }
            Err(why) => result.status = Status::Failed(why),
        }
        result.bytes = counted.load(Ordering::Relaxed);
        return result;
    }
    let reader = io::Cursor::new(head).chain(Replay(broke).chain(reader));
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
    result.hashes = decoded.hashes;
    result.format = decoded.format;
    result.control_messages = decoded.control_messages;
    result.times = decoded.times;
    result.status = decoded.status;
    result
}

/// The bundle's file: the local file itself, or else (an S3 object, a
/// member of a bundle) a copy of its bytes in an unnamed temporary file.
fn open_bundle(
    name: &str,
    head: Vec<u8>,
    rest: impl Read,
    local: &dyn Fn() -> Option<File>,
) -> Result<File, String> {
    let nesting = name.matches("!/").count();
    if nesting >= bundle::MAX_NESTING {
        return Err(format!(
            "a bundle nested {nesting} deep inside bundles, not opened"
        ));
    }
    if nesting == 0
        && let Some(file) = local()
    {
        return Ok(file);
    }
    let mut spool = tempfile::tempfile()
        .map_err(|e| format!("cannot make a temporary file for the bundle: {e}"))?;
    io::copy(&mut io::Cursor::new(head).chain(rest), &mut spool)
        .and_then(|_| spool.seek(io::SeekFrom::Start(0)))
        .map_err(|e| format!("read failed while copying the bundle: {e}"))?;
    Ok(spool)
}

/// SHA-256 of a whole file, read from its start.
fn hash_file(file: &File) -> Option<[u8; 32]> {
    use sha2::Digest as _;
    let mut sha = sha2::Sha256::new();
    let mut reader = file;
    reader.seek(io::SeekFrom::Start(0)).ok()?;
    let mut buf = vec![0; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Some(sha.finalize().into()),
            Ok(n) => sha.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}

/// An error met while looking at a body's first bytes, handed to the
/// decoder after them so it reports what was read before it.
struct Replay(Option<io::Error>);

impl Read for Replay {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// One read of one file: decides which records to parse, and learns new
/// keys from the events as they come.
struct FileSink<'a, W> {
    shared: &'a RwLock<Shared<W>>,
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

impl<W> FileSink<'_, W> {
    /// Takes in keys the watch list gained that can appear in this file.
    fn refresh(&mut self) {
        for id in self.matcher.relevant(&self.span) {
            if !self.before.contains(id) {
                self.live.insert(id);
            }
        }
    }
}

impl<W: Watchlist> decode::Sink for FileSink<'_, W> {
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
        // The automaton runs only when this read looks for some ARN at all.
        let watched = |id: &usize| self.live.contains(*id) || self.before.contains(*id);
        let arns = if self.matcher.arns.iter().any(watched) && self.matcher.may_hold_arn(record) {
            &self.matcher.arns[..]
        } else {
            &[]
        };
        for &id in arns {
            let (live, before) = (self.live.contains(id), self.before.contains(id));
            if (live || before)
                && self
                    .matcher
                    .arn(id)
                    .is_some_and(|f| f.find(record).is_some())
            {
                hit |= live;
                collected |= before;
            }
        }
        hit && !collected
    }

    fn event(&mut self, e: Event) {
        if e.may_extend_lineage() {
            let mut guard = write(self.shared);
            if guard.watch.observe(&e) {
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
