//! `--summary-md`: the incident as Markdown a person can read and paste into
//! a ticket.
//!
//! It renders what other modules decided: the lineage graph (as Mermaid),
//! the containment plan at the cut-off, and the blast radius. Nothing is
//! computed here that another output also needs.
//!
//! Every recorded value (ARNs with session names, user agents, IPs, resource
//! names, error codes) is written as a code span through [`code`] or
//! [`cell`]: inside a code span Markdown interprets nothing (no links,
//! emphasis, autolinks or HTML), the fence is made longer than any run of
//! backticks in the value, `|` is escaped in table cells, and control
//! characters are made visible first.

use std::io::{self, Write};

use super::sanitize::terminal;
use super::{Run, graph};
use crate::analyze::Analysis;
use crate::analyze::blast::Seen;
use crate::analyze::containment::Status;
use crate::time::Timestamp;

/// Everything the Markdown report renders.
pub struct MarkdownReport<'a> {
    /// What was asked and read.
    pub run: &'a Run<'a>,
    /// What the trace means.
    pub analysis: &'a Analysis<'a>,
}

/// A recorded value as an inline code span, outside tables.
pub fn code(s: &str) -> String {
    span(&terminal(s), false)
}

/// A recorded value as an inline code span inside a table cell: as
/// [`code`], with `|` escaped so it cannot end the cell.
pub fn cell(s: &str) -> String {
    span(&terminal(s), true)
}

fn span(s: &str, in_table: bool) -> String {
    if s.is_empty() {
        return "(none)".to_owned();
    }
    let longest = s
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest + 1);
    let body = if in_table {
        s.replace('|', "\\|")
    } else {
        s.to_owned()
    };
    // A space on each side is stripped by CommonMark, so a value that starts
    // or ends with a backtick or space survives intact.
    format!("{fence} {body} {fence}")
}

