//! Records delivered inside something else: CloudWatch Logs export lines,
//! CloudWatch Logs subscription and Firehose envelopes, and SIEM documents.
//!
//! Analysts often receive the trail through CloudWatch Logs or a SIEM rather
//! than from the S3 archive. The record is the same; only its clothing
//! differs, and it is taken off as late and as cheaply as possible, so that
//! these inputs go through the same splitter and the same prefilter as
//! delivered files:
//!
//! - an **export-task** line is `TIMESTAMP {record}`: the timestamp is blanked
//!   out in place (JSON allows spaces between values), which turns the file
//!   into JSON Lines without copying it
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/S3ExportTasks.html>);
//! - a **subscription** or Firehose delivery is a sequence of envelopes,
//!   `{"messageType":"DATA_MESSAGE",…,"logEvents":[{"id","timestamp","message"}]}`,
//!   concatenated with no separator by Firehose. Each log event is one record,
//!   prefiltered as the escaped JSON string it is, and unescaped only when
//!   wanted. `CONTROL_MESSAGE` envelopes (Firehose's health checks) hold no
//!   events and are skipped by design
//!   (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html>);
//! - a **SIEM** document (Logstash, Elastic) either extends the record with
//!   `@timestamp`/`@version`, which the record parser ignores, or wraps it,
//!   as a JSON string under `message` or `event.original`, or as an object
//!   (`_source`). The record is recognised by its CloudTrail fields wherever
//!   it sits, and a document gives at most one record, so nothing is counted
//!   twice.

use std::borrow::Cow;
use std::io::{self, Read};
use std::sync::Arc;

use memchr::memmem;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::record::{RecordError, parse_record};
use crate::event::Event;

/// The length of a CloudWatch Logs export line's prefix, the ISO 8601
/// timestamp and the spaces after it, when `line` starts with one followed
/// by a JSON object.
pub fn export_prefix(line: &[u8]) -> Option<usize> {
    let digits = |from: usize, n: usize| {
        line.get(from..from + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    // YYYY-MM-DDTHH:MM:SS
    let shape = digits(0, 4)
        && line.get(4) == Some(&b'-')
        && digits(5, 2)
        && line.get(7) == Some(&b'-')
        && digits(8, 2)
        && matches!(line.get(10), Some(b'T' | b' '))
        && digits(11, 2)
        && line.get(13) == Some(&b':')
        && digits(14, 2)
        && line.get(16) == Some(&b':')
        && digits(17, 2);
    if !shape {
        return None;
    }
    let mut at = 19;
    if line.get(at) == Some(&b'.') {
        at += 1;
        let n = line[at..].iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        at += n;
    }
    match line.get(at) {
        Some(b'Z') => at += 1,
        Some(b'+' | b'-') if digits(at + 1, 2) => {
            at += 3;
            if line.get(at) == Some(&b':') {
                at += 1;
            }
            if !digits(at, 2) {
                return None;
            }
            at += 2;
        }
        _ => {}
    }
    let spaces = line[at..].iter().take_while(|b| **b == b' ').count();
    (spaces > 0 && line.get(at + spaces) == Some(&b'{')).then_some(at + spaces)
}

/// The longest export prefix [`export_prefix`] accepts, with room for the
/// `{` after it: a line start is judged once this many bytes are in.
const LOOKAHEAD: usize = 64;

/// Whether the first line with content in `data` is an export line; `None`
/// while too little of it is in, unless `complete`.
fn starts_as_export(data: &[u8], complete: bool) -> Option<bool> {
    let Some(at) = data.iter().position(|b| !b.is_ascii_whitespace()) else {
        return complete.then_some(false);
    };
    let line = &data[at..];
    let end = memchr::memchr(b'\n', line).unwrap_or(line.len());
    (end < line.len() || line.len() >= LOOKAHEAD || complete)
        .then(|| export_prefix(&line[..end]).is_some())
}

/// The bytes to blank at the start of `line`: spaces before the prefix, and
/// the prefix.
fn line_prefix(line: &[u8]) -> Option<usize> {
    let lead = line
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
        .count();
    export_prefix(&line[lead..]).map(|n| lead + n)
}

/// Blanks the export prefix of every line of `data` in place, when its
/// first line has one. Returns whether it did.
pub fn blank_export_prefixes(data: &mut [u8]) -> bool {
    if starts_as_export(data, true) != Some(true) {
        return false;
    }
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
        if let Some(n) = line_prefix(&data[start..end]) {
            data[start..start + n].fill(b' ');
        }
        start = end + 1;
    }
    true
}

/// A reader that blanks export prefixes as the stream goes by, once its
/// first line shows the stream is an export; any other stream passes
/// through untouched. Memory is one buffer, whatever the file's size.
pub struct ExportLines<R> {
    inner: R,
    buf: Vec<u8>,
    /// `buf[start..checked]` is ready to hand out; `buf[checked..end]` is not
    /// yet looked at.
    start: usize,
    checked: usize,
    end: usize,
    eof: bool,
    /// `buf[checked]` starts a line.
    line_start: bool,
    /// `None` until the first line with content is seen.
    export: Option<bool>,
    /// The first byte that is not whitespace.
    first: Option<u8>,
}

const LINES_BUFFER: usize = 256 * 1024;

impl<R: Read> ExportLines<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> ExportLines<R> {
        ExportLines {
            inner,
            buf: Vec::new(),
            start: 0,
            checked: 0,
            end: 0,
            eof: false,
            line_start: true,
            export: None,
            first: None,
        }
    }

    /// Whether the stream was an export.
    pub fn export(&self) -> bool {
        self.export == Some(true)
    }

    /// The reader it wraps.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The first byte of content, once read.
    pub fn first(&self) -> Option<u8> {
        self.first
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            self.buf.resize(LINES_BUFFER, 0);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.checked -= self.start;
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // Only a line start waits for more, and the lookahead is small.
            return Ok(());
        }
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Marks as ready what can be judged of `buf[checked..end]`.
    fn check(&mut self) {
        let full = self.start == 0 && self.end == self.buf.len();
        while self.checked < self.end {
            let rest = &mut self.buf[self.checked..self.end];
            if self.first.is_none() {
                self.first = rest.iter().copied().find(|b| !b.is_ascii_whitespace());
            }
            if self.export.is_none() {
                match starts_as_export(rest, self.eof || full) {
                    Some(e) => self.export = Some(e),
                    None => return,
                }
            }
            if self.export == Some(false) {
                self.checked = self.end;
                return;
            }
            if self.line_start {
                if rest.len() < LOOKAHEAD && !self.eof && memchr::memchr(b'\n', rest).is_none() {
                    return;
                }
                if let Some(n) = line_prefix(rest) {
                    rest[..n].fill(b' ');
                }
            }
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    self.checked += i + 1;
                    self.line_start = true;
                }
                None => {
                    self.checked = self.end;
                    self.line_start = false;
                }
            }
        }
    }
}

