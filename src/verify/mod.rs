//! `keytrail verify`: validates CloudTrail log files and digests offline, on
//! a copy, which `aws cloudtrail validate-logs` cannot do (issue 16).
//!
//! Every file under `AWSLogs/…/CloudTrail/` and `…/CloudTrail-Digest/` is
//! read once and hashed (SHA-256 of its uncompressed content), on `-j`
//! threads. Then, with no I/O, each digest's signature, each chain link and
//! each listed log file is judged, and every file gets one [`Verdict`].
//!
//! A digest's signature is not in the file; it is the S3 metadata
//! `x-amz-meta-signature`. Offline it comes from `--signatures FILE`, from a
//! sidecar `DIGEST.signature`, or from the next digest's
//! `previousDigestSignature`, so every digest but the newest can be checked
//! without the metadata.

pub mod digest;
pub mod keys;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::inputs::Custody;
use crate::output::sanitize::terminal;
use crate::source::Store;
use crate::source::s3::{S3Options, S3Store, S3Url};
use digest::{Digest, hex, logs_key, unhex};
use keys::PublicKey;

/// What `keytrail verify` was asked to do.
#[derive(Clone, Debug)]
pub struct VerifyConfig {
    /// Local files and folders, walked recursively.
    pub sources: Vec<PathBuf>,
    /// `--public-keys`: `aws cloudtrail list-public-keys` output.
    pub public_keys: Option<PathBuf>,
    /// `--signatures`: a JSON object from digest key (or path) to hex
    /// signature.
    pub signatures: Option<PathBuf>,
    /// `s3://` sources: digest signatures come from their metadata.
    pub s3_sources: Vec<S3Url>,
    /// How to reach S3.
    pub s3: S3Options,
    /// `--report`: the JSON report.
    pub report: Option<PathBuf>,
    /// `--manifest`: the custody manifest CSV.
    pub manifest: Option<PathBuf>,
    /// `-j`.
    pub threads: usize,
    /// `-q`: no summary.
    pub quiet: bool,
}

/// The judgement of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Its hash, or its signature and chain, check out.
    Valid,
    /// Its hash differs from the one its digest lists.
    Altered,
    /// Listed in a digest, absent from the source.
    Missing,
    /// A log file that no digest lists.
    NotCovered,
    /// A digest whose signature fails.
    DigestInvalid,
    /// A digest missing from the chain, or whose successor disagrees with it.
    ChainBroken,
    /// A digest whose signature was not captured.
    Unsigned,
    /// A digest whose signature could not be checked (no public key).
    NotChecked,
}

impl Verdict {
    /// Every verdict, in report order.
    pub const ALL: [Verdict; 8] = [
        Verdict::Valid,
        Verdict::Altered,
        Verdict::Missing,
        Verdict::NotCovered,
        Verdict::DigestInvalid,
        Verdict::ChainBroken,
        Verdict::Unsigned,
        Verdict::NotChecked,
    ];

    /// Whether it is evidence of tampering or loss: these exit 4.
    pub fn is_failure(self) -> bool {
        !matches!(
            self,
            Verdict::Valid | Verdict::Unsigned | Verdict::NotChecked
        )
    }

    /// How bad it is, for a digest that fails in more than one way.
    fn rank(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::NotChecked => 1,
            Verdict::Unsigned => 2,
            Verdict::NotCovered => 3,
            Verdict::Missing => 4,
            Verdict::ChainBroken => 5,
            Verdict::Altered => 6,
            Verdict::DigestInvalid => 7,
        }
    }

    /// The name the report and summary use.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Altered => "altered",
            Verdict::Missing => "missing",
            Verdict::NotCovered => "not-covered",
            Verdict::DigestInvalid => "digest-invalid",
            Verdict::ChainBroken => "chain-broken",
            Verdict::Unsigned => "unsigned",
            Verdict::NotChecked => "not-checked",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A log file or a digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// `…/CloudTrail/…`.
    Log,
    /// `…/CloudTrail-Digest/…`.
    Digest,
}

