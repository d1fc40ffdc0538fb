//! The blast radius: what the lineage touched, summarised from the timeline.
//!
//! The timeline is evidence; the blast radius answers "what did they touch?"
//! for the people deciding what to do next: counts of services and actions
//! (reads, writes and denied calls apart, because a run of denied calls is
//! reconnaissance), the resources named by events, data egress where
//! CloudTrail records it, classified findings, and where the calls came from.
//!
//! Only `action` rows count: lifecycle rows are the responders' own calls and
//! copies repeat a minting event. [`BlastRadius::build`] computes everything
//! once; the JSON and Markdown reports only render it. The classification of
//! event names into findings is one data table, in [`super::classify`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::classify::{Category, classify, is_denied};
use crate::model::{AccessKeyId, AccountId, EventId, KeyStatus, Relation};
use crate::time::Timestamp;
use crate::timeline::{Row, Timeline};

/// What request parameters name, by `(eventSource or "*", parameter, kind)`.
/// `*` rules apply to every service.
const PARAMETERS: &[(&str, &str, &str)] = &[
    ("secretsmanager.amazonaws.com", "secretId", "secret"),
    ("ssm.amazonaws.com", "name", "ssm-parameter"),
    ("ssm.amazonaws.com", "names", "ssm-parameter"),
    ("ssm.amazonaws.com", "path", "ssm-parameter-path"),
    ("*", "instanceId", "ec2-instance"),
    ("*", "instanceIds", "ec2-instance"),
    ("*", "roleName", "iam-role"),
    ("*", "roleArn", "iam-role"),
    ("*", "userName", "iam-user"),
    ("*", "groupName", "iam-group"),
    ("*", "policyArn", "iam-policy"),
    ("cloudtrail.amazonaws.com", "name", "cloudtrail-trail"),
    ("cloudtrail.amazonaws.com", "trailName", "cloudtrail-trail"),
    ("*", "snapshotId", "snapshot"),
    ("*", "functionName", "lambda-function"),
    ("*", "keyId", "kms-key"),
];

/// One `(service, action)` pair and its counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ActionCount {
    /// `eventSource`.
    pub service: String,
    /// `eventName`.
    pub action: String,
    /// Every call.
    pub calls: usize,
    /// Successful calls recorded `readOnly: true`.
    pub reads: usize,
    /// Successful calls not recorded read-only (an unknown `readOnly` counts
    /// as a possible change).
    pub writes: usize,
    /// Calls refused by authorization (`AccessDenied` and the like).
    pub denied: usize,
    /// Calls that failed for another reason.
    pub other_errors: usize,
}

/// One action on a resource.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Touch {
    /// `eventName`.
    pub action: String,
    /// Calls.
    pub calls: usize,
    /// Calls that failed.
    pub failed: usize,
}

/// A resource some lineage action named.
#[derive(Clone, Debug, Serialize)]
pub struct Resource {
    /// `arn` when the event gave an ARN, else what the parameter names
    /// (`s3-bucket`, `s3-object`, `secret`, `iam-user`, …).
    pub kind: String,
    /// The ARN or name, as recorded.
    pub id: String,
    /// The actions that named it.
    pub actions: Vec<Touch>,
    /// First action naming it.
    pub first_seen: Timestamp,
    /// Last action naming it.
    pub last_seen: Timestamp,
}

/// Bytes CloudTrail records as leaving S3.
#[derive(Clone, Debug, Serialize)]
pub struct Egress {
    /// When.
    pub event_time: Timestamp,
    /// Which event.
    pub event_id: EventId,
    /// With which credential.
    pub access_key_id: AccessKeyId,
    /// `eventName`.
    pub action: String,
    /// `requestParameters.bucketName`.
    pub bucket: Option<String>,
    /// `requestParameters.key`.
    pub object_key: Option<String>,
    /// `additionalEventData.bytesTransferredOut`.
    pub bytes: u64,
}

