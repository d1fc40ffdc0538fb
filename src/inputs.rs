//! The input report: what was read, and what could not be.
//!
//! The scan fills these in and the report serializes them as its `inputs`
//! object, so they are passive data with no behaviour of their own, apart
//! from the one judgement every output shares: whether evidence may be
//! missing. Their field names are the report's wire format.

/// How an input delivered its records, recognised by content.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `{"Records":[…]}`, as CloudTrail delivers to S3.
    Records,
    /// A bare JSON array of records.
    Array,
    /// One record per line.
    JsonLines,
    /// `aws cloudtrail lookup-events` output.
    LookupEvents,
    /// CloudWatch Logs export-task output: one log event per line.
    CloudwatchExport,
    /// CloudWatch Logs subscription or Firehose envelopes.
    CloudwatchSubscription,
    /// SIEM exports that wrap or extend the record.
    Siem,
    /// Security Lake OCSF Parquet.
    Ocsf,
}

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
    /// Files and bundle members read, by the format recognised in them; a
    /// file with no records counts under none.
    pub formats: std::collections::BTreeMap<Format, u64>,
    /// Inputs that could not be read at all (failures).
    pub skipped: Vec<InputIssue>,
    /// Inputs read only up to some damage.
    pub partial: Vec<InputIssue>,
    /// Inputs left alone by design: digests, Insights, FIFOs, folder symlinks.
    pub skipped_by_design: Vec<InputIssue>,
    /// Records that mention a lineage key but could not be used.
    pub bad_records: Vec<RecordIssue>,
    /// One row per input opened, for `--manifest`; empty without it.
    #[serde(skip)]
    pub custody: Vec<Custody>,
    /// What `trace --verify` found; the report shows it as `integrity`.
    #[serde(skip)]
    pub integrity: Option<Integrity>,
}

/// The integrity of the evidence behind a timeline (`trace --verify`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Integrity {
    /// Files per verdict (`valid`, `altered`, …).
    pub counts: std::collections::BTreeMap<String, usize>,
    /// Every file that is not `valid`.
    pub files: Vec<IntegrityIssue>,
    /// The timeline rows that come from files that are not `valid`.
    pub rows: Vec<IntegrityRow>,
    /// Whether some evidence was altered, removed, added, or its digest
    /// chain broken: the run exits 4.
    pub failed: bool,
}

/// A file that is not `valid`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityIssue {
    /// The path, or the key a digest names.
    pub source: String,
    /// The verdict.
    pub verdict: String,
    /// Why.
    pub detail: String,
}

/// A timeline row read from a file that is not `valid`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct IntegrityRow {
    /// Its `eventID`.
    pub event_id: String,
    /// Its `eventTime`.
    pub event_time: String,
    /// The file it came from.
    pub source_file: String,
    /// That file's verdict.
    pub verdict: String,
}

/// The custody of one input: what was opened, what it hashed to, and when
/// (`--manifest`, issue 16).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Custody {
    /// The path or `s3://` URL.
    pub source: String,
    /// Bytes as stored.
    pub size: u64,
    /// The S3 ETag, where known.
    pub s3_etag: Option<String>,
    /// The S3 version id, where known.
    pub s3_version_id: Option<String>,
    /// Hex SHA-256 of the bytes as stored; `None` when not read to the end.
    pub sha256_stored: Option<String>,
    /// Hex SHA-256 of the uncompressed content (a digest's `hashValue`).
    pub sha256_content: Option<String>,
    /// Records in it (log files).
    pub records: Option<u64>,
    /// When it was read, RFC 3339 UTC.
    pub read_at: String,
}

impl InputStats {
    /// Whether some evidence may be missing: the run's exit status is 3.
    pub fn incomplete(&self) -> bool {
        !self.skipped.is_empty() || !self.partial.is_empty() || !self.bad_records.is_empty()
    }

    /// Orders every list of issues by source, and drops the repeats a
    /// re-read (or a second pass) reports again: the report is the same
    /// whatever order the files were read in.
    pub fn sort_issues(&mut self) {
        for list in [
            &mut self.skipped,
            &mut self.partial,
            &mut self.skipped_by_design,
        ] {
            list.sort_by(|a, b| (&a.source, &a.reason).cmp(&(&b.source, &b.reason)));
            list.dedup();
        }
        self.bad_records
            .sort_by(|a, b| (&a.source, a.record).cmp(&(&b.source, b.record)));
        self.bad_records.dedup();
    }
}