/// One file's verdict.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FileVerdict {
    /// The local path, or for a missing file the key its digest names.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// The judgement.
    pub verdict: Verdict,
    /// Why, for anything not valid.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A file that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Unreadable {
    /// The path.
    pub path: String,
    /// Why.
    pub error: String,
}

/// What a verification found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Every file's verdict, by path.
    pub files: Vec<FileVerdict>,
    /// Files that could not be read or parsed.
    pub unreadable: Vec<Unreadable>,
}

impl Outcome {
    /// How many files got each verdict.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts: BTreeMap<&'static str, usize> =
            Verdict::ALL.iter().map(|v| (v.name(), 0)).collect();
        for f in &self.files {
            *counts.entry(f.verdict.name()).or_default() += 1;
        }
        counts
    }

    /// Whether any file shows tampering or loss.
    pub fn integrity_failed(&self) -> bool {
        self.files.iter().any(|f| f.verdict.is_failure())
    }
}

/// Why `verify` could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// A source root does not exist.
    #[error("cannot read source {path}: {source}")]
    Source {
        /// The root.
        path: String,
        /// The cause.
        source: io::Error,
    },
    /// `--public-keys` or `--signatures` is unreadable.
    #[error("cannot use {flag} {path}: {reason}")]
    Option {
        /// The flag.
        flag: &'static str,
        /// Its file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An S3 source cannot be listed.
    #[error("cannot read source {source_name}: {reason}")]
    S3 {
        /// The source.
        source_name: String,
        /// Why, and the fix.
        reason: String,
    },
    /// The report cannot be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
}

/// One file found under the sources.
#[derive(Clone, Debug)]
struct Found {
    path: String,
    key: String,
    kind: Kind,
}

/// One file read and hashed.
#[derive(Clone, Debug)]
struct Hashed {
    found: Found,
    /// Hex SHA-256 of the uncompressed content.
    sha256: String,
    /// The digest, when it is one and it parses.
    digest: Option<Digest>,
}

/// Counts the records of a log file without parsing them.
#[derive(serde::Deserialize)]
struct RecordCount<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<&'a serde_json::value::RawValue>,
}

/// Runs `keytrail verify`.
pub fn run(config: &VerifyConfig) -> Result<Outcome, VerifyError> {
    let (outcome, custody) = check(config)?;
    if let Some(path) = &config.manifest {
        crate::output::write_atomically(path, |w| crate::output::manifest::write(&custody, w))
            .map_err(|e| VerifyError::Write {
                path: path.display().to_string(),
                source: io::Error::other(e.to_string()),
            })?;
    }
    if let Some(path) = &config.report {
        write_report(path, &outcome)?;
    }
    if !config.quiet {
        let _ = summary(&mut io::stdout().lock(), &outcome);
    }
    Ok(outcome)
}

