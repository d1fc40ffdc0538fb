//! Credential lineage: which keys descend from the leaked ones.
//!
//! No CloudTrail field links a session to the key that minted it. The only
//! link is the minting event itself: an STS call whose response names the new
//! key, or a `CreateAccessKey` whose response does. The lineage is the closure
//! of the seed keys under "minted by a lineage key", computed breadth-first so
//! that depth is minimal, cycles end, and the result does not depend on the
//! order events were read in: among competing minting events for one key the
//! earliest `(eventTime, eventID)` wins.
//!
//! [`Watch`] is the same rule applied incrementally while files are still
//! being read, so that the scan knows which key ids to look for next.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::event::{Event, Minted};
use crate::model::{AccessKeyId, AccountId, Arn, CredentialKind, EventId, IdentityKind};
use crate::time::{Span, Timestamp};

/// The rules that bound the trace.
#[derive(Clone, Debug)]
pub struct TraceParams {
    /// The leaked keys.
    pub seeds: BTreeSet<AccessKeyId>,
    /// `--since` / `--until`: the seed activity considered.
    pub seed_window: Span,
    /// Follow keys created with `CreateAccessKey`.
    pub follow_created_keys: bool,
}

impl TraceParams {
    /// Whether an event that a credential minted is considered.
    fn mint_counts(&self, minted: &Minted) -> bool {
        self.follow_created_keys || minted.kind != CredentialKind::CreatedKey
    }
}

/// One credential of the lineage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Its key id.
    pub key: AccessKeyId,
    /// How it came to exist.
    pub kind: CredentialKind,
    /// The credential that minted it; `None` for seeds.
    pub parent: Option<AccessKeyId>,
    /// 0 for seeds; parent's depth + 1 otherwise.
    pub depth: u32,
    /// The minting event.
    pub minted_by: Option<EventId>,
    /// When it was minted (`None` for seeds).
    pub issued_at: Option<Timestamp>,
    /// When it expires (`None` for long-term keys).
    pub expires_at: Option<Timestamp>,
    /// Who holds it: a user, assumed-role or federated-user ARN.
    pub principal_arn: Option<String>,
    /// The role ARN, for assumed roles.
    pub role_arn: Option<String>,
    /// The IAM user name, for keys of users.
    pub user_name: Option<String>,
    /// The account the credential acts in.
    pub account_id: Option<AccountId>,
    /// First successful `UpdateAccessKey … Inactive` or `DeleteAccessKey`.
    pub deactivated_at: Option<Timestamp>,
}

impl Credential {
    /// A seed key, before anything is known about it.
    pub fn seed(key: AccessKeyId) -> Credential {
        Credential {
            key,
            kind: CredentialKind::Seed,
            parent: None,
            depth: 0,
            minted_by: None,
            issued_at: None,
            expires_at: None,
            principal_arn: None,
            role_arn: None,
            user_name: None,
            account_id: None,
            deactivated_at: None,
        }
    }
}

/// The whole lineage, keyed and ordered by key id.
#[derive(Clone, Debug, Default)]
pub struct Lineage {
    /// Every credential, seeds included.
    pub credentials: BTreeMap<AccessKeyId, Credential>,
    /// The seed window, for classifying seed actions.
    pub seed_window: Option<Span>,
}

impl Lineage {
    /// The credential with this key id, if it is in the lineage.
    pub fn get(&self, key: &AccessKeyId) -> Option<&Credential> {
        self.credentials.get(key)
    }

    /// Whether an event made with `key` at `time` is a lineage action.
    pub fn is_action(&self, key: &AccessKeyId, time: Timestamp) -> bool {
        match self.credentials.get(key) {
            Some(c) if c.kind == CredentialKind::Seed => self
                .seed_window
                .is_none_or(|w| w.start <= time && time <= w.end),
            Some(_) => true,
            None => false,
        }
    }

    /// The earliest deactivation of `key` or any of its ancestors.
    pub fn effective_deactivation(&self, key: &AccessKeyId) -> Option<Timestamp> {
        self.ancestry(key)
            .iter()
            .filter_map(|c| c.deactivated_at)
            .min()
    }

