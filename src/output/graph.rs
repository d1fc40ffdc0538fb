//! The lineage as a picture: Graphviz DOT for `--graph`, Mermaid for the
//! Markdown report.
//!
//! A tree of who minted what is what people grasp first, and it is what gets
//! pasted into tickets and slides. Both formats render one
//! [`Graph`], built once by the analysis.
//!
//! Session names, principal ARNs and even event names are written by whoever
//! holds the leaked key. Each format has exactly one escaping function for
//! label text, [`dot_text`] and [`mermaid_text`], and every recorded string
//! goes through it; node ids are never recorded text.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::{self, Write};

use super::sanitize::terminal;
use crate::analyze::containment::Status;
use crate::analyze::graph::{Edge, Graph, Node};
use crate::model::AccessKeyId;

impl Node {
    /// The label lines, unescaped: key, kind and principal, window, actions,
    /// state.
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.key.to_string()];
        lines.push(match &self.principal {
            Some(p) => format!("{}: {p}", self.kind),
            None => self.kind.to_string(),
        });
        lines.push(self.window.clone());
        lines.push(format!("{} actions", self.actions));
        if let Some(d) = self.deactivated_at {
            lines.push(format!("deactivated {d}"));
        }
        if let Some(s) = self.status {
            lines.push(s.label().to_owned());
        }
        lines
    }
}

impl Edge {
    /// The label lines, unescaped: API, time.
    fn lines(&self) -> Vec<String> {
        let mut lines = vec![self.api.clone()];
        lines.extend(self.time.map(|t| t.to_string()));
        lines
    }
}

/// Text for a DOT double-quoted label: control characters become visible
/// escapes first, then `\` and `"` are backslash-escaped, so that no recorded
/// text can end the string or form a Graphviz escape such as `\N` or `\l`.
pub fn dot_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in terminal(s).chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out
}

