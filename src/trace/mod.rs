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
//! A lineage credential's successful `GetSigninToken` also opens a console
//! sign-in for its principal: the console session that follows carries a key
//! no STS response names, found by its principal ARN and session start.
//!
//! Where keys end, [`foothold`]s begin: a user, password, role trust,
//! provider, instance or function a lineage credential built lets later
//! sessions in without any key of the lineage. They join it as
//! `foothold-session` credentials, one level below the key that built the
//! foothold, and take part in the same breadth-first fixpoint.
//!
//! [`Watch`] is the same rule applied incrementally while files are still
//! being read, so that the scan knows which key ids, and which principal
//! ARNs and foothold names, to look for next.
//!
//! AWS reuses temporary key ids across sessions, sometimes at once
//! (Hunters, "Is AWS recycling your access keys?"), and the session token
//! that would tell them apart is not logged. So an event is an action of a
//! minted credential only inside its validity (with [`SLACK`] either side)
//! and only when its principal agrees with the one the minting event named;
//! other events with the same id are counted, not followed.

mod foothold;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::event::{Event, Minted};
use std::time::Duration;

use crate::model::{
    AccessKeyId, AccountId, Arn, ArnPrincipal, CredentialKind, EventId, IdentityKind, KeyStatus,
    SeedType,
};
use crate::time::{Span, Timestamp};

pub use foothold::{Entry, Foothold, Link};

/// The rules that bound the trace.
#[derive(Clone, Debug)]
pub struct TraceParams {
    /// The leaked keys.
    pub seeds: BTreeSet<AccessKeyId>,
    /// `--since` / `--until`: the seed activity considered.
    pub seed_window: Span,
    /// Follow keys created with `CreateAccessKey`.
    pub follow_created_keys: bool,
    /// Follow what comes in through footholds (they are listed either way).
    pub follow_footholds: bool,
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
    /// Every successful status change of a long-term key, in time order;
    /// nothing after a `DeleteAccessKey`, which is final.
    pub status_changes: Vec<StatusChange>,
    /// Who may use it, as the minting event said: events by anyone else
    /// with the same key id are not its actions.
    pub owner: Option<Owner>,
    /// For seeds: what the seed's own events show it to be.
    pub seed_type: Option<SeedType>,
    /// For a seed whose minting event is in the archive: the key that
    /// minted it. That key is not part of the lineage.
    pub minted_by_key: Option<AccessKeyId>,
    /// For `AssumeRoot` sessions: the task policy that scopes them.
    pub task_policy: Option<String>,
    /// For foothold sessions: the foothold they came through, as an index
    /// into [`Lineage::footholds`].
    pub foothold: Option<usize>,
}

/// One change of a long-term key's status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChange {
    /// When.
    pub time: Timestamp,
    /// The status it took.
    pub status: KeyStatus,
    /// The `UpdateAccessKey` or `DeleteAccessKey` event.
    pub event_id: EventId,
}

/// The principal a minted credential belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// A session ARN: `assumedRoleUser.arn`, `federatedUser.arn`, or the
    /// caller's ARN where it names no user (the root user).
    Arn(String),
    /// The root user of an account: an `AssumeRoot` session.
    Root {
        /// The member account, `requestParameters.targetPrincipal`.
        account: AccountId,
    },
    /// An IAM user, by account and name: its ARN may carry a path.
    User {
        /// The user's account, when recorded.
        account: Option<AccountId>,
        /// The user's name, without path.
        name: String,
    },
}

/// How far outside its validity an event may still be an action of a
/// credential: clocks and CloudTrail's `eventTime` are not exact.
pub const SLACK: Duration = Duration::from_secs(5 * 60);

impl Owner {
    /// Whether `identity` may be this owner: only a recorded principal that
    /// differs rules it out.
    fn admits(&self, identity: &crate::event::Identity) -> bool {
        match self {
            Owner::Arn(arn) => identity.arn.as_ref().is_none_or(|a| a == arn),
            // A user's key is used by that user: a role session or anyone
            // else carrying the id is another session.
            Owner::User { .. }
                if identity
                    .kind
                    .as_ref()
                    .is_some_and(|k| *k != IdentityKind::IamUser) =>
            {
                false
            }
            Owner::Root { account } => {
                identity
                    .kind
                    .as_ref()
                    .is_none_or(|k| *k == IdentityKind::Root)
                    && identity.account_id.as_ref().is_none_or(|a| a == account)
            }
            Owner::User { account, name } => {
                let same_account = match (account, &identity.account_id) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                same_account && user_name(identity).is_none_or(|n| n == name)
            }
        }
    }
}

