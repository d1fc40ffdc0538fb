//! The summary a person reads at the end of a run.
//!
//! Everything printed here that CloudTrail recorded (ARNs with session names,
//! user agents, error codes, file names) passes through
//! [`sanitize::terminal`](super::sanitize::terminal), whether or not the
//! output is a terminal: summaries get piped into `less` and saved into
//! tickets, and an attacker's escape sequence must stay text wherever it ends
//! up.

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

use super::Run;
use super::sanitize::terminal;
use crate::analyze::blast::Seen;
use crate::analyze::containment::{Containment, Status};
use crate::analyze::graph::{kind_label, validity};
use crate::analyze::{Analysis, FootholdUse};
use crate::model::{AccessKeyId, KeyStatus};
use crate::time::Timestamp;

/// How many entries each "top" list shows.
const TOP: usize = 8;
/// How many skipped or partial inputs are named before "and N more".
const MAX_LISTED: usize = 20;

/// Where the outputs went, for the last lines of the summary.
pub struct Written<'a> {
    /// Name and destination of each output written.
    pub outputs: Vec<(&'a str, String)>,
}

/// Writes the summary.
pub fn write<W: Write>(
    run: &Run<'_>,
    analysis: &Analysis<'_>,
    written: &Written<'_>,
    mut out: W,
) -> io::Result<()> {
    let lineage = analysis.lineage;
    let rows = &analysis.timeline.rows;
    writeln!(
        out,
        "keytrail: {} credential(s) in the lineage of {} seed key(s), {} timeline row(s)",
        lineage.credentials.len(),
        run.seeds.len(),
        rows.len()
    )?;
    if let Some(integrity) = &run.inputs.integrity {
        write_integrity(&mut out, integrity)?;
    }
    writeln!(out)?;
    writeln!(out, "Lineage")?;
    for seed in run.seeds {
        write_tree(&mut out, analysis, seed, "", true, true)?;
    }
    write_footholds(&mut out, &analysis.footholds, run.follow_footholds)?;

    let blast = &analysis.blast;
    if blast.actions > 0 {
        writeln!(out)?;
        top(
            &mut out,
            "Top actions",
            blast.services.iter().map(|s| {
                (
                    format!("{}:{}", short_service(&s.service), s.action),
                    s.calls,
                )
            }),
        )?;
        for (label, list) in [
            ("Regions", &blast.regions),
            ("Source IPs", &blast.source_ips),
            ("User agents", &blast.user_agents),
        ] {
            top(&mut out, label, seen(list))?;
        }
        // Error codes are not part of the blast radius: count them here.
        let errors = rows
            .iter()
            .filter(|r| r.is_activity())
            .filter_map(|r| Some((r.event.error_code.clone()?, 1)));
        top_if_any(&mut out, "Errors", errors)?;
    }

    write_containment(&mut out, &analysis.containment)?;

    let inputs = run.inputs;
    writeln!(out)?;
    writeln!(
        out,
        "Inputs: {} file(s) read ({}), {} record(s); {} listed, {} outside every window; {} re-read(s)",
        inputs.files_read,
        human_bytes(inputs.bytes_read),
        inputs.records,
        inputs.files_listed,
        inputs.files_pruned,
        inputs.rereads
    )?;
    writeln!(
        out,
        "Duplicates dropped: {}; skipped by design: {}",
        analysis.timeline.duplicates_dropped,
        inputs.skipped_by_design.len()
    )?;
    for (label, list) in [("Skipped", &inputs.skipped), ("Partial", &inputs.partial)] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "{label} ({}), evidence may be missing:", list.len())?;
        for issue in list.iter().take(MAX_LISTED) {
            writeln!(
                out,
                "  {}: {}",
                terminal(&issue.source),
                terminal(&issue.reason)
            )?;
        }
        more(&mut out, "  ", list.len())?;
    }
    if !inputs.bad_records.is_empty() {
        writeln!(
            out,
            "Unusable records mentioning a lineage key: {}",
            inputs.bad_records.len()
        )?;
        for r in inputs.bad_records.iter().take(MAX_LISTED) {
            writeln!(
                out,
                "  {} record {}: {}",
                terminal(&r.source),
                r.record,
                terminal(&r.reason)
            )?;
        }
    }
    if !written.outputs.is_empty() {
        writeln!(out)?;
        for (what, dest) in &written.outputs {
            writeln!(out, "{what}: {}", terminal(dest))?;
        }
    }
    out.flush()
}

