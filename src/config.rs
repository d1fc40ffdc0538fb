//! A validated run configuration.
//!
//! The command line is parsed into this once, at the edge; nothing below it
//! sees a raw flag. Library users can build one directly.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::output::Format;
use crate::output::respond::Cutoff;
use crate::source::s3::{S3Options, S3Url};
use crate::trace::TraceParams;

/// Where to read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A local file or folder.
    Local(PathBuf),
    /// An S3 bucket or prefix.
    S3(S3Url),
}

impl SourceSpec {
    /// `s3://…` is S3; anything else is a local path.
    pub fn parse(s: &str) -> Result<SourceSpec, String> {
        if s.starts_with("s3://") {
            S3Url::parse(s)
                .map(SourceSpec::S3)
                .ok_or_else(|| format!("{s:?} is not an S3 URL (expected s3://BUCKET[/PREFIX])"))
        } else {
            Ok(SourceSpec::Local(PathBuf::from(s)))
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Local(p) => write!(f, "{}", p.display()),
            SourceSpec::S3(u) => write!(f, "s3://{}/{}", u.bucket, u.prefix),
        }
    }
}

/// Where the timeline goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineTarget {
    /// The file, or `None` for stdout.
    pub path: Option<PathBuf>,
    /// The format.
    pub format: Format,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// What to read.
    pub sources: Vec<SourceSpec>,
    /// How to reach S3.
    pub s3: S3Options,
    /// The lineage rules.
    pub trace: TraceParams,
    /// How late CloudTrail may deliver a file after its events.
    pub delivery_margin: Duration,
    /// Worker threads.
    pub threads: usize,
    /// `-o`.
    pub timeline: Option<TimelineTarget>,
    /// `--report`.
    pub report: Option<PathBuf>,
    /// `--deny-policy`: the folder for the deny policies and `apply.sh`.
    pub deny_policy: Option<PathBuf>,
    /// `--cutoff`, or the time of the run: sessions issued before it are
    /// denied by the policy and judged live or expired at it.
    pub cutoff: Cutoff,
    /// `--summary-md`.
    pub summary_md: Option<PathBuf>,
    /// `--graph`: the lineage as Graphviz DOT.
    pub graph: Option<PathBuf>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--force`.
    pub force: bool,
}

impl Config {
    /// Every file the run will create (the `--deny-policy` folder apart).
    pub fn output_paths(&self) -> Vec<&PathBuf> {
        let timeline = self.timeline.as_ref().and_then(|t| t.path.as_ref());
        timeline
            .into_iter()
            .chain(self.report.as_ref())
            .chain(self.summary_md.as_ref())
            .chain(self.graph.as_ref())
            .collect()
    }

    /// Whether the timeline goes to stdout, which moves the summary to stderr.
    pub fn timeline_on_stdout(&self) -> bool {
        self.timeline.as_ref().is_some_and(|t| t.path.is_none())
    }
}
