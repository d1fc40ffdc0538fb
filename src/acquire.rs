//! `keytrail acquire`: copies a trail from S3 to disk for offline work,
//! keeping what `aws s3 sync` loses: each digest's signature, which lives in
//! the object metadata `x-amz-meta-signature`, goes into a sidecar
//! `DIGEST.signature` that `keytrail verify` reads (issue 16).
//!
//! Files already on disk with the listed size are skipped, so an interrupted
//! copy resumes. Every object copied is hashed and written to the custody
//! manifest `keytrail-manifest.csv` in the target folder.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::inputs::Custody;
use crate::output::{self, manifest};
use crate::source::s3::{S3Options, S3Store, S3Url};
use crate::source::{Entry, Store};
use crate::time::Timestamp;
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
}

/// What a copy did.
#[derive(Clone, Debug, Default)]
pub struct Acquired {
    /// Objects copied.
    pub copied: u64,
    /// Objects already on disk with the listed size.
    pub skipped: u64,
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
    let mut rows = Vec::new();
    let (todo, present): (Vec<Entry>, Vec<Entry>) = listing.files.into_iter().partition(|e| {
        fs::metadata(target(&config.dir, &e.rel)).map_or(true, |m| m.len() != e.size)
    });
    done.skipped = present.len() as u64;
    let rels = Box::new(todo.iter().map(|e| e.rel.clone()));
    for (entry, body) in todo.iter().zip(store.open_all(rels)) {
        let shown = store.display(&entry.rel);
        let result = body
            .map_err(|e| e.0)
            .and_then(|body| copy(&store, entry, body, &config.dir).map_err(|e| e.to_string()));
        match result {
            Ok((row, signed)) => {
                done.copied += 1;
                done.signatures += u64::from(signed);
                rows.push(Custody {
                    source: shown,
                    ..row
                });
            }
            Err(e) => done.failed.push((shown, e)),
        }
    }
    fs::create_dir_all(&config.dir).map_err(|source| Error::Output {
        path: config.dir.clone(),
        source,
    })?;
    output::write_atomically(&config.dir.join(MANIFEST), |w| manifest::write(&rows, w))?;
    if !config.quiet {
        let mut out = io::stdout().lock();
        let _ = writeln!(
            out,
            "acquire: {} copied, {} already present, {} digest signature(s) captured, {} failed",
            done.copied,
            done.skipped,
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

/// Copies one object, and its signature when it is a digest.
fn copy(
    store: &S3Store,
    entry: &Entry,
    mut body: crate::source::Body,
    dir: &Path,
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
    let mut row = Custody {
        size: stored.len() as u64,
        sha256_stored: Some(hex(&Sha256::digest(&stored))),
        sha256_content: content.as_ref().map(|c| hex(&Sha256::digest(c))),
        read_at,
        ..Custody::default()
    };
    let mut signed = false;
    if entry.rel.split('/').any(|s| s == "CloudTrail-Digest") {
        let meta = store.head(&entry.rel).map_err(|e| io::Error::other(e.0))?;
        row.s3_etag = meta.etag;
        row.s3_version_id = meta.version_id;
        if let Some(sig) = meta.user.get("signature") {
            let mut side = path.into_os_string();
            side.push(".signature");
            fs::write(side, sig)?;
            signed = true;
        }
    }
    Ok((row, signed))
}
