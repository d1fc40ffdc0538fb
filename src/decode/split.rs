//! Finding record boundaries in a stream of JSON, without parsing it.
//!
//! Almost no record in an archive mentions a lineage key, so parsing every one
//! would spend most of the run on JSON nobody reads. This splitter only tracks
//! nesting and strings (jumping through strings with `memchr`), so it runs at
//! close to memory speed, keeps at most one record in memory, and needs no
//! recursion however deep the input nests.
//!
//! It accepts the containers seen in real exports:
//! - `{"Records":[…]}` as delivered (and `{"Events":[…]}` from LookupEvents),
//!   wherever the key appears in the object;
//! - a bare array of records;
//! - JSON Lines, or any sequence of top-level objects (a single event is the
//!   one-line case).
//!
//! Top-level objects that are not wrappers are yielded as [`Piece::TopLevel`]
//! for the caller to classify (an event, a digest, or something else).
//!
//! Inside a record, the usual case by far, it looks at 64 bytes at a time:
//! vector compares (`classify`) mark the quotes, backslashes, brackets
//! and forbidden bytes of the block as bits, string interiors are found
//! with bit arithmetic, and only the few brackets outside strings are
//! visited one by one. Outside records (and at the ends of a buffer) it
//! steps byte by byte, which is where every error but a stray byte inside
//! a record is found. Both ways, and both classifiers, accept exactly the
//! same inputs, which a test checks on random input.

use std::io::{self, Read};

use memchr::memchr2;

mod classify;

use classify::{BLOCK, Classify, Portable};

/// A complete value found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// An element of a `Records`/`Events` array or of a bare top-level array.
    Record(&'a [u8]),
    /// A top-level object that held no `Records`/`Events` array.
    TopLevel(&'a [u8]),
}

/// Why the stream stopped before its end.
#[derive(Debug)]
pub enum SplitError {
    /// Reading (or inflating) failed.
    Io(io::Error),
    /// The bytes are not JSON at this offset.
    Syntax {
        /// Offset in the decompressed stream.
        offset: u64,
        /// What was found there.
        found: String,
    },
    /// The stream ended inside a value.
    Truncated {
        /// Offset in the decompressed stream.
        offset: u64,
    },
    /// A single record exceeded the size limit.
    TooLarge {
        /// Offset where the record began.
        offset: u64,
        /// The limit in bytes.
        limit: usize,
    },
}

const CHUNK: usize = 256 * 1024;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Space,
    Scalar,
    Quote,
    Open,
    Close,
    Invalid,
}

const CLASSES: [Class; 256] = {
    let mut t = [Class::Invalid; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = match b {
            b' ' | b'\t' | b'\n' | b'\r' => Class::Space,
            b'"' => Class::Quote,
            b'{' | b'[' => Class::Open,
            b'}' | b']' => Class::Close,
            _ if classify::valid_outside_strings(b) => Class::Scalar,
            _ => Class::Invalid,
        };
        i += 1;
    }
    t
};

/// Splits `reader` into pieces, calling `each` for every complete one.
///
/// Returns the number of top-level JSON values (containers) in the stream,
/// so an input with none can be told apart from an empty log. On error,
/// every piece before the damage has
/// already been passed to `each`.
pub fn split<R: Read>(
    mut reader: R,
    max_record: usize,
    buf: &mut Vec<u8>,
    mut each: impl FnMut(Piece<'_>),
) -> Result<u64, SplitError> {
    let mut s = State::default();
    // buf[..filled] holds the unfinished record (if any) and new bytes;
    // `base` is the stream offset of buf[0]. The buffer only ever grows, so
    // a worker reuses one allocation for every file it reads.
    let mut filled = 0;
    let mut base: u64 = 0;
    let mut scanned = 0;
    loop {
        if buf.len() < filled + CHUNK {
            buf.resize(filled + CHUNK, 0);
        }
        let n = loop {
            match reader.read(&mut buf[filled..filled + CHUNK]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SplitError::Io(e)),
            }
        };
        if base == 0 && filled == 0 && buf[..n].starts_with(b"\xEF\xBB\xBF") {
            scanned = 3;
        }
        filled += n;
        if n == 0 {
            return if s.depth == 0 && !s.in_string {
                Ok(s.values)
            } else {
                Err(SplitError::Truncated {
                    offset: base + filled as u64,
                })
            };
        }
        scanned = s.scan(&buf[..filled], scanned, base, &mut each)?;
        // Keep only the unfinished record (or nothing) for the next round.
        let keep_from = s.start.unwrap_or(scanned);
        if let Some(start) = s.start
            && scanned - start > max_record
        {
            return Err(SplitError::TooLarge {
                offset: base + start as u64,
                limit: max_record,
            });
        }
        buf.copy_within(keep_from..filled, 0);
        filled -= keep_from;
        base += keep_from as u64;
        scanned -= keep_from;
        if let Some(start) = s.start.as_mut() {
            *start -= keep_from;
        }
        if let Some(key) = s.key_start.as_mut() {
            *key = key.saturating_sub(keep_from);
        }
    }
}

