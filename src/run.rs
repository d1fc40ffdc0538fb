//! One whole run, from a [`Config`] to written outputs.
//!
//! Outputs are checked before any work starts, so a refused overwrite costs
//! nothing, and each is written atomically once the trace is complete.

use std::io;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::output::blast::BlastRadius;
use crate::output::graph::Graph;
use crate::output::markdown::MarkdownReport;
use crate::output::progress::Progress;
use crate::output::respond::{self, Containment};
use crate::output::summary::Written;
use crate::output::{self, check_writable, write_atomically};
use crate::scan;

/// Runs the trace and writes every requested output. Returns whether every
/// input was read completely.
pub fn run(config: &Config) -> Result<bool> {
    for path in config.output_paths() {
        check_writable(path, config.force)?;
    }
    if let Some(dir) = &config.deny_policy {
        respond::check_dir_writable(dir, config.force)?;
    }
    let progress = Progress::new(!config.quiet);
    let outcome = scan::run(config, &progress)?;

    let mut written = Written {
        outputs: Vec::new(),
    };
    if let Some(target) = &config.timeline {
        match &target.path {
            Some(path) => {
                write_atomically(path, |w| {
                    output::write_timeline(target.format, &outcome.timeline, w)
                })?;
                written
                    .outputs
                    .push(("Timeline", path.display().to_string()));
            }
            None => {
                let stdout = io::stdout().lock();
                ignore_broken_pipe(output::write_timeline(
                    target.format,
                    &outcome.timeline,
                    stdout,
                ))
                .map_err(|source| Error::Output {
                    path: "-".into(),
                    source,
                })?;
            }
        }
    }
    // Decided once; every response output renders the same assessment.
    let containment = Containment::assess(&outcome.lineage, config.cutoff);
    let blast = BlastRadius::build(&outcome.timeline);
    if let Some(path) = &config.report {
        write_atomically(path, |w| {
            output::report::write(config, &outcome, &containment, &blast, w)
        })?;
        written.outputs.push(("Report", path.display().to_string()));
    }
    if config.summary_md.is_some() || config.graph.is_some() {
        let graph = Graph::build(&outcome.lineage, &outcome.timeline, &containment);
        if let Some(path) = &config.graph {
            write_atomically(path, |w| output::graph::write_dot(&graph, w))?;
            written.outputs.push(("Graph", path.display().to_string()));
        }
        if let Some(path) = &config.summary_md {
            let report = MarkdownReport {
                config,
                outcome: &outcome,
                containment: &containment,
                blast: &blast,
                graph: &graph,
            };
            write_atomically(path, |w| report.write(w))?;
            written
                .outputs
                .push(("Markdown report", path.display().to_string()));
        }
    }
    if let Some(dir) = &config.deny_policy {
        respond::write_dir(dir, &containment)?;
        written.outputs.push((
            "Deny policy",
            dir.join(respond::APPLY_SCRIPT).display().to_string(),
        ));
    }
    output::report_issues(&outcome.inputs);
    if !config.quiet {
        let out: Box<dyn io::Write> = if config.timeline_on_stdout() {
            Box::new(io::stderr().lock())
        } else {
            Box::new(io::stdout().lock())
        };
        let result = output::summary::write(config, &outcome, &containment, &written, out);
        ignore_broken_pipe(result).map_err(|source| Error::Output {
            path: "-".into(),
            source,
        })?;
    }
    Ok(!outcome.inputs.incomplete())
}

/// A closed pipe (`keytrail … | head`) is the reader's choice, not an error.
fn ignore_broken_pipe(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}
