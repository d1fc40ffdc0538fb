//! Everything keytrail writes: the timeline in three formats, the JSON
//! report, the human summary, the response outputs and progress.
//!
//! This stage decides nothing: it renders a finished [`Timeline`], the
//! [`Analysis`](crate::analyze::Analysis) made from it, and a small description of the [`Run`].
//!
//! Each format is one type generic over `io::Write`, fed a finished
//! [`Timeline`]. The columns are defined once, in [`COLUMNS`] and
//! [`Row::cells`], so the formats cannot drift apart; each writer only decides
//! how a typed [`Cell`] is spelled.

pub mod csv;
pub mod graph;
pub mod html;
pub mod jsonl;
pub mod manifest;
pub mod markdown;
pub mod parquet;
pub mod progress;
pub mod report;
pub mod respond;
pub mod sanitize;
pub mod summary;

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::inputs::InputStats;
use crate::model::{AccessKeyId, AccountId, IdentityKind};
use crate::time::{Span, Timestamp};
use crate::timeline::{Row, Timeline};

/// The run, as the reports describe it: what was asked, and what was read.
#[derive(Clone, Copy, Debug)]
pub struct Run<'a> {
    /// The leaked keys.
    pub seeds: &'a BTreeSet<AccessKeyId>,
    /// `--since` / `--until`.
    pub window: Span,
    /// How late a file was allowed to be delivered.
    pub delivery_margin: Duration,
    /// Whether keys made with `CreateAccessKey` were followed.
    pub follow_created_keys: bool,
    /// Whether what came in through footholds was followed.
    pub follow_footholds: bool,
    /// What was read, and what could not be.
    pub inputs: &'a InputStats,
}

/// The type of a timeline column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// UTF-8 text, possibly empty.
    Text,
    /// A non-negative integer.
    Int,
    /// A boolean, possibly unknown.
    Bool,
    /// A UTC instant.
    Time,
    /// A JSON value, possibly absent.
    Json,
}

/// The timeline columns, in output order. Other tooling relies on these names.
pub const COLUMNS: [(&str, ColumnType); 23] = [
    ("event_time", ColumnType::Time),
    ("event_id", ColumnType::Text),
    ("relation", ColumnType::Text),
    ("access_key_id", ColumnType::Text),
    ("credential_kind", ColumnType::Text),
    ("parent_key_id", ColumnType::Text),
    ("depth", ColumnType::Int),
    ("principal_type", ColumnType::Text),
    ("principal_arn", ColumnType::Text),
    ("account_id", ColumnType::Text),
    ("event_source", ColumnType::Text),
    ("event_name", ColumnType::Text),
    ("aws_region", ColumnType::Text),
    ("source_ip", ColumnType::Text),
    ("user_agent", ColumnType::Text),
    ("read_only", ColumnType::Bool),
    ("error_code", ColumnType::Text),
    ("error_message", ColumnType::Text),
    ("after_deactivation", ColumnType::Bool),
    ("request_parameters", ColumnType::Json),
    ("response_elements", ColumnType::Json),
    ("resources", ColumnType::Json),
    ("source_file", ColumnType::Text),
];

/// One typed value of a row.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    /// See [`ColumnType::Text`]; `None` when absent.
    Text(Option<&'a str>),
    /// See [`ColumnType::Int`].
    Int(u32),
    /// See [`ColumnType::Bool`].
    Bool(Option<bool>),
    /// See [`ColumnType::Time`].
    Time(Timestamp),
    /// See [`ColumnType::Json`].
    Json(Option<&'a Value>),
}

impl Row {
    /// The row's values, in [`COLUMNS`] order.
    pub fn cells(&self) -> [Cell<'_>; COLUMNS.len()] {
        let e = &self.event;
        fn text(s: &str) -> Cell<'_> {
            Cell::Text(Some(s))
        }
        fn opt(s: Option<&String>) -> Cell<'_> {
            Cell::Text(s.map(String::as_str))
        }
        [
            Cell::Time(e.time),
            text(e.id.as_str()),
            text(self.relation.as_str()),
            Cell::Text(self.shown_key().map(AccessKeyId::as_str)),
            text(self.kind.as_str()),
            Cell::Text(self.parent.as_ref().map(|p| p.as_str())),
            Cell::Int(self.depth),
            Cell::Text(e.identity.kind.as_ref().map(IdentityKind::as_str)),
            opt(e.identity.arn.as_ref()),
            Cell::Text(
                e.identity
                    .account_id
                    .as_ref()
                    .or(e.recipient_account_id.as_ref())
                    .map(AccountId::as_str),
            ),
            text(&e.service),
            text(&e.name),
            text(&e.region),
            text(&e.source_ip),
            text(&e.user_agent),
            Cell::Bool(e.read_only),
            opt(e.error_code.as_ref()),
            opt(e.error_message.as_ref()),
            Cell::Bool(Some(self.after_deactivation)),
            Cell::Json(e.request_parameters.as_ref()),
            Cell::Json(e.response_elements.as_ref()),
            Cell::Json(e.resources.as_ref()),
            text(&e.origin),
        ]
    }
}

/// A timeline format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV, spreadsheet-safe.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format a file name implies.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }
}

