//! Bytes of one file or object into the events that can matter.
//!
//! Gzip is recognised by its magic bytes, never by name or headers, and
//! concatenated members are read in full. The decompressed stream is split
//! into records without parsing ([`split`](mod@split)); a record is parsed
//! only when the caller's prefilter says it may mention a lineage key. Damage
//! never loses what came before it: the outcome says how far the file could
//! be read.

pub mod ocsf;
mod opening;
pub mod record;
pub mod split;
pub mod unwrap;

use std::io::{self, BufReader, Read};
use std::sync::Arc;

use flate2::bufread::MultiGzDecoder;
use memchr::memmem;
use sha2::{Digest as _, Sha256};

use crate::event::Event;
use crate::inputs::Format;
use split::{Piece, SplitError, split, split_slice};
use unwrap::{ExportLines, Opened, TopLevel};

/// The largest single record accepted (CloudTrail's own limit is far lower).
pub const MAX_RECORD: usize = 64 * 1024 * 1024;

/// Buffers reused across files by one worker: allocating them per file
/// costs page faults on every file.
pub struct Scratch {
    split: Vec<u8>,
    /// The first bytes of a body: all of it, for all but the largest files.
    head: Vec<u8>,
    inflated: Vec<u8>,
    inflater: libdeflater::Decompressor,
    /// Whether to hash each file for the custody manifest (`--manifest`);
    /// off, the read pays nothing for it.
    pub hashing: bool,
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch {
            split: Vec::new(),
            head: Vec::new(),
            inflated: Vec::new(),
            inflater: libdeflater::Decompressor::new(),
            hashing: false,
        }
    }
}

impl Scratch {
    /// Buffers for a worker that hashes every file it reads (`--manifest`).
    pub fn hashing() -> Scratch {
        Scratch {
            hashing: true,
            ..Scratch::default()
        }
    }
}

/// Where decoded events go, and which records are worth parsing.
pub trait Sink {
    /// The prefilter: whether a record's bytes are worth parsing.
    fn wants(&mut self, record: &[u8]) -> bool;
    /// A record that passed the prefilter and parsed.
    fn event(&mut self, event: Event);
}

/// What reading one file produced, besides its events.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Records seen (parsed or not).
    pub records: u64,
    /// Selected records that could not be used, with why.
    pub bad_records: Vec<BadRecord>,
    /// How the file ended.
    pub status: Status,
    /// The earliest and latest event time it holds, when the decoder saw
    /// them all without parsing every record (OCSF's `time` column): the
    /// scan searches it again only for keys whose window meets them.
    pub times: Option<crate::time::Span>,
    /// SHA-256 of the bytes as stored and of the content, computed in the
    /// same pass, when [`Scratch::hashing`] is on and the file was read to
    /// its end.
    pub hashes: Option<Hashes>,
    /// The format recognised, when the file held records.
    pub format: Option<Format>,
    /// CloudWatch Logs `CONTROL_MESSAGE` envelopes passed over by design.
    pub control_messages: u64,
    shape: Option<Shape>,
}

/// What a file's first record showed of its format.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// An element of a `Records`/`Events` array or of a bare array.
    Element { lookup: bool },
    /// A top-level object.
    Line { lookup: bool, siem: bool },
    /// A log event of a CloudWatch Logs envelope.
    Envelope,
}

impl Decoded {
    /// Names the format, from the first record's shape, whether the stream
    /// was a CloudWatch Logs export and its first byte.
    fn recognise(&mut self, export: bool, first: Option<u8>) {
        if self.records == 0 {
            return;
        }
        self.format = self.shape.map(|shape| match shape {
            _ if export => Format::CloudwatchExport,
            Shape::Envelope => Format::CloudwatchSubscription,
            Shape::Line { siem: true, .. } => Format::Siem,
            Shape::Line { lookup: true, .. } | Shape::Element { lookup: true } => {
                Format::LookupEvents
            }
            Shape::Line { .. } => Format::JsonLines,
            Shape::Element { .. } if first == Some(b'[') => Format::Array,
            Shape::Element { .. } => Format::Records,
        });
    }
}

