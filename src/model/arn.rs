//! ARNs and account ids, parsed once.
//!
//! Lineage attribution needs an ARN's account, the containment plan needs
//! the user or role it names, and both used to split the string their own
//! way, disagreeing on text that is not an ARN at all. CloudTrail copies
//! ARNs from requests (`roleArn`) as well as from its own identity records,
//! so an "ARN" may be anything the caller wrote: only text that starts with
//! `arn:` and has all six parts is read as one.
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html>

use std::fmt;

use serde::{Serialize, Serializer};

/// An AWS account id as recorded. CloudTrail writes 12 digits, but the value
/// can come from a caller's ARN, so it is not assumed well formed.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Box<str>);

impl AccountId {
    /// Any non-empty text; `None` for an empty field.
    pub fn new(s: &str) -> Option<AccountId> {
        (!s.is_empty()).then(|| AccountId::recorded(s))
    }

    /// The text as recorded, even empty: where a principal must name an
    /// account, an empty one is kept so that it is refused, not dropped.
    pub fn recorded(s: &str) -> AccountId {
        AccountId(s.into())
    }

    /// The id as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is 12 digits, the only form IAM commands accept.
    pub fn is_well_formed(&self) -> bool {
        self.0.len() == 12 && self.0.bytes().all(|b| b.is_ascii_digit())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The parts of an ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    pub partition: &'a str,
    /// `iam`, `sts`, …
    pub service: &'a str,
    /// Empty for global services.
    pub region: &'a str,
    /// The account, `None` when the ARN has none (S3 buckets).
    pub account: Option<&'a str>,
    /// Everything after the fifth colon; may itself hold colons.
    pub resource: &'a str,
}

/// What an identity ARN names, as far as lineage and containment care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArnPrincipal<'a> {
    /// `iam::ACCOUNT:user/[PATH/]NAME`: the name, without its path.
    User(&'a str),
    /// `iam::ACCOUNT:role/[PATH/]NAME`: the name, without its path.
    Role(&'a str),
    /// `sts::ACCOUNT:assumed-role/ROLE/SESSION`: the role's name.
    AssumedRole(&'a str),
    /// `sts::ACCOUNT:federated-user/NAME`.
    FederatedUser,
    /// `iam::ACCOUNT:root`.
    Root,
}

impl<'a> Arn<'a> {
    /// The parts of `s`, when it is an ARN.
    pub fn parse(s: &'a str) -> Option<Arn<'a>> {
        let mut parts = s.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let (partition, service, region, account, resource) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        Some(Arn {
            partition,
            service,
            region,
            account: (!account.is_empty()).then_some(account),
            resource,
        })
    }

    /// The account, as an [`AccountId`].
    pub fn account_id(&self) -> Option<AccountId> {
        self.account.and_then(AccountId::new)
    }

    /// The user, role or session the ARN names, if it names one.
    pub fn principal(&self) -> Option<ArnPrincipal<'a>> {
        // Users and roles may carry a path (`user/division/NAME`): the name is
        // the last segment, which is what the IAM commands take.
        let last = |r: &'a str| r.rsplit('/').next();
        let r = self.resource;
        match self.service {
            "iam" if r == "root" => Some(ArnPrincipal::Root),
            "iam" if r.starts_with("user/") => last(r).map(ArnPrincipal::User),
            "iam" if r.starts_with("role/") => last(r).map(ArnPrincipal::Role),
            "sts" if r.starts_with("assumed-role/") => {
                r.split('/').nth(1).map(ArnPrincipal::AssumedRole)
            }
            "sts" if r.starts_with("federated-user/") => Some(ArnPrincipal::FederatedUser),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(s: &str) -> Option<ArnPrincipal<'_>> {
        Arn::parse(s)?.principal()
    }

    #[test]
    fn principals() {
        assert_eq!(
            principal("arn:aws:iam::111111111111:user/div/ci-deploy"),
            Some(ArnPrincipal::User("ci-deploy"))
        );
        assert_eq!(
            principal("arn:aws:iam::111111111111:role/path/deploy-role"),
            Some(ArnPrincipal::Role("deploy-role"))
        );
        assert_eq!(
            principal("arn:aws:sts::111111111111:assumed-role/deploy-role/s"),
            Some(ArnPrincipal::AssumedRole("deploy-role"))
        );
        assert_eq!(
            principal("arn:aws:sts::1:federated-user/bob"),
            Some(ArnPrincipal::FederatedUser)
        );
        assert_eq!(
            principal("arn:aws:iam::111111111111:root"),
            Some(ArnPrincipal::Root)
        );
        assert_eq!(principal("arn:aws:s3:::bucket"), None);
        assert_eq!(principal("arn:aws:iam::1"), None, "five parts");
    }

    #[test]
    fn only_text_starting_with_arn_is_an_arn() {
        let arn = Arn::parse("arn:aws-cn:iam::111111111111:user/u").unwrap();
        assert_eq!(arn.partition, "aws-cn");
        assert_eq!(arn.account_id().unwrap().as_str(), "111111111111");
        // Both parsers used to disagree here: one read an account from any
        // text with five colons.
        assert_eq!(Arn::parse("urn:aws:iam::111111111111:user/u"), None);
        assert_eq!(Arn::parse(""), None);
        assert_eq!(Arn::parse("arn:aws:s3:::b").unwrap().account, None);
        // The resource keeps its own colons.
        assert_eq!(
            Arn::parse("arn:aws:logs:us-east-1:1:log-group:g:*")
                .unwrap()
                .resource,
            "log-group:g:*"
        );
    }

    #[test]
    fn account_ids() {
        assert!(AccountId::new("111111111111").unwrap().is_well_formed());
        assert!(!AccountId::new("1111").unwrap().is_well_formed());
        assert!(!AccountId::new("11111111111a").unwrap().is_well_formed());
        assert_eq!(AccountId::new(""), None);
    }
}
