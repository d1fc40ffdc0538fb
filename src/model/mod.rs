//! Identifiers and kinds shared by every stage.
//!
//! CloudTrail hands us everything as strings, and the same string can be a key
//! id in one field and free attacker text in the next. Parsing identifiers into
//! newtypes at the edge means the trace can only ever compare a key with a key,
//! and the compiler tells us when a raw string leaks into lineage logic.

mod arn;

use std::fmt;

use serde::{Serialize, Serializer};

pub use arn::{AccountId, Arn, ArnPrincipal};

/// An AWS access key id (`AKIA…`, `ASIA…`, or any other `[A-Z0-9]{16,128}`).
///
/// The prefix is deliberately not interpreted: anonymised datasets and future
/// key types do not follow it, and the lineage never needs it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessKeyId(Box<str>);

impl AccessKeyId {
    /// The shortest id accepted.
    pub const MIN_LEN: usize = 16;
    /// The longest id accepted.
    pub const MAX_LEN: usize = 128;

    /// Parses an id, returning `None` unless it matches `[A-Z0-9]{16,128}`.
    pub fn parse(s: &str) -> Option<AccessKeyId> {
        let ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| AccessKeyId(s.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lets sets and maps of ids be searched with text found in a record. Equal
/// ids are equal text, so this agrees with `Eq` and `Hash`.
impl std::borrow::Borrow<str> for AccessKeyId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for AccessKeyId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccessKeyId::parse(s)
            .ok_or_else(|| format!("{s:?} is not an access key id (expected [A-Z0-9]{{16,128}})"))
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKeyId({})", self.0)
    }
}

impl Serialize for AccessKeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A CloudTrail `eventID`. Opaque: only compared and ordered.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct EventId(pub Box<str>);

impl EventId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a lineage credential came to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    /// A key the analyst named with `--key`.
    Seed,
    /// Returned by `sts:GetSessionToken`.
    SessionToken,
    /// Returned by `sts:GetFederationToken`.
    Federated,
    /// Returned by `sts:AssumeRole*` (and any other STS call returning credentials).
    AssumedRole,
    /// A long-term key returned by `iam:CreateAccessKey`.
    CreatedKey,
    /// A root session from `sts:AssumeRoot`, scoped by a task policy.
    RootSession,
    /// Credentials the console minted after a sign-in with a lineage
    /// credential's `GetSigninToken`.
    ConsoleSession,
    /// A key that came in through a foothold a lineage credential built: a
    /// session of a backdoored role, instance or function, or a key of a
    /// user the attacker created or gave a password.
    FootholdSession,
}

impl CredentialKind {
    /// The name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Seed => "seed",
            CredentialKind::SessionToken => "session-token",
            CredentialKind::Federated => "federated",
            CredentialKind::AssumedRole => "assumed-role",
            CredentialKind::CreatedKey => "created-key",
            CredentialKind::RootSession => "root-session",
            CredentialKind::ConsoleSession => "console-session",
            CredentialKind::FootholdSession => "foothold-session",
        }
    }

    /// Temporary credentials expire on their own; long-term keys do not.
    pub fn is_temporary(self) -> bool {
        matches!(
            self,
            CredentialKind::SessionToken
                | CredentialKind::Federated
                | CredentialKind::AssumedRole
                | CredentialKind::RootSession
                | CredentialKind::ConsoleSession
        )
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event is on the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// Made with a lineage credential.
    Action,
    /// Acted on a lineage key (created, deactivated, deleted it).
    Lifecycle,
    /// The role account's copy of a cross-account minting call.
    Copy,
    /// A `ConsoleLogin` made with a sign-in token a lineage credential asked
    /// for.
    #[serde(rename = "sign-in")]
    SignIn,
    /// Came in through a foothold: activity of a foothold user, a session
    /// minted through a backdoored role, provider, instance or function, and
    /// what those sessions did.
    Foothold,
}

impl Relation {
    /// The name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Action => "action",
            Relation::Lifecycle => "lifecycle",
            Relation::Copy => "copy",
            Relation::SignIn => "sign-in",
            Relation::Foothold => "foothold",
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `UpdateAccessKey` or `DeleteAccessKey` makes of a long-term key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// `UpdateAccessKey … Active`: the key works again.
    Active,
    /// `UpdateAccessKey … Inactive`.
    Inactive,
    /// `DeleteAccessKey`: final.
    Deleted,
}

impl KeyStatus {
    /// Whether the key can be used in this status.
    pub fn is_usable(self) -> bool {
        self == KeyStatus::Active
    }
}

/// What kind of foothold an event built: a way back in that needs no key
/// of the lineage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FootholdKind {
    /// `CreateUser`: any later activity of that user.
    User,
    /// `CreateLoginProfile` / `UpdateLoginProfile`: the user's console
    /// sign-ins and console sessions.
    LoginProfile,
    /// `UploadSSHPublicKey`, `CreateServiceSpecificCredential`,
    /// `UploadSigningCertificate`: activity of that user.
    UserCredential,
    /// `CreateRole` / `UpdateAssumeRolePolicy`: `AssumeRole*` into the role
    /// afterwards, by any caller.
    RoleTrust,
    /// `CreateSAMLProvider`, `UpdateSAMLProvider`,
    /// `CreateOpenIDConnectProvider`: role sessions through the provider.
    IdentityProvider,
    /// `RunInstances` with an instance profile, `AssociateIamInstanceProfile`:
    /// the role sessions EC2 mints for the instance.
    Instance,
    /// `CreateFunction` / `UpdateFunctionConfiguration` with a role: the
    /// role sessions Lambda mints for the function.
    Function,
}