/// The IAM user an identity names: `userName`, else the last part of a user
/// ARN.
fn user_name(identity: &crate::event::Identity) -> Option<&str> {
    if identity
        .kind
        .as_ref()
        .is_some_and(|k| *k != IdentityKind::IamUser)
    {
        return None;
    }
    identity.user_name.as_deref().or_else(|| {
        match Arn::parse(identity.arn.as_deref()?)?.principal()? {
            ArnPrincipal::User(name) => Some(name),
            _ => None,
        }
    })
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
            status_changes: Vec::new(),
            owner: None,
            seed_type: None,
            minted_by_key: None,
            task_policy: None,
            foothold: None,
        }
    }

    /// Whether the key is long-term (an access key of a user), not a session:
    /// created keys, and seeds whose events show no session. A seed never
    /// seen is judged by the prefix AWS gives temporary keys, `ASIA`.
    pub fn is_long_term(&self) -> bool {
        match self.kind {
            CredentialKind::CreatedKey => true,
            CredentialKind::Seed => self
                .seed_type
                .map_or(!self.key.as_str().starts_with("ASIA"), |t| {
                    t == SeedType::LongTerm
                }),
            // A foothold user's own key, not one of its sessions.
            CredentialKind::FootholdSession => self.expires_at.is_none(),
            _ => false,
        }
    }

    /// The key's status just before `t`: its last change before `t`;
    /// `None` when the trail shows none.
    pub fn status_at(&self, t: Timestamp) -> Option<KeyStatus> {
        self.status_changes
            .iter()
            .take_while(|c| c.time < t)
            .last()
            .map(|c| c.status)
    }

    /// The key's status at the end of `t`, a change made at `t` included:
    /// how a cut-off judges it.
    pub fn status_through(&self, t: Timestamp) -> Option<KeyStatus> {
        self.status_changes
            .iter()
            .take_while(|c| c.time <= t)
            .last()
            .map(|c| c.status)
    }

    /// Whether `e` may be an action of this minted credential: inside its
    /// validity, give or take [`SLACK`], and made by its owner. Nothing
    /// comes in through a foothold before it was built, so a foothold
    /// session gets no slack before it.
    fn admits(&self, e: &Event) -> bool {
        let before = match self.kind {
            CredentialKind::FootholdSession => Duration::ZERO,
            _ => SLACK,
        };
        let after_issue = self.issued_at.is_none_or(|i| i.minus(before) <= e.time);
        let before_expiry = self.expires_at.is_none_or(|x| e.time <= x.plus(SLACK));
        after_issue && before_expiry && self.owner.as_ref().is_none_or(|o| o.admits(&e.identity))
    }
}

/// The whole lineage, keyed and ordered by key id.
#[derive(Clone, Debug, Default)]
pub struct Lineage {
    /// Every credential, seeds included.
    pub credentials: BTreeMap<AccessKeyId, Credential>,
    /// The seed window, for classifying seed actions.
    pub seed_window: Option<Span>,
    /// Console sign-ins opened by lineage credentials, in time order.
    pub sign_ins: Vec<SignIn>,
    /// Footholds lineage credentials built, in `(created_at, event, resource)`
    /// order.
    pub footholds: Vec<Foothold>,
    /// Whether what comes in through footholds was followed.
    pub follow_footholds: bool,
}

/// A successful `GetSigninToken` made with a lineage credential: for
/// [`SIGN_IN_TOKEN`], a `ConsoleLogin` as its principal is the attacker's,
/// and so is the console session it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    /// When the token was issued.
    pub at: Timestamp,
    /// The principal ARN the console session will carry.
    pub arn: String,
    /// The lineage credential that asked for the token.
    pub by: AccessKeyId,
    /// The `GetSigninToken` event.
    pub event_id: EventId,
}

impl SignIn {
    /// Whether a sign-in as `arn` at `t` used this token.
    fn admits(&self, arn: &str, t: Timestamp) -> bool {
        self.arn == arn && self.at <= t && t <= self.at.plus(SIGN_IN_TOKEN)
    }
}

/// How long a sign-in token from the federation endpoint is valid.
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_enable-console-custom-url.html>
pub const SIGN_IN_TOKEN: Duration = Duration::from_secs(15 * 60);

/// How long a console session lasts when the trail does not say: the most
/// the federation endpoint allows, 12 h for role sessions (`SessionDuration`
/// up to 43,200 s) and 36 h for federated users (the life of their
/// `GetFederationToken` credentials), so that a session still live is
/// never reported expired.
/// Decided from the `GetSigninToken` event itself, since the credential
/// that asked may be a seed, whose kind says nothing.
fn console_session_limit(sign_in_token: &Event) -> Duration {
    if is_federated(sign_in_token) {
        CONSOLE_SESSION_MAX
    } else {
        Duration::from_secs(12 * 3600)
    }
}

/// The longest a console session can last: a federated user's, 36 h.
pub const CONSOLE_SESSION_MAX: Duration = Duration::from_secs(36 * 3600);

/// Whether `e` was made by a federated user.
fn is_federated(e: &Event) -> bool {
    e.identity.kind == Some(IdentityKind::FederatedUser)
}

/// Whether `e` is a successful `GetSigninToken`.
fn is_sign_in_token(e: &Event) -> bool {
    e.service == "signin.amazonaws.com"
        && e.name == "GetSigninToken"
        && e.succeeded()
        && e.response_elements
            .as_ref()
            .and_then(|r| r.get("GetSigninToken"))
            .and_then(serde_json::Value::as_str)
            .is_none_or(|v| v != "Failure")
}

impl Lineage {
    /// The lineage credential whose sign-in token `e` (a `ConsoleLogin`
    /// with no key of its own) used, if any.
    pub fn sign_in_of(&self, e: &Event) -> Option<&SignIn> {
        if e.name != "ConsoleLogin" || e.identity.access_key_id.is_some() {
            return None;
        }
        let arn = e.identity.arn.as_deref()?;
        self.sign_ins.iter().find(|s| s.admits(arn, e.time))
    }

