//! From traced events to the rows of the timeline.
//!
//! The timeline is the evidence an analyst hands on, so it must be the same
//! bytes for the same input whatever the thread count: duplicates are
//! resolved by content-independent rules, and rows are ordered by
//! `(event_time, event_id)` after all parallel work is done.

use std::collections::{BTreeMap, HashSet};

use crate::event::Event;
use crate::model::{AccessKeyId, CredentialKind, EventId, Relation};
use crate::trace::{Entry, Lineage, SLACK};

/// Collapses deliveries of the same event. Returns the survivors, sorted by
/// `(time, id)`, and how many deliveries were dropped.
///
/// - The same `eventID` delivered twice is kept once: the copy read from the
///   first source in name order, so the choice does not depend on timing.
///   (The same record collected twice from one file, by a re-read, is not a
///   second delivery and is not counted; two copies at two places in one
///   file, as a CloudWatch export holds a duplicate delivery, are.)
/// - An `UPDATED_DATA` re-emission replaces the event it names in
///   `addendum.originalEventID`.
///
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html>
pub fn dedupe(mut events: Vec<Event>) -> (Vec<Event>, usize) {
    events.sort_by(|a, b| (&a.id, &a.origin, a.record).cmp(&(&b.id, &b.origin, b.record)));
    events.dedup_by(|later, first| {
        later.id == first.id && later.origin == first.origin && later.record == first.record
    });
    let before = events.len();
    events.dedup_by(|later, first| later.id == first.id);
    let superseded: HashSet<EventId> = events.iter().filter_map(|e| e.supersedes.clone()).collect();
    events.retain(|e| !superseded.contains(&e.id));
    events.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    let dropped = before - events.len();
    (events, dropped)
}

/// One row of the timeline: an event and why it is there.
#[derive(Clone, Debug)]
pub struct Row {
    /// Why the event is on the timeline.
    pub relation: Relation,
    /// The lineage key: the one used (actions), acted on (lifecycle),
    /// minted (copies), or whose sign-in token was used (sign-ins, which
    /// carry no key of their own: their `access_key_id` column is empty).
    pub key: AccessKeyId,
    /// The kind of that key.
    pub kind: CredentialKind,
    /// Its parent in the lineage.
    pub parent: Option<AccessKeyId>,
    /// Its depth in the lineage.
    pub depth: u32,
    /// An action made after the key or an ancestor had been deactivated.
    pub after_deactivation: bool,
    /// The event.
    pub event: Event,
}

impl Row {
    /// Whether the row is something the attacker did: an action of a
    /// lineage credential, or anything that came in through a foothold.
    pub fn is_activity(&self) -> bool {
        matches!(self.relation, Relation::Action | Relation::Foothold)
    }

    /// Whether the row is an action made with its own key (not a sign-in
    /// or a keyless foothold entry, which are filed under the key that
    /// opened the way).
    pub fn acts_with_key(&self) -> bool {
        self.is_activity() && self.event.identity.access_key_id.as_ref() == Some(&self.key)
    }

    /// The key the `access_key_id` column shows: none for a sign-in or a
    /// foothold entry that carries no key of the lineage (a `ConsoleLogin`).
    pub fn shown_key(&self) -> Option<&AccessKeyId> {
        let own = self.event.identity.access_key_id.as_ref() == Some(&self.key)
            || self
                .event
                .minted
                .as_ref()
                .is_some_and(|m| m.key == self.key);
        match self.relation {
            Relation::SignIn => None,
            Relation::Foothold if !own => None,
            _ => Some(&self.key),
        }
    }
}

/// The finished timeline, in output order.
#[derive(Clone, Debug, Default)]
pub struct Timeline {
    /// Rows ordered by `(event_time, event_id)`.
    pub rows: Vec<Row>,
    /// Deliveries dropped as duplicates.
    pub duplicates_dropped: usize,
    /// Per minted credential, events that carry its key id but fall outside
    /// its validity or were made by another principal: AWS reused the id.
    pub same_id_elsewhere: BTreeMap<AccessKeyId, usize>,
}