fn time(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

impl MarkdownReport<'_> {
    /// Writes the report.
    pub fn write<W: Write>(&self, mut out: W) -> io::Result<()> {
        let lineage = self.analysis.lineage;
        let c = &self.analysis.containment;
        let seeds: Vec<String> = self.run.seeds.iter().map(|k| format!("`{k}`")).collect();
        writeln!(out, "# Leaked key trace: {}", seeds.join(", "))?;
        writeln!(out)?;
        writeln!(
            out,
            "keytrail {}: {} credential(s) in the lineage, {} action(s), {} timeline row(s).",
            env!("CARGO_PKG_VERSION"),
            lineage.credentials.len(),
            self.analysis.blast.actions,
            self.analysis.timeline.rows.len()
        )?;
        writeln!(
            out,
            "Cut-off: **{}** ({}).",
            c.cutoff.time,
            c.cutoff.source.as_str()
        )?;
        if self.run.inputs.incomplete() {
            writeln!(
                out,
                "\n**Some inputs could not be read completely: evidence may be missing (see the JSON report).**"
            )?;
        }

        writeln!(out, "\n## Lineage\n")?;
        writeln!(out, "```mermaid")?;
        graph::write_mermaid(&self.analysis.graph, &mut out)?;
        writeln!(out, "```")?;

        self.credentials(&mut out)?;
        self.footholds(&mut out)?;
        self.containment(&mut out)?;
        self.findings(&mut out)?;
        self.services(&mut out)?;
        self.resources(&mut out)?;
        self.egress(&mut out)?;
        for (title, list) in [
            ("Source IPs", &self.analysis.blast.source_ips),
            ("User agents", &self.analysis.blast.user_agents),
            ("Accounts", &self.analysis.blast.accounts),
            ("Regions", &self.analysis.blast.regions),
        ] {
            seen(&mut out, title, list)?;
        }
        out.flush()
    }

    fn credentials<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "\n## Credentials\n")?;
        writeln!(
            out,
            "| key | kind | parent | principal | issued | expires | deactivated | first action | last action | actions | after deactivation | at cut-off |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
        for cr in &self.analysis.by_depth {
            let s = self.analysis.stats_of(cr);
            let status = self
                .analysis
                .containment
                .state(&cr.key)
                .map_or("-", |s| s.status.label());
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cr.key,
                cr.kind,
                cr.parent
                    .as_ref()
                    .map_or("-".to_owned(), |p| format!("`{p}`")),
                cr.principal_arn.as_deref().map_or("-".to_owned(), cell),
                time(cr.issued_at),
                cr.expires_at.map_or("-".to_owned(), |t| t.to_string()),
                time(cr.deactivated_at),
                time(s.first_seen),
                time(s.last_seen),
                s.actions,
                s.actions_after_deactivation,
                status
            )?;
        }
        Ok(())
    }

    fn footholds<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let footholds = &self.analysis.footholds;
        if footholds.is_empty() {
            return Ok(());
        }
        writeln!(out, "\n## Footholds\n")?;
        if !self.run.follow_footholds {
            writeln!(
                out,
                "Not followed (`--no-follow-footholds`): what came through them is not on the timeline.\n"
            )?;
        }
        writeln!(
            out,
            "| kind | resource | built | by | linked by | trusts | events | first used | last used | at cut-off |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|---|---|")?;
        for f in footholds {
            let trusted: Vec<String> = f.trusted_principals.iter().map(|p| cell(p)).collect();
            writeln!(
                out,
                "| {} | {} | {} | `{}` | {}{} {} | {} | {} | {} | {} | {} |",
                f.kind,
                cell(&f.arn),
                f.created_at,
                f.created_by_key,
                if f.linked_by_name { "name: " } else { "" },
                cell(f.linked_by),
                cell(&f.link_value),
                if trusted.is_empty() {
                    "-".to_owned()
                } else {
                    trusted.join(", ")
                },
                f.events,
                time(f.first_used),
                time(f.last_used),
                f.status.as_str()
            )?;
        }
        Ok(())
    }

    fn containment<W: Write>(&self, out: &mut W) -> io::Result<()> {
        let c = &self.analysis.containment;
        writeln!(out, "\n## Containment at the cut-off\n")?;
        writeln!(
            out,
            "The deny policy (`{}`) denies every action to every session issued before {}. \
             `--deny-policy DIR` writes it, one file per principal, and `apply.sh` to attach it.\n",
            c.policy_name, c.cutoff.time
        )?;
        let keys = |status: Status| -> Vec<String> {
            c.with_status(status)
                .map(|s| format!("`{}` ({})", s.access_key_id, s.kind))
                .collect()
        };
        for (title, status) in [
            (
                "Valid at the cut-off, neutralised by the policy",
                Status::Neutralised,
            ),
            ("Already expired at the cut-off", Status::Expired),
            (
                "Issued after the cut-off, not covered",
                Status::IssuedAfterCutoff,
            ),
        ] {
            let list = keys(status);
            if !list.is_empty() {
                writeln!(out, "- **{title}:** {}", list.join(", "))?;
            }
        }
        for u in c.with_status(Status::Unreachable) {
            writeln!(
                out,
                "- **Not reachable by the policy:** `{}` ({}): {}",
                u.access_key_id,
                u.kind,
                u.reason.unwrap_or("no principal")
            )?;
        }
        writeln!(
            out,
            "- The policy cannot reach sessions of the root user, or requests signed with \
             long-term access keys."
        )?;
        let long_term: Vec<_> = c.long_term_keys().collect();
        if !long_term.is_empty() {
            writeln!(
                out,
                "\n**Still to do:** the policy does not stop long-term keys. Deactivate, then delete, each of these:\n"
            )?;
            for k in long_term {
                let owner = k.principal.as_ref().map_or_else(
                    || "owner unknown".to_owned(),
                    |p| format!("{} {} in {}", p.kind.as_str(), code(&p.name), p.account),
                );
                let state = match (k.status, k.deactivated_at) {
                    (Status::KeyDeactivated, Some(d)) => {
                        format!("deactivated {d} per the trail; confirm, then delete")
                    }
                    _ => "no deactivation before the cut-off on the trail".to_owned(),
                };
                writeln!(
                    out,
                    "- `{}` ({}, {owner}): {state}",
                    k.access_key_id, k.kind
                )?;
            }
        }
        writeln!(
            out,
            "\n| account | type | name | credentials | policy file |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for t in &c.principals {
            let keys: Vec<String> = t.keys.iter().map(|k| format!("`{k}`")).collect();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(t.principal.account.as_str()),
                t.principal.kind.as_str(),
                cell(&t.principal.name),
                keys.join(", "),
                cell(&t.policy_file)
            )?;
        }
        for r in &c.refused_principals {
            let keys: Vec<String> = r.keys.iter().map(|k| format!("`{k}`")).collect();
            writeln!(
                out,
                "| {} | {} | {} | {} | refused: {} |",
                cell(r.principal.account.as_str()),
                r.principal.kind.as_str(),
                cell(&r.principal.name),
                keys.join(", "),
                r.reason.replace('|', "\\|")
            )?;
        }
        Ok(())
    }

    fn findings<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "\n## Findings")?;
        if self.analysis.blast.findings.is_empty() {
            writeln!(out, "\nNone.")?;
        }
        for f in &self.analysis.blast.findings {
            writeln!(out, "\n### {} ({})\n", f.category.title(), f.events.len())?;
            writeln!(out, "| time | key | service | action | error | event id |")?;
            writeln!(out, "|---|---|---|---|---|---|")?;
            for e in &f.events {
                writeln!(
                    out,
                    "| {} | `{}` | {} | {} | {} | {} |",
                    e.event_time,
                    e.access_key_id,
                    cell(&e.service),
                    cell(&e.action),
                    e.error_code.as_deref().map_or("-".to_owned(), cell),
                    cell(e.event_id.as_str())
                )?;
            }
        }
        Ok(())
    }

    fn services<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "\n## Services and actions\n")?;
        writeln!(
            out,
            "| service | action | calls | read | write | denied | other errors |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|")?;
        for s in &self.analysis.blast.services {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(&s.service),
                cell(&s.action),
                s.calls,
                s.reads,
                s.writes,
                s.denied,
                s.other_errors
            )?;
        }
        Ok(())
    }

    fn resources<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "\n## Resources touched\n")?;
        if self.analysis.blast.resources.is_empty() {
            writeln!(out, "None named by the events.")?;
            return Ok(());
        }
        writeln!(out, "| kind | resource | actions | first | last |")?;
        writeln!(out, "|---|---|---|---|---|")?;
        for r in &self.analysis.blast.resources {
            let actions: Vec<String> = r
                .actions
                .iter()
                .map(|t| {
                    let failed = if t.failed > 0 {
                        format!(", {} failed", t.failed)
                    } else {
                        String::new()
                    };
                    format!("{} ×{}{failed}", cell(&t.action), t.calls)
                })
                .collect();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&r.kind),
                cell(&r.id),
                actions.join("; "),
                r.first_seen,
                r.last_seen
            )?;
        }
        Ok(())
    }

    fn egress<W: Write>(&self, out: &mut W) -> io::Result<()> {
        writeln!(out, "\n## Data egress\n")?;
        if self.analysis.blast.egress.is_empty() {
            writeln!(
                out,
                "No `bytesTransferredOut` recorded by lineage actions on S3 objects (CloudTrail records it in S3 data events, when those are logged)."
            )?;
            return Ok(());
        }
        writeln!(
            out,
            "{} byte(s) in {} event(s).\n",
            self.analysis.blast.egress_bytes,
            self.analysis.blast.egress.len()
        )?;
        writeln!(out, "| time | key | action | bucket | object | bytes |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for e in &self.analysis.blast.egress {
            writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                e.event_time,
                e.access_key_id,
                cell(&e.action),
                e.bucket.as_deref().map_or("-".to_owned(), cell),
                e.object_key.as_deref().map_or("-".to_owned(), cell),
                e.bytes
            )?;
        }
        Ok(())
    }
}

fn seen<W: Write>(out: &mut W, title: &str, list: &[Seen]) -> io::Result<()> {
    writeln!(out, "\n## {title}\n")?;
    writeln!(out, "| value | actions | first | last | credentials |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    // Most used first; ties by value, so the order is stable.
    let mut sorted: Vec<&Seen> = list.iter().collect();
    sorted.sort_by(|a, b| {
        b.actions
            .cmp(&a.actions)
            .then_with(|| a.value.cmp(&b.value))
    });
    for s in sorted {
        let keys: Vec<String> = s.keys.iter().map(|k| format!("`{k}`")).collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&s.value),
            s.actions,
            s.first_seen,
            s.last_seen,
            keys.join(", ")
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_contain_hostile_text() {
        assert_eq!(cell("a|b"), "` a\\|b `");
        assert_eq!(code("a|b"), "` a|b `");
        assert_eq!(cell("x`y``z"), "``` x`y``z ```");
        assert_eq!(cell("<script>\n"), "` <script>\\x0a `");
        assert_eq!(cell(""), "(none)");
        // An ANSI escape is made visible, never written raw.
        assert!(!cell("\u{1b}[31m").contains('\u{1b}'));
    }
}
