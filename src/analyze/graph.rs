//! The lineage as a graph: who minted what, and when.
//!
//! A tree of credentials is what people grasp first, and both the DOT file
//! and the Markdown report draw it. It is built here, once: nodes are
//! credentials (kind, principal, validity window, action count, state at the
//! cut-off), edges are minting events (API and time). The writers only
//! escape and lay out what this holds.

use std::collections::HashMap;

use super::Stats;
use super::containment::{Containment, Status};
use super::footholds::FootholdUse;
use crate::model::{AccessKeyId, CredentialKind, EventId, SeedType};
use crate::time::Timestamp;
use crate::timeline::Timeline;
use crate::trace::Credential;

/// A credential in the picture.
#[derive(Clone, Debug)]
pub struct Node {
    /// The key id (validated `[A-Z0-9]`).
    pub key: AccessKeyId,
    /// Its kind; for a seed, what its events show it to be.
    pub kind: String,
    /// Who holds it, as recorded. Attacker-influenced.
    pub principal: Option<String>,
    /// `issued → expires`, or `long-term`.
    pub window: String,
    /// Action rows.
    pub actions: usize,
    /// State at the cut-off.
    pub status: Option<Status>,
    /// When the trail shows it deactivated.
    pub deactivated_at: Option<Timestamp>,
}

/// A minting event.
#[derive(Clone, Debug)]
pub struct Edge {
    /// The minting credential.
    pub from: AccessKeyId,
    /// The minted credential.
    pub to: AccessKeyId,
    /// `eventName` of the minting event. Recorded text.
    pub api: String,
    /// When it was minted.
    pub time: Option<Timestamp>,
}

/// A foothold in the picture: built by one credential, and the way in
/// for others.
#[derive(Clone, Debug)]
pub struct FootholdNode {
    /// Kind, resource and state, one per line. Resource is recorded text.
    pub lines: Vec<String>,
    /// The credential that built it.
    pub from: AccessKeyId,
    /// `eventName` of the call that built it. Recorded text.
    pub api: String,
    /// The credentials that came in through it.
    pub to: Vec<AccessKeyId>,
}

/// The lineage graph, nodes ordered by depth then key, edges by child.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Credentials.
    pub nodes: Vec<Node>,
    /// Minting events.
    pub edges: Vec<Edge>,
    /// Footholds, in the lineage's order.
    pub footholds: Vec<FootholdNode>,
}

impl Graph {
    /// Builds the graph of `lineage`, with action counts from `timeline` and
    /// states from `containment`.
    pub fn build(
        by_depth: &[&Credential],
        timeline: &Timeline,
        stats: &Stats<'_>,
        containment: &Containment,
    ) -> Graph {
        let names: HashMap<&EventId, &str> = timeline
            .rows
            .iter()
            .map(|r| (&r.event.id, r.event.name.as_str()))
            .collect();
        let mut graph = Graph::default();
        for c in by_depth {
            graph.nodes.push(Node {
                key: c.key.clone(),
                kind: kind_label(c),
                window: validity(c),
                principal: c.principal_arn.clone(),
                actions: stats.get(&c.key).map_or(0, |s| s.actions),
                status: containment.state(&c.key).map(|s| s.status),
                deactivated_at: c.deactivated_at,
            });
            if let Some(parent) = &c.parent {
                let implied = match c.kind {
                    CredentialKind::SessionToken => "GetSessionToken",
                    CredentialKind::Federated => "GetFederationToken",
                    CredentialKind::CreatedKey => "CreateAccessKey",
                    _ => "AssumeRole",
                };
                let api = c
                    .minted_by
                    .as_ref()
                    .and_then(|id| names.get(id).copied())
                    .unwrap_or(implied);
                graph.edges.push(Edge {
                    from: parent.clone(),
                    to: c.key.clone(),
                    api: api.to_owned(),
                    time: c.issued_at,
                });
            }
        }
        graph
    }

    /// Adds the footholds, with the credentials that came in through each.
    pub fn add_footholds(
        &mut self,
        uses: &[FootholdUse],
        by_depth: &[&Credential],
        timeline: &Timeline,
    ) {
        for (i, f) in uses.iter().enumerate() {
            let api = timeline
                .rows
                .iter()
                .find(|r| r.event.id == f.created_by_event_id)
                .map_or_else(|| f.kind.as_str().to_owned(), |r| r.event.name.clone());
            self.footholds.push(FootholdNode {
                lines: vec![
                    format!("foothold: {}", f.kind),
                    f.arn.clone(),
                    format!("{} at cut-off, {} event(s)", f.status.as_str(), f.events),
                ],
                from: f.created_by_key.clone(),
                api,
                to: by_depth
                    .iter()
                    .filter(|c| c.foothold == Some(i))
                    .map(|c| c.key.clone())
                    .collect(),
            });
        }
    }
}

/// A credential's kind for people: a seed says what its own events show it
/// to be, unless it is the usual leaked access key.
pub fn kind_label(c: &Credential) -> String {
    match c.seed_type {
        Some(t) if c.kind == CredentialKind::Seed && t != SeedType::LongTerm => {
            format!("seed ({})", t.as_str())
        }
        _ => c.kind.to_string(),
    }
}

/// A credential's validity for people: `issued → expires`, or `long-term`.
pub fn validity(c: &Credential) -> String {
    let temporary = !c.is_long_term();
    match (c.issued_at, c.expires_at) {
        (Some(i), Some(e)) => format!("{i} → {e}"),
        (Some(i), None) if temporary => format!("{i} → expiry unknown"),
        (Some(i), None) => format!("{i} → no expiry"),
        (None, Some(e)) => format!("→ {e}"),
        (None, None) if temporary => "temporary, validity unknown".to_owned(),
        (None, None) => "long-term".to_owned(),
    }
}
