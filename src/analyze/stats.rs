//! What the timeline says about each credential: its actions, failures,
//! and first and last use.
//!
//! The terminal summary, both reports and the graph all show these numbers,
//! so they are counted once, here, over the action rows.

use std::collections::BTreeMap;

use crate::model::AccessKeyId;
use crate::time::Timestamp;
use crate::timeline::Timeline;

/// What the timeline says about one credential.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredentialStats {
    /// Action rows.
    pub actions: usize,
    /// Action rows after deactivation.
    pub actions_after_deactivation: usize,
    /// Action rows that failed (`errorCode` set).
    pub failed: usize,
    /// First action.
    pub first_seen: Option<Timestamp>,
    /// Last action.
    pub last_seen: Option<Timestamp>,
}

/// The stats of every credential with at least one action row.
pub type Stats<'a> = BTreeMap<&'a AccessKeyId, CredentialStats>;

/// Counts the action rows of `timeline` per credential.
pub fn credential_stats(timeline: &Timeline) -> Stats<'_> {
    let mut stats = Stats::new();
    for row in timeline.rows.iter().filter(|r| r.acts_with_key()) {
        let s = stats.entry(&row.key).or_default();
        s.actions += 1;
        s.actions_after_deactivation += usize::from(row.after_deactivation);
        s.failed += usize::from(!row.event.succeeded());
        let t = row.event.time;
        s.first_seen = Some(s.first_seen.map_or(t, |f| f.min(t)));
        s.last_seen = Some(s.last_seen.map_or(t, |l| l.max(t)));
    }
    stats
}