/// The first byte of `data` that is not whitespace.
fn first_byte(data: &[u8]) -> Option<u8> {
    data.iter().copied().find(|b| !b.is_ascii_whitespace())
}

/// A file's two SHA-256 hashes, for the custody manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hashes {
    /// Of the bytes as stored (compressed, for a `.json.gz`).
    pub stored: [u8; 32],
    /// Of the uncompressed content: a digest's `hashValue`.
    pub content: [u8; 32],
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A reader that hashes what passes through it, when asked to.
struct Hashing<R> {
    inner: R,
    sha: Option<Sha256>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(sha) = &mut self.sha {
            sha.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// A record that mentions a lineage key but could not be used.
#[derive(Debug)]
pub struct BadRecord {
    /// Index of the record in its file (0-based).
    pub index: u64,
    /// Why it could not be used.
    pub reason: String,
}

/// How far a file could be read.
#[derive(Debug, Default, PartialEq, Eq)]
pub enum Status {
    /// Read to the end.
    #[default]
    Complete,
    /// Records before the damage were kept; the rest is lost.
    Partial(String),
    /// Nothing usable was read, and evidence may be missing.
    Failed(String),
    /// Nothing to read, by design (a digest file).
    NotEvents(String),
}

/// Reads one body, passing the events the sink wants to it.
pub fn decode(
    mut body: impl Read,
    origin: &Arc<str>,
    sink: &mut dyn Sink,
    scratch: &mut Scratch,
) -> Decoded {
    // Small files (nearly all CloudTrail files) are read whole, straight
    // into a reused buffer, and inflated in one call, which is markedly
    // faster than streaming; anything large, multi-member or damaged is
    // streamed, from the bytes already read.
    let mut head = std::mem::take(&mut scratch.head);
    head.clear();
    let limit = WHOLE_FILE_LIMIT as u64;
    let rest = match body.by_ref().take(limit + 1).read_to_end(&mut head) {
        Ok(_) => Rest::Body(body),
        Err(e) => Rest::Broke(Some(e)),
    };
    if head.starts_with(ocsf::PARQUET_MAGIC) {
        // Parquet's footer is at its end: the whole file is needed. The read
        // buffer goes with it, as polars keeps the bytes it decodes from.
        scratch.head = Vec::new();
        return decode_parquet(head, rest, origin, sink, scratch.hashing);
    }
    let decoded = decode_read(&mut head, rest, origin, sink, scratch);
    scratch.head = head;
    release_if_large(&mut scratch.head);
    decoded
}

/// Parquet files larger than this are not read (Security Lake writes files
/// of tens of megabytes).
const MAX_PARQUET: u64 = 4 * 1024 * 1024 * 1024;

/// Reads the rest of a Parquet body and decodes it as OCSF.
fn decode_parquet(
    mut bytes: Vec<u8>,
    rest: Rest<impl Read>,
    origin: &Arc<str>,
    sink: &mut dyn Sink,
    hashing: bool,
) -> Decoded {
    let read = match rest {
        Rest::Body(body) => body
            .take(MAX_PARQUET.saturating_sub(bytes.len() as u64) + 1)
            .read_to_end(&mut bytes)
            .map(|_| ()),
        Rest::Broke(e) => Err(e.unwrap_or_else(|| io::Error::other("read failed"))),
    };
    let failed = |reason: String| Decoded {
        status: Status::Failed(reason),
        ..Decoded::default()
    };
    if let Err(e) = read {
        return failed(format!(
            "read failed after {} bytes of a Parquet file (its footer, at the end, is needed to read any of it): {e}",
            bytes.len()
        ));
    }
    if bytes.len() as u64 > MAX_PARQUET {
        return failed(format!(
            "Parquet file larger than {MAX_PARQUET} bytes: not read"
        ));
    }
    let hashes = hashing.then(|| {
        let h = sha256(&bytes);
        Hashes {
            stored: h,
            content: h,
        }
    });
    let mut d = ocsf::decode(bytes, origin, sink);
    if d.status == Status::Complete {
        d.hashes = hashes;
    }
    d
}

/// Decodes a body whose first bytes, `head`, have been read.
fn decode_read(
    head: &mut [u8],
    rest: Rest<impl Read>,
    origin: &Arc<str>,
    sink: &mut dyn Sink,
    scratch: &mut Scratch,
) -> Decoded {
    if head.is_empty() {
        let reason = match rest {
            Rest::Broke(Some(e)) => format!("read failed: {e}"),
            _ => "empty file".into(),
        };
        return Decoded {
            status: Status::Failed(reason),
            ..Decoded::default()
        };
    }
    if head.starts_with(AVRO_MAGIC) {
        return Decoded {
            status: Status::NotEvents(
                "Avro object container (an Iceberg manifest; skipped by design)".into(),
            ),
            ..Decoded::default()
        };
    }
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let whole = head.len() <= WHOLE_FILE_LIMIT && matches!(rest, Rest::Body(_));
    if whole && !gzip {
        let hash = scratch.hashing.then(|| sha256(head));
        let export = unwrap::blank_export_prefixes(head);
        let mut d = read_records(false, origin, sink, |each| split_slice(head, each));
        d.recognise(export, first_byte(head));
        if d.status == Status::Complete
            && let Some(h) = hash
        {
            d.hashes = Some(Hashes {
                stored: h,
                content: h,
            });
        }
        return d;
    }
    if whole && let Some(len) = inflate_whole(head, scratch) {
        let mut inflated = std::mem::take(&mut scratch.inflated);
        let content = &mut inflated[..len];
        let hashes = scratch.hashing.then(|| Hashes {
            stored: sha256(head),
            content: sha256(content),
        });
        let export = unwrap::blank_export_prefixes(content);
        let mut d = read_records(true, origin, sink, |each| split_slice(content, each));
        d.recognise(export, first_byte(content));
        if d.status == Status::Complete {
            d.hashes = hashes;
        }
        scratch.inflated = inflated;
        release_if_large(&mut scratch.inflated);
        return d;
    }
    // A body that broke off keeps every record before the break, then
    // reports the break itself.
    let body = io::Cursor::new(&*head).chain(rest);
    read_stream(body, gzip, origin, sink, scratch)
}

/// How an Avro object container file starts: what Iceberg manifests, beside
/// Security Lake's Parquet, are.
const AVRO_MAGIC: &[u8] = b"Obj\x01";

/// What follows the first bytes of a body: the rest of it, or the error
/// reading broke off with.
enum Rest<R> {
    Body(R),
    Broke(Option<io::Error>),
}

impl<R: Read> Read for Rest<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let e = match self {
            Rest::Body(body) => return body.read(buf).map_err(ReadFailed::wrap),
            Rest::Broke(e) => e.take().unwrap_or_else(|| io::Error::other("read failed")),
        };
        Err(ReadFailed::wrap(e))
    }
}

