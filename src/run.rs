//! The orchestrator: one whole run, from a [`Config`] to written outputs.
//!
//! Each stage is called once, in order: scan (the only parallel stage),
//! dedupe, trace, timeline, analyze, then every output. Nothing here decides
//! anything about the evidence; it only hands each stage what the one before
//! it produced.
//!
//! Outputs are checked before any work starts, so a refused overwrite costs
//! nothing, and each is written atomically once the trace is complete.

use std::collections::{BTreeMap, BTreeSet};
use std::io;

use crate::analyze::Analysis;
use crate::config::{Config, VerifyOptions};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::inputs::{InputStats, Integrity, IntegrityIssue, IntegrityRow};
use crate::model::AccessKeyId;
use crate::output::graph::write_dot;
use crate::output::markdown::MarkdownReport;
use crate::output::progress::Progress;
use crate::output::summary::Written;
use crate::output::{self, Run, check_writable, respond, write_atomically};
use crate::scan::{self, Tick};
use crate::source::SourceSpec;
use crate::time::Span;
use crate::timeline::{Timeline, dedupe};
use crate::trace::{Watch, trace};
use crate::verify::digest::logs_key;
use crate::verify::{self, Verdict, VerifyConfig};

/// How a run ended, when it was not stopped by an [`Error`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Every input was read completely.
    Complete,
    /// Some input could not be read completely: evidence may be missing.
    Partial,
    /// `--verify` found evidence altered, removed, added or its chain broken.
    Tampered,
}

/// Runs the trace and writes every requested output.
pub fn run(config: &Config) -> Result<Completion> {
    check_outputs(config)?;
    let progress = Progress::new(!config.quiet);
    let scanned = scan::run(
        &config.sources,
        &config.scan,
        Watch::new(&config.trace),
        &|tick| match tick {
            Tick::Queued { files, bytes } => progress.queued(files, bytes),
            Tick::Read { done, bytes } => progress.read(done, bytes),
            Tick::Finished => progress.finish(),
        },
    )?;
    finish(config, scanned.events, scanned.inputs)
}

/// Refuses, before any work, outputs that exist (without `--force`) or
/// cannot be written.
pub fn check_outputs(config: &Config) -> Result<()> {
    for path in config.output_paths() {
        check_writable(path, config.force)?;
    }
    if let Some(dir) = &config.deny_policy {
        respond::check_dir_writable(dir, config.force)?;
    }
    Ok(())
}

/// Everything after the scan: dedupe, trace, timeline, analysis and every
/// output, from the events collected and the input report. `trace` and
/// `shard merge` both end here, which is what makes their outputs the same.
pub fn finish(config: &Config, events: Vec<Event>, inputs: InputStats) -> Result<Completion> {
    let (events, duplicates) = dedupe(events);
    let lineage = trace(&events, &config.trace);
    let timeline = Timeline::build(events, &lineage, duplicates);
    let mut inputs = inputs;
    if let Some(options) = &config.verify {
        inputs.integrity = Some(integrity(config, options, &timeline)?);
    }
    let analysis = Analysis::new(&lineage, &timeline, config.cutoff);
    let run = Run {
        seeds: &config.trace.seeds,
        window: config.trace.seed_window,
        delivery_margin: config.scan.delivery_margin,
        follow_created_keys: config.trace.follow_created_keys,
        follow_footholds: config.trace.follow_footholds,
        inputs: &inputs,
    };

    let mut written = Written {
        outputs: Vec::new(),
    };
    if let Some(target) = &config.timeline {
        match &target.path {
            Some(path) => {
                write_atomically(path, |w| {
                    output::write_timeline(target.format, &timeline, w)
                })?;
                written
                    .outputs
                    .push(("Timeline", path.display().to_string()));
            }
            None => unless_closed(output::write_timeline(
                target.format,
                &timeline,
                io::stdout().lock(),
            ))?,
        }
    }
    if let Some(path) = &config.report {
        write_atomically(path, |w| output::report::write(&run, &analysis, w))?;
        written.outputs.push(("Report", path.display().to_string()));
    }
    if let Some(path) = &config.manifest {
        write_atomically(path, |w| output::manifest::write(&inputs.custody, w))?;
        written
            .outputs
            .push(("Manifest", path.display().to_string()));
    }
    if let Some(path) = &config.graph {
        write_atomically(path, |w| write_dot(&analysis.graph, w))?;
        written.outputs.push(("Graph", path.display().to_string()));
    }
    if let Some(path) = &config.summary_md {
        let report = MarkdownReport {
            run: &run,
            analysis: &analysis,
        };
        write_atomically(path, |w| report.write(w))?;
        written
            .outputs
            .push(("Markdown report", path.display().to_string()));
    }
    if let Some(path) = &config.html {
        write_atomically(path, |w| output::html::write(&run, &analysis, w))?;
        written
            .outputs
            .push(("HTML report", path.display().to_string()));
    }
    if let Some(dir) = &config.deny_policy {
        respond::write_dir(dir, &analysis.containment, &analysis.footholds)?;
        written.outputs.push((
            "Deny policy",
            dir.join(respond::APPLY_SCRIPT).display().to_string(),
        ));
    }
    output::report_issues(run.inputs);
    if let Some(integrity) = run.inputs.integrity.as_ref().filter(|i| i.failed) {
        output::message(&format!(
            "EVIDENCE INTEGRITY FAILURE: {} file(s) not valid, {} timeline row(s) from them (see the report's integrity section)",
            integrity.files.len(),
            integrity.rows.len()
        ));
    }
    if !config.quiet {
        let summary =
            |out: &mut dyn io::Write| output::summary::write(&run, &analysis, &written, out);
        unless_closed(if config.timeline_on_stdout() {
            summary(&mut io::stderr().lock())
        } else {
            summary(&mut io::stdout().lock())
        })?;
    }
    Ok(if run.inputs.integrity.as_ref().is_some_and(|i| i.failed) {
        Completion::Tampered
    } else if run.inputs.incomplete() {
        Completion::Partial
    } else {
        Completion::Complete
    })
}

