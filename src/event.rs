//! The parsed CloudTrail event: only what the trace and the timeline need.
//!
//! Only records that mention a lineage key are ever parsed, so the model can
//! afford owned strings and `serde_json::Value` for the JSON columns. Those
//! columns are redacted here, at construction, so that no later stage can
//! write a `sessionToken` by accident.

use std::sync::Arc;

use serde_json::Value;

use crate::model::{AccessKeyId, AccountId, CredentialKind, EventId, IdentityKind, KeyStatus};
use crate::time::Timestamp;

/// One CloudTrail record, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `eventID`.
    pub id: EventId,
    /// `eventTime`.
    pub time: Timestamp,
    /// `eventSource`, e.g. `sts.amazonaws.com`.
    pub service: String,
    /// `eventName`, e.g. `AssumeRole`.
    pub name: String,
    /// `awsRegion`.
    pub region: String,
    /// `sourceIPAddress`, as written (may be a service name or invalid text).
    pub source_ip: String,
    /// `userAgent`. Attacker-controlled.
    pub user_agent: String,
    /// `readOnly`, when the record says.
    pub read_only: Option<bool>,
    /// `errorCode`: the call failed.
    pub error_code: Option<String>,
    /// `errorMessage`. Often echoes attacker input.
    pub error_message: Option<String>,
    /// `userIdentity`.
    pub identity: Identity,
    /// `recipientAccountId`: the account whose trail recorded the event.
    pub recipient_account_id: Option<AccountId>,
    /// `sharedEventID`: links the copies of a cross-account call.
    pub shared_event_id: Option<String>,
    /// `addendum.originalEventID` of an `UPDATED_DATA` re-emission.
    pub supersedes: Option<EventId>,
    /// `requestParameters`, with every `sessionToken` redacted.
    pub request_parameters: Option<Value>,
    /// `responseElements`, with every `sessionToken` redacted.
    pub response_elements: Option<Value>,
    /// `resources`.
    pub resources: Option<Value>,
    /// `additionalEventData`, with every `sessionToken` redacted.
    pub additional_event_data: Option<Value>,
    /// The credential this call returned, if it returned one.
    pub minted: Option<Minted>,
    /// The key this call deactivated, reactivated or deleted, if any.
    pub key_operation: Option<KeyOperation>,
    /// `sessionCredentialFromConsole`: the call was made from a console
    /// session, with credentials the console minted itself.
    pub from_console: bool,
    /// Where the record was read from: a path or an `s3://` URL.
    pub origin: Arc<str>,
}

impl Event {
    /// The call succeeded: CloudTrail recorded no `errorCode`.
    pub fn succeeded(&self) -> bool {
        self.error_code.is_none()
    }

    /// Whether the event can add a credential to the lineage: it minted
    /// one, asked for a console sign-in token, or was made from the console.
    pub fn may_extend_lineage(&self) -> bool {
        self.minted.is_some() || self.from_console || self.name == "GetSigninToken"
    }
}

/// `userIdentity`, reduced to what lineage and attribution need.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// `type`, e.g. `IAMUser`, `AssumedRole`, `AWSAccount`.
    pub kind: Option<IdentityKind>,
    /// `arn`.
    pub arn: Option<String>,
    /// `accountId`.
    pub account_id: Option<AccountId>,
    /// `accessKeyId`, when it is a well-formed key id (never `""`).
    pub access_key_id: Option<AccessKeyId>,
    /// `userName`.
    pub user_name: Option<String>,
    /// `invokedBy`, for service principals.
    pub invoked_by: Option<String>,
    /// `sessionContext.attributes.creationDate`: when the session behind a
    /// temporary key was issued. Absent for long-term keys.
    pub session_issued: Option<Timestamp>,
    /// `sessionContext.sessionIssuer.userName` when the issuer is an IAM
    /// user: the user behind a federated session.
    pub issuing_user: Option<String>,
}

/// A credential returned by the event: the only link from a parent key to a child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Minted {
    /// The new key id.
    pub key: AccessKeyId,
    /// What kind of credential it is.
    pub kind: CredentialKind,
    /// When it stops working; `None` for long-term keys.
    pub expires_at: Option<Timestamp>,
    /// The principal that holds it: assumed-role or federated-user ARN, or the
    /// user a key was created for.
    pub principal_arn: Option<String>,
    /// For assumed roles: `requestParameters.roleArn`.
    pub role_arn: Option<String>,
    /// For created keys: the IAM user the key belongs to.
    pub user_name: Option<String>,
    /// For `AssumeRoot`: `requestParameters.taskPolicyArn.arn`, the policy
    /// that scopes the root session.
    pub task_policy: Option<String>,
    /// For `AssumeRoot`: `requestParameters.targetPrincipal`, the member
    /// account whose root user the session acts as.
    pub target_account: Option<AccountId>,
}

/// `UpdateAccessKey` or `DeleteAccessKey` naming a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOperation {
    /// The key named in `requestParameters.accessKeyId`.
    pub key: AccessKeyId,
    /// What the call sets it to; `None` for a status CloudTrail did not
    /// record or that IAM does not have.
    pub status: Option<KeyStatus>,
}
