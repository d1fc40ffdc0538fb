//! The timeline as CSV.
//!
//! RFC 4180, UTF-8, one header row with the names in
//! [`COLUMNS`]. Absent values are empty cells; booleans are
//! `true`/`false`; times are RFC 3339 UTC; JSON columns hold compact JSON.
//! Every cell that a spreadsheet would run as a formula is prefixed with `'`
//! ([`sanitize::spreadsheet`]), because attackers write many of these fields
//! and analysts open this file in a spreadsheet first.

use std::borrow::Cow;
use std::io::{self, Write};

use super::{COLUMNS, Cell, sanitize};
use crate::timeline::Timeline;

/// Writes a timeline as CSV.
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        CsvWriter {
            out: csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(out),
        }
    }

    /// Writes the header and every row.
    pub fn write(mut self, timeline: &Timeline) -> io::Result<()> {
        self.out
            .write_record(COLUMNS.iter().map(|(name, _)| name))
            .map_err(into_io)?;
        for row in &timeline.rows {
            for cell in row.cells() {
                let text: Cow<'_, str> = match cell {
                    Cell::Text(s) => Cow::Borrowed(s.unwrap_or_default()),
                    Cell::Int(n) => Cow::Owned(n.to_string()),
                    Cell::Bool(b) => {
                        Cow::Borrowed(b.map_or("", |b| if b { "true" } else { "false" }))
                    }
                    Cell::Time(t) => Cow::Owned(t.to_string()),
                    Cell::Json(v) => Cow::Owned(v.map(|v| v.to_string()).unwrap_or_default()),
                };
                self.out
                    .write_field(sanitize::spreadsheet(&text).as_bytes())
                    .map_err(into_io)?;
            }
            self.out.write_record(None::<&[u8]>).map_err(into_io)?;
        }
        self.out.flush()
    }
}

/// The destination's own error: the csv crate wraps it as `Other`, which
/// would hide a closed pipe.
pub(super) fn into_io(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        kind => io::Error::other(format!("{kind:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::hostile_timeline;

    #[test]
    fn one_row_with_hostile_text() {
        let mut out = Vec::new();
        CsvWriter::new(&mut out).write(&hostile_timeline()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut records = csv::Reader::from_reader(text.as_bytes());
        let header = records.headers().unwrap().clone();
        assert_eq!(header.len(), COLUMNS.len());
        let rows: Vec<csv::StringRecord> = records.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        let cell = |name: &str| &rows[0][header.iter().position(|h| h == name).unwrap()];
        assert_eq!(cell("event_time"), "2025-12-08T14:03:12Z");
        // A formula is quoted for spreadsheets; the newline stays inside the cell.
        assert_eq!(cell("user_agent"), "'=HYPERLINK(\"x\")\n");
        assert_eq!(cell("principal_type"), "IAMUser");
        assert_eq!(cell("account_id"), "111111111111");
        assert_eq!(cell("after_deactivation"), "true");
        assert_eq!(cell("read_only"), "");
        assert_eq!(
            cell("response_elements"),
            r#"{"credentials":{"accessKeyId":"ASIAEXAMPLEROLE00001","sessionToken":"<redacted>"}}"#
        );
    }
}
