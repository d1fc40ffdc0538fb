//! `keytrail acquire`: copies a trail from S3 to disk for offline work,
//! keeping what `aws s3 sync` loses: each digest's signature, which lives in
//! the object metadata `x-amz-meta-signature`, goes into a sidecar
//! `DIGEST.signature` that `keytrail verify` reads (issue 16).
//!
//! `--since/--until` copy only what the window needs, pruned by the delivery
//! layout exactly as `trace` prunes ([`layout::span_of`]): a log file is
//! copied when its day folder (or delivery stamp) can hold events of the
//! window, a digest when its day folder lies in `day(since) − 1 ..=
//! day(until + margin)` (the day before holds the chain's first link), and
//! anything outside the layout in full.
//!
//! A file already on disk is skipped only when its size is the listed size
//! and the ETag recorded for it in the existing manifest is the object's
//! current ETag; otherwise it is copied again, atomically. So an
//! interrupted copy resumes, and an object overwritten in the bucket (even
//! with the same size) is fetched again. Every object copied is hashed and
//! written, with its ETag, to the custody manifest `keytrail-manifest.csv`
//! in the target folder; rows of files skipped are carried over.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::inputs::Custody;
use crate::output::{self, manifest};
use crate::source::layout::span_of;
use crate::source::s3::{S3Options, S3Store, S3Url};
use crate::source::{Entry, ObjectMeta, Store};
use crate::time::{Span, Timestamp};
use crate::verify::{digest::hex, inflate};

/// The manifest's name in the target folder.
pub const MANIFEST: &str = "keytrail-manifest.csv";

/// What `keytrail acquire` was asked to do.
#[derive(Clone, Debug)]
pub struct AcquireConfig {
    /// The bucket and prefix.
    pub source: S3Url,
    /// The target folder.
    pub dir: PathBuf,
    /// How to reach S3.
    pub s3: S3Options,
    /// `-q`.
    pub quiet: bool,
    /// `--since/--until`: the events wanted ([`Span::ALL`] without them).
    pub window: Span,
    /// `--delivery-margin`: how late CloudTrail may deliver a file.
    pub margin: Duration,
}

/// What a copy did.
#[derive(Clone, Debug, Default)]
pub struct Acquired {
    /// Objects copied.
    pub copied: u64,
    /// Objects already on disk with the listed size and recorded ETag.
    pub skipped: u64,
    /// Objects left out because the window does not need them.
    pub outside: u64,
    /// Digest signatures captured into sidecars.
    pub signatures: u64,
    /// Objects that could not be copied, with why.
    pub failed: Vec<(String, String)>,
}

/// Copies the trail.
pub fn run(config: &AcquireConfig) -> Result<Acquired> {
    let store = S3Store::connect(&config.source, &config.s3).map_err(|e| Error::Source {
        source_name: format!("s3://{}/{}", config.source.bucket, config.source.prefix),
        reason: e.0,
    })?;
    let listing = store
        .list_all(&config.source.prefix)
        .map_err(|e| Error::Source {
            source_name: format!("s3://{}/{}", config.source.bucket, config.source.prefix),
            reason: e.0,
        })?;
    let mut done = Acquired::default();
    let manifest_path = config.dir.join(MANIFEST);
    let mut previous = read_manifest(&manifest_path);
    let (wanted, outside): (Vec<Entry>, Vec<Entry>) = listing
        .files
        .into_iter()
        .partition(|e| needed(&e.rel, config.window, config.margin));
    done.outside = outside.len() as u64;
    let mut rows = Vec::new();
    let mut todo = Vec::new();
    for entry in wanted {
        let shown = store.display(&entry.rel);
        let old = previous.remove(&shown);
        let meta = match store.head(&entry.rel) {
            Ok(meta) => meta,
            Err(e) => {
                done.failed.push((shown, e.0));
                continue;
            }
        };
        let on_disk = fs::metadata(target(&config.dir, &entry.rel)).ok();
        let same = on_disk.is_some_and(|m| m.is_file() && m.len() == entry.size)
            && old.as_ref().is_some_and(|row| {
                row.size == entry.size && row.s3_etag.is_some() && row.s3_etag == meta.etag
            });
        if same {
            done.skipped += 1;
            rows.extend(old);
        } else {
            todo.push((entry, shown, meta));
        }
    }
    let rels = Box::new(todo.iter().map(|(e, _, _)| e.rel.clone()));
    for ((entry, shown, meta), body) in todo.iter().zip(store.open_all(rels)) {
        let result = body
            .map_err(|e| e.0)
            .and_then(|body| copy(entry, body, &config.dir, meta).map_err(|e| e.to_string()));
        match result {
            Ok((row, signed)) => {
                done.copied += 1;
                done.signatures += u64::from(signed);
                rows.push(Custody {
                    source: shown.clone(),
                    ..row
                });
            }
            Err(e) => done.failed.push((shown.clone(), e)),
        }
    }
    // Rows of earlier runs for objects not selected this time stay: their
    // files are still on disk.
    let mut kept: Vec<Custody> = previous.into_values().collect();
    kept.sort_by(|a, b| a.source.cmp(&b.source));
    rows.extend(kept);
    fs::create_dir_all(&config.dir).map_err(|source| Error::Output {
        path: config.dir.clone(),
        source,
    })?;
    output::write_atomically(&manifest_path, |w| manifest::write(&rows, w))?;
    if !config.quiet {
        let mut out = io::stdout().lock();
        let _ = writeln!(
            out,
            "acquire: {} copied, {} already present, {} outside the window, {} digest signature(s) captured, {} failed",
            done.copied,
            done.skipped,
            done.outside,
            done.signatures,
            done.failed.len()
        );
    }
    for (source, reason) in &done.failed {
        output::message(&format!("not copied: {source}: {reason}"));
    }
    Ok(done)
}

