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
            .write_record(COLUMNS.iter().map(|(name, _)| name))?;
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
                    .write_field(sanitize::spreadsheet(&text).as_bytes())?;
            }
            self.out.write_record(None::<&[u8]>)?;
        }
        self.out.flush()
    }
}
