//! The parsed CloudTrail event: only what the trace and the timeline need.
//!
//! Only records that mention a lineage key are ever parsed, so the model can
//! afford owned strings and `serde_json::Value` for the JSON columns. Those
//! columns are redacted here, at construction, so that no later stage can
//! write a `sessionToken` by accident.

use std::sync::Arc;

use serde_json::Value;

use crate::model::{
    AccessKeyId, AccountId, CredentialKind, EventId, FootholdKind, IdentityKind, KeyStatus,
};
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
    /// The way in this call built or changed, if it is one that needs no
    /// key: a user, a password, a role trust, a provider, an instance or a
    /// function (whether it succeeded is [`Event::succeeded`]).
    pub opening: Option<Opening>,
    /// `sessionCredentialFromConsole`: the call was made from a console
    /// session, with credentials the console minted itself.
    pub from_console: bool,
    /// Where the record was read from: a path or an `s3://` URL.
    pub origin: Arc<str>,
    /// Its index among the records of that file, from 0: two copies of one
    /// record in one file (a CloudWatch export of a duplicate delivery) are
    /// two deliveries, two reads of the same record are not.
    pub record: u64,
}

impl Event {
    /// The call succeeded: CloudTrail recorded no `errorCode`.
    pub fn succeeded(&self) -> bool {
        self.error_code.is_none()
    }

    /// Whether the event can add a credential to the lineage: it minted
    /// one, asked for a console sign-in token, or was made from the console.
    pub fn may_extend_lineage(&self) -> bool {
        self.minted.is_some()
            || self.from_console
            || self.name == "GetSigninToken"
            || self.opening.is_some()
    }

    /// A string field of `requestParameters`.
    pub fn request_str(&self, field: &str) -> Option<&str> {
        self.request_parameters
            .as_ref()?
            .get(field)?
            .as_str()
            .filter(|s| !s.is_empty())
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
    /// `identityProvider`, for `SAMLUser` and `WebIdentityUser` callers.
    pub identity_provider: Option<String>,
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

/// A way in that needs no key of the lineage, as the call that built it
/// names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    /// What kind of foothold.
    pub kind: FootholdKind,
    /// What it lets in.
    pub door: Door,
}

/// What a foothold opens, by the names CloudTrail links its later use with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Door {
    /// An IAM user, by name; the ARN when the response gives it.
    User {
        /// `userName`.
        name: String,
        /// `responseElements.user.arn`, for `CreateUser`.
        arn: Option<String>,
    },
    /// An IAM role whose trust policy the call wrote.
    Role {
        /// `roleName`.
        name: String,
        /// `responseElements.role.arn`, for `CreateRole`.
        arn: Option<String>,
        /// The principals the written trust policy allows, as written.
        trusted: Vec<String>,
        /// The written trust policy, as JSON text (URL-decoded).
        policy: Option<String>,
    },
    /// A SAML or OIDC identity provider, by ARN.
    Provider {
        /// The provider's ARN.
        arn: String,
    },
    /// EC2 instances given an instance profile, by instance id.
    Instances {
        /// The instance ids.
        ids: Vec<String>,
        /// The instance profile, as the request names it.
        profile: Option<String>,
    },
    /// A Lambda function given an execution role, by name.
    Function {
        /// The function's name (not its ARN).
        name: String,
        /// The execution role's ARN.
        role: Option<String>,
    },
}
