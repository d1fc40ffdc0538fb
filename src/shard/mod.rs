//! `keytrail shard`: the trace as map and reduce steps that a cluster
//! engine (Spark) schedules, exchanging small JSON Lines files.
//!
//! One machine learns keys while it reads and comes back for the files a
//! late key needs; a cluster cannot afford a round of tasks per generation
//! of keys. So the trace is cut where the lineage is decided:
//!
//! - [`list`]: the files, with the layout pruning of `trace`, for any
//!   window the lineage could reach (from `--since` on);
//! - [`scan`] (map, pass 1): each file read once, blind to the lineage; out
//!   come the few records that can extend any lineage (minting, lifecycle,
//!   sign-in, console, foothold) and the file's key filter;
//! - [`closure`] (driver): those records and the seeds in, the watch list
//!   closed with the trace's own rule ([`Watch`]) out;
//! - [`select`] (map, pass 2): each file whose key filter may hold a
//!   watched key read again, keeping the records `trace` would keep, and
//!   what `trace` would have reported about every file;
//! - [`merge`] (driver): the records in, and every output of `trace`
//!   through [`run::finish`], the same code `trace` ends with.
//!
//! However deep the lineage, the data is read at most twice: every record
//! that can add a credential is in pass 1's output, so the closure needs
//! no more reads, and pass 2 reads each file at most once, with the final
//! watch list.

mod wire;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, Write};
use std::sync::Arc;

use crate::config::Config;
use crate::decode::record::parse_record;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::inputs::{InputIssue, InputStats, RecordIssue};
use crate::model::AccessKeyId;
use crate::run::{self, Completion};
use crate::scan::survey::{self, Needles};
use crate::scan::{ScanParams, Watchlist};
use crate::source::SourceSpec;
use crate::source::layout::listed_days;
use crate::time::{Span, Timestamp};
use crate::trace::{TraceParams, Watch, trace};

pub use wire::Line;
use wire::{FileLine, LineageFile, TallyLine};

/// How far before `--since` the listing reaches: a minted credential's
/// window starts a few minutes before its minting event, and a foothold
/// user's console session before the event that used it.
const LIST_BEFORE_SINCE: std::time::Duration = std::time::Duration::from_secs(2 * 86_400);

/// Lists the sources for every window the lineage of `trace` can reach:
/// from `--since` (less two days) on, since a created key never expires.
pub fn list(
    sources: &[SourceSpec],
    scan: &ScanParams,
    trace: &TraceParams,
    out: &mut dyn Write,
) -> Result<()> {
    let window = Span {
        start: match trace.seed_window.start {
            Timestamp::MIN => Timestamp::MIN,
            t => t.minus(LIST_BEFORE_SINCE),
        },
        end: Timestamp::MAX,
    };
    let listing = survey::list(sources, scan, window)?;
    let mut w = wire::Writer::new(out);
    for f in listing.files {
        w.line(&Line::File(FileLine {
            source: sources[f.source].to_string(),
            rel: f.rel,
            name: f.name,
            size: f.size,
            span: wire::span(f.span),
            day: f.day.map(|d| d.to_string()),
        }))?;
    }
    for (p, day) in listing.passed_over {
        w.line(&Line::PassedOver {
            name: p.name,
            reason: p.reason,
            failure: p.failure,
            day: day.map(|d| d.to_string()),
        })?;
    }
    w.finish()
}

/// Pass 1: reads every file line of `input` once; writes a `scanned` line
/// per file and a `record` line per record that can extend a lineage.
/// Other lines pass through.
pub fn scan(input: &mut dyn BufRead, scan: &ScanParams, out: &mut dyn Write) -> Result<()> {
    let mut w = wire::Writer::new(out);
    let mut files = Vec::new();
    for line in wire::lines(input) {
        match line? {
            Line::File(f) => files.push(f),
            other => w.line(&other)?,
        }
    }
    let (stores, refs) = connect(files.iter().map(|f| (&f.source, &f.rel)), scan)?;
    let reads = survey::read_each(&stores, &refs, scan.threads, |i, name, body, scratch| {
        let read = survey::survey(&name, body, scratch);
        (i, read)
    });
    for (i, read) in reads {
        let file = &files[i];
        for json in &read.records_kept {
            w.line(&Line::Record {
                span: file.span,
                name: file.name.clone(),
                record: json.clone(),
            })?;
        }
        let (status, reason) = wire::status(&read.status);
        w.line(&Line::Scanned {
            file: file.clone(),
            records: read.records,
            bytes: read.bytes,
            status,
            reason,
            filter: read.filter,
            format: read.format,
        })?;
    }
    w.finish()
}