impl FootholdKind {
    /// The name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            FootholdKind::User => "user",
            FootholdKind::LoginProfile => "login-profile",
            FootholdKind::UserCredential => "user-credential",
            FootholdKind::RoleTrust => "role-trust",
            FootholdKind::IdentityProvider => "identity-provider",
            FootholdKind::Instance => "instance",
            FootholdKind::Function => "function",
        }
    }
}

impl fmt::Display for FootholdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of credential a seed key turned out to be, from its own events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeedType {
    /// An access key of an IAM user or of the root user.
    LongTerm,
    /// A `GetSessionToken` session: `IAMUser` (or `Root`) with a session.
    SessionToken,
    /// A role session.
    AssumedRole,
    /// A `GetFederationToken` session.
    Federated,
    /// Credentials the console minted for a signed-in session.
    ConsoleSession,
}

impl SeedType {
    /// As the report and the summary name it.
    pub fn as_str(self) -> &'static str {
        match self {
            SeedType::LongTerm => "long-term",
            SeedType::SessionToken => "session-token",
            SeedType::AssumedRole => "assumed-role",
            SeedType::Federated => "federated",
            SeedType::ConsoleSession => "console-session",
        }
    }
}

/// `userIdentity.type`: who made a call.
///
/// The types CloudTrail documents are variants; any other value is kept as
/// written, since the timeline must show what the record said.
/// <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html>
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdentityKind {
    /// `Root`: the account's root user.
    Root,
    /// `IAMUser`.
    IamUser,
    /// `AssumedRole`: a role session.
    AssumedRole,
    /// `Role`: a role acting without a session (some service calls).
    Role,
    /// `FederatedUser`: a `GetFederationToken` session.
    FederatedUser,
    /// `AWSAccount`: another account, with no key of its own in this trail.
    AwsAccount,
    /// `AWSService`: a service acting for itself.
    AwsService,
    /// `IdentityCenterUser`.
    IdentityCenterUser,
    /// `SAMLUser`.
    SamlUser,
    /// `WebIdentityUser`.
    WebIdentityUser,
    /// `Directory`.
    Directory,
    /// `Unknown`, as CloudTrail writes it.
    Unknown,
    /// Any other value, as written.
    Other(Box<str>),
}

impl IdentityKind {
    /// The kind `userIdentity.type` names; `None` when it is empty.
    pub fn parse(s: &str) -> Option<IdentityKind> {
        Some(match s {
            "" => return None,
            "Root" => IdentityKind::Root,
            "IAMUser" => IdentityKind::IamUser,
            "AssumedRole" => IdentityKind::AssumedRole,
            "Role" => IdentityKind::Role,
            "FederatedUser" => IdentityKind::FederatedUser,
            "AWSAccount" => IdentityKind::AwsAccount,
            "AWSService" => IdentityKind::AwsService,
            "IdentityCenterUser" => IdentityKind::IdentityCenterUser,
            "SAMLUser" => IdentityKind::SamlUser,
            "WebIdentityUser" => IdentityKind::WebIdentityUser,
            "Directory" => IdentityKind::Directory,
            "Unknown" => IdentityKind::Unknown,
            other => IdentityKind::Other(other.into()),
        })
    }

    /// As CloudTrail writes it.
    pub fn as_str(&self) -> &str {
        match self {
            IdentityKind::Root => "Root",
            IdentityKind::IamUser => "IAMUser",
            IdentityKind::AssumedRole => "AssumedRole",
            IdentityKind::Role => "Role",
            IdentityKind::FederatedUser => "FederatedUser",
            IdentityKind::AwsAccount => "AWSAccount",
            IdentityKind::AwsService => "AWSService",
            IdentityKind::IdentityCenterUser => "IdentityCenterUser",
            IdentityKind::SamlUser => "SAMLUser",
            IdentityKind::WebIdentityUser => "WebIdentityUser",
            IdentityKind::Directory => "Directory",
            IdentityKind::Unknown => "Unknown",
            IdentityKind::Other(s) => s,
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_are_judged_by_shape_not_prefix() {
        assert!(AccessKeyId::parse("AKIA6V1GNZTT65XQH36M").is_some());
        assert!(AccessKeyId::parse("ZZZZ0000000000000000").is_some());
        assert!(AccessKeyId::parse("AKIA6V1GNZTT65X").is_none(), "15 chars");
        assert!(AccessKeyId::parse("akia6v1gnztt65xqh36m").is_none());
        assert!(AccessKeyId::parse("AKIA6V1GNZTT65XQH36M ").is_none());
        assert!(AccessKeyId::parse(&"A".repeat(128)).is_some());
        assert!(AccessKeyId::parse(&"A".repeat(129)).is_none());
        assert!(AccessKeyId::parse("").is_none());
    }

    #[test]
    fn identity_kinds_round_trip() {
        for s in [
            "IAMUser",
            "AWSAccount",
            "AssumedRole",
            "Root",
            "SomethingNew",
        ] {
            assert_eq!(IdentityKind::parse(s).unwrap().as_str(), s);
        }
        assert_eq!(IdentityKind::parse("IAMUser"), Some(IdentityKind::IamUser));
        assert_eq!(IdentityKind::parse(""), None);
    }
}
