//! One record's bytes into an [`Event`].
//!
//! Fields that attackers write (`userAgent`, `errorMessage`, session names)
//! routinely contain JSON escapes, so every string is a `Cow<str>`: borrowed
//! when it can be, owned when it must be. Shapes seen in real exports are
//! accepted here (`readOnly` as a string, space-separated `eventTime`, null or
//! absent `userIdentity`, empty `accessKeyId`, LookupEvents' `CloudTrailEvent`
//! string), so that the trace never has to care.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use memchr::memmem;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::event::{Event, Identity, KeyOperation, Minted};
use crate::model::{AccessKeyId, AccountId, CredentialKind, EventId, IdentityKind, KeyStatus};
use crate::time::{Timestamp, parse_event_time, parse_expiration};

/// Why a record that mentions a lineage key could not become an event.
#[derive(Debug)]
pub enum RecordError {
    /// Not valid JSON (or not valid UTF-8 inside it).
    Json(serde_json::Error),
    /// Valid JSON without the fields every CloudTrail event carries.
    Incomplete(&'static str),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Json(e) => write!(f, "invalid JSON: {e}"),
            RecordError::Incomplete(what) => write!(f, "record has no usable {what}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRecord<'a> {
    #[serde(rename = "eventID", borrow)]
    event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_time: Option<Cow<'a, str>>,
    #[serde(rename = "@timestamp", borrow)]
    at_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_source: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    aws_region: Option<Cow<'a, str>>,
    #[serde(rename = "sourceIPAddress", borrow)]
    source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    read_only: Option<&'a RawValue>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_message: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_identity: Option<RawIdentity<'a>>,
    #[serde(borrow)]
    recipient_account_id: Option<Cow<'a, str>>,
    #[serde(rename = "sharedEventID", borrow)]
    shared_event_id: Option<Cow<'a, str>>,
    addendum: Option<RawAddendum<'a>>,
    request_parameters: Option<Value>,
    response_elements: Option<Value>,
    resources: Option<Value>,
    additional_event_data: Option<Value>,
    /// `"true"` in delivered logs; a boolean in some exports.
    #[serde(borrow)]
    session_credential_from_console: Option<&'a RawValue>,
    /// LookupEvents and the console's "Download events" wrap the real record
    /// in a JSON string.
    #[serde(rename = "CloudTrailEvent", borrow)]
    cloud_trail_event: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawIdentity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    arn: Option<Cow<'a, str>>,
    #[serde(borrow)]
    account_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow)]
    identity_provider: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_context: Option<RawSessionContext<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSessionContext<'a> {
    #[serde(borrow)]
    attributes: Option<RawSessionAttributes<'a>>,
    #[serde(borrow)]
    session_issuer: Option<RawSessionIssuer<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSessionIssuer<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    user_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSessionAttributes<'a> {
    #[serde(borrow)]
    creation_date: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawAddendum<'a> {
    #[serde(borrow)]
    reason: Option<Cow<'a, str>>,
    #[serde(rename = "originalEventID", borrow)]
    original_event_id: Option<Cow<'a, str>>,
}

/// The key ids in a record's `accessKeyId` fields, found without parsing it,
/// whatever their case, escaping or spacing (LookupEvents' `CloudTrailEvent`
/// strings and pretty-printed exports count too).
///
/// Every way an event joins the lineage goes through one of these fields:
/// the caller's key (`userIdentity`), a minted key (`credentials`,
/// `accessKey` in `responseElements`) and a key acted on
/// (`requestParameters`). So these ids are all the scan needs to decide
/// whether a record is worth parsing, and what a file may hold.
pub fn key_fields(record: &[u8]) -> impl Iterator<Item = &[u8]> {
    static FIELD: LazyLock<memmem::Finder<'static>> =
        LazyLock::new(|| memmem::Finder::new(b"ccessKeyId"));
    FIELD.find_iter(record).filter_map(|at| {
        let rest = &record[at + FIELD.needle().len()..];
        // Past the quote, colon and spacing; escaped quotes in strings.
        let start = rest
            .iter()
            .take(8)
            .position(|b| !matches!(b, b'"' | b'\\' | b':' | b' ' | b'\t' | b'\n' | b'\r'))?;
        let rest = &rest[start..];
        let len = rest
            .iter()
            .take(AccessKeyId::MAX_LEN + 1)
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            .count();
        (AccessKeyId::MIN_LEN..=AccessKeyId::MAX_LEN)
            .contains(&len)
            .then(|| &rest[..len])
    })
}