    /// The foothold `e` came in through, and how, if footholds are
    /// followed: of those that admit it, the last built, which is the one
    /// in force (a login profile over the user it was given to, the latest
    /// trust policy of a role).
    pub fn foothold_of(&self, e: &Event) -> Option<(usize, Entry)> {
        if !self.follow_footholds {
            return None;
        }
        self.footholds
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, f)| Some((i, f.entry(e)?)))
    }

    /// The credential with this key id, if it is in the lineage.
    pub fn get(&self, key: &AccessKeyId) -> Option<&Credential> {
        self.credentials.get(key)
    }

    /// Whether `e`, made with `key`, is a lineage action: inside the seed
    /// window for a seed; inside the validity, and by the owner, for a
    /// minted credential.
    pub fn is_action(&self, key: &AccessKeyId, e: &Event) -> bool {
        match self.credentials.get(key) {
            Some(c) if c.kind == CredentialKind::Seed => self
                .seed_window
                .is_none_or(|w| w.start <= e.time && e.time <= w.end),
            Some(c) => c.admits(e),
            None => false,
        }
    }

    /// Whether `key`, or any key it descends from, was inactive or deleted
    /// at `t`.
    pub fn inactive_at(&self, key: &AccessKeyId, t: Timestamp) -> bool {
        self.ancestry(key)
            .iter()
            .any(|c| c.status_at(t).is_some_and(|s| !s.is_usable()))
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
    // Successful minting and sign-in token events, by the key that made them.
    let mut mints: HashMap<&AccessKeyId, Vec<&Event>> = HashMap::new();
    for e in events {
        let mints_key = e
            .minted
            .as_ref()
            .is_some_and(|m| e.succeeded() && params.mint_counts(m));
        let opens = e.opening.is_some() && e.succeeded();
        if let Some(actor) = &e.identity.access_key_id
            && (mints_key || opens || is_sign_in_token(e))
        {
            mints.entry(actor).or_default().push(e);
        }
    }
    // Console actions, by the principal ARN they carry.
    let mut console: HashMap<&str, Vec<&Event>> = HashMap::new();
    for e in events.iter().filter(|e| e.from_console) {
        if let (Some(arn), Some(_), Some(_)) = (
            e.identity.arn.as_deref(),
            &e.identity.access_key_id,
            e.identity.session_issued,
        ) {
            console.entry(arn).or_default().push(e);
        }
    }
    let mut lineage = Lineage {
        credentials: BTreeMap::new(),
        seed_window: Some(params.seed_window),
        sign_ins: Vec::new(),
        footholds: Vec::new(),
        follow_footholds: params.follow_footholds,
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
        let mut next: BTreeMap<AccessKeyId, Candidate<'_>> = BTreeMap::new();
        for parent in &frontier {
            for e in mints.get(parent).into_iter().flatten() {
                if !lineage.is_action(parent, e) {
                    continue;
                }
                if let Some(m) = e.minted.as_ref().filter(|m| params.mint_counts(m)) {
                    let c = Candidate {
                        event: e,
                        parent: parent.clone(),
                        issued_at: e.time,
                        owner: owner(e, m),
                        minted: m.clone(),
                        foothold: None,
                    };
                    c.offer(&mut next, &lineage);
                }
                if e.opening.is_some() {
                    for f in Foothold::built(e, parent) {
                        let index = lineage.footholds.len();
                        if params.follow_footholds {
                            for door in events {
                                if let Some(c) = Candidate::through(&f, index, door, parent) {
                                    c.offer(&mut next, &lineage);
                                }
                            }
                        }
                        lineage.footholds.push(f);
                    }
                }
                if !is_sign_in_token(e) {
                    continue;
                }
                let Some(arn) = &e.identity.arn else { continue };
                let sign_in = SignIn {
                    at: e.time,
                    arn: arn.clone(),
                    by: parent.clone(),
                    event_id: e.id.clone(),
                };
                let Some(p) = lineage.get(parent) else {
                    continue;
                };
                let limit = console_session_limit(e);
                let parent_expiry = p.expires_at.filter(|_| is_federated(e));
                for action in console.get(arn.as_str()).into_iter().flatten() {
                    let (Some(key), Some(issued)) = (
                        &action.identity.access_key_id,
                        action.identity.session_issued,
                    ) else {
                        continue;
                    };
                    if !sign_in.admits(arn, issued) {
                        continue;
                    }
                    let limit = issued.plus(limit);
                    let c = Candidate {
                        event: e,
                        parent: parent.clone(),
                        issued_at: issued,
                        owner: Some(Owner::Arn(arn.clone())),
                        foothold: None,
                        minted: Minted {
                            key: key.clone(),
                            kind: CredentialKind::ConsoleSession,
                            expires_at: Some(parent_expiry.map_or(limit, |x| x.min(limit))),
                            principal_arn: Some(arn.clone()),
                            role_arn: None,
                            user_name: None,
                            task_policy: None,
                            target_account: None,
                        },
                    };
                    c.offer(&mut next, &lineage);
                }
                lineage.sign_ins.push(sign_in);
            }
        }
        frontier = next.keys().cloned().collect();
        for (key, c) in next {
            let m = &c.minted;
            lineage.credentials.insert(
                key.clone(),
                Credential {
                    key: key.clone(),
                    kind: m.kind,
                    parent: Some(c.parent),
                    depth,
                    minted_by: Some(c.event.id.clone()),
                    issued_at: Some(c.issued_at),
                    expires_at: m.expires_at,
                    principal_arn: m.principal_arn.clone(),
                    role_arn: m.role_arn.clone(),
                    user_name: m.user_name.clone(),
                    owner: c.owner,
                    task_policy: m.task_policy.clone(),
                    foothold: c.foothold,
                    ..Credential::seed(key.clone())
                },
            );
        }
    }
    lineage
        .sign_ins
        .sort_by(|a, b| (a.at, &a.event_id).cmp(&(b.at, &b.event_id)));
    order_footholds(&mut lineage);
    // A credential is filed under the foothold its first event came in
    // through, as the timeline files that event, when the same key built it.
    let by_id: HashMap<&EventId, &Event> = events.iter().map(|e| (&e.id, e)).collect();
    let refiled: Vec<(AccessKeyId, usize)> = lineage
        .credentials
        .values()
        .filter(|c| c.foothold.is_some())
        .filter_map(|c| {
            let first = by_id.get(c.minted_by.as_ref()?)?;
            let (i, _) = lineage.foothold_of(first)?;
            (Some(&lineage.footholds[i].created_by_key) == c.parent.as_ref())
                .then(|| (c.key.clone(), i))
        })
        .collect();
    for (key, i) in refiled {
        if let Some(c) = lineage.credentials.get_mut(&key) {
            c.foothold = Some(i);
        }
    }
    for f in &mut lineage.footholds {
        f.removed = events
            .iter()
            .filter(|e| f.is_removed_by(e))
            .map(|e| (e.time, e.id.clone()))
            .min();
    }
    attribute(&mut lineage, events);
    lineage
}