/// Writes `timeline` in `format`.
///
/// An error is the destination's own `io::Error`, whatever the format, so
/// that a reader closing the pipe (`| head`) is recognised as such.
pub fn write_timeline<W: Write>(format: Format, timeline: &Timeline, out: W) -> io::Result<()> {
    match format {
        Format::Csv => csv::CsvWriter::new(out).write(timeline),
        Format::Jsonl => jsonl::JsonlWriter::new(out).write(timeline),
        Format::Parquet => parquet::ParquetWriter::new(out).write(timeline),
    }
}

/// Writes a file atomically: into a temporary file beside `path`, renamed
/// over it only once complete, so a crash or Ctrl-C never leaves a truncated
/// file that looks finished.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let err = |source| Error::Output {
        path: path.to_owned(),
        source,
    };
    // A device or FIFO (`-o /dev/null --force`) is written in place:
    // renaming over it would replace the device node with a regular file.
    if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let mut file = fs::OpenOptions::new().write(true).open(path).map_err(err)?;
        let mut buffered = io::BufWriter::new(&mut file);
        write(&mut buffered).map_err(err)?;
        return buffered.flush().map_err(err);
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keytrail-")
        .tempfile_in(&dir)
        .map_err(err)?;
    {
        let mut buffered = io::BufWriter::new(tmp.as_file_mut());
        write(&mut buffered).map_err(err)?;
        buffered.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

/// Fails if `path` exists, unless overwriting was allowed.
pub fn check_writable(path: &Path, force: bool) -> Result<()> {
    if !force && fs::symlink_metadata(path).is_ok() {
        return Err(Error::OutputExists {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Prints one message for people on stderr, prefixed with the program name.
/// The text must already be sanitized where it holds recorded data.
pub fn message(text: &str) {
    let _ = writeln!(io::stderr().lock(), "keytrail: {text}");
}

/// Names every input that could not be read completely, on stderr.
pub fn report_issues(inputs: &InputStats) {
    for (what, list) in [("skipped", &inputs.skipped), ("partial", &inputs.partial)] {
        for issue in list {
            message(&format!(
                "{what}: {}: {}",
                sanitize::terminal(&issue.source),
                sanitize::terminal(&issue.reason)
            ));
        }
    }
    if !inputs.bad_records.is_empty() {
        message(&format!(
            "{} record(s) mention a lineage key but could not be used (see --report)",
            inputs.bad_records.len()
        ));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::{CredentialKind, Relation};

    /// A timeline of one row whose recorded text an attacker wrote: a
    /// formula, a quote, a newline and a session token.
    pub(super) fn hostile_timeline() -> Timeline {
        let record = r#"{"eventID":"e1","eventTime":"2025-12-08T14:03:12Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"=HYPERLINK(\"x\")\n","userIdentity":{"type":"IAMUser","accountId":"111111111111","accessKeyId":"AKIAEXAMPLESEED00001"},"requestParameters":{"roleSessionName":"a,b"},"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLEROLE00001","sessionToken":"SECRET"}}}"#;
        let event = crate::decode::record::parse_record(record.as_bytes(), &Arc::from("f.json"))
            .expect("a valid record");
        Timeline {
            rows: vec![Row {
                relation: Relation::Action,
                key: AccessKeyId::parse("AKIAEXAMPLESEED00001").expect("a key"),
                kind: CredentialKind::Seed,
                parent: None,
                depth: 0,
                after_deactivation: true,
                event,
            }],
            duplicates_dropped: 0,
            same_id_elsewhere: Default::default(),
        }
    }

    fn written(format: Format, timeline: &Timeline) -> Vec<u8> {
        let mut out = Vec::new();
        write_timeline(format, timeline, &mut out).unwrap();
        out
    }

    #[test]
    fn an_empty_timeline_is_a_valid_file_in_every_format() {
        let empty = Timeline::default();
        let header: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            String::from_utf8(written(Format::Csv, &empty)).unwrap(),
            format!("{}\r\n", header.join(","))
        );
        assert!(written(Format::Jsonl, &empty).is_empty());
        let parquet = written(Format::Parquet, &empty);
        assert!(parquet.starts_with(b"PAR1") && parquet.ends_with(b"PAR1"));
    }

    #[test]
    fn no_format_writes_a_session_token() {
        let timeline = hostile_timeline();
        for format in [Format::Csv, Format::Jsonl, Format::Parquet] {
            let out = written(format, &timeline);
            assert!(
                !out.windows(6).any(|w| w == b"SECRET"),
                "{format:?} wrote the token"
            );
        }
    }

    #[test]
    fn a_failed_atomic_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timeline.csv");
        fs::write(&path, "old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"half a timeline")?;
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert!(matches!(err, Error::Output { .. }), "{err}");
        assert_eq!(fs::read_to_string(&path).unwrap(), "old");
        // Nothing is left behind beside it.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        write_atomically(&path, |w| w.write_all(b"new")).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
    }

    #[test]
    fn a_closed_pipe_is_reported_as_one_in_every_format() {
        struct Closed;
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> io::Result<()> {
                Err(io::ErrorKind::BrokenPipe.into())
            }
        }
        let timeline = hostile_timeline();
        for format in [Format::Csv, Format::Jsonl, Format::Parquet] {
            let err = write_timeline(format, &timeline, Closed).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{format:?}: {err}");
        }
    }
}