/// One event of a finding.
#[derive(Clone, Debug, Serialize)]
pub struct FindingEvent {
    /// When.
    pub event_time: Timestamp,
    /// Which event.
    pub event_id: EventId,
    /// With which credential.
    pub access_key_id: AccessKeyId,
    /// `eventSource`.
    pub service: String,
    /// `eventName`.
    pub action: String,
    /// `errorCode`, when the call failed.
    pub error_code: Option<String>,
}

/// One finding class and its events.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The class.
    pub category: Category,
    /// Its events, in timeline order.
    pub events: Vec<FindingEvent>,
}

/// Where a value (IP, user agent, account, region) was seen.
#[derive(Clone, Debug, Serialize)]
pub struct Seen {
    /// The value, as recorded.
    pub value: String,
    /// Actions with it.
    pub actions: usize,
    /// First action.
    pub first_seen: Timestamp,
    /// Last action.
    pub last_seen: Timestamp,
    /// The credentials that used it.
    pub keys: BTreeSet<AccessKeyId>,
}

/// The whole blast radius. Every list is sorted, so the same timeline gives
/// the same report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BlastRadius {
    /// Action rows counted.
    pub actions: usize,
    /// Per `(service, action)`, ordered by service then action.
    pub services: Vec<ActionCount>,
    /// Per resource, ordered by kind then id.
    pub resources: Vec<Resource>,
    /// S3 object-level (data) events with `bytesTransferredOut`, in
    /// timeline order.
    pub egress: Vec<Egress>,
    /// Sum of `egress[].bytes`.
    pub egress_bytes: u64,
    /// Findings, in [`Category`] order; empty categories are left out.
    pub findings: Vec<Finding>,
    /// `sourceIPAddress` values.
    pub source_ips: Vec<Seen>,
    /// `userAgent` values.
    pub user_agents: Vec<Seen>,
    /// Accounts acted in (`userIdentity.accountId`, else `recipientAccountId`).
    pub accounts: Vec<Seen>,
    /// `awsRegion` values.
    pub regions: Vec<Seen>,
}

