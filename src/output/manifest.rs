//! The custody manifest (`--manifest`): one CSV row per input opened, so the
//! evidence behind a timeline can be shown to be what was read (issue 16).
//!
//! Columns, in order: `source` (path or `s3://` URL), `size` (bytes as
//! stored), `s3_etag`, `s3_version_id` (empty where not known, as for local
//! files), `sha256_stored` (of the bytes as stored), `sha256_content` (of the
//! uncompressed content, which is a CloudTrail digest's `hashValue`),
//! `records`, `read_at` (RFC 3339, UTC). A hash is empty when the file could
//! not be read to its end.

use std::io::{self, Write};

use super::csv::into_io;
use crate::inputs::Custody;

/// The header row.
pub const COLUMNS: [&str; 8] = [
    "source",
    "size",
    "s3_etag",
    "s3_version_id",
    "sha256_stored",
    "sha256_content",
    "records",
    "read_at",
];

/// Writes `rows` as CSV, in the order given.
pub fn write(rows: &[Custody], out: impl Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS).map_err(into_io)?;
    for r in rows {
        let size = r.size.to_string();
        let records = r.records.map(|n| n.to_string()).unwrap_or_default();
        w.write_record([
            r.source.as_str(),
            &size,
            r.s3_etag.as_deref().unwrap_or(""),
            r.s3_version_id.as_deref().unwrap_or(""),
            r.sha256_stored.as_deref().unwrap_or(""),
            r.sha256_content.as_deref().unwrap_or(""),
            &records,
            &r.read_at,
        ])
        .map_err(into_io)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn rows_are_written_with_empty_unknowns() {
        let rows = [Custody {
            source: "a/b.json.gz".into(),
            size: 12,
            sha256_stored: Some("aa".into()),
            sha256_content: Some("bb".into()),
            records: Some(3),
            read_at: "2026-12-03T20:00:00Z".into(),
            ..Custody::default()
        }];
        let mut out = Vec::new();
        write(&rows, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "source,size,s3_etag,s3_version_id,sha256_stored,sha256_content,records,read_at\n\
             a/b.json.gz,12,,,aa,bb,3,2026-12-03T20:00:00Z\n"
        );
    }
}
