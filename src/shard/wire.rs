//! What the shard steps exchange: JSON Lines, one object a line, tagged by
//! `kind`, and the closed lineage as one JSON object.
//!
//! Times are milliseconds since the epoch (`i64`, the extremes meaning
//! unbounded); records travel as compact JSON strings with every
//! `sessionToken` redacted.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::Closed;
use crate::decode::Status;
use crate::error::{Error, Result};
use crate::inputs::Format;
use crate::model::AccessKeyId;
use crate::time::{Span, Timestamp};
use crate::trace::{Lineage, Watch};

/// One line of a shard file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Line {
    /// A file to read (`shard list`).
    File(FileLine),
    /// An entry the listing passed over (`shard list`).
    PassedOver {
        /// As shown in the report.
        name: String,
        /// Why.
        reason: String,
        /// Whether evidence may be missing because of it.
        failure: bool,
        /// Its day folder, if it was met listing one.
        day: Option<String>,
    },
    /// What pass 1 found in a file (`shard scan`).
    Scanned {
        /// The file.
        file: FileLine,
        /// Records in it.
        records: u64,
        /// Compressed bytes read.
        bytes: u64,
        /// `complete`, `partial`, `failed` or `not-events`.
        status: String,
        /// Why, when not complete.
        reason: Option<String>,
        /// Its key filter, when read whole.
        filter: Option<Vec<u64>>,
        /// What its content was recognised as, when it held records.
        #[serde(default)]
        format: Option<Format>,
    },
    /// A record that can extend a lineage (`shard scan`).
    Record {
        /// The span of its file.
        span: [i64; 2],
        /// Its file, as named in outputs.
        name: String,
        /// The record, redacted compact JSON.
        record: String,
    },
    /// A record `trace` would keep (`shard select`).
    Row {
        /// Its file, as named in outputs.
        name: String,
        /// The record, redacted compact JSON.
        record: String,
    },
    /// What `trace` would have reported about a share of the files
    /// (`shard select`).
    Tally(TallyLine),
}

/// A file to read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileLine {
    /// The source it was listed from, as given (`s3://…` or a path).
    pub source: String,
    /// Its path or key relative to the source's store.
    pub rel: String,
    /// As named in outputs (`source_file`).
    pub name: String,
    /// Size as listed.
    pub size: u64,
    /// The event times it can hold.
    pub span: [i64; 2],
    /// Its day folder (`YYYY-MM-DD`), inside a region.
    pub day: Option<String>,
}

/// The input report of a share of the files.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TallyLine {
    pub(super) files_listed: u64,
    pub(super) files_read: u64,
    pub(super) records: u64,
    pub(super) formats: BTreeMap<Format, u64>,
    pub(super) rereads: u64,
    pub(super) bytes_read: u64,
    pub(super) skipped: Vec<(String, String)>,
    pub(super) partial: Vec<(String, String)>,
    pub(super) skipped_by_design: Vec<(String, String)>,
    pub(super) bad_records: Vec<(String, u64, String)>,
}

/// The closed watch list, and the lineage the trace makes of pass 1's
/// records, for people and the driver's log.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct LineageFile {
    seeds: Vec<String>,
    /// Key, window start, window end.
    keys: Vec<(String, i64, i64)>,
    /// ARN or name, window start, window end.
    arns: Vec<(String, i64, i64)>,
    credentials: Vec<CredentialLine>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CredentialLine {
    key: String,
    kind: String,
    parent: Option<String>,
    depth: u32,
}

impl LineageFile {
    pub(super) fn new(watch: &Watch, lineage: &Lineage) -> LineageFile {
        LineageFile {
            seeds: watch.seeds().iter().map(ToString::to_string).collect(),
            keys: watch
                .windows()
                .iter()
                .map(|(k, w)| (k.to_string(), w.start.as_millis(), w.end.as_millis()))
                .collect(),
            arns: watch
                .arns()
                .iter()
                .map(|(a, w)| (a.clone(), w.start.as_millis(), w.end.as_millis()))
                .collect(),
            credentials: lineage
                .credentials
                .values()
                .map(|c| CredentialLine {
                    key: c.key.to_string(),
                    kind: c.kind.to_string(),
                    parent: c.parent.as_ref().map(ToString::to_string),
                    depth: c.depth,
                })
                .collect(),
        }
    }

    pub(super) fn watch(self) -> Result<Closed> {
        let key = |k: &str| {
            AccessKeyId::parse(k)
                .ok_or_else(|| Error::Shard(format!("the lineage file names a bad key {k:?}")))
        };
        let seeds: BTreeSet<AccessKeyId> =
            self.seeds.iter().map(|k| key(k)).collect::<Result<_>>()?;
        let windows: BTreeMap<AccessKeyId, Span> = self
            .keys
            .iter()
            .map(|(k, s, e)| Ok((key(k)?, unspan([*s, *e]))))
            .collect::<Result<_>>()?;
        let arns = self
            .arns
            .into_iter()
            .map(|(a, s, e)| (a, unspan([s, e])))
            .collect();
        Ok(Closed {
            seeds,
            windows,
            arns,
        })
    }
}

/// A span on the wire.
pub(super) fn span(s: Span) -> [i64; 2] {
    [s.start.as_millis(), s.end.as_millis()]
}

/// A span off the wire.
pub(super) fn unspan([start, end]: [i64; 2]) -> Span {
    Span {
        start: Timestamp::from_millis(start),
        end: Timestamp::from_millis(end),
    }
}

/// A read's status on the wire.
pub(super) fn status(s: &Status) -> (String, Option<String>) {
    let (name, why) = match s {
        Status::Complete => ("complete", None),
        Status::Partial(r) => ("partial", Some(r.clone())),
        Status::Failed(r) => ("failed", Some(r.clone())),
        Status::NotEvents(r) => ("not-events", Some(r.clone())),
    };
    (name.to_owned(), why)
}

/// The lines of a shard file; blank lines are skipped.
pub(super) fn lines(input: &mut dyn BufRead) -> impl Iterator<Item = Result<Line>> + '_ {
    input
        .lines()
        .enumerate()
        .filter_map(|(n, line)| match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(
                serde_json::from_str(&l).map_err(|e| Error::Shard(format!("line {}: {e}", n + 1))),
            ),
            Err(e) => Some(Err(Error::Shard(format!("line {}: {e}", n + 1)))),
        })
}

/// Writes lines, buffered.
pub(super) struct Writer<'a> {
    out: std::io::BufWriter<&'a mut dyn Write>,
}

impl<'a> Writer<'a> {
    pub(super) fn new(out: &'a mut dyn Write) -> Writer<'a> {
        Writer {
            out: std::io::BufWriter::new(out),
        }
    }

    pub(super) fn line(&mut self, line: &Line) -> Result<()> {
        serde_json::to_writer(&mut self.out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(super::output_error)
    }

    pub(super) fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(super::output_error)
    }
}