/// The driver's step: closes the watch list over pass 1's `record` lines
/// with the trace's own rule, and writes it with the lineage it gives.
pub fn closure(
    inputs: &mut [&mut dyn BufRead],
    params: &TraceParams,
    out: &mut dyn Write,
) -> Result<()> {
    let mut candidates: Vec<(Span, String, Event)> = Vec::new();
    let mut origins: BTreeMap<String, Arc<str>> = BTreeMap::new();
    for input in inputs.iter_mut() {
        for line in wire::lines(*input) {
            if let Line::Record { span, name, record } = line? {
                let origin = intern(&mut origins, name);
                // Pass 1 parsed it already: it parses.
                if let Ok(e) = parse_record(record.as_bytes(), &origin) {
                    candidates.push((wire::unspan(span), record, e));
                }
            }
        }
    }
    // The order records arrive in depends on the cluster; the closure
    // does not, but its inputs are put in one order anyway.
    candidates
        .sort_by(|a, b| (a.2.time, &a.2.id, &a.2.origin).cmp(&(b.2.time, &b.2.id, &b.2.origin)));
    let mut watch = Watch::new(params);
    loop {
        // What the one-machine scan would have collected with this watch
        // list: it learns only from what it reads.
        let needles = Needles::new(&watch);
        let seen: Vec<&Event> = candidates
            .iter()
            .filter(|(span, json, e)| {
                e.may_extend_lineage() && needles.keeps(json.as_bytes(), *span)
            })
            .map(|(_, _, e)| e)
            .collect();
        let mut learned = false;
        loop {
            let mut grew = false;
            for e in &seen {
                grew |= watch.learn(e);
            }
            learned |= grew;
            if !grew {
                break;
            }
        }
        if !learned {
            break;
        }
    }
    let needles = Needles::new(&watch);
    let seen: Vec<Event> = candidates
        .into_iter()
        .filter(|(span, json, _)| needles.keeps(json.as_bytes(), *span))
        .map(|(_, _, e)| e)
        .collect();
    let (seen, _) = crate::timeline::dedupe(seen);
    let lineage = trace(&seen, params);
    let file = LineageFile::new(&watch, &lineage);
    serde_json::to_writer_pretty(&mut *out, &file).map_err(|e| output_error(e.into()))?;
    writeln!(out).map_err(output_error)
}

/// Pass 2: for every `scanned` line of `input`, what `trace` would have
/// made of the file, and the records it would have kept, re-reading the
/// file when its key filter may hold a watched key.
pub fn select(
    input: &mut dyn BufRead,
    lineage: &mut dyn BufRead,
    scan: &ScanParams,
    out: &mut dyn Write,
) -> Result<()> {
    let closed: LineageFile = serde_json::from_reader(lineage)
        .map_err(|e| Error::Shard(format!("the lineage file: {e}")))?;
    let closed = closed.watch()?;
    let needles = Needles::new(&closed);
    let listed = needles.hull().map(|h| listed_days(h, scan.delivery_margin));
    let is_listed = |day: &Option<String>| match (day, listed) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(d), Some((first, last))) => match d.parse::<chrono::NaiveDate>() {
            Ok(d) => first.is_none_or(|f| d >= f) && last.is_none_or(|l| d <= l),
            Err(_) => true,
        },
    };
    let mut tally = TallyLine::default();
    let mut again = Vec::new();
    for line in wire::lines(input) {
        match line? {
            Line::Scanned {
                file,
                records,
                bytes,
                status,
                reason,
                filter,
                format,
            } => {
                tally.bytes_read += bytes;
                if !is_listed(&file.day) {
                    continue;
                }
                tally.files_listed += 1;
                let span = wire::unspan(file.span);
                if !needles.reads(span) {
                    continue;
                }
                tally.files_read += 1;
                tally.records += records;
                if let (Some(format), "complete" | "partial") = (format, status.as_str()) {
                    *tally.formats.entry(format).or_default() += 1;
                }
                let not_events = status == "not-events";
                tally.issue(&file.name, &status, reason.as_deref());
                if needles.pending(span, filter.as_deref(), not_events) {
                    again.push(file);
                }
            }
            Line::PassedOver {
                name,
                reason,
                failure,
                day,
            } if is_listed(&day) => {
                let list = if failure {
                    &mut tally.skipped
                } else {
                    &mut tally.skipped_by_design
                };
                list.push((name, reason));
            }
            _ => {}
        }
    }
    let (stores, refs) = connect(again.iter().map(|f| (&f.source, &f.rel)), scan)?;
    let reads = survey::read_each(&stores, &refs, scan.threads, |i, name, body, scratch| {
        (
            i,
            survey::select(&name, wire::unspan(again[i].span), &needles, body, scratch),
        )
    });
    let mut w = wire::Writer::new(out);
    for (i, read) in reads {
        let file = &again[i];
        tally.rereads += 1;
        tally.bytes_read += read.bytes;
        let (status, reason) = wire::status(&read.status);
        tally.issue(&file.name, &status, reason.as_deref());
        tally.bad_records.extend(
            read.bad
                .into_iter()
                .map(|(i, why)| (file.name.clone(), i, why)),
        );
        for json in read.records_kept {
            w.line(&Line::Row {
                name: file.name.clone(),
                record: json,
            })?;
        }
    }
    w.line(&Line::Tally(tally))?;
    w.finish()
}