/// Splits a whole buffer held in memory: the same pieces and errors as
/// [`split`], without copying. A record can be no longer than `data`, so
/// callers bound the buffer instead of the record.
pub fn split_slice(data: &[u8], mut each: impl FnMut(Piece<'_>)) -> Result<u64, SplitError> {
    let mut s = State::default();
    let from = if data.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    s.scan(data, from, 0, &mut each)?;
    if s.depth == 0 && !s.in_string {
        Ok(s.values)
    } else {
        Err(SplitError::Truncated {
            offset: data.len() as u64,
        })
    }
}

#[derive(Default)]
struct State {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Where the value being collected starts in the buffer.
    start: Option<usize>,
    /// Whether that value is a top-level object (else a record).
    top_level: bool,
    /// Depth at which array elements are records, while inside such an array.
    record_depth: Option<u32>,
    /// Start of the last string opened at depth 1 (a candidate key).
    key_start: Option<usize>,
    /// The last depth-1 string was `Records` or `Events`.
    wrapper_key: bool,
    values: u64,
}

impl State {
    /// Scans `buf` from `pos`, with the fastest classifier this CPU has.
    fn scan(
        &mut self,
        buf: &[u8],
        pos: usize,
        base: u64,
        each: &mut impl FnMut(Piece<'_>),
    ) -> Result<usize, SplitError> {
        #[cfg(test)]
        if tests::PORTABLE_ONLY.get() {
            return self.scan_with(Portable, buf, pos, base, each);
        }
        // The closure must be inlined, or it is compiled without AVX2 and
        // every vector instruction in it becomes a call.
        #[cfg(target_arch = "x86_64")]
        if let Ok(done) = classify::Avx2::run(
            #[inline(always)]
            |c| self.scan_with(c, buf, pos, base, each),
        ) {
            return done;
        }
        self.scan_with(Portable, buf, pos, base, each)
    }

    /// [`State::scan`] with the classifier `c`: returns the end of `buf`.
    #[inline(always)]
    fn scan_with<C: Classify>(
        &mut self,
        c: C,
        buf: &[u8],
        mut pos: usize,
        base: u64,
        each: &mut impl FnMut(Piece<'_>),
    ) -> Result<usize, SplitError> {
        let end = buf.len();
        while pos < end {
            if self.start.is_some()
                && !self.top_level
                && let Some(block) = buf[pos..].first_chunk::<BLOCK>()
            {
                pos = self.scan_block(c, block, buf, pos, base, each)?;
                continue;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    pos += 1;
                    continue;
                }
                match memchr2(b'"', b'\\', &buf[pos..end]) {
                    None => return Ok(end),
                    Some(i) => {
                        let p = pos + i;
                        if buf[p] == b'\\' {
                            self.escaped = true;
                            pos = p + 1;
                        } else {
                            self.in_string = false;
                            if let Some(k) = self.key_start.take() {
                                let key = &buf[k..p];
                                self.wrapper_key = key == b"Records" || key == b"Events";
                            }
                            pos = p + 1;
                        }
                    }
                }
                continue;
            }
            let b = buf[pos];
            match CLASSES[b as usize] {
                Class::Space | Class::Scalar => {
                    if self.depth == 0 && CLASSES[b as usize] == Class::Scalar {
                        return Err(syntax(buf, pos, base));
                    }
                }
                Class::Quote => {
                    let loose = Some(self.depth) == self.record_depth && self.start.is_none();
                    if self.depth == 0 || loose {
                        return Err(syntax(buf, pos, base));
                    }
                    self.in_string = true;
                    if self.depth == 1 && self.top_level {
                        self.key_start = Some(pos + 1);
                    }
                }
                Class::Open => {
                    if self.depth == 0 {
                        self.values += 1;
                        if b == b'{' {
                            self.start = Some(pos);
                            self.top_level = true;
                        } else {
                            self.record_depth = Some(1);
                        }
                    } else if self.depth == 1 && self.top_level && b == b'[' && self.wrapper_key {
                        // `{"Records":[`: the object is a wrapper, not an event.
                        self.start = None;
                        self.top_level = false;
                        self.record_depth = Some(2);
                    } else if Some(self.depth) == self.record_depth && self.start.is_none() {
                        if b != b'{' {
                            return Err(syntax(buf, pos, base));
                        }
                        self.start = Some(pos);
                    }
                    self.wrapper_key = false;
                    self.depth += 1;
                }
                Class::Close => {
                    if self.depth == 0 {
                        return Err(syntax(buf, pos, base));
                    }
                    self.depth -= 1;
                    self.wrapper_key = false;
                    if let Some(rd) = self.record_depth
                        && self.depth < rd
                    {
                        self.record_depth = None;
                    }
                    let at_record_end = if self.top_level {
                        self.depth == 0
                    } else {
                        Some(self.depth) == self.record_depth
                    };
                    if at_record_end && let Some(start) = self.start.take() {
                        let bytes = &buf[start..=pos];
                        each(if self.top_level {
                            Piece::TopLevel(bytes)
                        } else {
                            Piece::Record(bytes)
                        });
                        self.top_level = false;
                    } else if self.depth == 0 {
                        self.top_level = false;
                    }
                }
                Class::Invalid => return Err(syntax(buf, pos, base)),
            }
            pos += 1;
        }
        Ok(pos)
    }
}

impl State {
    /// Scans `block`, the 64 bytes of `buf` at `pos`, inside a record of a
    /// `Records` or bare array. There, only brackets outside strings change
    /// the state, and any byte JSON forbids outside strings is an error.
    /// Returns where to go on: after the block, or after the record's
    /// closing bracket.
    #[inline(always)]
    fn scan_block<C: Classify>(
        &mut self,
        c: C,
        block: &[u8; BLOCK],
        buf: &[u8],
        pos: usize,
        base: u64,
        each: &mut impl FnMut(Piece<'_>),
    ) -> Result<usize, SplitError> {
        let marks = c.marks(block);
        let mut carry = u64::from(self.in_string && self.escaped);
        let quotes = marks.quotes & !escaped(marks.backslashes, &mut carry);
        // Bit i: after byte i, the scan is inside a string.
        let inside = prefix_xor(quotes) ^ if self.in_string { !0 } else { 0 };
        let outside = !inside & !quotes;
        // Inside a record the depth is above the record depth, until the
        // bracket that closes the record.
        let mut brackets = (marks.open | marks.close) & outside;
        let mut end = None;
        while brackets != 0 {
            let i = brackets.trailing_zeros() as usize;
            brackets &= brackets - 1;
            if marks.open >> i & 1 == 1 {
                self.depth += 1;
            } else {
                self.depth -= 1;
                if Some(self.depth) == self.record_depth {
                    end = Some(i);
                    break;
                }
            }
        }
        // Only bytes up to the record's end belong to this scan.
        let mut suspect = marks.suspect & outside & end.map_or(!0, |i| (1 << i) - 1);
        while suspect != 0 {
            let i = suspect.trailing_zeros() as usize;
            suspect &= suspect - 1;
            if CLASSES[block[i] as usize] == Class::Invalid {
                return Err(syntax(buf, pos + i, base));
            }
        }
        let Some(i) = end else {
            self.in_string = inside >> 63 == 1;
            self.escaped = carry == 1;
            return Ok(pos + BLOCK);
        };
        if let Some(start) = self.start.take() {
            each(Piece::Record(&buf[start..=pos + i]));
        }
        self.in_string = false;
        self.escaped = false;
        Ok(pos + i + 1)
    }
}

/// The bytes escaped by a backslash, given a block's backslashes and
/// whether its first byte is escaped (`carry`, updated for the next block).
/// A run of backslashes escapes the byte after it when its length is odd.
#[inline]
fn escaped(backslashes: u64, carry: &mut u64) -> u64 {
    const EVEN: u64 = 0x5555_5555_5555_5555;
    let backslashes = backslashes & !*carry;
    let follows = (backslashes << 1) | *carry;
    let odd_starts = backslashes & !EVEN & !follows;
    let (even_runs, overflow) = odd_starts.overflowing_add(backslashes);
    *carry = u64::from(overflow);
    (EVEN ^ (even_runs << 1)) & follows
}

/// Bit i of the result is the parity of bits 0..=i of `x`.
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

/// Describes only the offending byte: quoting more could copy a secret (a
/// session token in a damaged record) into messages and reports.
fn syntax(buf: &[u8], pos: usize, base: u64) -> SplitError {
    let b = buf[pos];
    SplitError::Syntax {
        offset: base + pos as u64,
        found: if b.is_ascii_graphic() {
            format!("{:?} (0x{b:02x})", b as char)
        } else {
            format!("byte 0x{b:02x}")
        },
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn pieces(input: &[u8]) -> (Vec<String>, Option<SplitError>) {
        let mut out = Vec::new();
        let mut buf = Vec::new();
        let r = split(input, 1 << 20, &mut buf, |p| {
            out.push(match p {
                Piece::Record(b) => format!("R{}", String::from_utf8_lossy(b)),
                Piece::TopLevel(b) => format!("T{}", String::from_utf8_lossy(b)),
            })
        });
        (out, r.err())
    }

    #[test]
    fn containers() {
        let (p, e) = pieces(br#"{"Records":[{"a":1},{"b":{"c":[1,2]}}]}"#);
        assert!(e.is_none());
        assert_eq!(p, [r#"R{"a":1}"#, r#"R{"b":{"c":[1,2]}}"#]);

        let (p, _) = pieces(b"\xEF\xBB\xBF [ {\"a\":\"}\"} , {\"b\":2} ]\n");
        assert_eq!(p, [r#"R{"a":"}"}"#, r#"R{"b":2}"#]);

        let (p, _) = pieces(b"{\"a\":1}\n{\"b\":[2]}\n");
        assert_eq!(p, [r#"T{"a":1}"#, r#"T{"b":[2]}"#]);

        let (p, _) = pieces(br#"{"x":{"Records":[1]},"y":"Records","Events":[{"e":1}]}"#);
        assert_eq!(p, [r#"R{"e":1}"#]);

        let (p, e) = pieces(br#"{"Records":[]}"#);
        assert!(p.is_empty() && e.is_none());
    }

    #[test]
    fn strings_with_escapes_and_braces() {
        let (p, e) = pieces(br#"[{"ua":"a\"}]\\","k":"\u001b[31m{"}]"#);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(p, [r#"R{"ua":"a\"}]\\","k":"\u001b[31m{"}"#]);
    }

    #[test]
    fn damage_keeps_what_came_before() {
        let (p, e) = pieces(br#"{"Records":[{"a":1},{"b":2},{"c""#);
        assert_eq!(p.len(), 2);
        assert!(matches!(e, Some(SplitError::Truncated { .. })));

        let (p, e) = pieces(br#"{"Records":[{"a":1},<<garbage>>"#);
        assert_eq!(p.len(), 1);
        assert!(
            matches!(e, Some(SplitError::Syntax { offset: 20, .. })),
            "{e:?}"
        );

        let (p, e) = pieces(b"\x00\x01binary");
        assert!(p.is_empty());
        assert!(matches!(e, Some(SplitError::Syntax { offset: 0, .. })));

        let (_, e) = pieces(br#"{"Records":["not an object"]}"#);
        assert!(matches!(e, Some(SplitError::Syntax { .. })));
    }

    #[test]
    fn deep_nesting_needs_no_stack() {
        let deep = format!(
            "[{{\"a\":{}{}}}]",
            "[".repeat(1_000_000),
            "]".repeat(1_000_000)
        );
        let mut n = 0;
        split(deep.as_bytes(), 1 << 24, &mut Vec::new(), |_| n += 1).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn records_larger_than_the_limit_are_refused() {
        let big = format!(r#"{{"Records":[{{"a":"{}"}}]}}"#, "x".repeat(600_000));
        let mut buf = Vec::new();
        let r = split(big.as_bytes(), 100_000, &mut buf, |_| {});
        assert!(matches!(r, Err(SplitError::TooLarge { .. })));
    }

    /// A reader that hands out a few bytes at a time: the byte-by-byte path
    /// scans every byte, as no whole block is ever waiting.
    pub(in crate::decode) struct Trickle<'a>(pub &'a [u8], pub usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.1.min(self.0.len()).min(out.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn outcome(r: Result<u64, SplitError>) -> String {
        format!("{r:?}")
    }

    thread_local! {
        /// Makes this thread's scans use the portable classifier, which the
        /// CPU's own would otherwise stand in for.
        pub static PORTABLE_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// The block path and the byte path agree on everything, with either
    /// classifier.
    fn agree(input: &[u8]) {
        let fastest = outcomes(input);
        PORTABLE_ONLY.set(true);
        let portable = outcomes(input);
        PORTABLE_ONLY.set(false);
        assert_eq!(fastest, portable, "{}", String::from_utf8_lossy(input));
    }

    fn outcomes(input: &[u8]) -> (Vec<String>, String) {
        let mut blocks = Vec::new();
        let whole = split_slice(input, |p| blocks.push(format!("{p:?}")));
        let mut bytes = Vec::new();
        let trickled = split(Trickle(input, 7), 1 << 30, &mut Vec::new(), |p| {
            bytes.push(format!("{p:?}"))
        });
        let mut streamed = Vec::new();
        let chunked = split(input, 1 << 30, &mut Vec::new(), |p| {
            streamed.push(format!("{p:?}"))
        });
        let shown = String::from_utf8_lossy(input);
        assert_eq!(blocks, bytes, "{shown}");
        assert_eq!(blocks, streamed, "{shown}");
        let whole = outcome(whole);
        assert_eq!(whole, outcome(trickled), "{shown}");
        assert_eq!(whole, outcome(chunked), "{shown}");
        (blocks, whole)
    }

    #[test]
    fn escapes_across_block_boundaries() {
        for pad in 0..70 {
            for tail in [r#"\\"#, r#"\\\\"#, r#"\""#, r#"\\\""#, r#"x\"}]{"#] {
                let rec = format!(
                    r#"{{"a":"{}{tail}","b":{{"c":[1,true]}}}}"#,
                    "x".repeat(pad)
                );
                let doc = format!(r#"{{"Records":[{rec},{rec}]}}"#);
                agree(doc.as_bytes());
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        #[test]
        fn block_and_byte_paths_agree(
            records in proptest::collection::vec("[ -~]{0,150}", 0..6),
            edits in proptest::collection::vec((0usize..2000, proptest::sample::select(
                b"{}[]\",:\\ a0\nxe\x01\xff".to_vec()), 0u8..3), 0..4),
        ) {
            // Records that look like CloudTrail's, then a few random edits.
            let recs: Vec<String> = records
                .iter()
                .map(|t| format!(r#"{{"eventName":"{}","n":[1,{{"x":null}}],"s":"{{\"q\":\"]\\\\\"}}"}}"#, t.replace(['"', '\\'], "")))
                .collect();
            let mut doc = format!(r#"{{"Records":[{}]}}"#, recs.join(",")).into_bytes();
            for (at, byte, how) in edits {
                let at = at % (doc.len() + 1);
                match how {
                    0 if at < doc.len() => doc[at] = byte,
                    1 => doc.insert(at, byte),
                    _ => doc.truncate(at),
                }
            }
            agree(&doc);
        }
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        // A reader that returns one byte at a time exercises every boundary.
        let input = br#"{"Records":[{"a":"x\\\"y"},{"b":[{"c":"}"}]}]}"#;
        let mut whole = Vec::new();
        split(&input[..], 1 << 20, &mut Vec::new(), |p| {
            whole.push(format!("{p:?}"))
        })
        .unwrap();
        let mut trickled = Vec::new();
        split(Trickle(input, 1), 1 << 20, &mut Vec::new(), |p| {
            trickled.push(format!("{p:?}"))
        })
        .unwrap();
        assert_eq!(whole, trickled);
        assert_eq!(whole.len(), 2);
    }
}