impl Timeline {
    /// Classifies deduplicated, ordered events against the lineage. Events
    /// with no relation to it (read because they mention a key id in passing)
    /// are dropped.
    pub fn build(events: Vec<Event>, lineage: &Lineage, duplicates_dropped: usize) -> Timeline {
        let mut same_id_elsewhere = BTreeMap::new();
        for e in &events {
            if let Some(k) = &e.identity.access_key_id
                && lineage
                    .get(k)
                    .is_some_and(|c| c.kind != CredentialKind::Seed)
                && !lineage.is_action(k, e)
            {
                *same_id_elsewhere.entry(k.clone()).or_default() += 1;
            }
        }
        let rows = events
            .into_iter()
            .filter_map(|event| {
                let (relation, key, keyless) = classify(&event, lineage)?;
                let c = lineage.get(&key)?;
                let after_deactivation = matches!(relation, Relation::Action | Relation::Foothold)
                    && lineage.inactive_at(&key, event.time);
                // A sign-in is the first step of the console session the
                // credential's token opened, and a keyless foothold entry
                // the first step through the way in the credential built:
                // both belong one level below it.
                let (kind, parent, depth) = match relation {
                    Relation::SignIn => (
                        CredentialKind::ConsoleSession,
                        Some(key.clone()),
                        c.depth + 1,
                    ),
                    Relation::Foothold if keyless => (
                        CredentialKind::FootholdSession,
                        Some(key.clone()),
                        c.depth + 1,
                    ),
                    _ => (c.kind, c.parent.clone(), c.depth),
                };
                Some(Row {
                    relation,
                    kind,
                    parent,
                    depth,
                    key,
                    after_deactivation,
                    event,
                })
            })
            .collect();
        Timeline {
            rows,
            duplicates_dropped,
            same_id_elsewhere,
        }
    }
}

/// Why `e` is on the timeline, the lineage key it is filed under, and
/// whether it came in through a foothold without a key of its own (filed
/// under the key that built the foothold).
fn classify(e: &Event, lineage: &Lineage) -> Option<(Relation, AccessKeyId, bool)> {
    if let Some(k) = &e.identity.access_key_id
        && let Some(c) = lineage.get(k)
        && lineage.is_action(k, e)
    {
        let relation = match c.kind {
            CredentialKind::FootholdSession => Relation::Foothold,
            _ => Relation::Action,
        };
        return Some((relation, k.clone(), false));
    }
    if let Some(sign_in) = lineage.sign_in_of(e) {
        return Some((Relation::SignIn, sign_in.by.clone(), false));
    }
    if let Some((i, entry)) = lineage.foothold_of(e) {
        // The session this event minted through the foothold, if the trace
        // kept it; else the entry is filed under the foothold's builder.
        let minted = match entry {
            Entry::Minted(k) => lineage
                .get(&k)
                .filter(|c| c.foothold == Some(i) && c.minted_by.as_ref() == Some(&e.id))
                .map(|c| c.key.clone()),
            _ => None,
        };
        return Some(match minted {
            Some(k) => (Relation::Foothold, k, false),
            None => (
                Relation::Foothold,
                lineage.footholds[i].created_by_key.clone(),
                true,
            ),
        });
    }
    if let Some(op) = &e.key_operation
        && lineage.get(&op.key).is_some()
    {
        return Some((Relation::Lifecycle, op.key.clone(), false));
    }
    let m = e.minted.as_ref()?;
    let c = lineage.get(&m.key)?;
    if m.kind == CredentialKind::CreatedKey {
        return Some((Relation::Lifecycle, m.key.clone(), false));
    }
    // The role account's record of a cross-account call: no key of its own,
    // another eventID, the same credentials, at the same moment (a record
    // naming a reused id at another time is not a copy).
    let is_copy = e.identity.access_key_id.is_none()
        && c.minted_by.as_ref().is_some_and(|id| *id != e.id)
        && c.issued_at
            .is_none_or(|t| t.minus(SLACK) <= e.time && e.time <= t.plus(SLACK));
    is_copy.then(|| (Relation::Copy, m.key.clone(), false))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn event(id: &str, origin: &str, minute: i64) -> Event {
        let json = format!(
            r#"{{"eventID":"{id}","eventTime":"2025-12-08T14:{minute:02}:00Z","userIdentity":{{"accessKeyId":"AKIAEXAMPLESEED00001"}}}}"#
        );
        crate::decode::record::parse_record(json.as_bytes(), &Arc::from(origin)).unwrap()
    }

    #[test]
    fn duplicates_and_updated_data() {
        let mut updated = event("new", "c", 3);
        updated.supersedes = Some(EventId("old".into()));
        let events = vec![
            event("b", "z-second-file", 2),
            event("b", "a-first-file", 2),
            event("b", "a-first-file", 2),
            event("old", "c", 1),
            updated,
            event("a", "a", 2),
        ];
        let (kept, dropped) = dedupe(events);
        let ids: Vec<_> = kept.iter().map(|e| (e.id.as_str(), &*e.origin)).collect();
        assert_eq!(ids, [("a", "a"), ("b", "a-first-file"), ("new", "c")]);
        assert_eq!(dropped, 2);
        assert!(kept.windows(2).all(|w| w[0].time <= w[1].time));
        // Two copies in one file, at two places, are two deliveries.
        let mut second = event("d", "export", 4);
        second.record = 7;
        let (kept, dropped) = dedupe(vec![event("d", "export", 4), second]);
        assert_eq!((kept.len(), dropped), (1, 1));
    }
}