/// What the cut-off means for the lineage, in the words of `--report`:
/// the credentials still to act on are what the analyst needs first.
/// Each foothold on one line, with what came through it: these stand after
/// every key is gone.
fn write_footholds<W: Write>(
    out: &mut W,
    footholds: &[FootholdUse],
    followed: bool,
) -> io::Result<()> {
    if footholds.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "Footholds ({}{})",
        footholds.len(),
        if followed { "" } else { ", not followed" }
    )?;
    for f in footholds {
        writeln!(
            out,
            "  {} {} — built {} by {} ({}); {} event(s) through it{}",
            f.kind,
            terminal(&f.arn),
            f.created_at,
            f.created_by_key,
            f.status.as_str().to_uppercase(),
            f.events,
            f.last_used.map_or(String::new(), |t| format!(", last {t}"))
        )?;
        if !f.trusted_principals.is_empty() {
            let trusted: Vec<_> = f.trusted_principals.iter().map(|p| terminal(p)).collect();
            writeln!(out, "      trusts: {}", trusted.join(", "))?;
        }
        if f.linked_by_name {
            writeln!(
                out,
                "      linked by name: {} = {}",
                f.linked_by,
                terminal(&f.link_value)
            )?;
        }
    }
    Ok(())
}

fn write_containment<W: Write>(out: &mut W, c: &Containment) -> io::Result<()> {
    if c.credentials.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "Containment at {} ({}):",
        c.cutoff.time,
        c.cutoff.source.as_str()
    )?;
    let mut by_status: BTreeMap<Status, Vec<&str>> = BTreeMap::new();
    for state in &c.credentials {
        by_status
            .entry(state.status)
            .or_default()
            .push(state.access_key_id.as_str());
    }
    for (status, keys) in by_status {
        writeln!(out, "  {:>6}  {}", keys.len(), status.label())?;
        if status != Status::Expired {
            for key in keys.iter().take(MAX_LISTED) {
                writeln!(out, "          {key}")?;
            }
            more(out, "          ", keys.len())?;
        }
    }
    Ok(())
}

/// Says how many of `listed` items were left out past [`MAX_LISTED`].
fn more<W: Write>(out: &mut W, indent: &str, listed: usize) -> io::Result<()> {
    if listed > MAX_LISTED {
        writeln!(
            out,
            "{indent}… and {} more (see --report)",
            listed - MAX_LISTED
        )?;
    }
    Ok(())
}

