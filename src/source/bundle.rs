//! zip, tar and tar.gz bundles, read in place.
//!
//! What reaches an analyst is often one archive of the customer's trail. A
//! bundle, recognised by its content (zip's local header magic, `ustar` at
//! offset 257 of a tar, or of the inflated start of a gzip), becomes a
//! [`Store`] of its own whose entries are its members, so the delivery
//! layout is recognised and pruned inside it exactly as in a folder, and
//! every member is a unit of work for the scan's workers like a file.
//!
//! Nothing is unpacked to disk. A zip or plain tar is read where it lies:
//! each member is a range of the bundle, read with positioned reads, so
//! members are read side by side. A tar.gz can only be inflated from its
//! start, so its members are read in archive order in one pass (the scan
//! asks for them in that order; a member asked for again restarts the
//! pass). A bundle that is not a local file (an S3 object, a bundle inside a
//! bundle) is first copied as it is to an unnamed temporary file, deleted
//! when the run ends.
//!
//! Hostile archives are expected: member names are used only as names (a
//! `..`, an absolute path or a link is refused and named), a deflated member
//! may not claim more than deflate's maximum ratio nor inflate past the size
//! its header declares, and its CRC-32 is checked, so a damaged member is
//! `partial` or `skipped` like a damaged file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, PoisonError};

use flate2::Crc;
use flate2::bufread::{DeflateDecoder, MultiGzDecoder};

use super::{Bodies, Body, Entry, ListError, Listing, OpenError, PassedOver, Rels, Store};

/// The kinds of bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A zip archive.
    Zip,
    /// A plain tar archive.
    Tar,
    /// A gzip-compressed tar archive.
    TarGz,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Zip => "zip",
            Kind::Tar => "tar",
            Kind::TarGz => "tar.gz",
        }
    }
}

/// Bytes of a body to look at to recognise a bundle.
pub const SNIFF: usize = 4096;

/// Recognises a bundle from the first bytes of a body.
pub fn sniff(head: &[u8]) -> Option<Kind> {
    let is_tar = |b: &[u8]| b.get(257..262) == Some(b"ustar");
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Kind::Zip);
    }
    if is_tar(head) {
        return Some(Kind::Tar);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut start = Vec::with_capacity(512);
        let _ = MultiGzDecoder::new(head).take(512).read_to_end(&mut start);
        if is_tar(&start) {
            return Some(Kind::TarGz);
        }
    }
    None
}

/// How deep bundles may nest inside bundles.
pub const MAX_NESTING: usize = 3;

/// A deflated member may claim at most this ratio of size to stored size
/// (deflate's own maximum is about 1032:1).
const MAX_RATIO: u64 = 1032;

/// tar.gz members up to this size are read into memory; larger ones are
/// copied to an unnamed temporary file.
const IN_MEMORY: u64 = 16 * 1024 * 1024;

/// A bundle's file, read with positioned reads so members can be read side
/// by side.
#[derive(Clone, Debug)]
struct Shared(Arc<File>);

impl Shared {
    fn read_at(&self, buf: &mut [u8], at: u64) -> io::Result<usize> {
        #[cfg(unix)]
        {
            std::os::unix::fs::FileExt::read_at(&*self.0, buf, at)
        }
        #[cfg(windows)]
        {
            std::os::windows::fs::FileExt::seek_read(&*self.0, buf, at)
        }
    }
}

/// A range of the bundle's file, as a reader.
struct Range {
    file: Shared,
    pos: u64,
    end: u64,
}

impl Read for Range {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the bundle ends inside this member",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Range {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let pos = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.end.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = pos.ok_or_else(|| io::Error::other("seek out of range"))?;
        Ok(self.pos)
    }
}

/// How a member is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    Stored,
    Deflated,
}

/// One member of a bundle.
#[derive(Clone, Debug)]
struct Member {
    /// Its path inside the bundle, `/`-separated, relative.
    name: String,
    /// Where its data starts: in the file (zip, tar), or in the inflated
    /// stream (tar.gz).
    offset: u64,
    /// Its bytes as stored.
    stored: u64,
    /// Its bytes once inflated.
    size: u64,
    method: Method,
    /// Its CRC-32 (zip).
    crc: Option<u32>,
}

