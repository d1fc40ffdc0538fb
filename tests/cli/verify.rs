//! `keytrail verify`: digest chains built here with the real structure and
//! field names, signed with the test key `fixtures/verify/test-key.pk8.der`
//! (see `fixtures/verify/README.md`), then damaged one way per test.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::support::{TestEnv, code, gzip, json as read_json, root, run, show};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const BUCKET: &str = "trail-bucket";
const FINGERPRINT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn key_pair() -> RsaKeyPair {
    let der = fs::read(root().join("fixtures/verify/test-key.pk8.der")).expect("test key");
    RsaKeyPair::from_pkcs8(&der).expect("PKCS#8 RSA key")
}

/// A trail of `HOURS` digests, two log files each, written under `dir`.
pub(crate) struct Trail {
    /// The folder it was written under.
    pub(crate) dir: PathBuf,
    /// The AWSLogs prefix: `AWSLogs/ACCOUNT/` or `AWSLogs/o-ORG/ACCOUNT/`.
    prefix: String,
    /// Local paths of the digests, oldest first.
    digests: Vec<PathBuf>,
    /// Local paths of the log files, oldest first.
    logs: Vec<PathBuf>,
    /// Hex signatures of the digests, oldest first.
    signatures: Vec<String>,
}

const HOURS: usize = 3;