impl BlastRadius {
    /// Summarises the action rows of `timeline`.
    pub fn build(timeline: &Timeline) -> BlastRadius {
        let actions: Vec<&Row> = timeline.rows.iter().filter(|r| r.is_activity()).collect();
        let mut services: BTreeMap<(&str, &str), ActionCount> = BTreeMap::new();
        let mut resources: BTreeMap<(String, String), Resource> = BTreeMap::new();
        let mut findings: BTreeMap<Category, Vec<FindingEvent>> = BTreeMap::new();
        let mut egress = Vec::new();
        let mut ips = SeenMap::default();
        let mut agents = SeenMap::default();
        let mut accounts = SeenMap::default();
        let mut regions = SeenMap::default();
        for row in &actions {
            let e = &row.event;
            let n = services
                .entry((&e.service, &e.name))
                .or_insert_with(|| ActionCount {
                    service: e.service.clone(),
                    action: e.name.clone(),
                    ..ActionCount::default()
                });
            n.calls += 1;
            match e.error_code.as_deref() {
                None if e.read_only == Some(true) => n.reads += 1,
                None => n.writes += 1,
                Some(code) if is_denied(code) => n.denied += 1,
                Some(_) => n.other_errors += 1,
            }
            for (kind, id) in named_resources(row) {
                let r = resources
                    .entry((kind.clone(), id.clone()))
                    .or_insert_with(|| Resource {
                        kind,
                        id,
                        actions: Vec::new(),
                        first_seen: e.time,
                        last_seen: e.time,
                    });
                r.first_seen = r.first_seen.min(e.time);
                r.last_seen = r.last_seen.max(e.time);
                let touch = match r.actions.iter_mut().find(|t| t.action == e.name) {
                    Some(t) => t,
                    None => {
                        r.actions.push(Touch {
                            action: e.name.clone(),
                            ..Touch::default()
                        });
                        let last = r.actions.len() - 1;
                        &mut r.actions[last]
                    }
                };
                touch.calls += 1;
                touch.failed += usize::from(!e.succeeded());
            }
            // Only S3 object-level (data) events count: management calls such
            // as ListBuckets also record the size of their response.
            let object_event = e.service == "s3.amazonaws.com"
                && e.request_parameters
                    .as_ref()
                    .is_some_and(|p| p.get("key").is_some());
            if let Some(bytes) =
                bytes_out(e.additional_event_data.as_ref()).filter(|_| object_event)
            {
                let param = |k: &str| {
                    e.request_parameters
                        .as_ref()
                        .and_then(|p| p.get(k))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                egress.push(Egress {
                    event_time: e.time,
                    event_id: e.id.clone(),
                    access_key_id: row.key.clone(),
                    action: e.name.clone(),
                    bucket: param("bucketName"),
                    object_key: param("key"),
                    bytes,
                });
            }
            ips.add(&e.source_ip, row);
            agents.add(&e.user_agent, row);
            let account = e
                .identity
                .account_id
                .as_ref()
                .or(e.recipient_account_id.as_ref())
                .map_or("", AccountId::as_str);
            accounts.add(account, row);
            regions.add(&e.region, row);
        }
        // Findings come from actions, and from anyone bringing a lineage key
        // back to life: a reactivation is persistence whoever makes it.
        let reactivates = |r: &Row| {
            r.relation == Relation::Lifecycle
                && r.event.key_operation.as_ref().and_then(|o| o.status) == Some(KeyStatus::Active)
        };
        for row in timeline
            .rows
            .iter()
            .filter(|r| r.is_activity() || reactivates(r))
        {
            let e = &row.event;
            if let Some(category) = classify(&e.service, &e.name, e.request_parameters.as_ref()) {
                findings.entry(category).or_default().push(FindingEvent {
                    event_time: e.time,
                    event_id: e.id.clone(),
                    access_key_id: row.key.clone(),
                    service: e.service.clone(),
                    action: e.name.clone(),
                    error_code: e.error_code.clone(),
                });
            }
        }
        let mut resources: Vec<Resource> = resources.into_values().collect();
        for r in &mut resources {
            r.actions.sort_by(|a, b| a.action.cmp(&b.action));
        }
        BlastRadius {
            actions: actions.len(),
            services: services.into_values().collect(),
            resources,
            egress_bytes: egress.iter().map(|e: &Egress| e.bytes).sum(),
            egress,
            findings: findings
                .into_iter()
                .map(|(category, events)| Finding { category, events })
                .collect(),
            source_ips: ips.finish(),
            user_agents: agents.finish(),
            accounts: accounts.finish(),
            regions: regions.finish(),
        }
    }
}

#[derive(Default)]
struct SeenMap(BTreeMap<String, Seen>);

impl SeenMap {
    fn add(&mut self, value: &str, row: &Row) {
        let t = row.event.time;
        let s = self.0.entry(value.to_owned()).or_insert_with(|| Seen {
            value: value.to_owned(),
            actions: 0,
            first_seen: t,
            last_seen: t,
            keys: BTreeSet::new(),
        });
        s.actions += 1;
        s.first_seen = s.first_seen.min(t);
        s.last_seen = s.last_seen.max(t);
        s.keys.insert(row.key.clone());
    }