    /// The chain from `key` up to its seed, `key` first. Depth strictly
    /// decreases along parents, so the walk ends.
    pub fn ancestry(&self, key: &AccessKeyId) -> Vec<&Credential> {
        let mut chain = Vec::new();
        let mut next = self.credentials.get(key);
        while let Some(c) = next {
            chain.push(c);
            next = c.parent.as_ref().and_then(|p| self.credentials.get(p));
        }
        chain
    }

    /// The direct children of `key`, ordered by issue time then key.
    pub fn children(&self, key: &AccessKeyId) -> Vec<&Credential> {
        let mut kids: Vec<&Credential> = self
            .credentials
            .values()
            .filter(|c| c.parent.as_ref() == Some(key))
            .collect();
        kids.sort_by(|a, b| (a.issued_at, &a.key).cmp(&(b.issued_at, &b.key)));
        kids
    }
}

/// Computes the lineage from deduplicated events.
pub fn trace(events: &[Event], params: &TraceParams) -> Lineage {
    // Successful minting events, by the key that made them.
    let mut mints: HashMap<&AccessKeyId, Vec<&Event>> = HashMap::new();
    for e in events {
        if let (Some(actor), Some(m)) = (&e.identity.access_key_id, &e.minted)
            && e.succeeded()
            && params.mint_counts(m)
        {
            mints.entry(actor).or_default().push(e);
        }
    }
    let mut lineage = Lineage {
        credentials: BTreeMap::new(),
        seed_window: Some(params.seed_window),
    };
    for seed in &params.seeds {
        lineage
            .credentials
            .insert(seed.clone(), Credential::seed(seed.clone()));
    }
    let mut frontier: Vec<AccessKeyId> = params.seeds.iter().cloned().collect();
    let mut depth = 0;
    while !frontier.is_empty() {
        depth += 1;
        let mut next: BTreeMap<AccessKeyId, (&Event, AccessKeyId)> = BTreeMap::new();
        for parent in &frontier {
            for e in mints.get(parent).into_iter().flatten() {
                if !lineage.is_action(parent, e.time) {
                    continue;
                }
                let Some(m) = &e.minted else { continue };
                if lineage.credentials.contains_key(&m.key) {
                    continue;
                }
                let better = next
                    .get(&m.key)
                    .is_none_or(|(best, _)| (e.time, &e.id) < (best.time, &best.id));
                if better {
                    next.insert(m.key.clone(), (e, parent.clone()));
                }
            }
        }
        frontier = next.keys().cloned().collect();
        for (key, (e, parent)) in next {
            let Some(m) = &e.minted else { continue };
            lineage.credentials.insert(
                key.clone(),
                Credential {
                    key: key.clone(),
                    kind: m.kind,
                    parent: Some(parent),
                    depth,
                    minted_by: Some(e.id.clone()),
                    issued_at: Some(e.time),
                    expires_at: m.expires_at,
                    principal_arn: m.principal_arn.clone(),
                    role_arn: m.role_arn.clone(),
                    user_name: m.user_name.clone(),
                    account_id: None,
                    deactivated_at: None,
                },
            );
        }
    }
    attribute(&mut lineage, events);
    lineage
}

/// Fills principal, account and deactivation from the events.
fn attribute(lineage: &mut Lineage, events: &[Event]) {
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    for e in &ordered {
        if let Some(op) = &e.key_operation
            && op.deactivates
            && e.succeeded()
            && let Some(c) = lineage.credentials.get_mut(&op.key)
            && c.deactivated_at.is_none()
        {
            c.deactivated_at = Some(e.time);
        }
        let Some(key) = &e.identity.access_key_id else {
            continue;
        };
        if let Some(c) = lineage.credentials.get_mut(key) {
            if c.principal_arn.is_none() {
                c.principal_arn.clone_from(&e.identity.arn);
            }
            if c.account_id.is_none() {
                c.account_id.clone_from(&e.identity.account_id);
            }
            if c.user_name.is_none() && e.identity.kind == Some(IdentityKind::IamUser) {
                c.user_name.clone_from(&e.identity.user_name);
            }
        }
    }
    // Credentials never used: take what the minting event says.
    let by_id: HashMap<&EventId, &Event> = events.iter().map(|e| (&e.id, e)).collect();
    for c in lineage.credentials.values_mut() {
        let Some(mint) = c.minted_by.as_ref().and_then(|id| by_id.get(id)) else {
            continue;
        };
        if c.account_id.is_none() {
            c.account_id = c
                .principal_arn
                .as_deref()
                .and_then(Arn::parse)
                .and_then(|a| a.account_id())
                .or_else(|| mint.recipient_account_id.clone());
        }
        if c.principal_arn.is_none() {
            c.principal_arn = match c.kind {
                CredentialKind::SessionToken => mint.identity.arn.clone(),
                CredentialKind::CreatedKey => c.user_name.as_ref().map(|u| {
                    let partition = mint
                        .identity
                        .arn
                        .as_deref()
                        .and_then(Arn::parse)
                        .map(|a| a.partition)
                        .filter(|p| !p.is_empty())
                        .unwrap_or("aws");
                    let account = c.account_id.as_ref().map_or("", AccountId::as_str);
                    format!("arn:{partition}:iam::{account}:user/{u}")
                }),
                _ => None,
            };
        }
    }
}

