//! Which calls build a way in that needs no key, and what they name.
//!
//! Persistence rarely needs an access key: a user with a password, a role
//! that trusts the attacker's account, an instance or function running with
//! an admin role. Each is linked to its later use only by a name (a user
//! name, a role name, an instance id, a function name, a provider ARN), so
//! this module reads those names out of `requestParameters` and
//! `responseElements` once, at the edge, in the shapes real records use.
//!
//! Trust policies are written as JSON text in the request and URL-encoded in
//! `CreateRole`'s response (see the Stratus Red Team detonation logs
//! `aws.persistence.iam-backdoor-role` and `iam-create-backdoor-role`); both
//! are read.

use serde_json::Value;

use crate::event::{Door, Opening};
use crate::model::FootholdKind;

/// The foothold a call builds, if it is one of the calls that build them.
/// Whether it succeeded is the caller's concern.
pub(super) fn opening(
    service: &str,
    name: &str,
    req: Option<&Value>,
    resp: Option<&Value>,
) -> Option<Opening> {
    let req_str = |k: &str| req.and_then(|r| text(r.get(k)?));
    let user = |kind| {
        Some(Opening {
            kind,
            door: Door::User {
                name: req_str("userName")?.to_owned(),
                arn: resp
                    .and_then(|r| text(r.get("user")?.get("arn")?))
                    .map(str::to_owned),
            },
        })
    };
    match (service, name) {
        ("iam.amazonaws.com", "CreateUser") => user(FootholdKind::User),
        ("iam.amazonaws.com", "CreateLoginProfile" | "UpdateLoginProfile") => {
            user(FootholdKind::LoginProfile)
        }
        (
            "iam.amazonaws.com",
            "UploadSSHPublicKey" | "CreateServiceSpecificCredential" | "UploadSigningCertificate",
        ) => user(FootholdKind::UserCredential),
        ("iam.amazonaws.com", "CreateRole" | "UpdateAssumeRolePolicy") => {
            let policy = req_str("assumeRolePolicyDocument").or_else(|| req_str("policyDocument"));
            Some(Opening {
                kind: FootholdKind::RoleTrust,
                door: Door::Role {
                    name: req_str("roleName")?.to_owned(),
                    arn: resp
                        .and_then(|r| text(r.get("role")?.get("arn")?))
                        .map(str::to_owned),
                    trusted: policy.map(trusted_principals).unwrap_or_default(),
                    policy: policy.map(policy_text),
                },
            })
        }
        ("iam.amazonaws.com", "CreateSAMLProvider" | "UpdateSAMLProvider") => {
            let arn = req_str("sAMLProviderArn")
                .or_else(|| resp.and_then(|r| text(r.get("sAMLProviderArn")?)))?;
            provider(arn)
        }
        ("iam.amazonaws.com", "CreateOpenIDConnectProvider") => {
            provider(resp.and_then(|r| text(r.get("openIDConnectProviderArn")?))?)
        }
        ("ec2.amazonaws.com", "RunInstances") => {
            let profile = req?.get("iamInstanceProfile")?;
            let ids: Vec<String> = resp?
                .get("instancesSet")?
                .get("items")?
                .as_array()?
                .iter()
                .filter_map(|i| text(i.get("instanceId")?))
                .map(str::to_owned)
                .collect();
            instances(ids, profile)
        }
        ("ec2.amazonaws.com", "AssociateIamInstanceProfile") => {
            // The query API's request is wrapped in `…Request`, with
            // capitalised members; both spellings are read.
            let inner = req?.get("AssociateIamInstanceProfileRequest").or(req)?;
            let id = inner
                .get("InstanceId")
                .or_else(|| inner.get("instanceId"))?;
            let profile = inner
                .get("IamInstanceProfile")
                .or_else(|| inner.get("iamInstanceProfile"))?;
            instances(vec![text(id)?.to_owned()], profile)
        }
        ("lambda.amazonaws.com", n)
            if n.starts_with("CreateFunction") || n.starts_with("UpdateFunctionConfiguration") =>
        {
            let role = req_str("role")?;
            // The request may name the function by ARN; the response by name.
            let name = resp
                .and_then(|r| text(r.get("functionName")?))
                .or_else(|| req_str("functionName"))?;
            let name = name.rsplit_once(":function:").map_or(name, |(_, n)| n);
            let name = name.split(':').next().unwrap_or(name);
            Some(Opening {
                kind: FootholdKind::Function,
                door: Door::Function {
                    name: name.to_owned(),
                    role: Some(role.to_owned()),
                },
            })
        }
        _ => None,
    }
}

fn provider(arn: &str) -> Option<Opening> {
    Some(Opening {
        kind: FootholdKind::IdentityProvider,
        door: Door::Provider {
            arn: arn.to_owned(),
        },
    })
}