impl Trail {
    pub(crate) fn build(dir: &Path, org: Option<&str>) -> Trail {
        let pair = key_pair();
        let rng = SystemRandom::new();
        let prefix = match org {
            Some(o) => format!("AWSLogs/{o}/{ACCOUNT}/"),
            None => format!("AWSLogs/{ACCOUNT}/"),
        };
        let mut trail = Trail {
            dir: dir.to_owned(),
            prefix: prefix.clone(),
            digests: Vec::new(),
            logs: Vec::new(),
            signatures: Vec::new(),
        };
        let mut previous: Option<(String, String, String)> = None; // key, hash, signature
        for h in 0..HOURS {
            let hour = 10 + h;
            let mut log_files = Vec::new();
            for n in 0..2 {
                let key = format!(
                    "{prefix}CloudTrail/{REGION}/2025/12/09/{ACCOUNT}_CloudTrail_{REGION}_20251209T{hour:02}{:02}Z_{n}abcdEFGHijkl.json.gz",
                    n * 20 + 5
                );
                let content = serde_json::to_vec(&json!({"Records": [{
                    "eventVersion": "1.08",
                    "eventTime": format!("2025-12-09T{hour:02}:{:02}:00Z", n * 20 + 1),
                    "eventSource": "s3.amazonaws.com",
                    "eventName": "ListBuckets",
                    "awsRegion": REGION,
                    "eventID": format!("evt-{h}-{n}"),
                    "userIdentity": {"type": "IAMUser", "accessKeyId": "AKIAEXAMPLESEED00001"}
                }]}))
                .unwrap();
                let path = dir.join(&key);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, gzip(&content)).unwrap();
                log_files.push(json!({
                    "s3Bucket": BUCKET,
                    "s3Object": key,
                    "hashValue": hex(&Sha256::digest(&content)),
                    "hashAlgorithm": "SHA-256",
                    "newestEventTime": format!("2025-12-09T{hour:02}:{:02}:00Z", n * 20 + 1),
                    "oldestEventTime": format!("2025-12-09T{hour:02}:{:02}:00Z", n * 20 + 1)
                }));
                trail.logs.push(path);
            }
            let end = format!("2025-12-09T{:02}:00:00Z", hour + 1);
            let key = format!(
                "{prefix}CloudTrail-Digest/{REGION}/2025/12/09/{ACCOUNT}_CloudTrail-Digest_{REGION}_main-trail_{REGION}_20251209T{:02}0000Z.json.gz",
                hour + 1
            );
            let digest = json!({
                "awsAccountId": ACCOUNT,
                "digestStartTime": format!("2025-12-09T{hour:02}:00:00Z"),
                "digestEndTime": end,
                "digestS3Bucket": BUCKET,
                "digestS3Object": key,
                "digestPublicKeyFingerprint": FINGERPRINT,
                "digestSignatureAlgorithm": "SHA256withRSA",
                "newestEventTime": format!("2025-12-09T{hour:02}:21:00Z"),
                "oldestEventTime": format!("2025-12-09T{hour:02}:01:00Z"),
                "previousDigestS3Bucket": previous.as_ref().map(|_| BUCKET),
                "previousDigestS3Object": previous.as_ref().map(|p| p.0.clone()),
                "previousDigestHashValue": previous.as_ref().map(|p| p.1.clone()),
                "previousDigestHashAlgorithm": previous.as_ref().map(|_| "SHA-256"),
                "previousDigestSignature": previous.as_ref().map(|p| p.2.clone()),
                "logFiles": log_files
            });
            let content = serde_json::to_vec(&digest).unwrap();
            let hash = hex(&Sha256::digest(&content));
            let to_sign = format!(
                "{end}\n{BUCKET}/{key}\n{hash}\n{}",
                previous.as_ref().map_or("null", |p| p.2.as_str())
            );
            let mut sig = vec![0; pair.public().modulus_len()];
            pair.sign(&RSA_PKCS1_SHA256, &rng, to_sign.as_bytes(), &mut sig)
                .unwrap();
            let sig = hex(&sig);
            let path = dir.join(&key);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, gzip(&content)).unwrap();
            trail.digests.push(path);
            trail.signatures.push(sig.clone());
            previous = Some((key, hash, sig));
        }
        trail
    }

    /// Writes the newest digest's signature into its sidecar, as `acquire`
    /// would from `x-amz-meta-signature`.
    pub(crate) fn sidecar(&self, signature: &str) {
        let newest = self.digests.last().unwrap();
        let mut name = newest.as_os_str().to_owned();
        name.push(".signature");
        fs::write(PathBuf::from(name), signature).unwrap();
    }

    /// Writes every digest's signature into its sidecar, as CloudTrail's
    /// metadata holds them.
    pub(crate) fn sidecars(&self) {
        for (digest, sig) in self.digests.iter().zip(&self.signatures) {
            let mut name = digest.as_os_str().to_owned();
            name.push(".signature");
            fs::write(PathBuf::from(name), sig).unwrap();
        }
    }

    pub(crate) fn newest_signature(&self) -> String {
        self.signatures.last().unwrap().clone()
    }

    /// `aws cloudtrail list-public-keys` output for the test key.
    pub(crate) fn public_keys(&self, env: &TestEnv) -> PathBuf {
        let pair = key_pair();
        let value = base64::engine::general_purpose::STANDARD.encode(pair.public().as_ref());
        let list = json!({"PublicKeyList": [{
            "Value": value,
            "ValidityStartTime": "2025-01-01T00:00:00+00:00",
            "ValidityEndTime": "2026-01-01T00:00:00+00:00",
            "Fingerprint": FINGERPRINT
        }]});
        let path = env.path("public-keys.json");
        // A second region's list, concatenated, as the flag allows.
        let other = json!({"PublicKeyList": []});
        fs::write(&path, format!("{list}\n{other}\n")).unwrap();
        path
    }
}

/// Runs `keytrail verify` on the trail with its keys and a report, and
/// returns the output and the report.
fn verify(env: &TestEnv, trail: &Trail, extra: &[&str]) -> (Output, Value) {
    let report = env.path("verify.json");
    let keys = trail.public_keys(env);
    let out = run(env
        .keytrail()
        .arg("verify")
        .arg(&trail.dir)
        .arg("--public-keys")
        .arg(&keys)
        .arg("--report")
        .arg(&report)
        .args(extra));
    let value = if report.exists() {
        read_json(&report)
    } else {
        Value::Null
    };
    (out, value)
}

