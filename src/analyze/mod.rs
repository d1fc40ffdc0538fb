//! What the trace means: containment at the cut-off, the blast radius, the
//! lineage graph and each credential's numbers, decided once.
//!
//! Every output (terminal summary, JSON report, Markdown, DOT, deny policies)
//! shows the same judgements. Making them here, once, from the lineage and
//! the timeline, means the outputs cannot disagree and only render.
//!
//! - [`containment`]: who gets the deny policy, and each credential's status;
//! - [`blast`]: services, resources, egress, findings, where calls came from;
//! - [`classify`]: the findings table, one rule per line;
//! - [`stats`]: actions, failures and first and last use per credential;
//! - [`graph`]: the lineage as nodes and edges;
//! - [`footholds`]: each foothold's use and state at the cut-off.

pub mod blast;
pub mod classify;
pub mod containment;
pub mod footholds;
pub mod graph;
pub mod stats;

pub use blast::BlastRadius;
pub use containment::{Containment, Cutoff};
pub use footholds::{FootholdStatus, FootholdUse};
pub use graph::Graph;
pub use stats::{CredentialStats, Stats};

use crate::timeline::Timeline;
use crate::trace::{Credential, Lineage};

/// Everything the outputs render, computed once.
#[derive(Debug)]
pub struct Analysis<'a> {
    /// The lineage analysed.
    pub lineage: &'a Lineage,
    /// The timeline analysed.
    pub timeline: &'a Timeline,
    /// Every credential, ordered by depth then key: the order in which every
    /// output lists them.
    pub by_depth: Vec<&'a Credential>,
    /// Per-credential numbers.
    pub stats: Stats<'a>,
    /// The containment plan at the cut-off.
    pub containment: Containment,
    /// What the lineage touched.
    pub blast: BlastRadius,
    /// The lineage graph.
    pub graph: Graph,
    /// Each foothold, with what came through it and its state at the
    /// cut-off.
    pub footholds: Vec<FootholdUse>,
}

impl<'a> Analysis<'a> {
    /// Analyses `lineage` and `timeline` at `cutoff`.
    pub fn new(lineage: &'a Lineage, timeline: &'a Timeline, cutoff: Cutoff) -> Analysis<'a> {
        let by_depth = by_depth(lineage);
        let stats = stats::credential_stats(timeline);
        let containment = Containment::assess(lineage, &by_depth, cutoff);
        let blast = BlastRadius::build(timeline);
        let footholds = footholds::assess(lineage, timeline, cutoff.time);
        let mut graph = Graph::build(&by_depth, timeline, &stats, &containment);
        graph.add_footholds(&footholds, &by_depth, timeline);
        Analysis {
            lineage,
            timeline,
            by_depth,
            stats,
            containment,
            blast,
            graph,
            footholds,
        }
    }

    /// The numbers of one credential (all zero when it never acted).
    pub fn stats_of(&self, c: &Credential) -> CredentialStats {
        self.stats.get(&c.key).cloned().unwrap_or_default()
    }
}

/// The credentials of `lineage`, ordered by depth then key.
pub fn by_depth(lineage: &Lineage) -> Vec<&Credential> {
    let mut ordered: Vec<&Credential> = lineage.credentials.values().collect();
    ordered.sort_by(|a, b| (a.depth, &a.key).cmp(&(b.depth, &b.key)));
    ordered
}