/// A bundle, as a store of its members.
#[derive(Debug)]
pub struct BundleStore {
    file: Shared,
    /// The bundle as shown to people: `source_file` of a member is this,
    /// `!/`, and the member's path.
    name: String,
    kind: Kind,
    /// Members, by name.
    members: Vec<Member>,
    /// Members refused when the bundle was indexed.
    refused: Vec<PassedOver>,
    /// A tar.gz's one pass: where it is, and where it broke, if it did.
    pass: Mutex<Option<GzPass>>,
}

/// A pass through a tar.gz.
struct GzPass {
    reader: MultiGzDecoder<io::BufReader<Range>>,
    pos: u64,
}

impl std::fmt::Debug for GzPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GzPass at {}", self.pos)
    }
}

impl BundleStore {
    /// Indexes the bundle in `file`, shown as `name`.
    pub fn open(file: File, kind: Kind, name: String) -> Result<BundleStore, String> {
        let len = file
            .metadata()
            .map_err(|e| format!("cannot read the bundle: {e}"))?
            .len();
        let file = Shared(Arc::new(file));
        let whole = Range {
            file: file.clone(),
            pos: 0,
            end: len,
        };
        let mut refused = Vec::new();
        let found = match kind {
            Kind::Zip => index_zip(whole, &name, &mut refused)?,
            Kind::Tar => index_tar(tar::Archive::new(whole), &name, &mut refused)?,
            Kind::TarGz => {
                let gz = MultiGzDecoder::new(io::BufReader::new(whole));
                index_tar(tar::Archive::new(gz), &name, &mut refused)?
            }
        };
        let mut members: Vec<Member> = Vec::with_capacity(found.len());
        let mut sorted = found;
        sorted.sort_by(|a, b| a.name.cmp(&b.name).then(a.offset.cmp(&b.offset)));
        for m in sorted {
            if members.last().is_some_and(|last| last.name == m.name) {
                refused.push(PassedOver {
                    name: format!("{name}!/{}", m.name),
                    reason: "a second member with the same name in the bundle, not read".into(),
                    failure: true,
                });
                continue;
            }
            members.push(m);
        }
        Ok(BundleStore {
            file,
            name,
            kind,
            members,
            refused,
            pass: Mutex::new(None),
        })
    }

    /// Whether members must be asked for in [`BundleStore::position`] order.
    pub fn sequential(&self) -> bool {
        self.kind == Kind::TarGz
    }

    fn member(&self, rel: &str) -> Option<&Member> {
        self.members
            .binary_search_by(|m| m.name.as_str().cmp(rel))
            .ok()
            .map(|i| &self.members[i])
    }

    /// Where a member sits in the bundle.
    pub fn position(&self, rel: &str) -> u64 {
        self.member(rel).map_or(u64::MAX, |m| m.offset)
    }

    fn open_member(&self, m: &Member) -> Result<Body, OpenError> {
        if self.kind == Kind::TarGz {
            return self.read_sequential(m);
        }
        let range = Range {
            file: self.file.clone(),
            pos: m.offset,
            end: m.offset.saturating_add(m.stored),
        };
        Ok(match m.method {
            Method::Stored => Box::new(Checked::new(range, m.size, m.crc)),
            Method::Deflated => Box::new(Checked::new(
                DeflateDecoder::new(io::BufReader::with_capacity(64 * 1024, range)),
                m.size,
                m.crc,
            )),
        })
    }