fn instances(ids: Vec<String>, profile: &Value) -> Option<Opening> {
    if ids.is_empty() {
        return None;
    }
    let profile = text(profile)
        .or_else(|| {
            ["arn", "Arn", "name", "Name"]
                .iter()
                .find_map(|k| text(profile.get(k)?))
        })
        .map(str::to_owned);
    Some(Opening {
        kind: FootholdKind::Instance,
        door: Door::Instances { ids, profile },
    })
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

/// A trust policy as JSON text, URL-decoded when IAM wrote it encoded.
fn policy_text(policy: &str) -> String {
    if policy.trim_start().starts_with('{') {
        policy.to_owned()
    } else {
        percent_decode(policy)
    }
}

/// The principals an `Allow` statement of a trust policy names, as written
/// (`AWS`, `Federated`, `Service`, `CanonicalUser`, or `*`), sorted and
/// deduplicated. A policy that does not parse names none.
pub(super) fn trusted_principals(policy: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<Value>(&policy_text(policy)) else {
        return Vec::new();
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(s)) => s.iter().collect(),
        Some(s) => vec![s],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        match s.get("Principal") {
            Some(Value::String(p)) => out.push(p.clone()),
            Some(Value::Object(by_type)) => {
                for v in by_type.values() {
                    match v {
                        Value::String(p) => out.push(p.clone()),
                        Value::Array(ps) => {
                            out.extend(ps.iter().filter_map(Value::as_str).map(str::to_owned));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `%XX` escapes decoded (and `+` left alone, as IAM writes spaces `%20`).
/// An invalid escape is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let v = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(v).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn trust_policies_as_text_and_url_encoded() {
        let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"},{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::193672423079:root","arn:aws:iam::111122223333:root"]},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}"#;
        let want = [
            "arn:aws:iam::111122223333:root",
            "arn:aws:iam::193672423079:root",
            "ec2.amazonaws.com",
        ];
        assert_eq!(trusted_principals(text), want);
        // As CreateRole's response writes it.
        let encoded = "%7B%0A%20%20%22Version%22%3A%20%222012-10-17%22%2C%0A%20%20%22Statement%22%3A%20%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22arn%3Aaws%3Aiam%3A%3A193672423079%3Aroot%22%7D%7D%5D%7D";
        assert_eq!(
            trusted_principals(encoded),
            ["arn:aws:iam::193672423079:root"]
        );
        assert!(trusted_principals("%ZZnot json").is_empty());
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn each_kind_from_its_real_shape() {
        let o = |svc, name, req: Value, resp: Value| opening(svc, name, Some(&req), Some(&resp));
        // Stratus aws.persistence.iam-create-admin-user.
        let user = o(
            "iam.amazonaws.com",
            "CreateUser",
            json!({"userName": "malicious-iam-user"}),
            json!({"user": {"arn": "arn:aws:iam::229654561268:user/malicious-iam-user", "userName": "malicious-iam-user"}}),
        );
        assert_eq!(
            user.map(|o| (o.kind, o.door)),
            Some((
                FootholdKind::User,
                Door::User {
                    name: "malicious-iam-user".into(),
                    arn: Some("arn:aws:iam::229654561268:user/malicious-iam-user".into())
                }
            ))
        );
        let profile = opening(
            "iam.amazonaws.com",
            "CreateLoginProfile",
            Some(&json!({"passwordResetRequired": false, "userName": "u"})),
            None,
        );
        assert_eq!(profile.map(|o| o.kind), Some(FootholdKind::LoginProfile));
        let role = o(
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            json!({"roleName": "r", "policyDocument": "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::193672423079:root\"}}}"}),
            Value::Null,
        );
        assert!(matches!(
            role.map(|o| o.door),
            Some(Door::Role { name, trusted, .. }) if name == "r" && trusted == ["arn:aws:iam::193672423079:root"]
        ));
        let run = o(
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"iamInstanceProfile": {"arn": "arn:aws:iam::1:instance-profile/admin"}, "instancesSet": {"items": [{"imageId": "ami-1"}]}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-0a"}, {"instanceId": "i-0b"}]}}),
        );
        assert_eq!(
            run.map(|o| o.door),
            Some(Door::Instances {
                ids: vec!["i-0a".into(), "i-0b".into()],
                profile: Some("arn:aws:iam::1:instance-profile/admin".into())
            })
        );
        // No instance profile: not a foothold.
        let plain = o(
            "ec2.amazonaws.com",
            "RunInstances",
            json!({"instanceType": "p2.xlarge"}),
            json!({"instancesSet": {"items": [{"instanceId": "i-0c"}]}}),
        );
        assert_eq!(plain, None);
        let assoc = o(
            "ec2.amazonaws.com",
            "AssociateIamInstanceProfile",
            json!({"AssociateIamInstanceProfileRequest": {"InstanceId": "i-0d", "IamInstanceProfile": {"Name": "admin"}}}),
            Value::Null,
        );
        assert!(
            matches!(assoc.map(|o| o.door), Some(Door::Instances { ids, .. }) if ids == ["i-0d"])
        );
        // Stratus aws.persistence.lambda-layer-extension names the function by ARN.
        let f = o(
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            json!({"functionName": "arn:aws:lambda:us-east-1:712967571683:function:simpleLambda", "role": "arn:aws:iam::712967571683:role/admin"}),
            Value::Null,
        );
        assert!(
            matches!(f.map(|o| o.door), Some(Door::Function { name, .. }) if name == "simpleLambda")
        );
        // A configuration change without a role is not a foothold.
        let layers = o(
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            json!({"functionName": "f", "layers": ["arn:aws:lambda:us-east-1:1:layer:x:1"]}),
            Value::Null,
        );
        assert_eq!(layers, None);
        let saml = o(
            "iam.amazonaws.com",
            "CreateSAMLProvider",
            json!({"name": "okta"}),
            json!({"sAMLProviderArn": "arn:aws:iam::1:saml-provider/okta"}),
        );
        assert!(
            matches!(saml.map(|o| o.door), Some(Door::Provider { arn }) if arn.ends_with("saml-provider/okta"))
        );
    }
}