impl<R: Read> Read for ExportLines<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.start < self.checked {
                let n = out.len().min(self.checked - self.start);
                out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
                self.start += n;
                return Ok(n);
            }
            if self.export == Some(false) && self.start == self.end {
                return self.inner.read(out);
            }
            if self.eof {
                // Whatever was waiting for lookahead is judged now.
                self.check();
                if self.start < self.checked {
                    continue;
                }
                return Ok(0);
            }
            self.fill()?;
            self.check();
        }
    }
}

/// What a top-level object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopLevel {
    /// A record, or a SIEM document holding or extending one.
    Event,
    /// A CloudWatch Logs subscription or Firehose envelope.
    Envelope,
    /// A CloudTrail digest file.
    Digest,
    /// Iceberg table metadata, which Security Lake keeps beside its Parquet.
    Iceberg,
    /// Something else.
    Other,
}

/// Classifies a top-level object by the fields it holds, without parsing it.
pub fn classify(b: &[u8]) -> TopLevel {
    let has = |needle: &[u8]| memmem::find(b, needle).is_some();
    if has(b"\"digestStartTime\"") {
        TopLevel::Digest
    } else if has(b"\"messageType\"") && has(b"\"logEvents\"") {
        TopLevel::Envelope
    } else if has(b"\"format-version\"") && has(b"\"table-uuid\"") {
        TopLevel::Iceberg
    } else if has(b"\"eventID\"")
        || has(b"\"eventTime\"")
        || has(b"\"CloudTrailEvent\"")
        || has(br#"\"eventID\""#)
    {
        TopLevel::Event
    } else {
        TopLevel::Other
    }
}

/// Whether a top-level event object looks like a SIEM document rather than a
/// bare record (judged on a file's first record only).
pub fn looks_like_siem(b: &[u8]) -> bool {
    let has = |needle: &[u8]| memmem::find(b, needle).is_some();
    has(b"\"@timestamp\"")
        || has(b"\"@version\"")
        || has(b"\"_source\"")
        || (has(br#"\"eventID\""#) && !has(b"\"eventID\""))
}

/// Parses a record, or the one record a SIEM document wraps.
pub fn parse_wrapped(bytes: &[u8], origin: &Arc<str>) -> Result<Event, RecordError> {
    match parse_record(bytes, origin) {
        Err(RecordError::Incomplete(what)) => {
            let doc: Value = serde_json::from_slice(bytes).map_err(RecordError::Json)?;
            match find_record(&doc, 0) {
                Some(Found::Text(s)) => parse_record(s.as_bytes(), origin),
                Some(Found::Object(v)) => {
                    let text = serde_json::to_vec(v).map_err(RecordError::Json)?;
                    parse_record(&text, origin)
                }
                None => Err(RecordError::Incomplete(what)),
            }
        }
        other => other,
    }
}

enum Found<'a> {
    Text(&'a str),
    Object(&'a Value),
}

/// How deep a SIEM document is searched for the record it wraps.
const MAX_WRAP_DEPTH: usize = 4;

/// The first record in a document: the fields SIEMs use first (`message`,
/// `event.original`), then any other field, breadth before depth.
fn find_record(v: &Value, depth: usize) -> Option<Found<'_>> {
    let obj = v.as_object()?;
    let is_record = |o: &serde_json::Map<String, Value>| {
        o.contains_key("eventID") && (o.contains_key("eventTime") || o.contains_key("eventName"))
    };
    let text_record = |s: &str| {
        let t = s.trim_start();
        t.starts_with('{')
            && t.contains("\"eventID\"")
            && serde_json::from_str::<serde_json::Map<String, Value>>(t)
                .is_ok_and(|o| is_record(&o))
    };
    let preferred = [
        obj.get("message"),
        obj.get("event").and_then(|e| e.get("original")),
        obj.get("_source"),
    ];
    for field in preferred.into_iter().flatten().chain(obj.values()) {
        match field {
            Value::String(s) if text_record(s) => return Some(Found::Text(s)),
            Value::Object(o) if is_record(o) => return Some(Found::Object(field)),
            _ => {}
        }
    }
    if depth + 1 >= MAX_WRAP_DEPTH {
        return None;
    }
    obj.values().find_map(|field| find_record(field, depth + 1))
}

/// A CloudWatch Logs subscription or Firehose envelope.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(borrow)]
    message_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    log_events: Option<Vec<&'a RawValue>>,
}

/// One log event of an envelope.
#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// What an envelope holds.
pub enum Opened<'a> {
    /// The raw log events of a `DATA_MESSAGE`.
    Data(Vec<&'a RawValue>),
    /// A `CONTROL_MESSAGE`, skipped by design.
    Control,
    /// Not an envelope after all.
    NotEnvelope,
}

/// Opens an envelope.
pub fn open_envelope(b: &[u8]) -> Opened<'_> {
    match serde_json::from_slice::<Envelope<'_>>(b) {
        Ok(Envelope {
            message_type: Some(t),
            ..
        }) if t == "CONTROL_MESSAGE" => Opened::Control,
        Ok(Envelope {
            log_events: Some(events),
            ..
        }) => Opened::Data(events),
        _ => Opened::NotEnvelope,
    }
}