/// An error reading a body itself (a disk or the network), told apart from
/// damage in the bytes read once it has passed through the gzip decoder.
#[derive(Debug)]
struct ReadFailed(io::Error);

impl ReadFailed {
    fn wrap(e: io::Error) -> io::Error {
        io::Error::new(e.kind(), ReadFailed(e))
    }

    fn is(e: &io::Error) -> bool {
        e.get_ref().is_some_and(|inner| inner.is::<ReadFailed>())
    }
}

impl std::fmt::Display for ReadFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ReadFailed {}

/// Read and inflate buffers larger than this are released after use.
const KEEP_BUFFER: usize = 8 * 1024 * 1024;

/// Keeps a typical file's worth of buffer, not the largest one seen.
fn release_if_large(buf: &mut Vec<u8>) {
    if buf.capacity() > KEEP_BUFFER {
        *buf = Vec::new();
    }
}

/// How every gzip member starts: the magic bytes, then the deflate method.
const GZIP_MEMBER: [u8; 3] = [0x1f, 0x8b, 8];

/// Compressed files up to this size are inflated whole.
const WHOLE_FILE_LIMIT: usize = 8 * 1024 * 1024;
/// ... and only when they inflate to at most this much, which also bounds
/// their records as [`MAX_RECORD`] does for streamed files. Each worker
/// holds up to both at once: CloudWatch Logs export objects, tens of MB
/// each, would otherwise hold 80 MB a worker.
const WHOLE_INFLATED_LIMIT: usize = 16 * 1024 * 1024;
const _: () = assert!(WHOLE_INFLATED_LIMIT <= MAX_RECORD);