/// The scan-time watch list: the key ids to look for, and the time window in
/// which each can appear.
#[derive(Clone, Debug)]
pub struct Watch {
    params: TraceParams,
    windows: BTreeMap<AccessKeyId, Span>,
}

impl Watch {
    /// Starts with the seeds.
    pub fn new(params: &TraceParams) -> Watch {
        let windows = params
            .seeds
            .iter()
            .map(|k| (k.clone(), params.seed_window))
            .collect();
        Watch {
            params: params.clone(),
            windows,
        }
    }

    /// The seed keys.
    pub fn seeds(&self) -> &BTreeSet<AccessKeyId> {
        &self.params.seeds
    }

    /// Every watched key and its window.
    pub fn windows(&self) -> &BTreeMap<AccessKeyId, Span> {
        &self.windows
    }

    /// Learns from one event; returns the key it added, if any.
    pub fn learn(&mut self, e: &Event) -> Option<AccessKeyId> {
        let actor = e.identity.access_key_id.as_ref()?;
        let m = e.minted.as_ref()?;
        let parent_window = self.windows.get(actor)?;
        let inside = parent_window.start <= e.time && e.time <= parent_window.end;
        if !e.succeeded() || !inside || !self.params.mint_counts(m) {
            return None;
        }
        if self.windows.contains_key(&m.key) {
            return None;
        }
        let window = Span {
            start: e.time,
            end: m.expires_at.unwrap_or(Timestamp::MAX),
        };
        self.windows.insert(m.key.clone(), window);
        Some(m.key.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::event::{Identity, KeyOperation};

    fn key(s: &str) -> AccessKeyId {
        AccessKeyId::parse(&format!("{s:A<20}")).unwrap()
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_millis(1_765_000_000_000 + minute * 60_000)
    }

    fn event(id: &str, minute: i64, actor: Option<&str>) -> Event {
        Event {
            id: EventId(id.into()),
            time: at(minute),
            service: "sts.amazonaws.com".into(),
            name: "AssumeRole".into(),
            region: String::new(),
            source_ip: String::new(),
            user_agent: String::new(),
            read_only: None,
            error_code: None,
            error_message: None,
            identity: Identity {
                access_key_id: actor.map(key),
                ..Identity::default()
            },
            recipient_account_id: None,
            shared_event_id: None,
            supersedes: None,
            request_parameters: None,
            response_elements: None,
            resources: None,
            additional_event_data: None,
            minted: None,
            key_operation: None,
            origin: Arc::from("t"),
        }
    }

    fn mint(id: &str, minute: i64, actor: &str, child: &str, kind: CredentialKind) -> Event {
        let mut e = event(id, minute, Some(actor));
        e.minted = Some(Minted {
            key: key(child),
            kind,
            expires_at: kind.is_temporary().then(|| at(minute + 60)),
            principal_arn: None,
            role_arn: None,
            user_name: None,
        });
        e
    }

    fn params(seeds: &[&str]) -> TraceParams {
        TraceParams {
            seeds: seeds.iter().map(|s| key(s)).collect(),
            seed_window: Span::ALL,
            follow_created_keys: true,
        }
    }

    fn summary(l: &Lineage) -> Vec<String> {
        l.credentials
            .values()
            .map(|c| {
                let parent = c.parent.as_ref().map(|p| p.as_str()[..4].to_owned());
                format!(
                    "{}<{}:{}:{}",
                    &c.key.as_str()[..4],
                    parent.unwrap_or_default(),
                    c.kind,
                    c.depth
                )
            })
            .collect()
    }

    #[test]
    fn chains_diamonds_and_cycles() {
        use CredentialKind::*;
        let events = vec![
            mint("1", 1, "SEED", "SESS", SessionToken),
            mint("2", 2, "SESS", "ROLA", AssumedRole),
            mint("3", 3, "ROLA", "ROLB", AssumedRole),
            // Diamond: ROLB also minted by the seed later; the shallower path wins.
            mint("4", 4, "SEED", "ROLB", AssumedRole),
            // Cycle: ROLB "mints" SESS back.
            mint("5", 5, "ROLB", "SESS", SessionToken),
            mint("6", 6, "SEED", "NEWK", CreatedKey),
            mint("7", 7, "NEWK", "NSES", SessionToken),
            // Unrelated actor.
            mint("8", 8, "OTHR", "XXXX", SessionToken),
        ];
        let l = trace(&events, &params(&["SEED"]));
        assert_eq!(
            summary(&l),
            [
                "NEWK<SEED:created-key:1",
                "NSES<NEWK:session-token:2",
                "ROLA<SESS:assumed-role:2",
                "ROLB<SEED:assumed-role:1",
                "SEED<:seed:0",
                "SESS<SEED:session-token:1",
            ]
        );
        // Discovery order does not matter.
        let mut reversed = events.clone();
        reversed.reverse();
        assert_eq!(summary(&trace(&reversed, &params(&["SEED"]))), summary(&l));
        // Without following created keys.
        let mut p = params(&["SEED"]);
        p.follow_created_keys = false;
        assert!(!trace(&events, &p).credentials.contains_key(&key("NEWK")));
    }

    #[test]
    fn failed_calls_and_seed_window_do_not_mint() {
        let mut failed = mint("1", 1, "SEED", "SESS", CredentialKind::SessionToken);
        failed.error_code = Some("AccessDenied".into());
        let early = mint("2", -100, "SEED", "EARL", CredentialKind::SessionToken);
        let mut p = params(&["SEED"]);
        p.seed_window = Span {
            start: at(0),
            end: at(50),
        };
        let l = trace(&[failed, early], &p);
        assert_eq!(l.credentials.len(), 1);
    }

    #[test]
    fn deactivation_is_inherited() {
        let mut deact = event("d", 10, Some("ADMN"));
        deact.key_operation = Some(KeyOperation {
            key: key("SEED"),
            deactivates: true,
        });
        let mut failed = event("f", 5, Some("ADMN"));
        failed.key_operation = Some(KeyOperation {
            key: key("SEED"),
            deactivates: true,
        });
        failed.error_code = Some("AccessDenied".into());
        let events = vec![
            mint("1", 1, "SEED", "SESS", CredentialKind::SessionToken),
            deact,
            failed,
        ];
        let l = trace(&events, &params(&["SEED"]));
        assert_eq!(l.get(&key("SEED")).unwrap().deactivated_at, Some(at(10)));
        assert_eq!(l.get(&key("SESS")).unwrap().deactivated_at, None);
        assert_eq!(l.effective_deactivation(&key("SESS")), Some(at(10)));
    }

    #[test]
    fn watch_learns_keys_as_they_appear() {
        let mut w = Watch::new(&params(&["SEED"]));
        assert_eq!(
            w.learn(&mint("2", 2, "SESS", "ROLE", CredentialKind::AssumedRole)),
            None
        );
        assert_eq!(
            w.learn(&mint("1", 1, "SEED", "SESS", CredentialKind::SessionToken)),
            Some(key("SESS"))
        );
        assert_eq!(
            w.learn(&mint("2", 2, "SESS", "ROLE", CredentialKind::AssumedRole)),
            Some(key("ROLE"))
        );
        assert_eq!(
            w.windows()[&key("ROLE")],
            Span {
                start: at(2),
                end: at(62)
            }
        );
    }
}
