//! What the reads add up to.
//!
//! Workers fold each file's result in as they finish, so nothing per file
//! is held beyond what a later pass needs to decide on a re-read: the keys
//! a file was searched for and its key filter. Every read reports its
//! damage, re-reads included, and the lists are put in order only at the
//! end, so the report does not depend on which worker finished first.

use std::fs::File;
use std::sync::Arc;

use super::filter::{Filters, KeyFilter, Seen};
use super::keys::KeySet;
use crate::decode::{Hashes, Status};
use crate::event::Event;
use crate::inputs::{Custody, Format, InputIssue, InputStats, RecordIssue};
use crate::source::PassedOver;
use crate::source::bundle::Kind;
use crate::time::Span;

/// What the scan knows about one listed file beyond its listing.
#[derive(Default)]
pub(super) struct Scanned {
    /// Keys it was searched for, over all reads.
    pub(super) searched: KeySet,
    pub(super) seen: Seen,
    /// The event times it was read to hold, when a complete read knew them
    /// all (OCSF): narrower than what its place in the layout says.
    pub(super) times: Option<Span>,
}

/// The result of one read of one file.
pub(super) struct FileResult {
    pub(super) index: usize,
    pub(super) name: Arc<str>,
    pub(super) searched: KeySet,
    pub(super) bytes: u64,
    pub(super) records: u64,
    pub(super) events: Vec<Event>,
    pub(super) bad: Vec<(u64, String)>,
    pub(super) status: Status,
    /// The event times it holds, when the decoder knew them all.
    pub(super) times: Option<Span>,
    /// The key ids in the file's `accessKeyId` fields, when it was read whole.
    pub(super) keys: Option<KeyFilter<Vec<u64>>>,
    /// Its hashes, when the run keeps a custody manifest.
    pub(super) hashes: Option<Hashes>,
    /// The format recognised in it, when it held records.
    pub(super) format: Option<Format>,
    /// CloudWatch Logs `CONTROL_MESSAGE` envelopes passed over in it.
    pub(super) control_messages: u64,
    /// The bundle it turned out to be, to be opened as a store of its own.
    pub(super) bundle: Option<(Kind, File)>,
}

/// A bundle found by a read, not yet opened.
pub(super) struct FoundBundle {
    pub(super) name: Arc<str>,
    pub(super) kind: Kind,
    pub(super) file: File,
}

/// What the reads so far add up to; workers fold their results in as they
/// finish, so nothing per file is held beyond [`Scanned`] and its filter.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) files: Vec<Scanned>,
    pub(super) filters: Filters,
    pub(super) stats: InputStats,
    pub(super) events: Vec<Event>,
    /// Bundles found in the pass, to open before the next.
    pub(super) bundles: Vec<FoundBundle>,
}

impl Tally {
    pub(super) fn add(&mut self, mut r: FileResult, hashing: bool) {
        let is_bundle = r.bundle.is_some();
        if let Some((kind, bundle)) = r.bundle.take() {
            self.bundles.push(FoundBundle {
                name: Arc::clone(&r.name),
                kind,
                file: bundle,
            });
        }
        let file = &mut self.files[r.index];
        let stats = &mut self.stats;
        stats.bytes_read += r.bytes;
        if let Seen::Unread = file.seen {
            stats.files_read += 1;
            stats.records += r.records;
            if let (Some(format), Status::Complete | Status::Partial(_)) = (r.format, &r.status) {
                *stats.formats.entry(format).or_default() += 1;
            }
            if hashing {
                let hex = |h: &[u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
                stats.custody.push(Custody {
                    source: r.name.to_string(),
                    size: r.bytes,
                    s3_etag: None,
                    s3_version_id: None,
                    sha256_stored: r.hashes.as_ref().map(|h| hex(&h.stored)),
                    sha256_content: r.hashes.as_ref().map(|h| hex(&h.content)),
                    records: Some(r.records),
                    read_at: crate::time::Timestamp::now().to_string(),
                });
            }
        } else {
            stats.rereads += 1;
        }
        file.searched.extend(&r.searched);
        if let (Status::Complete, Some(times)) = (&r.status, r.times) {
            file.times = Some(times);
        }
        // A re-read's filter is kept anew: the words of the first are left
        // unused, at most 128 bytes for each of the few files re-read.
        file.seen = match (&r.status, r.keys) {
            _ if is_bundle => Seen::NotEvents,
            (Status::NotEvents(_), _) => Seen::NotEvents,
            (_, Some(f)) => self.filters.add(&f.0),
            (_, None) => Seen::Partly,
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
        if r.control_messages > 0 && !matches!(r.status, Status::NotEvents(_)) {
            stats.skipped_by_design.push(issue(format!(
                "{} CloudWatch Logs CONTROL_MESSAGE envelope(s), no events (skipped by design)",
                r.control_messages
            )));
        }
        match r.status {
            Status::Complete => {}
            Status::Partial(reason) => stats.partial.push(issue(reason)),
            Status::Failed(reason) => stats.skipped.push(issue(reason)),
            Status::NotEvents(reason) => stats.skipped_by_design.push(issue(reason)),
        }
        self.events.extend(r.events);
    }
}

impl Tally {
    /// Takes in an entry the listing passed over: a failure to list or
    /// open is a skipped input, a digest or FIFO one skipped by design.
    pub(super) fn passed_over(&mut self, p: PassedOver) {
        let issue = InputIssue {
            source: p.name,
            reason: p.reason,
        };
        if p.failure {
            self.stats.skipped.push(issue);
        } else {
            self.stats.skipped_by_design.push(issue);
        }
    }

    /// The events collected and the input report, in an order that does not
    /// depend on which worker finished first.
    pub(super) fn finish(self) -> (Vec<Event>, InputStats) {
        let Tally {
            files,
            mut stats,
            events,
            filters,
            bundles: _,
        } = self;
        stats.files_listed = files.len() as u64;
        stats.files_pruned = files
            .iter()
            .filter(|f| matches!(f.seen, Seen::Unread))
            .count() as u64;
        // What was kept per file is not needed past the counts: free it
        // before the timeline is built, the run's other high point of memory.
        drop((files, filters));
        stats.sort_issues();
        stats.custody.sort_by(|a, b| a.source.cmp(&b.source));
        (events, stats)
    }
}