    fn finish(self) -> Vec<Seen> {
        self.0.into_values().collect()
    }
}

/// `additionalEventData.bytesTransferredOut`, a number or a numeric string.
fn bytes_out(data: Option<&Value>) -> Option<u64> {
    let v = data?.get("bytesTransferredOut")?;
    let n = v
        .as_u64()
        .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .or_else(|| v.as_str()?.trim().parse().ok())?;
    (n > 0).then_some(n)
}

/// Every `(kind, id)` an action names: ARNs from `resources`, S3 buckets and
/// objects, and what [`PARAMETERS`] lists.
fn named_resources(row: &Row) -> BTreeSet<(String, String)> {
    let e = &row.event;
    let mut out = BTreeSet::new();
    if let Some(Value::Array(list)) = &e.resources {
        for r in list {
            let arn = r
                .get("ARN")
                .or_else(|| r.get("arn"))
                .and_then(Value::as_str);
            if let Some(arn) = arn.filter(|a| !a.is_empty()) {
                out.insert(("arn".to_owned(), arn.to_owned()));
            }
        }
    }
    let Some(params) = &e.request_parameters else {
        return out;
    };
    if let Some(bucket) = params.get("bucketName").and_then(Value::as_str) {
        match params.get("key").and_then(Value::as_str) {
            Some(key) => out.insert(("s3-object".to_owned(), format!("s3://{bucket}/{key}"))),
            None => out.insert(("s3-bucket".to_owned(), format!("s3://{bucket}"))),
        };
    }
    for (service, param, kind) in PARAMETERS {
        if *service != "*" && *service != e.service {
            continue;
        }
        match params.get(*param) {
            Some(Value::String(s)) if !s.is_empty() => {
                out.insert(((*kind).to_owned(), s.clone()));
            }
            Some(Value::Array(items)) => {
                for s in items.iter().filter_map(Value::as_str) {
                    out.insert(((*kind).to_owned(), s.to_owned()));
                }
            }
            _ => {}
        }
    }
    // EC2 wraps ids in item lists: instancesSet.items[].instanceId.
    if let Some(items) = params
        .pointer("/instancesSet/items")
        .and_then(Value::as_array)
    {
        for id in items
            .iter()
            .filter_map(|i| i.get("instanceId").and_then(Value::as_str))
        {
            out.insert(("ec2-instance".to_owned(), id.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::CredentialKind;

    fn row(name: &str, service: &str, json: &str) -> Row {
        let record = format!(
            r#"{{"eventID":"{name}","eventTime":"2025-12-08T14:00:00Z","eventSource":"{service}","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"ua","userIdentity":{{"accessKeyId":"AKIAEXAMPLESEED00001","accountId":"111111111111"}},{json}}}"#
        );
        let event =
            crate::decode::record::parse_record(record.as_bytes(), &Arc::from("t")).unwrap();
        Row {
            relation: Relation::Action,
            key: AccessKeyId::parse("AKIAEXAMPLESEED00001").unwrap(),
            kind: CredentialKind::Seed,
            parent: None,
            depth: 0,
            after_deactivation: false,
            event,
        }
    }

    #[test]
    fn counts_resources_and_egress() {
        let timeline = Timeline {
            rows: vec![
                row(
                    "GetObject",
                    "s3.amazonaws.com",
                    r#""readOnly":true,"requestParameters":{"bucketName":"b","key":"k/1"},"additionalEventData":{"bytesTransferredOut":2048}"#,
                ),
                row(
                    "GetParameter",
                    "ssm.amazonaws.com",
                    r#""readOnly":true,"errorCode":"AccessDeniedException","requestParameters":{"name":"/p","withDecryption":true}"#,
                ),
                row(
                    "TerminateInstances",
                    "ec2.amazonaws.com",
                    r#""readOnly":false,"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-1"}]}}"#,
                ),
            ],
            duplicates_dropped: 0,
            same_id_elsewhere: Default::default(),
        };
        let b = BlastRadius::build(&timeline);
        assert_eq!(b.actions, 3);
        assert_eq!(b.egress_bytes, 2048);
        assert_eq!(b.egress[0].object_key.as_deref(), Some("k/1"));
        let ssm = b
            .services
            .iter()
            .find(|s| s.action == "GetParameter")
            .unwrap();
        assert_eq!((ssm.reads, ssm.writes, ssm.denied), (0, 0, 1));
        let ids: Vec<(&str, &str)> = b
            .resources
            .iter()
            .map(|r| (r.kind.as_str(), r.id.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("ec2-instance", "i-1"),
                ("s3-object", "s3://b/k/1"),
                ("ssm-parameter", "/p")
            ]
        );
        assert_eq!(b.findings.len(), 1);
        assert_eq!(b.findings[0].category, Category::CredentialAccess);
        assert_eq!(b.source_ips[0].actions, 3);
    }
}
