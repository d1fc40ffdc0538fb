//! The CloudTrail digest file, as AWS delivers it, and the string its
//! signature covers.
//!
//! Field names follow the AWS user guide page "CloudTrail digest file
//! structure"
//! (<https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html>);
//! the string to sign follows "Validating CloudTrail log file integrity with
//! custom implementations" and aws-cli's
//! `awscli/customizations/cloudtrail/validation.py`.

use serde::Deserialize;

/// One digest file: the log files CloudTrail delivered in one hour, and the
/// link to the digest before it.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Digest {
    /// The account the trail delivers for.
    #[serde(default)]
    pub aws_account_id: Option<String>,
    /// Start of the hour the digest covers.
    #[serde(default)]
    pub digest_start_time: Option<String>,
    /// End of the hour the digest covers; the first line signed.
    pub digest_end_time: String,
    /// The bucket the digest was delivered to.
    #[serde(rename = "digestS3Bucket")]
    pub digest_s3_bucket: String,
    /// The digest's own key.
    #[serde(rename = "digestS3Object")]
    pub digest_s3_object: String,
    /// Hex fingerprint of the public key that verifies the signature.
    pub digest_public_key_fingerprint: String,
    /// `SHA256withRSA`.
    #[serde(default)]
    pub digest_signature_algorithm: Option<String>,
    /// The newest event of any listed log file.
    #[serde(default)]
    pub newest_event_time: Option<String>,
    /// The oldest event of any listed log file.
    #[serde(default)]
    pub oldest_event_time: Option<String>,
    /// The bucket of the digest before it, `null` for the first.
    #[serde(rename = "previousDigestS3Bucket", default)]
    pub previous_digest_s3_bucket: Option<String>,
    /// The key of the digest before it, `null` for the first.
    #[serde(rename = "previousDigestS3Object", default)]
    pub previous_digest_s3_object: Option<String>,
    /// Hex SHA-256 of the digest before it.
    #[serde(default)]
    pub previous_digest_hash_value: Option<String>,
    /// `SHA-256`.
    #[serde(default)]
    pub previous_digest_hash_algorithm: Option<String>,
    /// Hex signature of the digest before it, `null` for the first.
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    /// The log files delivered in the hour.
    #[serde(default)]
    pub log_files: Vec<LogFileRef>,
}

/// One log file listed in a digest.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogFileRef {
    /// Its bucket.
    #[serde(rename = "s3Bucket")]
    pub s3_bucket: String,
    /// Its key.
    #[serde(rename = "s3Object")]
    pub s3_object: String,
    /// Hex SHA-256 of its uncompressed content.
    pub hash_value: String,
    /// `SHA-256`.
    #[serde(default)]
    pub hash_algorithm: Option<String>,
    /// Its newest event.
    #[serde(default)]
    pub newest_event_time: Option<String>,
    /// Its oldest event.
    #[serde(default)]
    pub oldest_event_time: Option<String>,
}

impl Digest {
    /// Parses an uncompressed digest.
    pub fn parse(json: &[u8]) -> Result<Digest, String> {
        serde_json::from_slice(json).map_err(|e| format!("not a CloudTrail digest: {e}"))
    }

    /// The string the signature covers: `digestEndTime`, `BUCKET/KEY`, the
    /// hex SHA-256 of the uncompressed digest, and the previous signature (the
    /// literal `null` for the first digest), joined by newlines.
    pub fn string_to_sign(&self, digest_sha256_hex: &str) -> String {
        format!(
            "{}\n{}/{}\n{}\n{}",
            self.digest_end_time,
            self.digest_s3_bucket,
            self.digest_s3_object,
            digest_sha256_hex,
            self.previous_digest_signature.as_deref().unwrap_or("null")
        )
    }
}

/// The part of a path or key from `AWSLogs/` on, which a local copy and its
/// bucket share whatever prefix either has; `None` outside the layout.
pub fn logs_key(path: &str) -> Option<&str> {
    if path.starts_with("AWSLogs/") {
        return Some(path);
    }
    path.find("/AWSLogs/").map(|i| &path[i + 1..])
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes hex of either case; `None` when it is not hex.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The example record of the AWS user guide page, trimmed to one log file.
    const SAMPLE: &str = r#"{
      "awsAccountId": "111122223333",
      "digestStartTime": "2015-08-17T14:01:31Z",
      "digestEndTime": "2015-08-17T15:01:31Z",
      "digestS3Bucket": "amzn-s3-demo-bucket",
      "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
      "digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",
      "digestSignatureAlgorithm": "SHA256withRSA",
      "newestEventTime": "2015-08-17T14:52:27Z",
      "oldestEventTime": "2015-08-17T14:42:27Z",
      "previousDigestS3Bucket": "amzn-s3-demo-bucket",
      "previousDigestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T140131Z.json.gz",
      "previousDigestHashValue": "97fb791cf91ffc440d274f8190dbdd9aa09c34432aba82739df18b6d3c13df2d",
      "previousDigestHashAlgorithm": "SHA-256",
      "previousDigestSignature": "50887ccffad4c002b97caa37cc9dc626e3c680207d41d27fa5835458e066e0d3652fc4dfc30937e4d5f4cc7f796e7a258fb50a43ac427f2237f6e505d4bb6a6e",
      "logFiles": [
        {
          "s3Bucket": "amzn-s3-demo-bucket",
          "s3Object": "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz",
          "hashValue": "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6",
          "hashAlgorithm": "SHA-256",
          "newestEventTime": "2015-08-17T14:52:27Z",
          "oldestEventTime": "2015-08-17T14:42:27Z"
        }
      ]
    }"#;

    #[test]
    fn the_documented_record_parses_with_its_field_names() {
        let d = Digest::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(d.digest_s3_bucket, "amzn-s3-demo-bucket");
        assert_eq!(
            d.digest_public_key_fingerprint,
            "31e8b5433410dfb61a9dc45cc65b22ff"
        );
        assert!(
            d.previous_digest_s3_object
                .unwrap()
                .ends_with("140131Z.json.gz")
        );
        assert_eq!(d.log_files.len(), 1);
        assert_eq!(d.log_files[0].hash_value.len(), 64);
        assert_eq!(d.previous_digest_hash_value.unwrap().len(), 64);
    }

    #[test]
    fn the_first_digest_signs_a_literal_null() {
        let mut d = Digest::parse(SAMPLE.as_bytes()).unwrap();
        d.previous_digest_signature = None;
        let s = d.string_to_sign("ab");
        let lines: Vec<&str> = s.split('\n').collect();
        assert_eq!(lines[0], "2015-08-17T15:01:31Z");
        assert!(lines[1].starts_with("amzn-s3-demo-bucket/AWSLogs/"));
        assert_eq!(lines[2..], ["ab", "null"]);
    }

    #[test]
    fn keys_are_compared_from_awslogs_on() {
        assert_eq!(logs_key("case/x/AWSLogs/1/a.gz"), Some("AWSLogs/1/a.gz"));
        assert_eq!(logs_key("AWSLogs/1/a.gz"), Some("AWSLogs/1/a.gz"));
        assert_eq!(logs_key("elsewhere/a.gz"), None);
        assert_eq!(unhex(&hex(&[0, 255, 16])), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0g"), None);
    }
}