/// Inflates a single-member gzip file into the start of `scratch.inflated`
/// with libdeflate, returning its length. Returns `None` (and the caller
/// streams instead) when the file is damaged, too large, or may have more
/// than one member: the file's last trailer, its size and CRC, must describe
/// exactly the bytes inflated from its first member, and no second member's
/// header may follow it. (The deflate data is inflated raw, so that the CRC
/// is computed once, here.)
fn inflate_whole(gz: &[u8], scratch: &mut Scratch) -> Option<usize> {
    let (deflate, trailer) = gzip_parts(gz)?;
    // libdeflate stops at the end of the first member and ignores the rest,
    // so a second member (even a copy of the first, which the trailer check
    // would pass) must send the file to the streaming path. The magic can
    // also turn up inside deflate data, in about one file in 400 the size of
    // CloudTrail's: those are streamed too, which is only slower.
    if memchr::memmem::find(deflate, &GZIP_MEMBER).is_some() {
        return None;
    }
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]) as usize;
    // The trailer is input: never trust it past deflate's maximum ratio.
    if size > WHOLE_INFLATED_LIMIT || size > gz.len().saturating_mul(1032) {
        return None;
    }
    // Only grown here (`release_if_large` drops it after use): zeroing the
    // same bytes again for every file would cost a pass over the data. Grown
    // to the size asked, not doubled, so a worker holds its largest file
    // once, not up to twice over.
    if let Some(more) = size.checked_sub(scratch.inflated.len()) {
        scratch.inflated.reserve_exact(more);
        scratch.inflated.resize(size, 0);
    }
    let out = &mut scratch.inflated[..size];
    match scratch.inflater.deflate_decompress(deflate, out) {
        Ok(n) if n == size && libdeflater::crc32(out) == crc => Some(size),
        _ => None,
    }
}

/// Splits a gzip file into the deflate data after its first member's
/// header (RFC 1952) and the file's last 8 bytes, the trailer of its last
/// member. `None` when the header is not one this reads, or its own CRC
/// does not match it.
fn gzip_parts(gz: &[u8]) -> Option<(&[u8], &[u8; 8])> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let (body, trailer) = gz.split_last_chunk::<8>()?;
    // Magic, deflate, no reserved flags; then time, extra flags and OS.
    let (&[magic @ .., flags], rest) = body.split_first_chunk::<4>()?;
    if magic != GZIP_MEMBER || flags & 0xe0 != 0 {
        return None;
    }
    let mut rest = rest.get(6..)?;
    if flags & FEXTRA != 0 {
        let (len, extra) = rest.split_first_chunk::<2>()?;
        rest = extra.get(usize::from(u16::from_le_bytes(*len))..)?;
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            rest = &rest[memchr::memchr(0, rest)? + 1..];
        }
    }
    if flags & FHCRC != 0 {
        let (crc, after) = rest.split_first_chunk::<2>()?;
        let header = &body[..body.len() - rest.len()];
        if libdeflater::crc32(header) as u16 != u16::from_le_bytes(*crc) {
            return None;
        }
        rest = after;
    }
    Some((rest, trailer))
}

/// Streams a body, inflating it as gzip members if `gzip`: the path for
/// large, multi-member, damaged, broken-off and plain files.
fn read_stream(
    body: impl Read,
    gzip: bool,
    origin: &Arc<str>,
    sink: &mut dyn Sink,
    scratch: &mut Scratch,
) -> Decoded {
    let buf = &mut scratch.split;
    let hasher = || scratch.hashing.then(Sha256::new);
    let mut stored = Hashing {
        inner: body,
        sha: hasher(),
    };
    if gzip {
        let mut lines = ExportLines::new(Hashing {
            inner: MultiGzDecoder::new(BufReader::new(&mut stored)),
            sha: hasher(),
        });
        let mut d = read_records(true, origin, sink, |each| {
            split(&mut lines, MAX_RECORD, buf, each)
        });
        d.recognise(lines.export(), lines.first());
        let mut inflated = lines.into_inner();
        if let (Some(c), Status::Complete) = (inflated.sha.take(), &d.status) {
            // Whatever the decoder left unread still counts as stored bytes.
            let _ = io::copy(&mut inflated.inner, &mut io::sink());
            drop(inflated);
            if let Some(st) = stored.sha.take() {
                d.hashes = Some(Hashes {
                    stored: st.finalize().into(),
                    content: c.finalize().into(),
                });
            }
        }
        d
    } else {
        let mut lines = ExportLines::new(&mut stored);
        let mut d = read_records(false, origin, sink, |each| {
            split(&mut lines, MAX_RECORD, buf, each)
        });
        d.recognise(lines.export(), lines.first());
        drop(lines);
        if let (Some(st), Status::Complete) = (stored.sha.take(), &d.status) {
            let h = st.finalize().into();
            d.hashes = Some(Hashes {
                stored: h,
                content: h,
            });
        }
        d
    }
}