    /// Reads a tar.gz member in the one pass, restarting it when the member
    /// is behind it.
    fn read_sequential(&self, m: &Member) -> Result<Body, OpenError> {
        let mut guard = self.pass.lock().unwrap_or_else(PoisonError::into_inner);
        let restart = guard.as_ref().is_none_or(|p| p.pos > m.offset);
        if restart {
            let len = self
                .file
                .0
                .metadata()
                .map(|md| md.len())
                .unwrap_or(u64::MAX);
            *guard = Some(GzPass {
                reader: MultiGzDecoder::new(io::BufReader::new(Range {
                    file: self.file.clone(),
                    pos: 0,
                    end: len,
                })),
                pos: 0,
            });
        }
        let Some(pass) = guard.as_mut() else {
            return Err(OpenError("the bundle could not be read".into()));
        };
        let fail = |e: io::Error| OpenError(format!("the bundle's gzip stream is damaged: {e}"));
        let skip = m.offset - pass.pos;
        let skipped = io::copy(&mut pass.reader.by_ref().take(skip), &mut io::sink());
        let skipped = match skipped {
            Ok(n) => n,
            Err(e) => {
                *guard = None;
                return Err(fail(e));
            }
        };
        pass.pos += skipped;
        if skipped < skip {
            *guard = None;
            return Err(OpenError("the bundle ends before this member".into()));
        }
        let mut member = (&mut pass.reader).take(m.size);
        let body: io::Result<Body> = if m.size <= IN_MEMORY {
            let mut bytes = Vec::with_capacity(usize::try_from(m.size).unwrap_or(0));
            member
                .read_to_end(&mut bytes)
                .map(|_| Box::new(io::Cursor::new(bytes)) as Body)
        } else {
            tempfile::tempfile().and_then(|mut spool| {
                io::copy(&mut member, &mut spool)?;
                spool.seek(SeekFrom::Start(0))?;
                Ok(Box::new(spool) as Body)
            })
        };
        match body {
            Ok(body) => {
                // A short member shows up as a short body; the decoder names it.
                pass.pos += m.size;
                Ok(body)
            }
            Err(e) => {
                *guard = None;
                Err(fail(e))
            }
        }
    }
}

/// A member's bytes, checked against its header: no more than its declared
/// size (a zip bomb stops there), and its CRC-32 when it has one.
struct Checked<R> {
    inner: R,
    size: u64,
    read: u64,
    crc: Option<(u32, Crc)>,
}

impl<R: Read> Checked<R> {
    fn new(inner: R, size: u64, crc: Option<u32>) -> Checked<R> {
        Checked {
            inner,
            size,
            read: 0,
            crc: crc.map(|c| (c, Crc::new())),
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // One byte more than declared is enough to tell a lie.
        let left = usize::try_from(self.size + 1 - self.read).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "member inflates past the {} bytes its header declares",
                    self.size
                ),
            ));
        }
        if let Some((_, crc)) = &mut self.crc {
            crc.update(&buf[..n]);
        }
        if n == 0 {
            if self.read < self.size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("member ends after {} of its {} bytes", self.read, self.size),
                ));
            }
            if let Some((want, crc)) = &self.crc
                && crc.sum() != *want
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "member fails its CRC-32 check",
                ));
            }
        }
        Ok(n)
    }
}

/// A member's name as a relative `/` path, or why it is refused.
fn clean_name(raw: &str) -> Result<Option<String>, &'static str> {
    if raw.contains('\0') {
        return Err("member name holds a NUL byte");
    }
    let raw = raw.replace('\\', "/");
    if raw.starts_with('/') || raw.get(1..3) == Some(":/") {
        return Err("member path is absolute");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("member path climbs out of the bundle (`..`)"),
            p => parts.push(p),
        }
    }
    if parts.is_empty() || raw.ends_with('/') {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

fn refuse(refused: &mut Vec<PassedOver>, bundle: &str, member: &str, reason: &str, failure: bool) {
    refused.push(PassedOver {
        name: format!("{bundle}!/{member}"),
        reason: reason.to_owned(),
        failure,
    });
}

fn index_zip(
    whole: Range,
    bundle: &str,
    refused: &mut Vec<PassedOver>,
) -> Result<Vec<Member>, String> {
    let mut zip =
        zip::ZipArchive::new(whole).map_err(|e| format!("not a readable zip archive: {e}"))?;
    let mut members = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let f = match zip.by_index_raw(i) {
            Ok(f) => f,
            Err(e) => {
                refuse(
                    refused,
                    bundle,
                    &format!("#{i}"),
                    &format!("member header unreadable: {e}"),
                    true,
                );
                continue;
            }
        };
        let raw = f.name().to_owned();
        let name = match clean_name(&raw) {
            Ok(Some(n)) if !f.is_dir() => n,
            Ok(_) => continue,
            Err(why) => {
                refuse(refused, bundle, &raw, &format!("{why}, not read"), true);
                continue;
            }
        };
        if f.is_symlink() {
            refuse(
                refused,
                bundle,
                &name,
                "symbolic link in the bundle, not followed",
                false,
            );
            continue;
        }
        if f.encrypted() {
            refuse(refused, bundle, &name, "encrypted member, not read", true);
            continue;
        }
        let method = match f.compression() {
            zip::CompressionMethod::Stored => Method::Stored,
            m if m == zip::CompressionMethod::DEFLATE => Method::Deflated,
            m => {
                refuse(
                    refused,
                    bundle,
                    &name,
                    &format!("compression method {m} is not supported (stored and deflate are)"),
                    true,
                );
                continue;
            }
        };
        let (stored, size) = (f.compressed_size(), f.size());
        if method == Method::Deflated
            && size > stored.saturating_mul(MAX_RATIO).saturating_add(1024)
        {
            refuse(
                refused,
                bundle,
                &name,
                &format!(
                    "declares {size} bytes from {stored}, past deflate's maximum ratio (zip bomb guard), not read"
                ),
                true,
            );
            continue;
        }
        members.push(Member {
            name,
            offset: f.data_start(),
            stored,
            size,
            method,
            crc: Some(f.crc32()),
        });
    }
    Ok(members)
}