/// Parses the record a log event carries in its `message`.
pub fn parse_log_event(raw: &RawValue, origin: &Arc<str>) -> Result<Event, RecordError> {
    let event: LogEvent<'_> = serde_json::from_str(raw.get()).map_err(RecordError::Json)?;
    parse_wrapped(event.message.as_bytes(), origin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::split::tests::Trickle;

    const REC: &str = r#"{"eventVersion":"1.08","eventID":"e1","eventTime":"2025-12-08T14:00:00Z","userIdentity":{"accessKeyId":"AKIAEXAMPLESEED00001"}}"#;

    #[test]
    fn export_prefixes() {
        for line in [
            "2025-12-08T14:00:00.000Z {",
            "2025-12-08T14:00:00Z {",
            "2025-12-08T14:00:00.123456+00:00  {",
            "2025-12-08 14:00:00.000-0500 {",
        ] {
            assert_eq!(
                export_prefix(line.as_bytes()),
                Some(line.len() - 1),
                "{line}"
            );
        }
        for line in [
            "{\"a\":1}",
            "2025-12-08T14:00:00.000Z{",
            "2025-12-08T14:00:00.000Z x",
            "2025-12-08T14:00.000Z {",
            "2025-12-08T14:00:00. {",
            "",
        ] {
            assert_eq!(export_prefix(line.as_bytes()), None, "{line}");
        }
    }

    fn through_reader(data: &[u8], chunk: usize) -> (Vec<u8>, bool) {
        let mut r = ExportLines::new(Trickle(data, chunk));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        (out, r.export())
    }

    #[test]
    fn streamed_and_in_place_blanking_agree() {
        let export = format!(
            "\n2025-12-08T14:00:00.000Z {REC}\n2025-12-08T14:00:01.000Z {REC}\r\n{REC}\n2025-12-08T14:00:02.000Z {REC}"
        );
        let mut blanked = export.clone().into_bytes();
        assert!(blank_export_prefixes(&mut blanked));
        assert!(!blanked.windows(4).any(|w| w == b"000Z"));
        assert_eq!(blanked.len(), export.len());
        for chunk in [1, 3, 7, 64, 1 << 20] {
            let (out, was) = through_reader(export.as_bytes(), chunk);
            assert!(was);
            assert_eq!(out, blanked, "chunk {chunk}");
        }
        // Anything else passes through untouched.
        let plain = format!("{REC}\n2025-12-08T14:00:00.000Z {REC}\n");
        let mut same = plain.clone().into_bytes();
        assert!(!blank_export_prefixes(&mut same));
        assert_eq!(same, plain.as_bytes());
        for chunk in [1, 5, 1 << 20] {
            let (out, was) = through_reader(plain.as_bytes(), chunk);
            assert!(!was);
            assert_eq!(out, plain.as_bytes());
        }
        assert_eq!(through_reader(b"", 4), (Vec::new(), false));
        assert_eq!(through_reader(b"  \n ", 1), (b"  \n ".to_vec(), false));
    }

    #[test]
    fn siem_documents_give_the_record_once() {
        let origin: Arc<str> = Arc::from("t");
        let escaped = serde_json::to_string(REC).unwrap();
        let docs = [
            format!(
                r#"{{"@timestamp":"2025-12-08T14:00:00.000Z","@version":"1",{}"#,
                &REC[1..]
            ),
            format!(r#"{{"@timestamp":"2025-12-08T14:00:00.000Z","message":{escaped}}}"#),
            format!(r#"{{"@timestamp":"x","event":{{"original":{escaped}}},"message":{escaped}}}"#),
            format!(r#"{{"_index":"ct","_id":"1","_source":{REC}}}"#),
            format!(
                r#"{{"log":{{"file":{{"path":"x"}}}},"aws":{{"cloudtrail":{{"raw":{escaped}}}}}}}"#
            ),
        ];
        for doc in &docs {
            assert_eq!(classify(doc.as_bytes()), TopLevel::Event, "{doc}");
            let e = parse_wrapped(doc.as_bytes(), &origin).unwrap();
            assert_eq!(e.id.to_string(), "e1", "{doc}");
        }
        assert!(looks_like_siem(docs[1].as_bytes()));
        assert!(!looks_like_siem(REC.as_bytes()));
        assert!(parse_wrapped(br#"{"@timestamp":"x","message":"hello"}"#, &origin).is_err());
    }

    #[test]
    fn envelopes() {
        let escaped = serde_json::to_string(REC).unwrap();
        let data = format!(
            r#"{{"messageType":"DATA_MESSAGE","owner":"111111111111","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"logEvents":[{{"id":"1","timestamp":1765202400000,"message":{escaped}}}]}}"#
        );
        assert_eq!(classify(data.as_bytes()), TopLevel::Envelope);
        let Opened::Data(events) = open_envelope(data.as_bytes()) else {
            panic!("not data")
        };
        assert_eq!(events.len(), 1);
        let e = parse_log_event(events[0], &Arc::from("t")).unwrap();
        assert_eq!(e.id.to_string(), "e1");
        let control = r#"{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1765202400000,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        assert!(matches!(open_envelope(control.as_bytes()), Opened::Control));
    }
}