/// Passes the records `split` finds to the sink, and says how the file
/// ended.
fn read_records(
    gzip: bool,
    origin: &Arc<str>,
    sink: &mut dyn Sink,
    split: impl FnOnce(&mut dyn FnMut(Piece<'_>)) -> Result<u64, SplitError>,
) -> Decoded {
    let mut out = Decoded::default();
    let mut top_level = TopLevelKinds::default();
    let mut index = 0u64;
    let mut take = |bytes: &[u8],
                    out: &mut Decoded,
                    parse: &dyn Fn() -> Result<Event, record::RecordError>| {
        let i = index;
        index += 1;
        if !sink.wants(bytes) {
            return;
        }
        match parse() {
            Ok(mut event) => {
                event.record = i;
                sink.event(event);
            }
            Err(e) => out.bad_records.push(BadRecord {
                index: i,
                reason: e.to_string(),
            }),
        }
    };
    let result = split(&mut |piece| match piece {
        Piece::Record(b) => {
            if out.shape.is_none() {
                out.shape = Some(Shape::Element {
                    lookup: has(b, b"\"CloudTrailEvent\""),
                });
            }
            take(b, &mut out, &|| record::parse_record(b, origin));
        }
        Piece::TopLevel(b) => match unwrap::classify(b) {
            TopLevel::Event => {
                if out.shape.is_none() {
                    out.shape = Some(Shape::Line {
                        lookup: has(b, b"\"CloudTrailEvent\""),
                        siem: unwrap::looks_like_siem(b),
                    });
                }
                take(b, &mut out, &|| unwrap::parse_wrapped(b, origin));
            }
            TopLevel::Envelope => match unwrap::open_envelope(b) {
                Opened::Data(events) => {
                    for raw in events {
                        if out.shape.is_none() {
                            out.shape = Some(Shape::Envelope);
                        }
                        take(raw.get().as_bytes(), &mut out, &|| {
                            unwrap::parse_log_event(raw, origin)
                        });
                    }
                }
                Opened::Control => out.control_messages += 1,
                Opened::NotEnvelope => top_level.other += 1,
            },
            TopLevel::Digest => top_level.digest = true,
            TopLevel::Iceberg => top_level.iceberg = true,
            TopLevel::Other => top_level.other += 1,
        },
    });
    out.records = index;
    out.status = match result {
        Ok(0) => Status::Failed("no JSON content (empty or whitespace only)".into()),
        Ok(_)
            if index > 0
                || top_level.other == 0
                    && !top_level.digest
                    && !top_level.iceberg
                    && out.control_messages == 0 =>
        {
            Status::Complete
        }
        Ok(_) if top_level.digest => {
            Status::NotEvents("CloudTrail digest file (skipped by design)".into())
        }
        Ok(_) if top_level.iceberg && top_level.other == 0 => Status::NotEvents(
            "Iceberg table metadata, beside Security Lake's Parquet (skipped by design)".into(),
        ),
        Ok(_) if top_level.other == 0 => Status::NotEvents(
            "CloudWatch Logs CONTROL_MESSAGE envelopes only, no events (skipped by design)".into(),
        ),
        Ok(_) => Status::Failed("valid JSON, but not a CloudTrail log (no event records)".into()),
        Err(e) => {
            let reason = damage_reason(e, gzip, index);
            if index > 0 {
                Status::Partial(reason)
            } else {
                Status::Failed(reason)
            }
        }
    };
    out
}

fn has(b: &[u8], needle: &[u8]) -> bool {
    memmem::find(b, needle).is_some()
}

#[derive(Default)]
struct TopLevelKinds {
    digest: bool,
    iceberg: bool,
    other: u64,
}

fn damage_reason(e: SplitError, gzip: bool, records: u64) -> String {
    let after = format!("after {records} complete record(s)");
    match e {
        SplitError::Io(e) if gzip && !ReadFailed::is(&e) => match e.kind() {
            io::ErrorKind::UnexpectedEof => format!("truncated gzip stream {after}"),
            _ => format!("corrupt gzip data {after}: {e}"),
        },
        SplitError::Io(e) => format!("read failed {after}: {e}"),
        SplitError::Syntax { offset, found } if offset == 0 && !gzip => {
            format!("not a CloudTrail log: neither gzip nor JSON (starts with {found})")
        }
        SplitError::Syntax { offset, found } => format!(
            "invalid JSON at byte {offset} of the {}stream, in record {records} ({after}): unexpected {found}",
            if gzip { "decompressed " } else { "" },
        ),
        SplitError::Truncated { offset } => {
            format!("data ends inside a JSON value at byte {offset} {after}")
        }
        SplitError::TooLarge { offset, limit } => {
            format!("a record at byte {offset} exceeds {limit} bytes {after}")
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    const REC: &str = r#"{"eventID":"@@","eventTime":"2025-12-08T14:00:00Z","userIdentity":{"accessKeyId":"AKIAEXAMPLESEED00001"}}"#;

    fn records(n: usize) -> String {
        let recs: Vec<String> = (0..n)
            .map(|i| REC.replace("@@", &format!("e{i}")))
            .collect();
        format!(r#"{{"Records":[{}]}}"#, recs.join(","))
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Collects every event, or none.
    struct Collect(bool, Vec<Event>);

    impl Sink for Collect {
        fn wants(&mut self, _: &[u8]) -> bool {
            self.0
        }
        fn event(&mut self, e: Event) {
            self.1.push(e);
        }
    }

    struct Run {
        events: Vec<Event>,
        records: u64,
        bad_records: Vec<BadRecord>,
        status: Status,
    }

    fn run(bytes: &[u8]) -> Run {
        let mut sink = Collect(true, Vec::new());
        let d = decode(bytes, &Arc::from("t"), &mut sink, &mut Scratch::default());
        Run {
            events: sink.1,
            records: d.records,
            bad_records: d.bad_records,
            status: d.status,
        }
    }

    #[test]
    fn hashes_are_taken_in_the_same_pass_on_every_path() {
        let doc = records(50);
        let (a, b) = doc.split_at(doc.len() / 2);
        let two_members = [gz(a.as_bytes()), gz(b.as_bytes())].concat();
        let big = records(20_000);
        for (stored, content) in [
            (doc.as_bytes().to_vec(), doc.as_bytes()),
            (gz(doc.as_bytes()), doc.as_bytes()),
            (two_members, doc.as_bytes()),
            (gz(big.as_bytes()), big.as_bytes()),
            (big.as_bytes().to_vec(), big.as_bytes()),
        ] {
            let mut scratch = Scratch::default();
            let mut sink = Collect(false, Vec::new());
            let off = decode(&stored[..], &Arc::from("t"), &mut sink, &mut scratch);
            assert_eq!(off.hashes, None, "no hashing unless asked");
            scratch.hashing = true;
            let d = decode(&stored[..], &Arc::from("t"), &mut sink, &mut scratch);
            assert_eq!(d.status, Status::Complete);
            assert_eq!(
                d.hashes,
                Some(Hashes {
                    stored: sha256(&stored),
                    content: sha256(content),
                })
            );
        }
        let mut scratch = Scratch::hashing();
        let cut = gz(doc.as_bytes());
        let d = decode(
            &cut[..cut.len() / 2],
            &Arc::from("t"),
            &mut Collect(false, Vec::new()),
            &mut scratch,
        );
        assert_eq!(d.hashes, None, "a file not read to its end has no hash");
    }

    #[test]
    fn plain_gzip_and_concatenated_members() {
        let doc = records(3);
        assert_eq!(run(doc.as_bytes()).events.len(), 3);
        assert_eq!(run(&gz(doc.as_bytes())).events.len(), 3);
        let (a, b) = doc.as_bytes().split_at(doc.len() / 2);
        let two = [gz(a), gz(b)].concat();
        let d = run(&two);
        assert_eq!((d.events.len(), &d.status), (3, &Status::Complete));
    }

    #[test]
    fn prefilter_decides_what_is_parsed() {
        let mut sink = Collect(false, Vec::new());
        let d = decode(
            records(5).as_bytes(),
            &Arc::from("t"),
            &mut sink,
            &mut Scratch::default(),
        );
        assert_eq!((d.records, sink.1.len()), (5, 0));
        assert_eq!(run(records(5).as_bytes()).records, 5);
    }

    #[test]
    fn truncated_gzip_keeps_complete_records() {
        let z = gz(records(200).as_bytes());
        let d = run(&z[..z.len() * 2 / 3]);
        assert!(d.events.len() > 10, "{}", d.events.len());
        assert!(
            matches!(&d.status, Status::Partial(r) if r.contains("truncated gzip")),
            "{:?}",
            d.status
        );
    }

    #[test]
    fn damaged_and_odd_files() {
        let mut z = gz(records(3).as_bytes());
        for b in z.iter_mut().skip(12).take(40) {
            *b ^= 0x5a;
        }
        assert!(matches!(run(&z).status, Status::Failed(r) if r.contains("gzip")));
        assert!(matches!(run(b"").status, Status::Failed(r) if r == "empty file"));
        assert!(
            matches!(run(b"hello world").status, Status::Failed(r) if r.contains("neither gzip nor JSON"))
        );
        assert!(
            matches!(run(br#"{"hello":"world"}"#).status, Status::Failed(r) if r.contains("not a CloudTrail log"))
        );
        assert!(matches!(
            run(br#"{"digestStartTime":"x","logFiles":[]}"#).status,
            Status::NotEvents(_)
        ));
        let bad = format!("{}, {{oops", &records(2)[..records(2).len() - 2]);
        let d = run(bad.as_bytes());
        assert_eq!(d.events.len(), 2);
        assert!(
            matches!(&d.status, Status::Partial(r) if r.contains("in record 2")),
            "{:?}",
            d.status
        );
        assert_eq!(run(b"[]").status, Status::Complete);
    }

    #[test]
    fn bad_records_are_counted_not_fatal() {
        let doc = r#"[{"eventID":"a","eventTime":"2025-12-08T14:00:00Z"},{"eventTime":"2025-12-08T14:00:00Z"},{"eventID":"b","eventTime":"x"}]"#;
        let d = run(doc.as_bytes());
        assert_eq!(d.events.len(), 1);
        assert_eq!(d.bad_records.len(), 2);
        assert_eq!(d.bad_records[0].index, 1);
        assert_eq!(d.status, Status::Complete);
    }

    #[test]
    fn a_body_that_breaks_off_keeps_what_came_before() {
        /// A connection that drops.
        struct Reset;
        impl Read for Reset {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("connection reset"))
            }
        }
        let z = gz(records(300).as_bytes());
        let body = io::Cursor::new(z[..z.len() / 2].to_vec()).chain(Reset);
        let mut sink = Collect(true, Vec::new());
        let d = decode(body, &Arc::from("t"), &mut sink, &mut Scratch::default());
        assert!(sink.1.len() > 10);
        assert!(
            matches!(&d.status, Status::Partial(r)
                if r.starts_with("read failed after") && r.contains("connection reset")),
            "{:?}",
            d.status
        );
    }

    #[test]
    fn whole_file_and_streaming_agree() {
        // A large file goes through the streaming path, a small one whole.
        let doc = records(50);
        let small = run(&gz(doc.as_bytes()));
        let mut scratch = Scratch::default();
        let mut sink = Collect(true, Vec::new());
        let streamed = read_stream(
            &gz(doc.as_bytes())[..],
            true,
            &Arc::from("t"),
            &mut sink,
            &mut scratch,
        );
        assert_eq!(small.events, sink.1);
        assert_eq!(small.records, streamed.records);
    }

    #[test]
    fn whole_file_inflate_reads_every_header_field() {
        let doc = records(20);
        let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        deflate.write_all(doc.as_bytes()).unwrap();
        let deflated = deflate.finish().unwrap();
        let trailer = [
            libdeflater::crc32(doc.as_bytes()).to_le_bytes(),
            (doc.len() as u32).to_le_bytes(),
        ]
        .concat();
        // Header CRC, extra field, name and comment flags, and their fields.
        let mut header = [
            &[0x1f, 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 255][..],
            &[3, 0, b'x', b'y', b'z'],
            b"CloudTrail.json\0",
            b"comment\0",
        ]
        .concat();
        let header_crc = libdeflater::crc32(&header) as u16;
        header.extend(header_crc.to_le_bytes());
        let with_fields = [header, deflated, trailer].concat();

        let mut scratch = Scratch::default();
        for file in [gz(doc.as_bytes()), with_fields.clone()] {
            assert_eq!(inflate_whole(&file, &mut scratch), Some(doc.len()));
            assert_eq!(&scratch.inflated[..doc.len()], doc.as_bytes());
        }
        // Reserved flags, a wrong header CRC, another method, a cut header,
        // two members, and twice the same member (whose trailer matches
        // the first member's): streamed.
        let mut reserved = with_fields.clone();
        reserved[3] |= 0x20;
        let mut header_crc = with_fields.clone();
        header_crc[39] ^= 1;
        let mut method = gz(doc.as_bytes());
        method[2] = 7;
        let (a, b) = doc.as_bytes().split_at(doc.len() / 2);
        let two = [gz(a), gz(b)].concat();
        let twice = [gz(doc.as_bytes()), gz(doc.as_bytes())].concat();
        for file in [
            reserved,
            header_crc,
            method,
            with_fields[..20].to_vec(),
            two,
        ] {
            assert_eq!(inflate_whole(&file, &mut scratch), None);
        }
        assert_eq!(inflate_whole(&twice, &mut scratch), None);
        let d = run(&twice);
        assert_eq!((d.records, d.status), (40, Status::Complete));
    }

    #[test]
    fn json_lines_and_single_objects() {
        let lines = format!("{REC}\n{}\n", REC.replace("@@", "two"));
        assert_eq!(run(lines.as_bytes()).events.len(), 2);
    }

    #[test]
    fn formats_are_recognised_by_content_on_every_path() {
        let format = |bytes: &[u8]| {
            let mut sink = Collect(true, Vec::new());
            let whole = decode(bytes, &Arc::from("t"), &mut sink, &mut Scratch::default()).format;
            let streamed = read_stream(
                bytes,
                bytes.starts_with(&[0x1f, 0x8b]),
                &Arc::from("t"),
                &mut sink,
                &mut Scratch::default(),
            )
            .format;
            assert_eq!(whole, streamed);
            whole
        };
        let array = format!("  [{REC}]");
        let lines = format!("{REC}\n{REC}\n");
        let lookup = format!(
            r#"{{"Events":[{{"EventId":"x","CloudTrailEvent":{}}}]}}"#,
            serde_json::to_string(REC).unwrap()
        );
        for (bytes, expected) in [
            (records(2).into_bytes(), Some(Format::Records)),
            (array.into_bytes(), Some(Format::Array)),
            (lines.into_bytes(), Some(Format::JsonLines)),
            (lookup.into_bytes(), Some(Format::LookupEvents)),
            (br#"{"digestStartTime":"x"}"#.to_vec(), None),
        ] {
            assert_eq!(format(&bytes), expected);
            assert_eq!(format(&gz(&bytes)), expected, "gzip");
        }
        let iceberg = run(br#"{"format-version":2,"table-uuid":"u","location":"s3://b/t"}"#);
        assert!(matches!(iceberg.status, Status::NotEvents(r) if r.contains("Iceberg")));
        let avro = run(b"Obj\x01\x04\x16avro.schema");
        assert!(matches!(avro.status, Status::NotEvents(r) if r.contains("Avro")));
    }
}