/// The verdict of each file not valid, by its name's end.
fn not_valid(report: &Value) -> BTreeMap<String, String> {
    report["not_valid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let path = f["path"].as_str().unwrap();
            let name = path.rsplit('/').next().unwrap().to_owned();
            (name, f["verdict"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn a_valid_chain_with_its_newest_signature_is_valid() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(report["counts"]["valid"], HOURS * 3, "{report}");
    assert!(not_valid(&report).is_empty(), "{report}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("9 valid"));
}

#[test]
fn the_newest_digest_without_its_signature_is_unsigned() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let bad = not_valid(&report);
    assert_eq!(
        bad,
        BTreeMap::from([(name(trail.digests.last().unwrap()), "unsigned".to_owned())])
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("unsigned (signature not captured)"));
}

#[test]
fn signatures_given_in_a_file_count_like_the_metadata() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    let key = trail
        .digests
        .last()
        .unwrap()
        .to_string_lossy()
        .split_once("AWSLogs/")
        .map(|(_, k)| format!("AWSLogs/{k}"))
        .unwrap();
    let sigs = env.path("signatures.json");
    fs::write(&sigs, json!({ key: trail.newest_signature() }).to_string()).unwrap();
    let (out, report) = verify(&env, &trail, &["--signatures", sigs.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(not_valid(&report).is_empty(), "{report}");
}

#[test]
fn without_public_keys_signatures_are_not_checked_but_hashes_are() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    let out = run(env
        .keytrail()
        .arg("verify")
        .arg(&trail.dir)
        .arg("-j")
        .arg("1"));
    assert_eq!(code(&out), 0, "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("6 valid"), "{stdout}");
    assert!(stdout.contains("2 not-checked"), "{stdout}");
    assert!(stdout.contains("1 unsigned"), "{stdout}");
}

#[test]
fn one_altered_record_is_altered() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    let victim = &trail.logs[2];
    let content = String::from_utf8(keytrail::verify::inflate(&fs::read(victim).unwrap()).unwrap())
        .unwrap()
        .replace("ListBuckets", "ListObjects");
    fs::write(victim, gzip(content.as_bytes())).unwrap();
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 4, "{}", show(&out));
    assert_eq!(
        not_valid(&report),
        BTreeMap::from([(name(victim), "altered".to_owned())])
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("INTEGRITY FAILURE"), "{stdout}");
}

#[test]
fn a_deleted_log_file_is_missing() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    fs::remove_file(&trail.logs[3]).unwrap();
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 4, "{}", show(&out));
    assert_eq!(
        not_valid(&report),
        BTreeMap::from([(name(&trail.logs[3]), "missing".to_owned())])
    );
}

#[test]
fn a_deleted_digest_breaks_the_chain() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    fs::remove_file(&trail.digests[1]).unwrap();
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 4, "{}", show(&out));
    let bad = not_valid(&report);
    assert_eq!(bad[&name(&trail.digests[1])], "chain-broken", "{report}");
    // Its log files are now listed by no digest.
    assert_eq!(bad[&name(&trail.logs[2])], "not-covered");
    assert_eq!(bad[&name(&trail.logs[3])], "not-covered");
    // The oldest digest's signature was carried only by the deleted one.
    assert_eq!(bad[&name(&trail.digests[0])], "unsigned");
    assert_eq!(bad.len(), 4, "{report}");
}

#[test]
fn a_foreign_log_file_is_not_covered() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    let foreign = trail.logs[0].with_file_name(format!(
        "{ACCOUNT}_CloudTrail_{REGION}_20251209T1059Z_planted.json.gz"
    ));
    fs::write(&foreign, gzip(br#"{"Records":[]}"#)).unwrap();
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 4, "{}", show(&out));
    assert_eq!(
        not_valid(&report),
        BTreeMap::from([(name(&foreign), "not-covered".to_owned())])
    );
}

#[test]
fn a_wrong_signature_is_digest_invalid() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    // The signature of another digest: well-formed, but not this one's.
    trail.sidecar(&trail.signatures[0]);
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 4, "{}", show(&out));
    assert_eq!(
        not_valid(&report),
        BTreeMap::from([(
            name(trail.digests.last().unwrap()),
            "digest-invalid".to_owned()
        )])
    );
}