/// Validates the local sources against their digests (`--verify`), and
/// picks out the timeline rows read from files that are not valid.
fn integrity(config: &Config, options: &VerifyOptions, timeline: &Timeline) -> Result<Integrity> {
    let mut sources = Vec::new();
    let mut s3_sources = Vec::new();
    for s in &config.sources {
        match s {
            SourceSpec::Local(p) => sources.push(p.clone()),
            SourceSpec::S3(u) => s3_sources.push(u.clone()),
        }
    }
    let (outcome, _) = verify::check(&VerifyConfig {
        sources,
        public_keys: options.public_keys.clone(),
        signatures: options.signatures.clone(),
        s3_sources,
        s3: config.scan.s3.clone(),
        report: None,
        manifest: None,
        threads: config.scan.threads,
        quiet: true,
    })
    .map_err(|e| Error::Verify(e.to_string()))?;
    let bad: BTreeMap<&str, Verdict> = outcome
        .files
        .iter()
        .filter(|f| f.verdict != Verdict::Valid)
        .map(|f| (logs_key(&f.path).unwrap_or(&f.path), f.verdict))
        .collect();
    let rows = timeline
        .rows
        .iter()
        .filter_map(|r| {
            let origin = &*r.event.origin;
            let verdict = bad.get(logs_key(origin).unwrap_or(origin))?;
            Some(IntegrityRow {
                event_id: r.event.id.to_string(),
                event_time: r.event.time.to_string(),
                source_file: origin.to_owned(),
                verdict: verdict.name().to_owned(),
            })
        })
        .collect();
    Ok(Integrity {
        counts: outcome
            .counts()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        files: outcome
            .files
            .iter()
            .filter(|f| f.verdict != Verdict::Valid)
            .map(|f| IntegrityIssue {
                source: f.path.clone(),
                verdict: f.verdict.name().to_owned(),
                detail: f.detail.clone(),
            })
            .chain(outcome.unreadable.iter().map(|u| IntegrityIssue {
                source: u.path.clone(),
                verdict: "unreadable".to_owned(),
                detail: u.error.clone(),
            }))
            .collect(),
        rows,
        failed: outcome.integrity_failed(),
    })
}

/// The scan follows the trace's own rule for which keys to look for.
impl scan::Watchlist for Watch {
    fn seeds(&self) -> &BTreeSet<AccessKeyId> {
        Watch::seeds(self)
    }

    fn windows(&self) -> &BTreeMap<AccessKeyId, Span> {
        Watch::windows(self)
    }

    fn arns(&self) -> &BTreeMap<String, Span> {
        Watch::arns(self)
    }

    fn observe(&mut self, e: &Event) -> bool {
        self.learn(e)
    }
}

/// The result of writing to a standard stream. A closed pipe
/// (`keytrail … | head`) is the reader's choice, not an error: the writing
/// stops there and the run goes on.
fn unless_closed(r: io::Result<()>) -> Result<()> {
    match r {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::Output {
            path: "-".into(),
            source: e,
        }),
        _ => Ok(()),
    }
}
