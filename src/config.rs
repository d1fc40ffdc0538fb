//! A validated run configuration.
//!
//! The command line is parsed into this once, at the edge; nothing below it
//! sees a raw flag. Library users can build one directly.

use std::path::PathBuf;

use crate::analyze::Cutoff;
use crate::output::Format;
use crate::scan::ScanParams;
use crate::source::SourceSpec;
use crate::trace::TraceParams;

/// Where the timeline goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineTarget {
    /// The file, or `None` for stdout.
    pub path: Option<PathBuf>,
    /// The format.
    pub format: Format,
}

/// How `trace --verify` checks the evidence.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// `--public-keys`.
    pub public_keys: Option<PathBuf>,
    /// `--signatures`.
    pub signatures: Option<PathBuf>,
}

/// Everything a run needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// What to read.
    pub sources: Vec<SourceSpec>,
    /// How to read them: threads, delivery margin, S3 access.
    pub scan: ScanParams,
    /// The lineage rules.
    pub trace: TraceParams,
    /// `-o`.
    pub timeline: Option<TimelineTarget>,
    /// `--report`.
    pub report: Option<PathBuf>,
    /// `--manifest`: the custody manifest CSV.
    pub manifest: Option<PathBuf>,
    /// `--verify`: validate the inputs against their CloudTrail digests.
    pub verify: Option<VerifyOptions>,
    /// `--deny-policy`: the folder for the deny policies and `apply.sh`.
    pub deny_policy: Option<PathBuf>,
    /// `--cutoff`, or the time of the run: sessions issued before it are
    /// denied by the policy and judged live or expired at it.
    pub cutoff: Cutoff,
    /// `--summary-md`.
    pub summary_md: Option<PathBuf>,
    /// `--graph`: the lineage as Graphviz DOT.
    pub graph: Option<PathBuf>,
    /// `--html`: the interactive, self-contained HTML report.
    pub html: Option<PathBuf>,
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
            .chain(self.manifest.as_ref())
            .chain(self.summary_md.as_ref())
            .chain(self.graph.as_ref())
            .chain(self.html.as_ref())
            .collect()
    }

    /// Whether the timeline goes to stdout, which moves the summary to stderr.
    pub fn timeline_on_stdout(&self) -> bool {
        self.timeline.as_ref().is_some_and(|t| t.path.is_none())
    }
}