/// Parses one record. `origin` names the file or object it came from.
pub fn parse_record(bytes: &[u8], origin: &Arc<str>) -> Result<Event, RecordError> {
    let raw: RawRecord<'_> = serde_json::from_slice(bytes).map_err(RecordError::Json)?;
    if let Some(inner) = raw.cloud_trail_event.as_deref() {
        return parse_record(inner.as_bytes(), origin);
    }
    build(raw, origin)
}

fn build(raw: RawRecord<'_>, origin: &Arc<str>) -> Result<Event, RecordError> {
    let id = nonempty(raw.event_id).ok_or(RecordError::Incomplete("eventID"))?;
    let time = raw
        .event_time
        .as_deref()
        .or(raw.at_timestamp.as_deref())
        .and_then(parse_event_time)
        .ok_or(RecordError::Incomplete("eventTime"))?;
    let service = nonempty(raw.event_source).unwrap_or_default();
    let name = nonempty(raw.event_name).unwrap_or_default();
    let identity = raw.user_identity.map(identity).unwrap_or_default();
    let mut request_parameters = raw.request_parameters.filter(|v| !v.is_null());
    let mut response_elements = raw.response_elements.filter(|v| !v.is_null());
    let mut additional_event_data = raw.additional_event_data.filter(|v| !v.is_null());
    let error_code = nonempty(raw.error_code);

    let minted = response_elements
        .as_ref()
        .and_then(|resp| minted(&service, &name, time, request_parameters.as_ref(), resp));
    let key_operation = request_parameters
        .as_ref()
        .and_then(|req| key_operation(&name, req));
    let opening = super::opening::opening(
        &service,
        &name,
        request_parameters.as_ref(),
        response_elements.as_ref(),
    );
    for v in [
        &mut request_parameters,
        &mut response_elements,
        &mut additional_event_data,
    ]
    .into_iter()
    .flatten()
    {
        redact_session_tokens(v);
    }

    Ok(Event {
        id: EventId(id.into()),
        time,
        service,
        name,
        region: nonempty(raw.aws_region).unwrap_or_default(),
        source_ip: nonempty(raw.source_ip_address).unwrap_or_default(),
        user_agent: nonempty(raw.user_agent).unwrap_or_default(),
        read_only: raw.read_only.and_then(flag),
        error_code,
        error_message: nonempty(raw.error_message),
        identity,
        recipient_account_id: raw.recipient_account_id.as_deref().and_then(AccountId::new),
        shared_event_id: nonempty(raw.shared_event_id),
        supersedes: raw
            .addendum
            .filter(|a| a.reason.as_deref() == Some("UPDATED_DATA"))
            .and_then(|a| nonempty(a.original_event_id))
            .map(|id| EventId(id.into())),
        request_parameters,
        response_elements,
        resources: raw.resources.filter(|v| !v.is_null()),
        additional_event_data,
        minted,
        key_operation,
        opening,
        from_console: raw
            .session_credential_from_console
            .and_then(flag)
            .unwrap_or(false),
        origin: Arc::clone(origin),
        record: 0,
    })
}

fn nonempty(s: Option<Cow<'_, str>>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(Cow::into_owned)
}

fn identity(raw: RawIdentity<'_>) -> Identity {
    Identity {
        kind: raw.kind.as_deref().and_then(IdentityKind::parse),
        arn: nonempty(raw.arn),
        account_id: raw.account_id.as_deref().and_then(AccountId::new),
        access_key_id: raw.access_key_id.as_deref().and_then(AccessKeyId::parse),
        user_name: nonempty(raw.user_name),
        invoked_by: nonempty(raw.invoked_by),
        identity_provider: nonempty(raw.identity_provider),
        session_issued: raw
            .session_context
            .as_ref()
            .and_then(|c| c.attributes.as_ref())
            .and_then(|a| a.creation_date.as_deref())
            .and_then(parse_event_time),
        issuing_user: raw
            .session_context
            .and_then(|c| c.session_issuer)
            .filter(|i| i.kind.as_deref() == Some("IAMUser"))
            .and_then(|i| nonempty(i.user_name)),
    }
}