/// Text for a quoted Mermaid label: everything but letters, digits, space
/// and `._:/@+=,()-` is written as a Mermaid entity code (`#34;` for `"`), so
/// no recorded text can close the quote, the node shape (`]`, `)`), the edge
/// label (`|`), the code fence (a backtick) or inject HTML (`<`).
pub fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in terminal(s).chars() {
        if c.is_ascii_alphanumeric() || " ._:/@+=,()-".contains(c) {
            out.push(c);
        } else {
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}

/// Writes `graph` as a Graphviz digraph. Nodes are named by key id; live
/// credentials are drawn red, expired and deactivated ones grey.
pub fn write_dot<W: Write>(graph: &Graph, mut out: W) -> io::Result<()> {
    writeln!(out, "digraph keytrail {{")?;
    writeln!(out, "  rankdir=LR;")?;
    writeln!(
        out,
        "  node [shape=box, fontname=\"monospace\", fontsize=10];"
    )?;
    writeln!(out, "  edge [fontname=\"monospace\", fontsize=9];")?;
    for n in &graph.nodes {
        let label: Vec<String> = n.lines().iter().map(|l| dot_text(l)).collect();
        let style = match n.status {
            Some(s) if s.is_live() => "color=red, penwidth=2",
            Some(_) => "color=gray50, fontcolor=gray30, style=dashed",
            None => "color=black",
        };
        writeln!(
            out,
            "  \"{}\" [label=\"{}\", {style}];",
            n.key,
            label.join("\\n")
        )?;
    }
    for e in &graph.edges {
        let label: Vec<String> = e.lines().iter().map(|l| dot_text(l)).collect();
        writeln!(
            out,
            "  \"{}\" -> \"{}\" [label=\"{}\"];",
            e.from,
            e.to,
            label.join("\\n")
        )?;
    }
    writeln!(out, "}}")?;
    out.flush()
}

/// Writes `graph` as a Mermaid flowchart (without the code fence). Node ids
/// are `c0`, `c1`, … in node order.
pub fn write_mermaid<W: Write>(graph: &Graph, mut out: W) -> io::Result<()> {
    writeln!(out, "flowchart LR")?;
    let ids: HashMap<&AccessKeyId, String> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (&n.key, format!("c{i}")))
        .collect();
    for (i, n) in graph.nodes.iter().enumerate() {
        let label: Vec<String> = n.lines().iter().map(|l| mermaid_text(l)).collect();
        writeln!(out, "  c{i}[\"{}\"]", label.join("<br/>"))?;
    }
    // A credential that came in through a foothold hangs off the foothold,
    // not straight off the credential that built it.
    let through: HashSet<&AccessKeyId> = graph.footholds.iter().flat_map(|f| &f.to).collect();
    for e in graph.edges.iter().filter(|e| !through.contains(&e.to)) {
        let (Some(from), Some(to)) = (ids.get(&e.from), ids.get(&e.to)) else {
            continue;
        };
        let label: Vec<String> = e.lines().iter().map(|l| mermaid_text(l)).collect();
        writeln!(out, "  {from} -->|\"{}\"| {to}", label.join("<br/>"))?;
    }
    for (i, f) in graph.footholds.iter().enumerate() {
        let label: Vec<String> = f.lines.iter().map(|l| mermaid_text(l)).collect();
        writeln!(out, "  f{i}{{{{\"{}\"}}}}", label.join("<br/>"))?;
        if let Some(from) = ids.get(&f.from) {
            writeln!(out, "  {from} -->|\"{}\"| f{i}", mermaid_text(&f.api))?;
        }
        for to in f.to.iter().filter_map(|k| ids.get(k)) {
            writeln!(out, "  f{i} -.-> {to}")?;
        }
    }
    let live: Vec<String> = graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.status.is_some_and(Status::is_live))
        .map(|(i, _)| format!("c{i}"))
        .collect();
    let done: Vec<String> = graph
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.status.is_some_and(|s| !s.is_live()))
        .map(|(i, _)| format!("c{i}"))
        .collect();
    writeln!(out, "  classDef live stroke:#c00,stroke-width:2px")?;
    writeln!(
        out,
        "  classDef done stroke:#888,stroke-dasharray:4 2,color:#555"
    )?;
    if !live.is_empty() {
        writeln!(out, "  class {} live", live.join(","))?;
    }
    if !done.is_empty() {
        writeln!(out, "  class {} done", done.join(","))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analyze::graph::FootholdNode;

    const HOSTILE: &str = "x\"];evil[\"pwn\\N|`</b>\n}\u{1b}[31m";

    fn graph() -> Graph {
        let key = |s: &str| AccessKeyId::parse(s).unwrap();
        Graph {
            nodes: vec![
                Node {
                    key: key("AKIAEXAMPLESEED00001"),
                    kind: "seed".into(),
                    principal: None,
                    window: "long-term".into(),
                    actions: 1,
                    status: Some(Status::KeyActive),
                    deactivated_at: None,
                },
                Node {
                    key: key("ASIAEXAMPLEROLE00001"),
                    kind: "assumed-role".into(),
                    principal: Some(format!("arn:aws:sts::1:assumed-role/r/{HOSTILE}")),
                    window: "w".into(),
                    actions: 0,
                    status: Some(Status::Expired),
                    deactivated_at: None,
                },
            ],
            edges: vec![Edge {
                from: key("AKIAEXAMPLESEED00001"),
                to: key("ASIAEXAMPLEROLE00001"),
                api: HOSTILE.into(),
                time: None,
            }],
            footholds: vec![FootholdNode {
                lines: vec![HOSTILE.into()],
                from: key("AKIAEXAMPLESEED00001"),
                api: HOSTILE.into(),
                to: vec![key("ASIAEXAMPLEROLE00001")],
            }],
        }
    }

    #[test]
    fn dot_labels_cannot_be_escaped() {
        let mut out = Vec::new();
        write_dot(&graph(), &mut out).unwrap();
        let dot = String::from_utf8(out).unwrap();
        // One statement per line, and every `"` inside a label is escaped:
        // outside labels, quotes only surround node ids and labels.
        assert_eq!(dot.lines().count(), 8, "{dot}");
        for line in dot.lines().filter(|l| l.contains("label=")) {
            let unescaped = line.replace("\\\\", "").replace("\\\"", "");
            let quotes = unescaped.matches('"').count();
            let expected = if line.contains("->") { 6 } else { 4 };
            assert_eq!(quotes, expected, "{line}");
        }
        assert!(dot.contains("pwn\\\\N"), "{dot}");
        assert!(dot.contains("\\\\x1b"), "{dot}");
        assert!(!dot.contains('\u{1b}'));
    }

    #[test]
    fn mermaid_labels_cannot_be_escaped() {
        let mut out = Vec::new();
        write_mermaid(&graph(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for bad in ["\"];evil", "|`", "</b>", "`", "\u{1b}", "\n}"] {
            assert!(!text.contains(bad), "{bad:?} in {text}");
        }
        // Each label has exactly its two delimiting quotes.
        for line in text.lines().filter(|l| l.contains('"')) {
            assert_eq!(line.matches('"').count(), 2, "{line}");
        }
        assert_eq!(mermaid_text("=10+20+cmd@evil"), "=10+20+cmd@evil");
        assert_eq!(mermaid_text("a\"]|"), "a#34;#93;#124;");
    }
}
