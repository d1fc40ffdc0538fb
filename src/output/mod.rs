//! Everything keytrail writes: the timeline in three formats, the JSON
//! report, the human summary and progress.
//!
//! Each format is one type generic over `io::Write`, fed a finished
//! [`Timeline`]. The columns are defined once, in [`COLUMNS`] and
//! [`Row::cells`], so the formats cannot drift apart; each writer only decides
//! how a typed [`Cell`] is spelled.

pub mod blast;
pub mod csv;
pub mod graph;
pub mod jsonl;
pub mod markdown;
pub mod parquet;
pub mod progress;
pub mod report;
pub mod respond;
pub mod sanitize;
pub mod summary;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::time::Timestamp;
use crate::timeline::{Row, Timeline};

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
            text(self.key.as_str()),
            text(self.kind.as_str()),
            Cell::Text(self.parent.as_ref().map(|p| p.as_str())),
            Cell::Int(self.depth),
            Cell::Text(Some(e.identity.kind.as_str()).filter(|s| !s.is_empty())),
            opt(e.identity.arn.as_ref()),
            opt(e
                .identity
                .account_id
                .as_ref()
                .or(e.recipient_account_id.as_ref())),
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
pub fn report_issues(inputs: &crate::scan::InputStats) {
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