/// Where an object goes on disk.
fn target(dir: &Path, rel: &str) -> PathBuf {
    dir.join(rel)
}

/// Whether the window needs the object at `rel`: the same pruning by
/// delivery folder as `trace`, plus the digests of those days and of the day
/// before. Anything outside the layout is needed.
fn needed(rel: &str, window: Span, margin: Duration) -> bool {
    if window == Span::ALL {
        return true;
    }
    let parts: Vec<&str> = rel.split('/').collect();
    if let Some(at) = parts.iter().rposition(|p| *p == "CloudTrail-Digest") {
        // Read the digest's day folder through the log layout.
        let mut as_log = parts.clone();
        as_log[at] = "CloudTrail";
        let span = span_of(&as_log.join("/"), Duration::ZERO);
        if span == Span::ALL {
            return true;
        }
        let Some(day) = span.start.date() else {
            return true;
        };
        let first = window.start.date().and_then(|d| d.pred_opt());
        let last = window.end.plus(margin).date();
        return first.is_none_or(|f| day >= f) && last.is_none_or(|l| day <= l);
    }
    span_of(rel, margin).overlaps(&window)
}

/// The rows of the manifest an earlier run left, by source. A manifest that
/// is missing or unreadable gives none, so every file is copied again.
fn read_manifest(path: &Path) -> HashMap<String, Custody> {
    let mut rows = HashMap::new();
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        return rows;
    };
    let text =
        |r: &csv::StringRecord, i: usize| r.get(i).filter(|s| !s.is_empty()).map(str::to_owned);
    for record in reader.records() {
        let Ok(r) = record else {
            return HashMap::new();
        };
        let (Some(source), Some(Ok(size))) = (text(&r, 0), r.get(1).map(str::parse::<u64>)) else {
            continue;
        };
        rows.insert(
            source.clone(),
            Custody {
                source,
                size,
                s3_etag: text(&r, 2),
                s3_version_id: text(&r, 3),
                sha256_stored: text(&r, 4),
                sha256_content: text(&r, 5),
                records: r.get(6).and_then(|s| s.parse().ok()),
                read_at: text(&r, 7).unwrap_or_default(),
            },
        );
    }
    rows
}

/// Copies one object atomically, and its signature when it is a digest.
fn copy(
    entry: &Entry,
    mut body: crate::source::Body,
    dir: &Path,
    meta: &ObjectMeta,
) -> io::Result<(Custody, bool)> {
    let read_at = Timestamp::now().to_string();
    let mut stored = Vec::with_capacity(entry.size as usize);
    body.read_to_end(&mut stored)?;
    let path = target(dir, &entry.rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut tmp = path.clone().into_os_string();
    tmp.push(".part");
    fs::write(&tmp, &stored)?;
    fs::rename(&tmp, &path)?;
    let content = inflate(&stored).ok();
    let row = Custody {
        size: stored.len() as u64,
        s3_etag: meta.etag.clone(),
        s3_version_id: meta.version_id.clone(),
        sha256_stored: Some(hex(&Sha256::digest(&stored))),
        sha256_content: content.as_ref().map(|c| hex(&Sha256::digest(c))),
        read_at,
        ..Custody::default()
    };
    let mut signed = false;
    if entry.rel.split('/').any(|s| s == "CloudTrail-Digest")
        && let Some(sig) = meta.user.get("signature")
    {
        let mut side = path.into_os_string();
        side.push(".signature");
        let mut tmp = side.clone();
        tmp.push(".part");
        fs::write(&tmp, sig)?;
        fs::rename(&tmp, &side)?;
        signed = true;
    }
    Ok((row, signed))
}
