//! The timeline as JSON Lines.
//!
//! One object per row, with the keys of [`COLUMNS`] in
//! order. Values are exactly as recorded (no spreadsheet quoting): absent
//! values are `null`, `depth` a number, booleans JSON booleans, and the JSON
//! columns nested values rather than strings.

use std::io::{self, Write};

use serde_json::Value;

use super::{COLUMNS, Cell};
use crate::timeline::Timeline;

/// Writes a timeline as JSON Lines.
pub struct JsonlWriter<W: Write> {
    out: W,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        JsonlWriter { out }
    }

    /// Writes every row.
    pub fn write(mut self, timeline: &Timeline) -> io::Result<()> {
        for row in &timeline.rows {
            self.out.write_all(b"{")?;
            for (i, ((name, _), cell)) in COLUMNS.iter().zip(row.cells()).enumerate() {
                if i > 0 {
                    self.out.write_all(b",")?;
                }
                serde_json::to_writer(&mut self.out, name)?;
                self.out.write_all(b":")?;
                match cell {
                    Cell::Text(s) => serde_json::to_writer(&mut self.out, &s)?,
                    Cell::Int(n) => serde_json::to_writer(&mut self.out, &n)?,
                    Cell::Bool(b) => serde_json::to_writer(&mut self.out, &b)?,
                    Cell::Time(t) => serde_json::to_writer(&mut self.out, &t)?,
                    Cell::Json(v) => {
                        serde_json::to_writer(&mut self.out, &v.unwrap_or(&Value::Null))?
                    }
                }
            }
            self.out.write_all(b"}\n")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::hostile_timeline;

    #[test]
    fn one_object_per_row_with_typed_values() {
        let mut out = Vec::new();
        JsonlWriter::new(&mut out)
            .write(&hostile_timeline())
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut columns: Vec<&str> = COLUMNS.iter().map(|(n, _)| *n).collect();
        columns.sort_unstable();
        assert_eq!(keys, columns);
        // Verbatim, not quoted for spreadsheets; typed, not strings.
        assert_eq!(v["user_agent"], "=HYPERLINK(\"x\")\n");
        assert_eq!(v["depth"], 0);
        assert_eq!(v["after_deactivation"], true);
        assert_eq!(v["read_only"], Value::Null);
        assert_eq!(v["request_parameters"]["roleSessionName"], "a,b");
        assert_eq!(
            v["response_elements"]["credentials"]["sessionToken"],
            "<redacted>"
        );
    }
}