/// The driver's last step: every `row` and `tally` line of `inputs` into
/// every output of `trace`, through the same code.
pub fn merge(inputs: &mut [&mut dyn BufRead], config: &Config) -> Result<Completion> {
    if config.manifest.is_some() || config.verify.is_some() {
        return Err(Error::Shard(
            "--manifest and --verify read every input on one machine; run them with `keytrail trace` or `keytrail verify`".into(),
        ));
    }
    run::check_outputs(config)?;
    let mut events = Vec::new();
    let mut stats = InputStats::default();
    let mut origins: BTreeMap<String, Arc<str>> = BTreeMap::new();
    for input in inputs.iter_mut() {
        for line in wire::lines(*input) {
            match line? {
                Line::Row { name, record } => {
                    let origin = intern(&mut origins, name);
                    let e = parse_record(record.as_bytes(), &origin).map_err(|e| {
                        Error::Shard(format!("a row from {origin} does not parse: {e}"))
                    })?;
                    events.push(e);
                }
                Line::Tally(t) => t.add_to(&mut stats),
                _ => {}
            }
        }
    }
    stats.files_pruned = stats.files_listed - stats.files_read.min(stats.files_listed);
    stats.sort_issues();
    run::finish(config, events, stats)
}

/// Connects once to each distinct source, returning the stores and, for
/// each file, its store and path.
#[allow(clippy::type_complexity)]
fn connect<'a>(
    files: impl Iterator<Item = (&'a String, &'a String)>,
    params: &ScanParams,
) -> Result<(Vec<Box<dyn crate::source::Store>>, Vec<(usize, String)>)> {
    let mut by_source: BTreeMap<&str, usize> = BTreeMap::new();
    let mut stores = Vec::new();
    let mut refs = Vec::new();
    for (source, rel) in files {
        let index = match by_source.get(source.as_str()) {
            Some(&i) => i,
            None => {
                let spec = SourceSpec::parse(source).map_err(Error::Shard)?;
                stores.push(survey::connect(&spec, params)?);
                by_source.insert(source, stores.len() - 1);
                stores.len() - 1
            }
        };
        refs.push((index, rel.clone()));
    }
    Ok((stores, refs))
}

fn intern(origins: &mut BTreeMap<String, Arc<str>>, name: String) -> Arc<str> {
    Arc::clone(
        origins
            .entry(name)
            .or_insert_with_key(|n| Arc::from(n.as_str())),
    )
}

fn output_error(e: io::Error) -> Error {
    Error::Output {
        path: "-".into(),
        source: e,
    }
}

/// A closed watch list read back: it learns nothing more.
struct Closed {
    seeds: BTreeSet<AccessKeyId>,
    windows: BTreeMap<AccessKeyId, Span>,
    arns: BTreeMap<String, Span>,
}

impl Watchlist for Closed {
    fn seeds(&self) -> &BTreeSet<AccessKeyId> {
        &self.seeds
    }

    fn windows(&self) -> &BTreeMap<AccessKeyId, Span> {
        &self.windows
    }

    fn arns(&self) -> &BTreeMap<String, Span> {
        &self.arns
    }

    fn observe(&mut self, _: &Event) -> bool {
        false
    }
}

impl TallyLine {
    /// Notes a read's outcome as `trace` reports it.
    fn issue(&mut self, name: &str, status: &str, reason: Option<&str>) {
        let entry = (name.to_owned(), reason.unwrap_or_default().to_owned());
        match status {
            "partial" => self.partial.push(entry),
            "failed" => self.skipped.push(entry),
            "not-events" => self.skipped_by_design.push(entry),
            _ => {}
        }
    }

    fn add_to(self, stats: &mut InputStats) {
        stats.files_listed += self.files_listed;
        stats.files_read += self.files_read;
        stats.rereads += self.rereads;
        stats.bytes_read += self.bytes_read;
        stats.records += self.records;
        for (format, n) in self.formats {
            *stats.formats.entry(format).or_default() += n;
        }
        let issues = |v: Vec<(String, String)>| {
            v.into_iter()
                .map(|(source, reason)| InputIssue { source, reason })
        };
        stats.skipped.extend(issues(self.skipped));
        stats.partial.extend(issues(self.partial));
        stats
            .skipped_by_design
            .extend(issues(self.skipped_by_design));
        stats.bad_records.extend(
            self.bad_records
                .into_iter()
                .map(|(source, record, reason)| RecordIssue {
                    source,
                    record,
                    reason,
                }),
        );
    }
}
