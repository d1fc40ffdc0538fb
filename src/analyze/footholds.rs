//! Each foothold's use and state at the cut-off.
//!
//! A foothold outlives every key: a user's password still works after the
//! leaked key is gone, and the deny policy on `aws:TokenIssueTime` does not
//! touch a role's trust policy. So each one gets its own line in every
//! output: what came through it, when, and whether the trail shows it taken
//! away before the cut-off.

use serde::Serialize;

use crate::model::{AccessKeyId, AccountId, EventId, FootholdKind, Relation};
use crate::time::Timestamp;
use crate::timeline::Timeline;
use crate::trace::{Foothold, Lineage};

/// Whether a foothold still stands at the cut-off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FootholdStatus {
    /// Nothing in the events read takes it away: it must be removed.
    Open,
    /// A call before the cut-off took it away.
    Removed,
}

impl FootholdStatus {
    /// As every output names it.
    pub fn as_str(self) -> &'static str {
        match self {
            FootholdStatus::Open => "open",
            FootholdStatus::Removed => "removed",
        }
    }
}

/// One foothold, as the outputs show it.
#[derive(Clone, Debug, Serialize)]
pub struct FootholdUse {
    /// What kind of foothold.
    pub kind: FootholdKind,
    /// The user, role, provider, instance or function.
    pub arn: String,
    /// Its account.
    pub account_id: Option<AccountId>,
    /// The event that built it.
    pub created_by_event_id: EventId,
    /// The lineage key that built it.
    pub created_by_key: AccessKeyId,
    /// When.
    pub created_at: Timestamp,
    /// For `role-trust`: the principals the attacker-written trust policy
    /// allows. Recorded text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub trusted_principals: Vec<String>,
    /// For `role-trust`: the trust policy the attacker wrote. Recorded text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_policy: Option<String>,
    /// The record field that links what came through it.
    pub linked_by: &'static str,
    /// The value it is linked by. Recorded text.
    pub link_value: String,
    /// Whether that link is a name anyone could reuse rather than a key or
    /// an ARN: the analyst should judge it.
    pub linked_by_name: bool,
    /// Timeline rows that came through it.
    pub events: usize,
    /// The first of them.
    pub first_used: Option<Timestamp>,
    /// The last of them.
    pub last_used: Option<Timestamp>,
    /// At the cut-off.
    pub status: FootholdStatus,
    /// The call that took it away, if the trail shows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed_by_event_id: Option<EventId>,
}

/// Every foothold of `lineage`, in its order, with what came through it.
pub fn assess(lineage: &Lineage, timeline: &Timeline, cutoff: Timestamp) -> Vec<FootholdUse> {
    let mut uses: Vec<FootholdUse> = lineage.footholds.iter().map(|f| entry(f, cutoff)).collect();
    for row in timeline
        .rows
        .iter()
        .filter(|r| r.relation == Relation::Foothold)
    {
        let through = lineage
            .foothold_of(&row.event)
            .map(|(i, _)| i)
            .or_else(|| lineage.get(&row.key)?.foothold);
        if let Some(u) = through.and_then(|i| uses.get_mut(i)) {
            let t = row.event.time;
            u.events += 1;
            u.first_used = Some(u.first_used.map_or(t, |f| f.min(t)));
            u.last_used = Some(u.last_used.map_or(t, |l| l.max(t)));
        }
    }
    uses
}

fn entry(f: &Foothold, cutoff: Timestamp) -> FootholdUse {
    let (linked_by, value) = f.link.describe();
    let removed = f.removed.as_ref().filter(|(t, _)| *t <= cutoff);
    FootholdUse {
        kind: f.kind,
        arn: f.resource.clone(),
        account_id: f.account_id.clone(),
        created_by_event_id: f.created_by_event_id.clone(),
        created_by_key: f.created_by_key.clone(),
        created_at: f.created_at,
        trusted_principals: f.trusted.clone(),
        trust_policy: f.trust_policy.clone(),
        linked_by,
        link_value: value.to_owned(),
        linked_by_name: f.link.is_by_name(),
        events: 0,
        first_used: None,
        last_used: None,
        status: if removed.is_some() {
            FootholdStatus::Removed
        } else {
            FootholdStatus::Open
        },
        removed_by_event_id: removed.map(|(_, id)| id.clone()),
    }
}