/// A credential a lineage credential may have minted, competing with other
/// events that mint the same key id.
struct Candidate<'e> {
    /// The minting (or sign-in token) event.
    event: &'e Event,
    parent: AccessKeyId,
    issued_at: Timestamp,
    minted: Minted,
    owner: Option<Owner>,
    /// The foothold it came through, by index.
    foothold: Option<usize>,
}

impl<'e> Candidate<'e> {
    /// Enters this candidate for a key not yet in `lineage`: among those
    /// for one key, the earliest `(eventTime, eventID)` wins.
    fn offer(self, next: &mut BTreeMap<AccessKeyId, Candidate<'e>>, lineage: &Lineage) {
        if lineage.credentials.contains_key(&self.minted.key) {
            return;
        }
        let better = next.get(&self.minted.key).is_none_or(|best| {
            (self.event.time, &self.event.id) < (best.event.time, &best.event.id)
        });
        if better {
            next.insert(self.minted.key.clone(), self);
        }
    }
}

impl<'e> Candidate<'e> {
    /// The key `door` brings in through foothold `f` (number `index`), built
    /// by lineage key `parent`: a key of the foothold user, or a session
    /// minted through the role, provider, instance or function.
    fn through(f: &Foothold, index: usize, door: &'e Event, parent: &AccessKeyId) -> Option<Self> {
        let (minted, issued_at, owner) = match f.entry(door)? {
            Entry::Keyless => return None,
            Entry::UserKey(key) => {
                let Link::User { account, name, .. } = &f.link else {
                    return None;
                };
                let issued = door.identity.session_issued;
                let minted = Minted {
                    key,
                    kind: CredentialKind::FootholdSession,
                    expires_at: issued.map(|i| i.plus(CONSOLE_SESSION_MAX)),
                    principal_arn: door.identity.arn.clone(),
                    role_arn: None,
                    user_name: Some(name.clone()),
                    task_policy: None,
                    target_account: None,
                };
                let owner = Owner::User {
                    account: account.clone(),
                    name: name.clone(),
                };
                (minted, issued.unwrap_or(f.created_at), Some(owner))
            }
            Entry::Minted(_) => {
                let m = door.minted.as_ref()?;
                let minted = Minted {
                    kind: CredentialKind::FootholdSession,
                    ..m.clone()
                };
                (minted, door.time, m.principal_arn.clone().map(Owner::Arn))
            }
        };
        Some(Candidate {
            event: door,
            parent: parent.clone(),
            issued_at,
            minted,
            owner,
            foothold: Some(index),
        })
    }
}

/// Sorts the footholds by `(created_at, event, resource)`, so that their
/// order does not depend on the order they were found in, and points the
/// credentials that came through them at their new places.
fn order_footholds(lineage: &mut Lineage) {
    let mut order: Vec<usize> = (0..lineage.footholds.len()).collect();
    let f = &lineage.footholds;
    order.sort_by(|&a, &b| {
        (f[a].created_at, &f[a].created_by_event_id, &f[a].resource).cmp(&(
            f[b].created_at,
            &f[b].created_by_event_id,
            &f[b].resource,
        ))
    });
    let mut new_place = vec![0; order.len()];
    for (place, &old) in order.iter().enumerate() {
        new_place[old] = place;
    }
    let mut old: Vec<Option<Foothold>> = std::mem::take(&mut lineage.footholds)
        .into_iter()
        .map(Some)
        .collect();
    lineage.footholds = order.iter().filter_map(|&i| old[i].take()).collect();
    for c in lineage.credentials.values_mut() {
        if let Some(i) = c.foothold.as_mut() {
            *i = new_place[*i];
        }
    }
}

/// The owner a minting event gives the credential it mints.
fn owner(mint: &Event, m: &Minted) -> Option<Owner> {
    match m.kind {
        CredentialKind::RootSession => m
            .target_account
            .clone()
            .map(|account| Owner::Root { account }),
        CredentialKind::AssumedRole
        | CredentialKind::Federated
        | CredentialKind::ConsoleSession
        | CredentialKind::FootholdSession => m.principal_arn.clone().map(Owner::Arn),
        // A user's own session, or a key for a user: the user named in the
        // request, else the caller itself.
        CredentialKind::SessionToken | CredentialKind::CreatedKey => {
            let account = mint
                .identity
                .account_id
                .clone()
                .or_else(|| mint.recipient_account_id.clone());
            match m.user_name.as_deref().or_else(|| user_name(&mint.identity)) {
                Some(name) => Some(Owner::User {
                    account,
                    name: name.to_owned(),
                }),
                None => mint.identity.arn.clone().map(Owner::Arn),
            }
        }
        CredentialKind::Seed => None,
    }
}

/// What a seed's own first action shows it to be. An `ASIA` key is a
/// session even when the record leaves out its `creationDate`.
fn seed_type(key: &AccessKeyId, e: &Event) -> SeedType {
    if e.from_console {
        return SeedType::ConsoleSession;
    }
    match e.identity.kind {
        Some(IdentityKind::AssumedRole) => SeedType::AssumedRole,
        Some(IdentityKind::FederatedUser) => SeedType::Federated,
        _ if e.identity.session_issued.is_some() || key.as_str().starts_with("ASIA") => {
            SeedType::SessionToken
        }
        _ => SeedType::LongTerm,
    }
}

