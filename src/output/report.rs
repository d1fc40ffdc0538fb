//! The JSON report: the lineage and the inputs, for machines.
//!
//! Top-level keys: `keytrail_version`, `seed_keys`, `window`, `credentials`
//! (one entry per lineage credential, ordered by depth then key; besides
//! its lineage, validity, principal and action counts, each says
//! `seed_type` for seeds, `minted_by_key` for a seed minted inside the
//! archive, `status_changes` (`time`, `status`: `active`, `inactive` or
//! `deleted`, `event_id`) for long-term keys, `same_id_elsewhere`, the
//! events with its key id that are not its actions, and `task_policy_arn`
//! for `AssumeRoot` sessions), `inputs`
//! (`files_read`, `bytes_read`, `records`, `skipped`, `partial`, and more),
//! `timeline` (`rows`, `duplicates_dropped`) and `complete` (false when the
//! exit status is 3). Times are RFC 3339 UTC strings; absent values are
//! `null`.
//!
//! Then the response: `cutoff` (`time`, and `source`: `--cutoff` or
//! `time of the run`); `containment` (the same `cutoff`, `policy_name`,
//! `principals` that get the deny policy, `refused_principals`, and
//! `credentials`, each with its `status` at the cut-off: `neutralised`,
//! `expired`, `issued-after-cutoff`, `unreachable`, `key-active`,
//! `key-deactivated`); and `blast_radius` (`actions`, `services`,
//! `resources`, `egress`, `egress_bytes`, `findings`, `source_ips`,
//! `user_agents`, `accounts`, `regions`; see [`BlastRadius`]).
//!
//! The wire format is this module's own structs, and the passive types it
//! embeds ([`InputStats`], [`Containment`], [`BlastRadius`]): nothing
//! internal to a stage is serialized.

use std::io::{self, Write};

use serde::Serialize;

use super::Run;
use crate::analyze::{Analysis, BlastRadius, Containment, Cutoff, FootholdUse};
use crate::inputs::InputStats;
use crate::model::{AccessKeyId, AccountId, CredentialKind, EventId, KeyStatus, SeedType};
use crate::time::Timestamp;

#[derive(Serialize)]
struct Report<'a> {
    keytrail_version: &'static str,
    seed_keys: Vec<&'a AccessKeyId>,
    window: Window,
    follow_created_keys: bool,
    follow_footholds: bool,
    credentials: Vec<CredentialEntry<'a>>,
    footholds: &'a [FootholdUse],
    inputs: &'a InputStats,
    #[serde(skip_serializing_if = "Option::is_none")]
    integrity: Option<&'a crate::inputs::Integrity>,
    timeline: TimelineEntry,
    complete: bool,
    cutoff: &'a Cutoff,
    containment: &'a Containment,
    blast_radius: &'a BlastRadius,
}

#[derive(Serialize)]
struct Window {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
    delivery_margin_seconds: u64,
}

#[derive(Serialize)]
struct CredentialEntry<'a> {
    access_key_id: &'a AccessKeyId,
    kind: CredentialKind,
    parent_key_id: Option<&'a AccessKeyId>,
    depth: u32,
    minted_by_event_id: Option<&'a EventId>,
    issued_at: Option<Timestamp>,
    expires_at: Option<Timestamp>,
    principal_arn: Option<&'a str>,
    account_id: Option<&'a AccountId>,
    deactivated_at: Option<Timestamp>,
    actions: usize,
    failed_actions: usize,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
    actions_after_deactivation: usize,
    seed_type: Option<SeedType>,
    minted_by_key: Option<&'a AccessKeyId>,
    status_changes: Vec<StatusChangeEntry<'a>>,
    same_id_elsewhere: usize,
    task_policy_arn: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    came_through_foothold: Option<usize>,
}

#[derive(Serialize)]
struct StatusChangeEntry<'a> {
    time: Timestamp,
    status: KeyStatus,
    event_id: &'a EventId,
}

#[derive(Serialize)]
struct TimelineEntry {
    rows: usize,
    duplicates_dropped: usize,
}

/// Writes the report of `run` as pretty JSON.
pub fn write<W: Write>(run: &Run<'_>, analysis: &Analysis<'_>, mut out: W) -> io::Result<()> {
    let bounded = |t: Timestamp| (t != Timestamp::MIN && t != Timestamp::MAX).then_some(t);
    let report = Report {
        keytrail_version: env!("CARGO_PKG_VERSION"),
        seed_keys: run.seeds.iter().collect(),
        window: Window {
            since: bounded(run.window.start),
            until: bounded(run.window.end),
            delivery_margin_seconds: run.delivery_margin.as_secs(),
        },
        follow_created_keys: run.follow_created_keys,
        follow_footholds: run.follow_footholds,
        footholds: &analysis.footholds,
        credentials: analysis
            .by_depth
            .iter()
            .map(|c| {
                let s = analysis.stats_of(c);
                CredentialEntry {
                    access_key_id: &c.key,
                    kind: c.kind,
                    parent_key_id: c.parent.as_ref(),
                    depth: c.depth,
                    minted_by_event_id: c.minted_by.as_ref(),
                    issued_at: c.issued_at,
                    expires_at: c.expires_at,
                    principal_arn: c.principal_arn.as_deref(),
                    account_id: c.account_id.as_ref(),
                    deactivated_at: c.deactivated_at,
                    actions: s.actions,
                    failed_actions: s.failed,
                    first_seen: s.first_seen,
                    last_seen: s.last_seen,
                    actions_after_deactivation: s.actions_after_deactivation,
                    seed_type: c.seed_type,
                    minted_by_key: c.minted_by_key.as_ref(),
                    status_changes: c
                        .status_changes
                        .iter()
                        .map(|s| StatusChangeEntry {
                            time: s.time,
                            status: s.status,
                            event_id: &s.event_id,
                        })
                        .collect(),
                    same_id_elsewhere: analysis
                        .timeline
                        .same_id_elsewhere
                        .get(&c.key)
                        .copied()
                        .unwrap_or(0),
                    task_policy_arn: c.task_policy.as_deref(),
                    came_through_foothold: c.foothold,
                }
            })
            .collect(),
        inputs: run.inputs,
        integrity: run.inputs.integrity.as_ref(),
        timeline: TimelineEntry {
            rows: analysis.timeline.rows.len(),
            duplicates_dropped: analysis.timeline.duplicates_dropped,
        },
        complete: !run.inputs.incomplete(),
        cutoff: &analysis.containment.cutoff,
        containment: &analysis.containment,
        blast_radius: &analysis.blast,
    };
    serde_json::to_writer_pretty(&mut out, &report)?;
    out.write_all(b"\n")?;
    out.flush()
}
