//! CloudTrail's public keys, from the JSON that `aws cloudtrail
//! list-public-keys` prints, and the RSA check of a digest signature.
//!
//! Keys are DER `RSAPublicKey` (PKCS#1), as aws-cli loads them with
//! `rsa.PublicKey.load_pkcs1(…, format='DER')`. The check is RSA PKCS#1 v1.5
//! with SHA-256, done by `ring`, the crypto provider rustls 0.21 already
//! builds for the S3 client.

use chrono::DateTime;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde::Deserialize;
use serde_json::Value;

use base64::Engine as _;

/// One public key and the time it was in use.
#[derive(Clone, Debug)]
pub struct PublicKey {
    /// Lower-case hex fingerprint.
    pub fingerprint: String,
    /// DER RSAPublicKey.
    pub der: Vec<u8>,
    /// Seconds since the epoch; `None` for unbounded.
    pub valid_from: Option<i64>,
    /// Seconds since the epoch; `None` for unbounded.
    pub valid_to: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyList {
    public_key_list: Vec<RawKey>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawKey {
    value: String,
    #[serde(default)]
    validity_start_time: Option<Value>,
    #[serde(default)]
    validity_end_time: Option<Value>,
    fingerprint: String,
}

/// Parses one or more `list-public-keys` outputs, concatenated.
pub fn parse_key_lists(text: &[u8]) -> Result<Vec<PublicKey>, String> {
    let mut keys = Vec::new();
    for (n, list) in serde_json::Deserializer::from_slice(text)
        .into_iter::<KeyList>()
        .enumerate()
    {
        let list = list.map_err(|e| format!("document {}: {e}", n + 1))?;
        for raw in list.public_key_list {
            let der = base64::engine::general_purpose::STANDARD
                .decode(raw.value.trim())
                .map_err(|e| format!("key {}: Value is not base64: {e}", raw.fingerprint))?;
            keys.push(PublicKey {
                fingerprint: raw.fingerprint.to_ascii_lowercase(),
                der,
                valid_from: raw.validity_start_time.as_ref().and_then(epoch),
                valid_to: raw.validity_end_time.as_ref().and_then(epoch),
            });
        }
    }
    Ok(keys)
}

/// A time as aws-cli prints it (ISO 8601) or as the API returns it (epoch
/// seconds).
fn epoch(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f as i64),
        Value::String(s) => parse_time(s),
        _ => None,
    }
}

/// Seconds since the epoch of an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.timestamp())
}

/// The key with `fingerprint` that was valid at `at`.
pub fn find<'a>(
    keys: &'a [PublicKey],
    fingerprint: &str,
    at: Option<i64>,
) -> Option<&'a PublicKey> {
    let fingerprint = fingerprint.to_ascii_lowercase();
    keys.iter().find(|k| {
        k.fingerprint == fingerprint
            && at.is_none_or(|t| {
                k.valid_from.is_none_or(|f| f <= t) && k.valid_to.is_none_or(|e| t <= e)
            })
    })
}

/// Whether `signature` is `key`'s RSA PKCS#1 v1.5 SHA-256 signature of
/// `message`.
pub fn verifies(key: &PublicKey, message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &key.der)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn concatenated_lists_parse_and_keys_are_found_by_time() {
        let text = br#"{"PublicKeyList":[{"Value":"AAEC","ValidityStartTime":"2024-01-01T00:00:00+00:00","ValidityEndTime":"2024-02-01T00:00:00+00:00","Fingerprint":"ABCD"}]}
{"PublicKeyList":[{"Value":"AwQ=","ValidityStartTime":1706745600,"ValidityEndTime":1709251200,"Fingerprint":"abcd"}]}"#;
        let keys = parse_key_lists(text).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].der, [0, 1, 2]);
        let jan = parse_time("2024-01-15T00:00:00Z");
        let feb = parse_time("2024-02-15T00:00:00Z");
        let later = parse_time("2025-01-01T00:00:00Z");
        assert_eq!(find(&keys, "abcd", jan).unwrap().der, [0, 1, 2]);
        assert_eq!(find(&keys, "ABCD", feb).unwrap().der, [3, 4]);
        assert!(find(&keys, "abcd", later).is_none());
        assert!(find(&keys, "ffff", jan).is_none());
    }
}