/// Fills principal, account, status and seed facts from the events.
fn attribute(lineage: &mut Lineage, events: &[Event]) {
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
    // Each seed's first event with its key: a minting event of the seed's id
    // counts only if the session it minted can be the one that made it (ids
    // are reused).
    let mut first_use: HashMap<&AccessKeyId, &Event> = HashMap::new();
    for e in &ordered {
        if let Some(k) = &e.identity.access_key_id
            && lineage
                .get(k)
                .is_some_and(|c| c.kind == CredentialKind::Seed)
        {
            first_use.entry(k).or_insert(e);
        }
    }
    for e in &ordered {
        if let Some(op) = &e.key_operation
            && let Some(status) = op.status
            && e.succeeded()
            && let Some(c) = lineage.credentials.get_mut(&op.key)
            && c.status_changes
                .last()
                .is_none_or(|l| l.status != KeyStatus::Deleted)
        {
            if !status.is_usable() && c.deactivated_at.is_none() {
                c.deactivated_at = Some(e.time);
            }
            c.status_changes.push(StatusChange {
                time: e.time,
                status,
                event_id: e.id.clone(),
            });
        }
        // A seed minted inside the archive: who minted it, and until when.
        // The minting key stays outside the lineage.
        if let Some(m) = &e.minted
            && e.succeeded()
            && let Some(c) = lineage.credentials.get_mut(&m.key)
            && c.kind == CredentialKind::Seed
            && c.minted_by.is_none()
            && first_use.get(&m.key).is_none_or(|used| {
                let window_holds = e.time.minus(SLACK) <= used.time
                    && m.expires_at.is_none_or(|x| used.time <= x.plus(SLACK));
                window_holds && owner(e, m).is_none_or(|o| o.admits(&used.identity))
            })
        {
            c.minted_by = Some(e.id.clone());
            c.minted_by_key.clone_from(&e.identity.access_key_id);
            c.expires_at = m.expires_at;
            c.role_arn.clone_from(&m.role_arn);
            c.task_policy.clone_from(&m.task_policy);
            if c.principal_arn.is_none() {
                c.principal_arn.clone_from(&m.principal_arn);
            }
        }
        let Some(key) = &e.identity.access_key_id else {
            continue;
        };
        // A seed is described by any of its events, in the window or not; a
        // minted credential only by its own actions, not by another session
        // that was given the same id.
        let own = lineage
            .get(key)
            .is_some_and(|c| c.kind == CredentialKind::Seed)
            || lineage.is_action(key, e);
        if !own {
            continue;
        }
        if let Some(c) = lineage.credentials.get_mut(key) {
            if c.kind == CredentialKind::Seed && c.seed_type.is_none() {
                let t = seed_type(key, e);
                c.seed_type = Some(t);
                if t != SeedType::LongTerm {
                    c.issued_at = c.issued_at.or(e.identity.session_issued);
                }
            }
            if c.principal_arn.is_none() {
                c.principal_arn.clone_from(&e.identity.arn);
            }
            if c.account_id.is_none() {
                c.account_id.clone_from(&e.identity.account_id);
            }
            if c.user_name.is_none() && e.identity.kind == Some(IdentityKind::IamUser) {
                c.user_name.clone_from(&e.identity.user_name);
            }
            // A federated session's events name the user that issued it,
            // whose policies govern it.
            if c.user_name.is_none() && c.parent.is_none() && is_federated(e) {
                c.user_name.clone_from(&e.identity.issuing_user);
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
    /// Principal ARNs a watched key asked a sign-in token for.
    arns: BTreeMap<String, Span>,
    /// Those sign-ins, to tell their console sessions from others.
    sign_ins: Vec<SignIn>,
    /// Footholds watched keys built: what comes through them is searched
    /// for by the names that link it.
    footholds: Vec<Foothold>,
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
            arns: BTreeMap::new(),
            sign_ins: Vec::new(),
            footholds: Vec::new(),
        }
    }

    /// Text records are searched for, whatever their keys, and when it can
    /// appear: the principal ARNs whose console sign-ins are followed, and
    /// the names that link events to footholds.
    pub fn arns(&self) -> &BTreeMap<String, Span> {
        &self.arns
    }

    /// The seed keys.
    pub fn seeds(&self) -> &BTreeSet<AccessKeyId> {
        &self.params.seeds
    }

    /// Every watched key and its window.
    pub fn windows(&self) -> &BTreeMap<AccessKeyId, Span> {
        &self.windows
    }

    /// Learns from one event; returns whether it added a key or an ARN.
    pub fn learn(&mut self, e: &Event) -> bool {
        // Each rule is asked, even after one learned: a console session's
        // own key can mint in the same event.
        let console = self.learn_console_key(e);
        let sign_in = self.learn_sign_in(e);
        let minted = self.learn_mint(e).is_some();
        let opened = self.learn_opening(e);
        let entered = self.learn_entry(e);
        console || sign_in || minted || opened || entered
    }

    /// A foothold built by a watched key: the names that link what comes
    /// through it are searched for from then on.
    fn learn_opening(&mut self, e: &Event) -> bool {
        let Some(by) = &e.identity.access_key_id else {
            return false;
        };
        if e.opening.is_none() || !self.by_watched(e) {
            return false;
        }
        let mut learned = false;
        for f in Foothold::built(e, by) {
            let known = self.footholds.iter().any(|k| {
                k.created_by_event_id == f.created_by_event_id && k.resource == f.resource
            });
            if known {
                continue;
            }
            if self.params.follow_footholds {
                let from = Span {
                    start: f.created_at,
                    end: Timestamp::MAX,
                };
                for needle in f.link.needles() {
                    let span = self.arns.entry(needle).or_insert(from);
                    *span = span.hull(&from);
                }
            }
            self.footholds.push(f);
            learned = true;
        }
        learned
    }

    /// A key that came in through a watched foothold: a key of its user, or
    /// a session minted through it.
    fn learn_entry(&mut self, e: &Event) -> bool {
        if !self.params.follow_footholds {
            return false;
        }
        let mut learned = false;
        let entries: Vec<(AccessKeyId, Span)> = self
            .footholds
            .iter()
            .filter_map(|f| match f.entry(e)? {
                Entry::Keyless => None,
                Entry::UserKey(key) => {
                    let window = match e.identity.session_issued {
                        Some(i) => Span {
                            start: i.minus(SLACK),
                            end: i.plus(CONSOLE_SESSION_MAX + SLACK),
                        },
                        None => Span {
                            start: f.created_at.minus(SLACK),
                            end: Timestamp::MAX,
                        },
                    };
                    Some((key, window))
                }
                Entry::Minted(key) => {
                    let expires = e.minted.as_ref().and_then(|m| m.expires_at);
                    let window = Span {
                        start: e.time.minus(SLACK),
                        end: expires.map_or(Timestamp::MAX, |x| x.plus(SLACK)),
                    };
                    Some((key, window))
                }
            })
            .collect();
        for (key, window) in entries {
            learned |= self.widen(key, window);
        }
        learned
    }

    /// Watches `key` in `window` too; returns whether anything changed.
    fn widen(&mut self, key: AccessKeyId, window: Span) -> bool {
        match self.windows.get_mut(&key) {
            Some(w) if w.start <= window.start && window.end <= w.end => false,
            Some(w) => {
                *w = w.hull(&window);
                true
            }
            None => {
                self.windows.insert(key, window);
                true
            }
        }
    }

    /// Whether `e` was made with a watched key inside its window.
    fn by_watched(&self, e: &Event) -> bool {
        e.identity
            .access_key_id
            .as_ref()
            .and_then(|k| self.windows.get(k))
            .is_some_and(|w| w.start <= e.time && e.time <= w.end)
    }

    /// A sign-in token asked for by a watched key: its principal ARN is
    /// searched for until the longest console session could end.
    fn learn_sign_in(&mut self, e: &Event) -> bool {
        let Some(arn) = &e.identity.arn else {
            return false;
        };
        if !is_sign_in_token(e) || !self.by_watched(e) {
            return false;
        }
        let Some(by) = &e.identity.access_key_id else {
            return false;
        };
        if self.sign_ins.iter().any(|s| s.event_id == e.id) {
            return false;
        }
        self.sign_ins.push(SignIn {
            at: e.time,
            arn: arn.clone(),
            by: by.clone(),
            event_id: e.id.clone(),
        });
        let end = e.time.plus(SIGN_IN_TOKEN + CONSOLE_SESSION_MAX + SLACK);
        let span = self
            .arns
            .entry(arn.clone())
            .or_insert(Span { start: e.time, end });
        span.start = span.start.min(e.time);
        span.end = span.end.max(end);
        true
    }

    /// The key of a console session that a watched sign-in started.
    fn learn_console_key(&mut self, e: &Event) -> bool {
        let (Some(arn), Some(key), Some(issued)) = (
            &e.identity.arn,
            &e.identity.access_key_id,
            e.identity.session_issued,
        ) else {
            return false;
        };
        let opened = self.sign_ins.iter().any(|s| s.admits(arn, issued));
        if !e.from_console || !opened || self.windows.contains_key(key) {
            return false;
        }
        let window = Span {
            start: issued.minus(SLACK),
            end: issued.plus(CONSOLE_SESSION_MAX + SLACK),
        };
        self.windows.insert(key.clone(), window);
        true
    }

    /// A key minted by a watched key.
    fn learn_mint(&mut self, e: &Event) -> Option<AccessKeyId> {
        let m = e.minted.as_ref()?;
        if !e.succeeded() || !self.by_watched(e) || !self.params.mint_counts(m) {
            return None;
        }
        let window = Span {
            start: e.time.minus(SLACK),
            end: m.expires_at.map_or(Timestamp::MAX, |x| x.plus(SLACK)),
        };
        // The trace may keep another mint of the same id than the first one
        // read (a shallower or earlier one): the scan searches the hull of
        // every window the id was minted with.
        self.widen(m.key.clone(), window).then(|| m.key.clone())
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
            opening: None,
            from_console: false,
            origin: Arc::from("t"),
            record: 0,
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
            task_policy: None,
            target_account: None,
        });
        e
    }

    fn key_op(id: &str, minute: i64, target: &str, status: KeyStatus) -> Event {
        let mut e = event(id, minute, Some("ADMN"));
        e.key_operation = Some(KeyOperation {
            key: key(target),
            status: Some(status),
        });
        e
    }

    fn params(seeds: &[&str]) -> TraceParams {
        TraceParams {
            seeds: seeds.iter().map(|s| key(s)).collect(),
            seed_window: Span::ALL,
            follow_created_keys: true,
            follow_footholds: true,
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
        let mut failed = key_op("f", 5, "SEED", KeyStatus::Inactive);
        failed.error_code = Some("AccessDenied".into());
        let events = vec![
            mint("1", 1, "SEED", "SESS", CredentialKind::SessionToken),
            key_op("d", 10, "SEED", KeyStatus::Inactive),
            failed,
        ];
        let l = trace(&events, &params(&["SEED"]));
        assert_eq!(l.get(&key("SEED")).unwrap().deactivated_at, Some(at(10)));
        assert_eq!(l.get(&key("SESS")).unwrap().deactivated_at, None);
        assert!(!l.inactive_at(&key("SESS"), at(10)));
        assert!(l.inactive_at(&key("SESS"), at(11)));
    }

    #[test]
    fn keys_can_be_reactivated_but_not_undeleted() {
        use KeyStatus::*;
        let events = vec![
            key_op("a", 10, "SEED", Inactive),
            key_op("b", 20, "SEED", Active),
            key_op("c", 30, "SEED", Deleted),
            key_op("d", 40, "SEED", Active),
        ];
        let l = trace(&events, &params(&["SEED"]));
        let seed = l.get(&key("SEED")).unwrap();
        let changes: Vec<_> = seed
            .status_changes
            .iter()
            .map(|c| (c.status, c.event_id.as_str()))
            .collect();
        assert_eq!(changes, [(Inactive, "a"), (Active, "b"), (Deleted, "c")]);
        assert_eq!(seed.deactivated_at, Some(at(10)));
        let inactive = |m| l.inactive_at(&key("SEED"), at(m));
        assert!(!inactive(5) && inactive(15) && !inactive(25) && inactive(45));
    }

    #[test]
    fn a_reused_session_id_is_not_the_lineage_credential() {
        let mut minted = mint("1", 0, "SEED", "ROLE", CredentialKind::AssumedRole);
        if let Some(m) = &mut minted.minted {
            m.principal_arn = Some("arn:aws:sts::111111111111:assumed-role/r/s".into());
        }
        let l = trace(&[minted], &params(&["SEED"]));
        let by = |minute, arn: &str| {
            let mut e = event("x", minute, Some("ROLE"));
            e.identity.arn = Some(arn.into());
            e
        };
        let ours = "arn:aws:sts::111111111111:assumed-role/r/s";
        let theirs = "arn:aws:sts::222222222222:assumed-role/other/x";
        // Inside the hour, with five minutes of slack either side.
        assert!(l.is_action(&key("ROLE"), &by(30, ours)));
        assert!(l.is_action(&key("ROLE"), &by(-4, ours)));
        assert!(l.is_action(&key("ROLE"), &by(64, ours)));
        assert!(!l.is_action(&key("ROLE"), &by(-6, ours)));
        assert!(!l.is_action(&key("ROLE"), &by(66, ours)));
        // Another principal with the same id, at the same time.
        assert!(!l.is_action(&key("ROLE"), &by(30, theirs)));
    }

    #[test]
    fn users_are_compared_by_account_and_name() {
        let mut minted = mint("1", 0, "SEED", "SESS", CredentialKind::SessionToken);
        minted.identity.kind = Some(IdentityKind::IamUser);
        minted.identity.account_id = AccountId::new("111111111111");
        minted.identity.arn = Some("arn:aws:iam::111111111111:user/ops/ci".into());
        let l = trace(&[minted], &params(&["SEED"]));
        let by = |account: &str, arn: &str| {
            let mut e = event("x", 30, Some("SESS"));
            e.identity.kind = Some(IdentityKind::IamUser);
            e.identity.account_id = AccountId::new(account);
            e.identity.arn = Some(arn.into());
            e
        };
        assert!(l.is_action(
            &key("SESS"),
            &by("111111111111", "arn:aws:iam::111111111111:user/ci")
        ));
        assert!(!l.is_action(
            &key("SESS"),
            &by("222222222222", "arn:aws:iam::222222222222:user/ci")
        ));
        assert!(!l.is_action(
            &key("SESS"),
            &by("111111111111", "arn:aws:iam::111111111111:user/other")
        ));
        // A role session in the same account given the same id.
        let mut role = by("111111111111", "arn:aws:sts::111111111111:assumed-role/r/x");
        role.identity.kind = Some(IdentityKind::AssumedRole);
        assert!(!l.is_action(&key("SESS"), &role));
    }

    #[test]
    fn a_root_session_belongs_to_the_member_account_root() {
        let mut root = mint("1", 0, "SEED", "ROOT", CredentialKind::RootSession);
        if let Some(m) = &mut root.minted {
            m.target_account = AccountId::new("444444444444");
        }
        let l = trace(&[root], &params(&["SEED"]));
        let by = |kind, account: &str| {
            let mut e = event("x", 5, Some("ROOT"));
            e.identity.kind = Some(kind);
            e.identity.account_id = AccountId::new(account);
            e
        };
        assert!(l.is_action(&key("ROOT"), &by(IdentityKind::Root, "444444444444")));
        assert!(!l.is_action(&key("ROOT"), &by(IdentityKind::Root, "555555555555")));
        assert!(!l.is_action(&key("ROOT"), &by(IdentityKind::AssumedRole, "444444444444")));
    }

    #[test]
    fn the_watch_searches_every_window_an_id_was_minted_with() {
        let mut w = Watch::new(&params(&["SEED"]));
        assert!(w.learn(&mint("1", 0, "SEED", "ROLE", CredentialKind::AssumedRole)));
        // The same id minted again ten hours later: the watch widens.
        assert!(w.learn(&mint("2", 600, "SEED", "ROLE", CredentialKind::AssumedRole)));
        let window = w.windows()[&key("ROLE")];
        assert_eq!(
            (window.start, window.end),
            (at(0).minus(SLACK), at(660).plus(SLACK))
        );
        // Nothing new: nothing learned.
        assert!(!w.learn(&mint("3", 300, "SEED", "ROLE", CredentialKind::AssumedRole)));
    }

    #[test]
    fn a_leaked_session_seed_is_typed_by_its_events() {
        let mut act = event("a", 30, Some("ASIASEED"));
        act.identity.kind = Some(IdentityKind::AssumedRole);
        act.identity.session_issued = Some(at(20));
        let mut minted = mint(
            "m",
            20,
            "AKIAOTHER",
            "ASIASEED",
            CredentialKind::AssumedRole,
        );
        if let Some(m) = &mut minted.minted {
            m.role_arn = Some("arn:aws:iam::111111111111:role/app".into());
        }
        let l = trace(&[act, minted], &params(&["ASIASEED"]));
        let seed = l.get(&key("ASIASEED")).unwrap();
        assert_eq!(seed.seed_type, Some(SeedType::AssumedRole));
        assert_eq!(seed.issued_at, Some(at(20)));
        assert_eq!(seed.minted_by.as_ref().map(EventId::as_str), Some("m"));
        assert_eq!(seed.minted_by_key, Some(key("AKIAOTHER")));
        assert_eq!(seed.expires_at, Some(at(80)));
        assert!(!seed.is_long_term());
        // The key that minted it is not followed.
        assert_eq!(l.credentials.len(), 1);
        // A seed never seen is judged by its prefix.
        let l = trace(&[], &params(&["ASIAQUIET", "AKIAQUIET"]));
        assert!(!l.get(&key("ASIAQUIET")).unwrap().is_long_term());
        assert!(l.get(&key("AKIAQUIET")).unwrap().is_long_term());
    }

    #[test]
    fn watch_learns_keys_as_they_appear() {
        let mut w = Watch::new(&params(&["SEED"]));
        assert!(!w.learn(&mint("2", 2, "SESS", "ROLE", CredentialKind::AssumedRole)));
        assert!(w.learn(&mint("1", 1, "SEED", "SESS", CredentialKind::SessionToken)));
        assert!(w.windows().contains_key(&key("SESS")));
        assert!(w.learn(&mint("2", 2, "SESS", "ROLE", CredentialKind::AssumedRole)));
        assert_eq!(
            w.windows()[&key("ROLE")],
            Span {
                start: at(2).minus(SLACK),
                end: at(62).plus(SLACK)
            }
        );
    }

    /// GetFederationToken, GetSigninToken, then console actions whose session
    /// began within the token's 15 minutes: the Datadog Security Labs
    /// incident of December 2024.
    #[test]
    fn a_console_session_joins_the_lineage_through_its_sign_in() {
        let arn = "arn:aws:sts::111111111111:federated-user/console-fed";
        let mut fed = mint("1", 0, "SEED", "FEDR", CredentialKind::Federated);
        if let Some(m) = &mut fed.minted {
            m.principal_arn = Some(arn.into());
            m.expires_at = Some(at(36 * 60));
        }
        let mut token = event("2", 5, Some("FEDR"));
        token.service = "signin.amazonaws.com".into();
        token.name = "GetSigninToken".into();
        token.identity.kind = Some(IdentityKind::FederatedUser);
        token.identity.arn = Some(arn.into());
        let console = |id: &str, minute, k: &str, issued| {
            let mut e = event(id, minute, Some(k));
            e.name = "CreateRole".into();
            e.from_console = true;
            e.identity.arn = Some(arn.into());
            e.identity.session_issued = Some(at(issued));
            e
        };
        let events = vec![
            fed.clone(),
            token.clone(),
            console("3", 10, "CONS", 6),
            // Another console session of the same principal, begun long
            // after the token expired.
            console("4", 125, "LATE", 120),
        ];
        let l = trace(&events, &params(&["SEED"]));
        let c = l.get(&key("CONS")).expect("linked");
        assert_eq!(
            (c.kind, c.parent.clone(), c.depth),
            (CredentialKind::ConsoleSession, Some(key("FEDR")), 2)
        );
        assert_eq!(c.issued_at, Some(at(6)));
        // A federated user's console lasts as long as its credentials.
        assert_eq!(c.expires_at, Some(at(36 * 60)));
        assert!(l.get(&key("LATE")).is_none());
        assert_eq!(l.sign_ins.len(), 1);

        // The watch list follows the same path while files are read.
        let mut w = Watch::new(&params(&["SEED"]));
        assert!(w.learn(&fed) && w.learn(&token));
        assert!(w.arns().contains_key(arn));
        assert!(w.learn(&console("3", 10, "CONS", 6)));
        assert!(!w.learn(&console("4", 125, "LATE", 120)));
    }

    #[test]
    fn a_federated_seed_issued_by_a_user_and_its_console_session() {
        let arn = "arn:aws:sts::111111111111:federated-user/dev";
        let mut token = event("1", 0, Some("ASIAFEDSEED"));
        token.service = "signin.amazonaws.com".into();
        token.name = "GetSigninToken".into();
        token.identity.kind = Some(IdentityKind::FederatedUser);
        token.identity.arn = Some(arn.into());
        token.identity.account_id = AccountId::new("111111111111");
        token.identity.issuing_user = Some("deployer".into());
        let mut late = event("2", 13 * 60, Some("CONS"));
        late.from_console = true;
        late.identity.kind = Some(IdentityKind::FederatedUser);
        late.identity.arn = Some(arn.into());
        late.identity.session_issued = Some(at(1));
        let l = trace(&[token, late], &params(&["ASIAFEDSEED"]));
        let seed = l.get(&key("ASIAFEDSEED")).unwrap();
        assert_eq!(seed.seed_type, Some(SeedType::Federated));
        assert_eq!(seed.user_name.as_deref(), Some("deployer"));
        // A federated user's console session is not cut off at 12 hours.
        let console = l.get(&key("CONS")).unwrap();
        assert_eq!(console.expires_at, Some(at(1).plus(CONSOLE_SESSION_MAX)));
    }
}
