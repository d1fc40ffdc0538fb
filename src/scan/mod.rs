//! The scan: the one stage where work is parallel. Files go in; the events
//! that can matter, and the report of what was read, come out.
//!
//! Files are read in time order by a fixed set of workers, each pulling the
//! next file from a shared queue. While they read, the watch list of key ids
//! grows as minting events turn up, and every worker looks for the newest
//! list. A key can still be discovered after files in its window were read
//! (a late-delivered `CreateAccessKey`, a file outside the layout): the scan
//! therefore runs in passes until no file has a relevant key it has not been
//! searched for. A re-read looks only for the keys that file has not been
//! searched for, and skips the records earlier reads collected for the keys
//! they were for, so each file outside every derived window is read at most
//! once. (A key learned in the middle of a file is not counted as searched
//! for there, so the re-read that completes the search may collect a record
//! after that point a second time; the timeline's dedupe drops such a copy
//! of the same record from the same file without counting it.)
//!
//! The lineage rule that decides which keys to watch belongs to the trace;
//! the scan only asks it, through [`Watchlist`]. Everything after the scan
//! (dedupe, trace, ordering) is sequential and deterministic, so the
//! timeline does not depend on the thread count.
//!
//! - [`listing`]: which files there are, listed side by side;
//! - [`worker`]: one read of one file;
//! - [`keys`] and [`filter`]: what each file was searched for and may hold;
//! - [`tally`]: what the reads add up to;
//! - [`parallel`]: the threads, in one place.

mod filter;
mod keys;
mod listing;
mod parallel;
pub mod survey;
mod tally;
mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use filter::{Filters, Seen};
use keys::{Matcher, Needle};
use tally::{Scanned, Tally};

use crate::error::Result;
use crate::event::Event;
use crate::inputs::InputStats;
use crate::model::AccessKeyId;
use crate::source::s3::S3Options;
use crate::source::{Input, SourceSpec};
use crate::time::Span;

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanParams {
    /// Worker threads.
    pub threads: usize,
    /// How late CloudTrail may deliver a file after its events.
    pub delivery_margin: Duration,
    /// How to reach S3.
    pub s3: S3Options,
    /// Whether to hash every input for the custody manifest (`--manifest`).
    pub manifest: bool,
}

/// The key ids to look for, learned as the scan goes.
///
/// The orchestrator hands in the trace's own watch list, so that the scan
/// follows exactly the keys the trace will keep.
pub trait Watchlist: Send + Sync {
    /// The seed keys. A file being read is searched for them whatever their
    /// window, since a seed's deactivation can come after `--until`; files
    /// read for no key are not opened for that alone.
    fn seeds(&self) -> &BTreeSet<AccessKeyId>;
    /// Every watched key, with the window in which it can appear.
    fn windows(&self) -> &BTreeMap<AccessKeyId, Span>;
    /// Principal ARNs whose console sign-ins are followed, with the window
    /// in which their console sessions can act.
    fn arns(&self) -> &BTreeMap<String, Span>;
    /// Learns from one parsed event; returns whether a key or an ARN was
    /// added, or a window widened.
    fn observe(&mut self, e: &Event) -> bool;
}

/// How far the scan has got, for a progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tick {
    /// A pass is about to read this many files of this many bytes.
    Queued {
        /// Files in the pass.
        files: u64,
        /// Their listed size.
        bytes: u64,
    },
    /// One more file was read: `done` so far over all passes.
    Read {
        /// Files read so far.
        done: u64,
        /// Compressed bytes this file took.
        bytes: u64,
    },
    /// The last pass is over.
    Finished,
}

/// What the scan found.
#[derive(Debug)]
pub struct Scan {
    /// Every event collected, as read: not yet deduplicated or ordered.
    pub events: Vec<Event>,
    /// What was read, and what could not be.
    pub inputs: InputStats,
}

/// Files at least this large are scheduled first among their peers.
const LARGE_FILE: u64 = 8 * 1024 * 1024;

/// The watch list and the matcher made from it, shared by the workers.
struct Shared<W> {
    watch: W,
    matcher: Arc<Matcher>,
}