fn index_tar<R: Read>(
    mut archive: tar::Archive<R>,
    bundle: &str,
    refused: &mut Vec<PassedOver>,
) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("not a readable tar archive: {e}"))?;
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                refused.push(PassedOver {
                    name: bundle.to_owned(),
                    reason: format!(
                        "bundle damaged after {} member(s); the rest is lost: {e}",
                        members.len()
                    ),
                    failure: true,
                });
                break;
            }
        };
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let kind = entry.header().entry_type();
        let name = match clean_name(&raw) {
            Ok(Some(n)) if !kind.is_dir() => n,
            Ok(_) => continue,
            Err(why) => {
                refuse(refused, bundle, &raw, &format!("{why}, not read"), true);
                continue;
            }
        };
        if kind.is_symlink() || kind.is_hard_link() {
            refuse(
                refused,
                bundle,
                &name,
                "link in the bundle, not followed",
                false,
            );
            continue;
        }
        if !kind.is_file() && !kind.is_contiguous() {
            if !kind.is_pax_global_extensions() && !kind.is_pax_local_extensions() {
                refuse(
                    refused,
                    bundle,
                    &name,
                    "not a regular file, not read",
                    false,
                );
            }
            continue;
        }
        if kind.is_gnu_sparse() {
            refuse(
                refused,
                bundle,
                &name,
                "sparse file in the bundle, not read",
                true,
            );
            continue;
        }
        let size = entry.size();
        members.push(Member {
            name,
            offset: entry.raw_file_position(),
            stored: size,
            size,
            method: Method::Stored,
            crc: None,
        });
    }
    Ok(members)
}