/// Reads, hashes and judges every file under the sources, and writes
/// nothing: the verdicts, and the custody of every file read.
pub fn check(config: &VerifyConfig) -> Result<(Outcome, Vec<Custody>), VerifyError> {
    let public_keys = config
        .public_keys
        .as_ref()
        .map(|p| {
            let text = fs::read(p).map_err(|e| option_error("--public-keys", p, e.to_string()))?;
            keys::parse_key_lists(&text).map_err(|e| option_error("--public-keys", p, e))
        })
        .transpose()?;
    let mut signatures = BTreeMap::new();
    if let Some(p) = &config.signatures {
        let text = fs::read(p).map_err(|e| option_error("--signatures", p, e.to_string()))?;
        let map: BTreeMap<String, String> = serde_json::from_slice(&text).map_err(|e| {
            option_error(
                "--signatures",
                p,
                format!("expected a JSON object from digest key to hex signature: {e}"),
            )
        })?;
        for (k, v) in map {
            signatures.insert(logs_key(&k).unwrap_or(&k).to_owned(), v.trim().to_owned());
        }
    }

    let mut found = Vec::new();
    let mut unreadable = Vec::new();
    for root in &config.sources {
        fs::metadata(root).map_err(|source| VerifyError::Source {
            path: root.display().to_string(),
            source,
        })?;
        walk(root, true, &mut found, &mut signatures, &mut unreadable);
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found.dedup_by(|a, b| a.path == b.path);

    let (mut read, mut failed, mut custody) = read_all(found, config.threads.max(1));
    unreadable.append(&mut failed);
    for url in &config.s3_sources {
        let (more, rows) = read_s3(url, &config.s3, &mut signatures, &mut unreadable)?;
        read.extend(more);
        custody.extend(rows);
    }
    let mut outcome = judge(read, &signatures, public_keys.as_deref());
    unreadable.sort();
    outcome.unreadable = unreadable;
    Ok((outcome, custody))
}

fn option_error(flag: &'static str, path: &Path, reason: String) -> VerifyError {
    VerifyError::Option {
        flag,
        path: path.display().to_string(),
        reason,
    }
}

/// Collects log files and digests under `path`, and the sidecar signatures.
///
/// Below a root, symbolic links to folders are not followed (a link to a
/// parent would never end) and FIFOs, sockets and devices are not read
/// (a FIFO would block): both are left alone, as `trace` does.
fn walk(
    path: &Path,
    root: bool,
    found: &mut Vec<Found>,
    signatures: &mut BTreeMap<String, String>,
    unreadable: &mut Vec<Unreadable>,
) {
    let shown = path.display().to_string();
    let linked = !root && fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    let meta = match fs::metadata(path) {
        Ok(m) if (linked && m.is_dir()) || !(m.is_dir() || m.is_file()) => return,
        Ok(m) => m,
        Err(e) => {
            unreadable.push(Unreadable {
                path: shown,
                error: e.to_string(),
            });
            return;
        }
    };
    if meta.is_dir() {
        let entries = match fs::read_dir(path) {
            Ok(rd) => rd,
            Err(e) => {
                unreadable.push(Unreadable {
                    path: shown,
                    error: e.to_string(),
                });
                return;
            }
        };
        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        children.sort();
        for child in children {
            walk(&child, false, found, signatures, unreadable);
        }
        return;
    }
    let slashed = shown.replace('\\', "/");
    let Some(key) = logs_key(&slashed) else {
        return;
    };
    if let Some(digest_key) = key.strip_suffix(".signature") {
        match fs::read_to_string(path) {
            Ok(sig) => {
                signatures
                    .entry(digest_key.to_owned())
                    .or_insert_with(|| sig.trim().to_owned());
            }
            Err(e) => unreadable.push(Unreadable {
                path: shown,
                error: e.to_string(),
            }),
        }
        return;
    }
    let Some(kind) = classify(key) else {
        return;
    };
    found.push(Found {
        path: shown,
        key: key.to_owned(),
        kind,
    });
}

/// A log file or digest by its key from `AWSLogs/` on; `None` for anything
/// else (Insights, sidecars, other files).
fn classify(key: &str) -> Option<Kind> {
    if !(key.ends_with(".json.gz") || key.ends_with(".json")) {
        return None;
    }
    let segments: Vec<&str> = key.split('/').collect();
    if segments.contains(&"CloudTrail-Digest") {
        Some(Kind::Digest)
    } else if segments.contains(&"CloudTrail") {
        Some(Kind::Log)
    } else {
        None
    }
}

/// Lists, reads and hashes the objects under one S3 source, taking each
/// digest's signature from its `x-amz-meta-signature` unless one was given.
fn read_s3(
    url: &S3Url,
    options: &S3Options,
    signatures: &mut BTreeMap<String, String>,
    unreadable: &mut Vec<Unreadable>,
) -> Result<(Vec<Hashed>, Vec<Custody>), VerifyError> {
    let shown = format!("s3://{}/{}", url.bucket, url.prefix);
    let fatal = |e: crate::source::ListError| VerifyError::S3 {
        source_name: shown.clone(),
        reason: e.0,
    };
    let store = S3Store::connect(url, options).map_err(fatal)?;
    let listing = store.list_all(&url.prefix).map_err(fatal)?;
    let files: Vec<(String, String, Kind)> = listing
        .files
        .into_iter()
        .filter_map(|e| {
            let key = logs_key(&e.rel)?.to_owned();
            let kind = classify(&key)?;
            Some((e.rel, key, kind))
        })
        .collect();
    let mut metas = BTreeMap::new();
    for (rel, key, kind) in &files {
        if *kind != Kind::Digest {
            continue;
        }
        match store.head(rel) {
            Ok(meta) => {
                if let Some(sig) = meta.user.get("signature") {
                    signatures
                        .entry(key.clone())
                        .or_insert_with(|| sig.trim().to_owned());
                }
                metas.insert(rel.clone(), meta);
            }
            Err(e) => unreadable.push(Unreadable {
                path: store.display(rel),
                error: e.0,
            }),
        }
    }
    let mut read = Vec::new();
    let mut custody = Vec::new();
    let rels = Box::new(files.iter().map(|(rel, _, _)| rel.clone()));
    for ((rel, key, kind), body) in files.iter().zip(store.open_all(rels)) {
        let found = Found {
            path: store.display(rel),
            key: key.clone(),
            kind: *kind,
        };
        let meta = metas.remove(rel).unwrap_or_default();
        let mut row = Custody {
            source: found.path.clone(),
            s3_etag: meta.etag,
            s3_version_id: meta.version_id,
            read_at: crate::time::Timestamp::now().to_string(),
            ..Custody::default()
        };
        let mut stored = Vec::new();
        let r = match body
            .map_err(|e| e.0)
            .and_then(|mut b| b.read_to_end(&mut stored).map_err(|e| e.to_string()))
        {
            Ok(_) => hash_stored(&found, &stored, &mut row),
            Err(error) => Err(Unreadable {
                path: found.path.clone(),
                error,
            }),
        };
        custody.push(row);
        match r {
            Ok(h) => read.push(h),
            Err(u) => unreadable.push(u),
        }
    }
    Ok((read, custody))
}

/// Reads and hashes every file on `threads` threads; the order is kept.
fn read_all(found: Vec<Found>, threads: usize) -> (Vec<Hashed>, Vec<Unreadable>, Vec<Custody>) {
    let chunk = found.len().div_ceil(threads).max(1);
    let results: Vec<Vec<(Result<Hashed, Unreadable>, Custody)>> = std::thread::scope(|s| {
        let handles: Vec<_> = found
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(read_one).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut read = Vec::new();
    let mut failed = Vec::new();
    let mut custody = Vec::new();
    for (r, c) in results.into_iter().flatten() {
        custody.push(c);
        match r {
            Ok(r) => read.push(r),
            Err(u) => failed.push(u),
        }
    }
    (read, failed, custody)
}

/// Reads one file, inflates it if it is gzip (by its magic bytes), hashes
/// the content and, for a digest, parses it.
fn read_one(found: &Found) -> (Result<Hashed, Unreadable>, Custody) {
    let mut custody = Custody {
        source: found.path.clone(),
        read_at: crate::time::Timestamp::now().to_string(),
        ..Custody::default()
    };
    let r = read_hashed(found, &mut custody);
    (r, custody)
}

fn read_hashed(found: &Found, custody: &mut Custody) -> Result<Hashed, Unreadable> {
    let fail = |error: String| Unreadable {
        path: found.path.clone(),
        error,
    };
    let stored = fs::read(&found.path).map_err(|e| fail(e.to_string()))?;
    hash_stored(found, &stored, custody)
}

/// Hashes one file's bytes and, for a digest, parses it.
fn hash_stored(found: &Found, stored: &[u8], custody: &mut Custody) -> Result<Hashed, Unreadable> {
    let fail = |error: String| Unreadable {
        path: found.path.clone(),
        error,
    };
    custody.size = stored.len() as u64;
    let content = inflate(stored).map_err(|e| fail(format!("cannot inflate: {e}")))?;
    let sha256 = hex(&Sha256::digest(&content));
    custody.sha256_stored = Some(hex(&Sha256::digest(stored)));
    custody.sha256_content = Some(sha256.clone());
    let digest = match found.kind {
        Kind::Digest => Some(Digest::parse(&content).map_err(fail)?),
        Kind::Log => {
            custody.records = serde_json::from_slice::<RecordCount>(&content)
                .ok()
                .map(|c| c.records.len() as u64);
            None
        }
    };
    Ok(Hashed {
        found: found.clone(),
        sha256,
        digest,
    })
}

/// The uncompressed content: gzip is told by its magic bytes, not its name.
pub fn inflate(stored: &[u8]) -> io::Result<Vec<u8>> {
    if stored.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(stored.len() * 8);
        MultiGzDecoder::new(stored).read_to_end(&mut out)?;
        Ok(out)
    } else {
        Ok(stored.to_vec())
    }
}

/// Judges every file. No I/O.
fn judge(
    read: Vec<Hashed>,
    signatures: &BTreeMap<String, String>,
    public_keys: Option<&[PublicKey]>,
) -> Outcome {
    let digests: BTreeMap<&str, &Hashed> = read
        .iter()
        .filter(|r| r.digest.is_some())
        .map(|r| (r.found.key.as_str(), r))
        .collect();
    let logs: BTreeMap<&str, &Hashed> = read
        .iter()
        .filter(|r| r.found.kind == Kind::Log)
        .map(|r| (r.found.key.as_str(), r))
        .collect();

    // What each digest's successor says its signature is.
    let mut from_successor: BTreeMap<&str, &str> = BTreeMap::new();
    for r in digests.values() {
        if let Some(d) = &r.digest
            && let (Some(prev), Some(sig)) =
                (&d.previous_digest_s3_object, &d.previous_digest_signature)
        {
            from_successor.insert(logs_key(prev).unwrap_or(prev), sig);
        }
    }

    let mut verdicts: BTreeMap<String, FileVerdict> = BTreeMap::new();
    let mut set = |path: &str, kind: Kind, verdict: Verdict, detail: String| {
        let entry = verdicts.entry(path.to_owned()).or_insert(FileVerdict {
            path: path.to_owned(),
            kind,
            verdict: Verdict::Valid,
            detail: String::new(),
        });
        if verdict.rank() > entry.verdict.rank() {
            entry.verdict = verdict;
            entry.detail = detail;
        }
    };

    let mut covered: BTreeSet<&str> = BTreeSet::new();
    for (key, r) in &digests {
        let Some(d) = &r.digest else { continue };
        let path = r.found.path.as_str();
        set(path, Kind::Digest, Verdict::Valid, String::new());

        // The signature, and whether its sources agree.
        let given = signatures.get(*key).map(String::as_str);
        let next = from_successor.get(key).copied();
        if let (Some(g), Some(n)) = (given, next)
            && !g.eq_ignore_ascii_case(n)
        {
            set(
                path,
                Kind::Digest,
                Verdict::ChainBroken,
                "the next digest's previousDigestSignature disagrees with its captured signature"
                    .to_owned(),
            );
        }
        match (given.or(next), public_keys) {
            (None, _) => set(
                path,
                Kind::Digest,
                Verdict::Unsigned,
                "unsigned (signature not captured)".to_owned(),
            ),
            (Some(_), None) => set(
                path,
                Kind::Digest,
                Verdict::NotChecked,
                "signature not checked: no --public-keys".to_owned(),
            ),
            (Some(sig), Some(pks)) => {
                let at = keys::parse_time(&d.digest_end_time);
                match keys::find(pks, &d.digest_public_key_fingerprint, at) {
                    None => set(
                        path,
                        Kind::Digest,
                        Verdict::NotChecked,
                        format!(
                            "signature not checked: no public key {} valid at {}",
                            d.digest_public_key_fingerprint, d.digest_end_time
                        ),
                    ),
                    Some(pk) => {
                        let message = d.string_to_sign(&r.sha256);
                        let ok = unhex(sig)
                            .is_some_and(|sig| keys::verifies(pk, message.as_bytes(), &sig));
                        if !ok {
                            set(
                                path,
                                Kind::Digest,
                                Verdict::DigestInvalid,
                                "the signature does not verify".to_owned(),
                            );
                        }
                    }
                }
            }
        }

        // The link to the digest before it.
        if let Some(prev) = &d.previous_digest_s3_object {
            let prev_key = logs_key(prev).unwrap_or(prev);
            match digests.get(prev_key) {
                None => set(
                    prev,
                    Kind::Digest,
                    Verdict::ChainBroken,
                    format!("digest missing from the chain (named by {path})"),
                ),
                Some(p) => {
                    if let Some(h) = &d.previous_digest_hash_value
                        && !h.eq_ignore_ascii_case(&p.sha256)
                    {
                        set(
                            path,
                            Kind::Digest,
                            Verdict::ChainBroken,
                            format!("previousDigestHashValue differs from {}", p.found.path),
                        );
                    }
                }
            }
        }

        // The log files it lists.
        for lf in &d.log_files {
            let lkey = logs_key(&lf.s3_object).unwrap_or(&lf.s3_object);
            match logs.get(lkey) {
                None => set(
                    &lf.s3_object,
                    Kind::Log,
                    Verdict::Missing,
                    format!("listed in {path}, absent from the source"),
                ),
                Some(l) => {
                    covered.insert(lkey);
                    if l.sha256.eq_ignore_ascii_case(&lf.hash_value) {
                        set(&l.found.path, Kind::Log, Verdict::Valid, String::new());
                    } else {
                        set(
                            &l.found.path,
                            Kind::Log,
                            Verdict::Altered,
                            format!(
                                "SHA-256 {} differs from {} in {path}",
                                l.sha256, lf.hash_value
                            ),
                        );
                    }
                }
            }
        }
    }
    for (key, l) in &logs {
        if !covered.contains(key) {
            set(
                &l.found.path,
                Kind::Log,
                Verdict::NotCovered,
                "no digest lists it".to_owned(),
            );
        }
    }
    Outcome {
        files: verdicts.into_values().collect(),
        unreadable: Vec::new(),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    counts: BTreeMap<&'static str, usize>,
    not_valid: Vec<&'a FileVerdict>,
    unreadable: &'a [Unreadable],
}

/// Writes the JSON report: the counts, every file not valid, and every file
/// that could not be read.
fn write_report(path: &Path, outcome: &Outcome) -> Result<(), VerifyError> {
    let report = Report {
        counts: outcome.counts(),
        not_valid: outcome
            .files
            .iter()
            .filter(|f| f.verdict != Verdict::Valid)
            .collect(),
        unreadable: &outcome.unreadable,
    };
    let write = || -> io::Result<()> {
        let mut out = io::BufWriter::new(fs::File::create(path)?);
        serde_json::to_writer_pretty(&mut out, &report)?;
        out.write_all(b"\n")?;
        out.flush()
    };
    write().map_err(|source| VerifyError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// The terminal summary: the counts, then every file that is not valid.
pub fn summary(out: &mut impl Write, outcome: &Outcome) -> io::Result<()> {
    let counts = outcome.counts();
    let shown: Vec<String> = counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(v, n)| format!("{n} {v}"))
        .collect();
    writeln!(
        out,
        "verify: {} files: {}",
        outcome.files.len(),
        if shown.is_empty() {
            "none found".to_owned()
        } else {
            shown.join(", ")
        }
    )?;
    for f in outcome.files.iter().filter(|f| f.verdict != Verdict::Valid) {
        // Paths and details can come from a digest's own text: sanitized.
        writeln!(
            out,
            "  {:<14} {}  ({})",
            f.verdict.name(),
            terminal(&f.path),
            terminal(&f.detail)
        )?;
    }
    for u in &outcome.unreadable {
        writeln!(
            out,
            "  {:<14} {}  ({})",
            "unreadable",
            terminal(&u.path),
            terminal(&u.error)
        )?;
    }
    if outcome.integrity_failed() {
        writeln!(
            out,
            "INTEGRITY FAILURE: some evidence was altered, removed or added after CloudTrail delivered it"
        )?;
    }
    Ok(())
}