#[test]
fn a_rewritten_digest_fails_its_signature_and_its_link() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    // Re-list an altered log file's hash in the middle digest: the log file
    // then matches, but the digest no longer does.
    let victim = &trail.digests[1];
    let mut digest: Value =
        serde_json::from_slice(&keytrail::verify::inflate(&fs::read(victim).unwrap()).unwrap())
            .unwrap();
    digest["logFiles"][0]["hashValue"] = json!("00".repeat(32));
    fs::write(victim, gzip(&serde_json::to_vec(&digest).unwrap())).unwrap();
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 4, "{}", show(&out));
    let bad = not_valid(&report);
    assert_eq!(bad[&name(victim)], "digest-invalid", "{report}");
    assert_eq!(bad[&name(&trail.digests[2])], "chain-broken", "{report}");
    assert_eq!(bad[&name(&trail.logs[2])], "altered", "{report}");
}

#[test]
fn the_org_layout_is_verified() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("org"), Some("o-abcdef1234"));
    assert!(trail.prefix.contains("/o-abcdef1234/"));
    trail.sidecar(&trail.newest_signature());
    let (out, report) = verify(&env, &trail, &["-j", "2", "-q"]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(report["counts"]["valid"], HOURS * 3, "{report}");
    assert!(out.stdout.is_empty(), "-q prints nothing");
}

#[test]
fn an_unreadable_digest_exits_3() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    let stray = trail.digests[0].with_file_name("garbage_CloudTrail-Digest.json.gz");
    fs::write(&stray, b"\x1f\x8bnot gzip").unwrap();
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert_eq!(
        report["unreadable"].as_array().unwrap().len(),
        1,
        "{report}"
    );
}

#[test]
fn trace_verify_flags_rows_from_an_altered_file() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    let keys = trail.public_keys(&env);
    let report = env.path("report.json");
    let trace = |report: &Path| {
        run(env
            .keytrail()
            .arg("trace")
            .arg("--key")
            .arg(crate::support::SEED)
            .arg(&trail.dir)
            .arg("--verify")
            .arg("--public-keys")
            .arg(&keys)
            .arg("--report")
            .arg(report)
            .arg("--force"))
    };
    let out = trace(&report);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let clean = read_json(&report);
    assert_eq!(clean["integrity"]["counts"]["valid"], HOURS * 3, "{clean}");
    assert_eq!(clean["integrity"]["rows"], json!([]));
    assert_eq!(clean["timeline"]["rows"], HOURS * 2, "{clean}");

    let victim = &trail.logs[1];
    let content = String::from_utf8(keytrail::verify::inflate(&fs::read(victim).unwrap()).unwrap())
        .unwrap()
        .replace("us-east-1", "us-west-2");
    fs::write(victim, gzip(content.as_bytes())).unwrap();
    let out = trace(&report);
    assert_eq!(code(&out), 4, "{}", show(&out));
    let tampered = read_json(&report);
    let rows = tampered["integrity"]["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{tampered}");
    assert_eq!(rows[0]["event_id"], "evt-0-1");
    assert_eq!(rows[0]["verdict"], "altered");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ALTERED log files"), "{stdout}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("EVIDENCE INTEGRITY FAILURE"));
}

#[test]
fn trace_verify_options_need_verify() {
    let env = TestEnv::new();
    let out = env.trace(&[
        "--key",
        crate::support::SEED,
        "fixtures/incident",
        "--public-keys",
        "k.json",
    ]);
    assert_eq!(code(&out), 2, "{}", show(&out));
}

#[cfg(unix)]
#[test]
fn links_to_folders_and_fifos_are_left_alone() {
    let env = TestEnv::new();
    let trail = Trail::build(&env.path("case"), None);
    trail.sidecar(&trail.newest_signature());
    let folder = trail.logs[0].parent().unwrap();
    std::os::unix::fs::symlink(&trail.dir, folder.join("loop")).unwrap();
    let fifo = folder.join(format!(
        "{ACCOUNT}_CloudTrail_{REGION}_20251209T1000Z_fifo.json.gz"
    ));
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let (out, report) = verify(&env, &trail, &[]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert_eq!(report["counts"]["valid"], HOURS * 3, "{report}");
}