impl Store for BundleStore {
    fn display(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.name.clone()
        } else {
            format!("{}!/{rel}", self.name)
        }
    }

    fn list_dir(&self, dir: &str) -> Result<Listing, ListError> {
        let mut listing = Listing::default();
        if dir.is_empty() {
            listing.passed_over = self.refused.clone();
        }
        let from = self.members.partition_point(|m| m.name.as_str() < dir);
        for m in self.members[from..]
            .iter()
            .take_while(|m| m.name.starts_with(dir))
        {
            let rest = &m.name[dir.len()..];
            match rest.find('/') {
                Some(i) => {
                    let sub = format!("{dir}{}", &rest[..=i]);
                    if listing.dirs.last() != Some(&sub) {
                        listing.dirs.push(sub);
                    }
                }
                None => listing.files.push(Entry {
                    rel: m.name.clone(),
                    size: m.stored,
                }),
            }
        }
        Ok(listing)
    }

    fn list_all(&self, dir: &str) -> Result<Listing, ListError> {
        let from = self.members.partition_point(|m| m.name.as_str() < dir);
        Ok(Listing {
            files: self.members[from..]
                .iter()
                .take_while(|m| m.name.starts_with(dir))
                .map(|m| Entry {
                    rel: m.name.clone(),
                    size: m.stored,
                })
                .collect(),
            passed_over: if dir.is_empty() {
                self.refused.clone()
            } else {
                Vec::new()
            },
            dirs: Vec::new(),
        })
    }

    fn open_all<'a>(&'a self, rels: Rels<'a>) -> Bodies<'a> {
        Box::new(rels.map(move |rel| match self.member(&rel) {
            Some(m) => self.open_member(m),
            None => Err(OpenError(format!(
                "no member {rel} in the {} bundle",
                self.kind.name()
            ))),
        }))
    }

    fn order(&self, rel: &str) -> Option<u64> {
        self.sequential().then(|| self.position(rel))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(members: &[(&str, &[u8], bool)]) -> File {
        let mut spool = tempfile::tempfile().unwrap();
        {
            let mut w = zip::ZipWriter::new(&mut spool);
            for (name, data, _) in members {
                let opts = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Stored);
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        spool
    }

    fn read_all(store: &BundleStore, rel: &str) -> io::Result<Vec<u8>> {
        let mut body = store
            .open_all(Box::new(std::iter::once(rel.to_owned())))
            .next()
            .unwrap()
            .map_err(|e| io::Error::other(e.0))?;
        let mut out = Vec::new();
        body.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn names_are_cleaned_or_refused() {
        assert_eq!(clean_name("./a//b.json"), Ok(Some("a/b.json".into())));
        assert_eq!(clean_name("a\\b.json"), Ok(Some("a/b.json".into())));
        assert_eq!(clean_name("dir/"), Ok(None));
        assert!(clean_name("../etc/passwd").is_err());
        assert!(clean_name("a/../../b").is_err());
        assert!(clean_name("/abs").is_err());
        assert!(clean_name("C:/x").is_err());
    }

    #[test]
    fn sniffs_by_content() {
        let mut zip = zip_of(&[("a.json", b"[]", false)]);
        let mut head = Vec::new();
        zip.seek(SeekFrom::Start(0)).unwrap();
        zip.read_to_end(&mut head).unwrap();
        assert_eq!(sniff(&head), Some(Kind::Zip));
        let mut tar = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(2);
        h.set_cksum();
        tar.append_data(&mut h, "a.json", &b"[]"[..]).unwrap();
        let tar = tar.into_inner().unwrap();
        assert_eq!(sniff(&tar), Some(Kind::Tar));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        assert_eq!(sniff(&gz.finish().unwrap()), Some(Kind::TarGz));
        assert_eq!(sniff(br#"{"Records":[]}"#), None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(br#"{"Records":[]}"#).unwrap();
        assert_eq!(sniff(&gz.finish().unwrap()), None);
    }

    #[test]
    fn zip_members_are_listed_read_and_checked() {
        let file = zip_of(&[
            ("AWSLogs/111111111111/x.json", b"[1]", false),
            ("b.json", b"[2]", false),
            ("../evil.json", b"[3]", false),
        ]);
        let store = BundleStore::open(file, Kind::Zip, "case.zip".into()).unwrap();
        let top = store.list_dir("").unwrap();
        assert_eq!(top.dirs, ["AWSLogs/"]);
        assert_eq!(top.files.len(), 1);
        assert_eq!(top.passed_over.len(), 1);
        assert!(top.passed_over[0].reason.contains(".."));
        assert_eq!(
            store.list_dir("AWSLogs/").unwrap().dirs,
            ["AWSLogs/111111111111/"]
        );
        assert_eq!(store.list_all("").unwrap().files.len(), 2);
        assert_eq!(read_all(&store, "b.json").unwrap(), b"[2]");
        assert_eq!(store.display("b.json"), "case.zip!/b.json");
        // A flipped byte in a stored member fails its CRC.
        let mut bytes = Vec::new();
        let mut f = zip_of(&[("b.json", b"[2222]", false)]);
        f.seek(SeekFrom::Start(0)).unwrap();
        f.read_to_end(&mut bytes).unwrap();
        let at = bytes.windows(6).position(|w| w == b"[2222]").unwrap();
        bytes[at + 1] = b'3';
        let mut damaged = tempfile::tempfile().unwrap();
        damaged.write_all(&bytes).unwrap();
        let store = BundleStore::open(damaged, Kind::Zip, "d.zip".into()).unwrap();
        let err = read_all(&store, "b.json").unwrap_err();
        assert!(err.to_string().contains("CRC"), "{err}");
    }

    /// A deflated zip whose sizes are rewritten to `size` in both headers.
    fn deflated_claiming(data: &[u8], size: u32) -> File {
        let mut bytes = Vec::new();
        {
            let mut w = zip::ZipWriter::new(io::Cursor::new(&mut bytes));
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::DEFLATE);
            // Without a deflate feature the writer cannot deflate; store the
            // raw deflate stream and mark it deflated by hand.
            let _ = opts;
            let stored = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            let mut deflated =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
            deflated.write_all(data).unwrap();
            let deflated = deflated.finish().unwrap();
            w.start_file("a.json", stored).unwrap();
            w.write_all(&deflated).unwrap();
            w.finish().unwrap();
        }
        let crc = {
            let mut c = Crc::new();
            c.update(data);
            c.sum()
        };
        // Local header: method at 8, CRC at 14, size at 22; central: 10, 16, 24.
        for (sig, method, crc_at, size_at) in
            [(&b"PK\x03\x04"[..], 8, 14, 22), (b"PK\x01\x02", 10, 16, 24)]
        {
            let at = bytes.windows(4).position(|w| w == sig).unwrap();
            bytes[at + method..at + method + 2].copy_from_slice(&8u16.to_le_bytes());
            bytes[at + crc_at..at + crc_at + 4].copy_from_slice(&crc.to_le_bytes());
            bytes[at + size_at..at + size_at + 4].copy_from_slice(&size.to_le_bytes());
        }
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        file
    }

    #[test]
    fn deflated_members_are_held_to_their_headers() {
        let data = br#"{"Records":[{"eventID":"x"}]}"#.repeat(50);
        let honest = deflated_claiming(&data, data.len() as u32);
        let store = BundleStore::open(honest, Kind::Zip, "z".into()).unwrap();
        assert_eq!(read_all(&store, "a.json").unwrap(), data);
        // Claims less than it inflates to: stopped there.
        let short = deflated_claiming(&data, 10);
        let store = BundleStore::open(short, Kind::Zip, "z".into()).unwrap();
        let err = read_all(&store, "a.json").unwrap_err();
        assert!(err.to_string().contains("past the 10 bytes"), "{err}");
        // Claims more than deflate could give: refused before reading.
        let bomb = deflated_claiming(&data, 0x7fff_ffff);
        let store = BundleStore::open(bomb, Kind::Zip, "z".into()).unwrap();
        let listing = store.list_all("").unwrap();
        assert!(listing.files.is_empty());
        assert!(
            listing.passed_over[0].reason.contains("zip bomb"),
            "{:?}",
            listing.passed_over
        );
    }

    #[test]
    fn tar_gz_members_in_any_order() {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("z.json", &b"[1]"[..]),
            ("a/y.json", b"[22]"),
            ("x.json", b"[333]"),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_cksum();
            tar.append_data(&mut h, name, data).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        for (kind, bytes) in [
            (Kind::Tar, tar.clone()),
            (Kind::TarGz, gz.finish().unwrap()),
        ] {
            let mut file = tempfile::tempfile().unwrap();
            file.write_all(&bytes).unwrap();
            let store = BundleStore::open(file, kind, "t".into()).unwrap();
            assert_eq!(store.sequential(), kind == Kind::TarGz);
            assert!(store.position("z.json") < store.position("x.json"));
            for (rel, want) in [
                ("x.json", &b"[333]"[..]),
                ("z.json", b"[1]"),
                ("a/y.json", b"[22]"),
            ] {
                assert_eq!(read_all(&store, rel).unwrap(), want, "{kind:?} {rel}");
            }
            assert!(read_all(&store, "nope").is_err());
        }
    }
}
