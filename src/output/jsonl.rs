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