fn write_tree<W: Write>(
    out: &mut W,
    analysis: &Analysis<'_>,
    key: &AccessKeyId,
    prefix: &str,
    last: bool,
    root: bool,
) -> io::Result<()> {
    let Some(c) = analysis.lineage.get(key) else {
        return Ok(());
    };
    let s = analysis.stats_of(c);
    let branch = if root {
        ""
    } else if last {
        "└─ "
    } else {
        "├─ "
    };
    write!(
        out,
        "{prefix}{branch}{} {} [{}]",
        c.key,
        kind_label(c),
        validity(c)
    )?;
    if let Some(arn) = &c.principal_arn {
        write!(out, " {}", terminal(arn))?;
    }
    writeln!(out)?;
    let pad = format!(
        "{prefix}{}",
        if root {
            ""
        } else if last {
            "   "
        } else {
            "│  "
        }
    );
    let seen = match (s.first_seen, s.last_seen) {
        (Some(f), Some(l)) => format!(", first {f}, last {l}"),
        _ => String::new(),
    };
    let mut notes = c
        .deactivated_at
        .map(|d: Timestamp| format!(", deactivated {d}"))
        .unwrap_or_default();
    for change in c
        .status_changes
        .iter()
        .filter(|s| s.status == KeyStatus::Active)
    {
        notes.push_str(&format!(", REACTIVATED {}", change.time));
    }
    if let Some(n) = analysis.timeline.same_id_elsewhere.get(key) {
        notes.push_str(&format!(
            ", its id used {n} more time(s) by another session"
        ));
    }
    writeln!(
        out,
        "{pad}    {} action(s) ({} failed, {} after deactivation){seen}{notes}",
        s.actions, s.failed, s.actions_after_deactivation
    )?;
    let kids = analysis.lineage.children(key);
    let n = kids.len();
    for (i, child) in kids.into_iter().enumerate() {
        write_tree(out, analysis, &child.key, &pad, i + 1 == n, false)?;
    }
    Ok(())
}

/// The values of a blast-radius list, with their action counts.
fn seen(list: &[Seen]) -> impl Iterator<Item = (String, usize)> + '_ {
    list.iter().map(|s| (s.value.clone(), s.actions))
}

/// [`top`], unless there is nothing to count.
fn top_if_any<W: Write>(
    out: &mut W,
    label: &str,
    counted: impl Iterator<Item = (String, usize)>,
) -> io::Result<()> {
    let mut counted = counted.peekable();
    if counted.peek().is_none() {
        return Ok(());
    }
    top(out, label, counted)
}

/// The most frequent values, most frequent first, then by value.
fn top<W: Write>(
    out: &mut W,
    label: &str,
    counted: impl Iterator<Item = (String, usize)>,
) -> io::Result<()> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (v, n) in counted {
        *counts.entry(v).or_default() += n;
    }
    let mut counts: Vec<(String, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    writeln!(out, "{label}:")?;
    for (value, n) in counts.iter().take(TOP) {
        let shown = if value.is_empty() { "(none)" } else { value };
        writeln!(out, "  {n:>6}  {}", terminal(shown))?;
    }
    if counts.len() > TOP {
        writeln!(out, "  … {} more", counts.len() - TOP)?;
    }
    Ok(())
}

fn short_service(s: &str) -> &str {
    s.strip_suffix(".amazonaws.com").unwrap_or(s)
}

/// Bytes in binary units, for people.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// The `--verify` lines: the counts, and, when evidence failed its check, a
/// warning no reader can miss, naming the rows that rest on it.
fn write_integrity<W: Write>(out: &mut W, integrity: &crate::inputs::Integrity) -> io::Result<()> {
    let counts: Vec<String> = integrity
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, n)| format!("{n} {v}"))
        .collect();
    writeln!(out, "Integrity: {}", counts.join(", "))?;
    if !integrity.failed {
        return Ok(());
    }
    let altered = integrity
        .rows
        .iter()
        .filter(|r| r.verdict == "altered")
        .count();
    writeln!(out)?;
    writeln!(
        out,
        "!!! EVIDENCE INTEGRITY FAILURE: {} file(s) failed validation against their CloudTrail digests",
        integrity
            .files
            .iter()
            .filter(|f| !matches!(f.verdict.as_str(), "unsigned" | "not-checked"))
            .count()
    )?;
    if altered > 0 {
        writeln!(
            out,
            "!!! {altered} timeline row(s) come from ALTERED log files: that evidence has been tampered with"
        )?;
    }
    if integrity.rows.len() > altered {
        writeln!(
            out,
            "!!! {} more timeline row(s) come from files that are not valid",
            integrity.rows.len() - altered
        )?;
    }
    for f in &integrity.files {
        writeln!(
            out,
            "    {:<14} {}",
            f.verdict,
            super::sanitize::terminal(&f.source)
        )?;
    }
    Ok(())
}
