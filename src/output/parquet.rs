//! The timeline as Apache Parquet, for DuckDB, Athena, pandas and polars.
//!
//! Same columns as the CSV, typed: `event_time` is a UTC timestamp
//! (milliseconds), `depth` a `UInt32`, `read_only` and `after_deactivation`
//! booleans, everything else UTF-8 with nulls for absent values; the JSON
//! columns hold compact JSON text. polars types never leave this module.

use std::io::{self, Write};

use polars::prelude::{
    Column, DataFrame, NamedFrom, ParquetCompression, ParquetWriter as PlWriter, Series, TimeUnit,
    TimeZone,
};

use super::{COLUMNS, Cell, ColumnType};
use crate::timeline::Timeline;

/// Writes a timeline as Parquet.
pub struct ParquetWriter<W: Write> {
    out: W,
}

impl<W: Write> ParquetWriter<W> {
    /// A writer into `out`.
    pub fn new(out: W) -> Self {
        ParquetWriter { out }
    }

    /// Writes every row, as one file.
    pub fn write(self, timeline: &Timeline) -> io::Result<()> {
        let mut df = frame(timeline).map_err(io::Error::other)?;
        let mut out = Remembering {
            inner: self.out,
            failed: None,
        };
        let written = PlWriter::new(&mut out)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df);
        match (written, out.failed) {
            (Ok(_), _) => Ok(()),
            // polars reports a failed write as its own error, in words.
            (Err(e), Some(kind)) => Err(io::Error::new(kind, e.to_string())),
            (Err(e), None) => Err(io::Error::other(e)),
        }
    }
}

fn frame(timeline: &Timeline) -> polars::prelude::PolarsResult<DataFrame> {
    let rows: Vec<_> = timeline.rows.iter().map(|r| r.cells()).collect();
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for (i, (name, ty)) in COLUMNS.iter().enumerate() {
        let name = (*name).into();
        let series = match ty {
            ColumnType::Time => {
                let ms: Vec<i64> = rows
                    .iter()
                    .map(|c| match c[i] {
                        Cell::Time(t) => t.as_millis(),
                        _ => 0,
                    })
                    .collect();
                Series::new(name, ms).into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
            }
            ColumnType::Int => {
                let v: Vec<u32> = rows
                    .iter()
                    .map(|c| match c[i] {
                        Cell::Int(n) => n,
                        _ => 0,
                    })
                    .collect();
                Series::new(name, v)
            }
            ColumnType::Bool => {
                let v: Vec<Option<bool>> = rows
                    .iter()
                    .map(|c| match c[i] {
                        Cell::Bool(b) => b,
                        _ => None,
                    })
                    .collect();
                Series::new(name, v)
            }
            ColumnType::Text | ColumnType::Json => {
                let v: Vec<Option<String>> = rows
                    .iter()
                    .map(|c| match c[i] {
                        Cell::Text(s) => s.map(str::to_owned),
                        Cell::Json(v) => v.map(|v| v.to_string()),
                        _ => None,
                    })
                    .collect();
                Series::new(name, v)
            }
        };
        columns.push(Column::from(series));
    }
    DataFrame::new(rows.len(), columns)
}

/// A writer that remembers the kind of the first error its destination
/// returned, so that a closed pipe is still known as one once polars has
/// wrapped it.
struct Remembering<W> {
    inner: W,
    failed: Option<io::ErrorKind>,
}

impl<W: Write> Remembering<W> {
    fn remember<T>(&mut self, r: io::Result<T>) -> io::Result<T> {
        if let Err(e) = &r {
            self.failed.get_or_insert(e.kind());
        }
        r
    }
}

impl<W: Write> Write for Remembering<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let r = self.inner.write(buf);
        self.remember(r)
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = self.inner.flush();
        self.remember(r)
    }
}