/// `readOnly` is a boolean in delivered logs and a string in some exports;
/// `sessionCredentialFromConsole` the other way round.
fn flag(raw: &RawValue) -> Option<bool> {
    match raw.get() {
        "true" | "\"true\"" => Some(true),
        "false" | "\"false\"" => Some(false),
        _ => None,
    }
}

/// STS API defaults when neither an expiration nor `durationSeconds` is recorded.
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html>
/// `AssumeRoot` sessions last 900 s unless asked otherwise (the most allowed).
/// <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoot.html>
fn default_validity(kind: CredentialKind) -> Duration {
    match kind {
        CredentialKind::SessionToken | CredentialKind::Federated => Duration::from_secs(12 * 3600),
        CredentialKind::RootSession => Duration::from_secs(900),
        _ => Duration::from_secs(3600),
    }
}

fn str_at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v str> {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn minted(
    service: &str,
    name: &str,
    time: Timestamp,
    req: Option<&Value>,
    resp: &Value,
) -> Option<Minted> {
    let req_str = |k: &str| req.and_then(|r| str_at(r, &[k])).map(str::to_owned);
    if service == "sts.amazonaws.com" {
        let key = str_at(resp, &["credentials", "accessKeyId"]).and_then(AccessKeyId::parse)?;
        let kind = match name {
            "GetSessionToken" => CredentialKind::SessionToken,
            "GetFederationToken" => CredentialKind::Federated,
            "AssumeRoot" => CredentialKind::RootSession,
            _ => CredentialKind::AssumedRole,
        };
        let duration = req
            .and_then(|r| r.get("durationSeconds"))
            .and_then(|d| d.as_u64().or_else(|| d.as_str()?.parse().ok()))
            .map(Duration::from_secs);
        let expires_at = str_at(resp, &["credentials", "expiration"])
            .and_then(parse_expiration)
            .unwrap_or_else(|| time.plus(duration.unwrap_or_else(|| default_validity(kind))));
        let principal_arn = str_at(resp, &["assumedRoleUser", "arn"])
            .or_else(|| str_at(resp, &["federatedUser", "arn"]))
            .map(str::to_owned);
        return Some(Minted {
            key,
            kind,
            expires_at: Some(expires_at),
            principal_arn,
            role_arn: req_str("roleArn"),
            user_name: None,
            task_policy: req
                .and_then(|r| {
                    str_at(r, &["taskPolicyArn", "arn"]).or_else(|| str_at(r, &["taskPolicyArn"]))
                })
                .map(str::to_owned),
            target_account: req
                .filter(|_| kind == CredentialKind::RootSession)
                .and_then(|r| str_at(r, &["targetPrincipal"]))
                .and_then(AccountId::new),
        });
    }
    if name == "CreateAccessKey" {
        let key = str_at(resp, &["accessKey", "accessKeyId"]).and_then(AccessKeyId::parse)?;
        return Some(Minted {
            key,
            kind: CredentialKind::CreatedKey,
            expires_at: None,
            principal_arn: None,
            role_arn: None,
            user_name: str_at(resp, &["accessKey", "userName"])
                .map(str::to_owned)
                .or_else(|| req_str("userName")),
            task_policy: None,
            target_account: None,
        });
    }
    None
}

fn key_operation(name: &str, req: &Value) -> Option<KeyOperation> {
    let status = match name {
        "DeleteAccessKey" => Some(KeyStatus::Deleted),
        "UpdateAccessKey" => match str_at(req, &["status"]) {
            Some("Inactive") => Some(KeyStatus::Inactive),
            Some("Active") => Some(KeyStatus::Active),
            _ => None,
        },
        _ => return None,
    };
    let key = str_at(req, &["accessKeyId"]).and_then(AccessKeyId::parse)?;
    Some(KeyOperation { key, status })
}

/// A record as compact JSON with every `sessionToken` redacted, unwrapped
/// from a LookupEvents `CloudTrailEvent` string: what `keytrail shard`
/// passes between its steps. It parses back into the same [`Event`];
/// `None` when it is not JSON.
pub fn normalized(bytes: &[u8]) -> Option<String> {
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    while let Some(inner) = v.get("CloudTrailEvent").and_then(Value::as_str) {
        v = serde_json::from_str(inner).ok()?;
    }
    redact_session_tokens(&mut v);
    serde_json::to_string(&v).ok()
}

/// A record cut down to what can extend a lineage, as [`normalized`]: the
/// fields [`Event`]'s lineage rules read (`eventID`, `eventTime`, source,
/// name, `errorCode`, `userIdentity`, `recipientAccountId`,
/// `sessionCredentialFromConsole`, and the request and response), and of a
/// console session's ordinary call not even its request and response.
/// This is what pass 1 of `keytrail shard` ships to the driver.
pub fn lineage_fields(bytes: &[u8], keep_payload: bool) -> Option<String> {
    const FIELDS: &[&str] = &[
        "eventID",
        "eventTime",
        "@timestamp",
        "eventSource",
        "eventName",
        "errorCode",
        "userIdentity",
        "recipientAccountId",
        "sessionCredentialFromConsole",
    ];
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    while let Some(inner) = v.get("CloudTrailEvent").and_then(Value::as_str) {
        v = serde_json::from_str(inner).ok()?;
    }
    let Value::Object(map) = &mut v else {
        return None;
    };
    map.retain(|k, _| {
        FIELDS.contains(&k.as_str())
            || (keep_payload && (k == "requestParameters" || k == "responseElements"))
    });
    redact_session_tokens(&mut v);
    serde_json::to_string(&v).ok()
}

/// What every redacted secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Replaces every `sessionToken` value, at any depth, with [`REDACTED`].
///
/// Iterative, so that hostile nesting cannot exhaust the stack.
pub fn redact_session_tokens(v: &mut Value) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if k.eq_ignore_ascii_case("sessionToken") {
                        *child = Value::String(REDACTED.to_owned());
                    } else {
                        stack.push(child);
                    }
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Event, RecordError> {
        parse_record(json.as_bytes(), &Arc::from("test"))
    }

    #[test]
    fn key_fields_in_every_spelling() {
        let keys = |r: &str| -> Vec<String> {
            key_fields(r.as_bytes())
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        assert_eq!(
            keys(
                r#"{"userIdentity":{"accessKeyId":"AKIAEXAMPLESEED00001"},"x":"AKIAEXAMPLENOTAFIELD"}"#
            ),
            ["AKIAEXAMPLESEED00001"]
        );
        assert_eq!(
            keys(r#"{"AccessKeyId" : "ASIAEXAMPLESESS00001"}"#),
            ["ASIAEXAMPLESESS00001"]
        );
        assert_eq!(
            keys(r#"{"CloudTrailEvent":"{\"accessKeyId\":\"ASIAEXAMPLEROLE00001\"}"}"#),
            ["ASIAEXAMPLEROLE00001"]
        );
        // Too short, too long, lower case, empty, null: not key ids.
        let long = "A".repeat(AccessKeyId::MAX_LEN + 1);
        for odd in ["SHORT", &long, "akiaexampleseed00001", "", "null"] {
            assert!(
                keys(&format!(r#"{{"accessKeyId":"{odd}"}}"#)).is_empty(),
                "{odd}"
            );
        }
        assert!(keys(r#"{"accessKeyId":null}"#).is_empty());
    }

    #[test]
    fn identity_extraction() {
        let e = parse(
            r#"{"eventID":"e1","eventTime":"2025-12-08T14:03:12Z","eventSource":"s3.amazonaws.com",
            "eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s",
            "accountId":"111111111111","accessKeyId":"ASIAEXAMPLE000000001","sessionContext":{"sessionIssuer":{}}}}"#,
        )
        .unwrap();
        assert_eq!(e.identity.kind, Some(IdentityKind::AssumedRole));
        assert_eq!(
            e.identity.access_key_id.unwrap().as_str(),
            "ASIAEXAMPLE000000001"
        );
        assert_eq!(e.identity.account_id, AccountId::new("111111111111"));

        for ui in [
            r#""userIdentity":null"#,
            r#""x":1"#,
            r#""userIdentity":{"accessKeyId":""}"#,
        ] {
            let json = format!(r#"{{"eventID":"e","eventTime":"2025-12-08T14:03:12Z",{ui}}}"#);
            assert_eq!(parse(&json).unwrap().identity.access_key_id, None, "{ui}");
        }
        let e = parse(r#"{"eventID":"e","eventTime":"2025-12-08T14:03:12Z","userIdentity":{"type":"AWSAccount","accountId":"2","principalId":"AIDA"}}"#).unwrap();
        assert_eq!(e.identity.kind, Some(IdentityKind::AwsAccount));
        assert_eq!(e.identity.access_key_id, None);
    }

    #[test]
    fn mints_from_sts_with_every_expiration_source() {
        let base =
            r#""eventID":"e","eventTime":"2025-12-08T14:00:00Z","eventSource":"sts.amazonaws.com""#;
        let e = parse(&format!(
            r#"{{{base},"eventName":"GetSessionToken","responseElements":{{"credentials":
            {{"accessKeyId":"ASIAEXAMPLE000000001","expiration":"Dec 10, 2025, 2:03:12 AM","sessionToken":"SECRET"}}}}}}"#
        ))
        .unwrap();
        let m = e.minted.clone().unwrap();
        assert_eq!(m.kind, CredentialKind::SessionToken);
        assert_eq!(m.expires_at.unwrap().to_string(), "2025-12-10T02:03:12Z");
        let resp = e.response_elements.unwrap().to_string();
        assert!(
            !resp.contains("SECRET") && resp.contains(REDACTED),
            "{resp}"
        );

        let e = parse(&format!(
            r#"{{{base},"eventName":"AssumeRole","requestParameters":{{"durationSeconds":900,"roleArn":"arn:aws:iam::1:role/r"}},
            "responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLE000000002"}},"assumedRoleUser":{{"arn":"arn:aws:sts::1:assumed-role/r/s"}}}}}}"#
        ))
        .unwrap();
        let m = e.minted.unwrap();
        assert_eq!(m.kind, CredentialKind::AssumedRole);
        assert_eq!(m.expires_at.unwrap().to_string(), "2025-12-08T14:15:00Z");
        assert_eq!(
            m.principal_arn.as_deref(),
            Some("arn:aws:sts::1:assumed-role/r/s")
        );
        assert_eq!(m.role_arn.as_deref(), Some("arn:aws:iam::1:role/r"));

        for (name, hours) in [
            ("AssumeRole", 1),
            ("GetFederationToken", 12),
            ("GetSessionToken", 12),
        ] {
            let e = parse(&format!(
                r#"{{{base},"eventName":"{name}","responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLE000000003"}}}}}}"#
            ))
            .unwrap();
            let expected = Timestamp::from_millis(e.time.as_millis() + hours * 3_600_000);
            assert_eq!(e.minted.unwrap().expires_at, Some(expected), "{name}");
        }
    }

    #[test]
    fn created_keys_and_key_operations() {
        let e = parse(r#"{"eventID":"e","eventTime":"2025-12-08T14:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateAccessKey",
            "requestParameters":{"userName":"backup"},"responseElements":{"accessKey":{"accessKeyId":"AKIAEXAMPLE000000009","userName":"backup","status":"Active"}}}"#).unwrap();
        let m = e.minted.unwrap();
        assert_eq!(
            (m.kind, m.expires_at, m.user_name.as_deref()),
            (CredentialKind::CreatedKey, None, Some("backup"))
        );

        let op = |name: &str, status: &str| {
            let json = format!(
                r#"{{"eventID":"e","eventTime":"2025-12-08T14:00:00Z","eventName":"{name}","requestParameters":{{"accessKeyId":"AKIAEXAMPLE000000009","status":"{status}"}}}}"#
            );
            parse(&json).unwrap().key_operation.map(|o| o.status)
        };
        assert_eq!(
            op("UpdateAccessKey", "Inactive"),
            Some(Some(KeyStatus::Inactive))
        );
        assert_eq!(
            op("UpdateAccessKey", "Active"),
            Some(Some(KeyStatus::Active))
        );
        assert_eq!(op("UpdateAccessKey", "Enabled"), Some(None));
        assert_eq!(op("DeleteAccessKey", ""), Some(Some(KeyStatus::Deleted)));
        assert_eq!(op("ListAccessKeys", ""), None);
    }

    #[test]
    fn console_sessions_and_session_creation() {
        // The shape of a console action: sessionCredentialFromConsole sits at
        // the top level, as a string.
        let e = parse(r#"{"eventID":"e","eventTime":"2024-12-02T10:00:00Z","sessionCredentialFromConsole":"true",
            "userIdentity":{"type":"FederatedUser","arn":"arn:aws:sts::1:federated-user/x","accessKeyId":"ASIAEXAMPLE000000001",
            "sessionContext":{"attributes":{"creationDate":"2024-12-02T09:58:11Z","mfaAuthenticated":"false"}}}}"#).unwrap();
        assert!(e.from_console);
        assert_eq!(
            e.identity.session_issued.unwrap().to_string(),
            "2024-12-02T09:58:11Z"
        );
        let e = parse(r#"{"eventID":"e","eventTime":"2024-12-02T10:00:00Z","userIdentity":{"type":"IAMUser"}}"#).unwrap();
        assert!(!e.from_console);
        assert_eq!(e.identity.session_issued, None);
    }

    #[test]
    fn odd_shapes_from_real_exports() {
        let e = parse(r#"{"eventID":"e","eventTime":"2021-01-01 01:01:01.000000000","readOnly":"true","requestParameters":null,"responseElements":{"omitted":true},"eventVersion":"9.99"}"#).unwrap();
        assert_eq!(e.read_only, Some(true));
        assert_eq!(e.time.to_string(), "2021-01-01T01:01:01Z");
        assert_eq!(e.request_parameters, None);
        assert_eq!(e.minted, None);

        let e = parse(r#"{"eventID":"e","@timestamp":"2020-09-14T00:44:23.000Z","userAgent":"\ud83d\ude00 \u001b[31m"}"#).unwrap();
        assert_eq!(e.user_agent, "\u{1F600} \u{1b}[31m");

        let inner = r#"{\"eventID\":\"inner\",\"eventTime\":\"2022-02-07T22:23:37Z\",\"userIdentity\":{\"accessKeyId\":\"0123456789ABCDEFGHIJ\"}}"#;
        let e = parse(&format!(
            r#"{{"EventId":"outer","CloudTrailEvent":"{inner}"}}"#
        ))
        .unwrap();
        assert_eq!(e.id.as_str(), "inner");

        assert!(matches!(
            parse(r#"{"eventTime":"2025-12-08T14:00:00Z"}"#),
            Err(RecordError::Incomplete("eventID"))
        ));
        assert!(matches!(
            parse(r#"{"eventID":"e"}"#),
            Err(RecordError::Incomplete("eventTime"))
        ));
        assert!(matches!(
            parse(r#"{"eventID":"e","#),
            Err(RecordError::Json(_))
        ));
        assert!(matches!(
            parse_record(b"{\"eventID\":\"\xff\"}", &Arc::from("t")),
            Err(RecordError::Json(_))
        ));
    }

    #[test]
    fn updated_data_addendum() {
        let e = parse(r#"{"eventID":"new","eventTime":"2025-12-08T14:00:00Z","addendum":{"reason":"UPDATED_DATA","originalEventID":"old"}}"#).unwrap();
        assert_eq!(e.supersedes.unwrap().as_str(), "old");
        let e = parse(r#"{"eventID":"new","eventTime":"2025-12-08T14:00:00Z","addendum":{"reason":"DELIVERY_DELAY"}}"#).unwrap();
        assert_eq!(e.supersedes, None);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            r#"{{"eventID":"e","eventTime":"2025-12-08T14:00:00Z","requestParameters":{}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse(&deep).is_err());
    }
}