/// Lists `sources` and reads them to a fixpoint of `watch`.
pub fn run<W: Watchlist>(
    sources: &[SourceSpec],
    params: &ScanParams,
    watch: W,
    progress: &(dyn Fn(Tick) + Sync),
) -> Result<Scan> {
    let (mut stores, mut catalog) = listing::open_sources(sources, params)?;
    let mut tally = Tally::default();
    for p in std::mem::take(&mut catalog.passed_over) {
        tally.passed_over(p);
    }
    let mut inputs: Vec<Input> = std::mem::take(&mut catalog.free);
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
            listing::expand_regions(
                &mut catalog.regions,
                &stores,
                hull,
                params.delivery_margin,
                &mut inputs,
                &mut tally,
            )?;
        }
        tally.files.resize_with(inputs.len(), Scanned::default);
        let mut work: Vec<usize> = (0..inputs.len())
            .filter(|&i| has_pending(&inputs[i], &tally.files[i], &tally.filters, &matcher))
            .collect();
        if work.is_empty() {
            break;
        }
        // In delivery order; among files that can hold the same times (all
        // of them, outside the layout: CloudWatch export objects), the ones
        // too large to read whole come first, largest first, so that no
        // worker is left alone with one at the end of a pass.
        let large = |i: &Input| if i.size >= LARGE_FILE { i.size } else { 0 };
        work.sort_by(|&a, &b| {
            let (a, b) = (&inputs[a], &inputs[b]);
            a.span
                .start
                .cmp(&b.span.start)
                .then(large(b).cmp(&large(a)))
                .then_with(|| a.cmp_path(b))
        });
        progress(Tick::Queued {
            files: work.len() as u64,
            bytes: work.iter().map(|&i| inputs[i].size).sum(),
        });
        let lock = Mutex::new(tally);
        worker::scan_pass(
            params.threads,
            params.manifest,
            &stores,
            &inputs,
            &work,
            &shared,
            &lock,
            progress,
            &done,
        );
        tally = lock.into_inner().unwrap_or_else(PoisonError::into_inner);
        // Bundles found in this pass become stores of their own: their
        // members are listed, pruned and read like files from the next pass.
        listing::open_bundles(
            &mut stores,
            &mut catalog,
            &mut inputs,
            &mut tally,
            params.delivery_margin,
        );
        // A minting record collected before its actor was watched taught
        // the watch list nothing; replay the minting events to a fixpoint so
        // what is searched for does not depend on how workers interleaved.
        let mut guard = write(&shared);
        let mut learned = false;
        loop {
            let mut grew = false;
            for e in tally.events.iter().filter(|e| e.may_extend_lineage()) {
                grew |= guard.watch.observe(e);
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
    progress(Tick::Finished);
    // What was kept per file is not needed past the counts: free it before
    // the timeline is built, the run's other high point of memory.
    drop((inputs, catalog));
    let (events, inputs) = tally.finish();
    Ok(Scan { events, inputs })
}

/// Whether a key relevant to this file has not been searched for in it.
/// The worker recomputes the exact set with the newest watch list.
///
/// A file read whole is re-read only for keys whose window meets the event
/// times it holds (where the decoder knew them, else its place in the
/// layout says), and that its `accessKeyId` fields may
/// hold: every appearance that makes an event part of the lineage by key is
/// such a field. This is what keeps a late-discovered long-lived key from
/// re-reading every file after it. A watched ARN (a console sign-in) can be
/// anywhere in a record, so any file of events in its window may hold it.
fn has_pending(input: &Input, file: &Scanned, filters: &Filters, matcher: &Matcher) -> bool {
    matcher.keys.iter().enumerate().any(|(id, (needle, w))| {
        let may_hold = match needle {
            Needle::Key(k) => filters.may_hold(file.seen, k),
            // An ARN can be anywhere: any file of events may hold it.
            Needle::Arn(_) => !matches!(file.seen, Seen::NotEvents),
        };
        w.overlaps(&file.times.unwrap_or(input.span)) && !file.searched.contains(id) && may_hold
    })
}

fn read<W>(shared: &RwLock<Shared<W>>) -> RwLockReadGuard<'_, Shared<W>> {
    shared.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<W>(shared: &RwLock<Shared<W>>) -> RwLockWriteGuard<'_, Shared<W>> {
    shared.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::model::AccessKeyId;
    use crate::source::s3::S3Options;
    use crate::timeline::{Timeline, dedupe};
    use crate::trace::{TraceParams, Watch, trace};

    const SEED: &str = "AKIAEXAMPLESEED00001";
    const SESSION: &str = "ASIAEXAMPLESESS00001";
    const ROLE: &str = "ASIAEXAMPLEROLE00001";

    fn record(id: &str, minute: u32, actor: &str, name: &str, minted: Option<&str>) -> String {
        let response = minted.map_or(String::new(), |k| {
            format!(
                r#","responseElements":{{"credentials":{{"accessKeyId":"{k}","sessionToken":"t","expiration":"Dec 9, 2025, 2:00:00 AM"}}}}"#
            )
        });
        format!(
            r#"{{"eventID":"{id}","eventTime":"2025-12-08T14:{minute:02}:00Z","eventSource":"sts.amazonaws.com","eventName":"{name}","userIdentity":{{"type":"IAMUser","accessKeyId":"{actor}"}}{response}}}"#
        )
    }

    /// Two loose files. `late` is read first (names sort it first) but its
    /// session actions can only be recognised once `early`, read after it,
    /// has minted the session: the scan must come back for them.
    fn write_files(dir: &Path, late: &str, early: &str) {
        let late_records = [
            record("e1", 1, SEED, "GetCallerIdentity", None),
            record("e2", 3, SESSION, "GetCallerIdentity", None),
            record("e3", 4, SESSION, "AssumeRole", Some(ROLE)),
            record("e4", 5, ROLE, "GetCallerIdentity", None),
        ];
        let early_records = [record("e0", 2, SEED, "GetSessionToken", Some(SESSION))];
        for (name, records) in [(late, &late_records[..]), (early, &early_records[..])] {
            let body = format!(r#"{{"Records":[{}]}}"#, records.join(","));
            std::fs::write(dir.join(name), body).unwrap();
        }
    }

    /// The rows the real scan, dedupe, trace and timeline give, and what the
    /// scan found. A re-read never adds a row: dedupe keeps one copy of a
    /// record collected twice from one file, and does not count it.
    fn trace_dir(dir: &Path, threads: usize) -> (Vec<String>, Scan) {
        let params = TraceParams {
            seeds: BTreeSet::from([AccessKeyId::parse(SEED).unwrap()]),
            seed_window: Span::ALL,
            follow_created_keys: true,
            follow_footholds: true,
        };
        let scan_params = ScanParams {
            threads,
            delivery_margin: Duration::from_secs(6 * 3600),
            s3: S3Options::default(),
            manifest: false,
        };
        let sources = [SourceSpec::Local(dir.to_owned())];
        let scanned = run(&sources, &scan_params, Watch::new(&params), &|_| {}).unwrap();
        let (events, dropped) = dedupe(scanned.events.clone());
        assert_eq!(dropped, 0, "a re-read is not a second delivery");
        let lineage = trace(&events, &params);
        let rows = Timeline::build(events, &lineage, dropped)
            .rows
            .iter()
            .map(|r| format!("{} {} {} {}", r.event.id, r.relation, r.key, r.depth))
            .collect();
        (rows, scanned)
    }

    #[test]
    fn the_lineage_does_not_depend_on_read_order_or_threads() {
        let expected = [
            "e1 action AKIAEXAMPLESEED00001 0",
            "e0 action AKIAEXAMPLESEED00001 0",
            "e2 action ASIAEXAMPLESESS00001 1",
            "e3 action ASIAEXAMPLESESS00001 1",
            "e4 action ASIAEXAMPLEROLE00001 2",
        ];
        for (late, early) in [("a.json", "b.json"), ("b.json", "a.json")] {
            let dir = tempfile::tempdir().unwrap();
            write_files(dir.path(), late, early);
            for threads in [1, 2, 3] {
                let (rows, scanned) = trace_dir(dir.path(), threads);
                assert_eq!(rows, expected, "{late} read first, {threads} threads");
                assert_eq!(scanned.inputs.files_read, 2);
                assert_eq!(scanned.inputs.records, 5, "re-reads are not counted");
            }
        }
    }

    #[test]
    fn a_key_found_late_re_reads_the_files_before_it() {
        let dir = tempfile::tempdir().unwrap();
        // Read one at a time, the late file first. Pass 1 reads both for the
        // seed, and learns the session from the second. Pass 2 re-reads both
        // for the session (the first mentions it; the second minted it
        // mid-file), learning the role in the first. Pass 3 re-reads the
        // first for the role.
        write_files(dir.path(), "a.json", "b.json");
        let (rows, scanned) = trace_dir(dir.path(), 1);
        assert_eq!(scanned.inputs.rereads, 3);
        assert_eq!(rows.len(), 5);
        // Read in minting order, only the files where a key was learned
        // mid-file are read again.
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), "b.json", "a.json");
        let (rows, scanned) = trace_dir(dir.path(), 1);
        assert_eq!(scanned.inputs.rereads, 2);
        assert_eq!(rows.len(), 5);
    }
}
