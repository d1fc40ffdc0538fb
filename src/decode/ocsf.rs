//! Amazon Security Lake's OCSF Parquet, read back into CloudTrail records.
//!
//! Security Lake stores CloudTrail management events as OCSF 1.x rows of the
//! classes API Activity (6003), Account Change (3001) and Authentication
//! (3002), in Parquet. The lineage needs only a few of their attributes, so
//! this module rebuilds a CloudTrail-shaped record from them and hands it to
//! the same [`parse_record`] as every JSON input: the lineage and the rows
//! cannot depend on the container.
//!
//! Mapping, from the OCSF CloudTrail mapping documents and AWS's Security
//! Lake query examples for source versions 1 and 2:
//! `actor.user.credential_uid` is `userIdentity.accessKeyId`;
//! `metadata.uid` is `eventID`; `time` (ms) is `eventTime`; the ARN is
//! `actor.user.uid` (version 2) or `actor.user.uuid` (version 1); the
//! request and response are `api.request.data` and `api.response.data`
//! (version 2) or `unmapped['requestParameters']` and
//! `unmapped['responseElements']` (version 1); whatever else the mapping
//! does not name is in `unmapped`, a map whose dotted keys
//! (`userIdentity.sessionContext.sessionIssuer.type`) are nested again.
//!
//! Speed: a Parquet file is read one row group at a time, and only the leaf
//! columns asked for are decoded (a struct is pruned to the leaves wanted).
//! The probe columns (the key, the principal, the request, the response and
//! `unmapped`) are decoded first and offered to the prefilter as one small
//! byte string; only a row group with a row the prefilter wants has its
//! other columns decoded, and only such rows become records. polars types
//! stay inside this module.
//!
//! A file is recognised as OCSF by its content: the Parquet magic at both
//! ends, and a schema with `class_uid` and `metadata`.

use std::io::Cursor;
use std::sync::Arc;

use polars::io::parquet::read::_internal::to_deserializer;
use polars_arrow::array::{
    Array, BinaryViewArray, BooleanArray, ListArray, MapArray, PrimitiveArray, StructArray,
    Utf8Array, Utf8ViewArray,
};
use polars_arrow::compute::concatenate::concatenate;
use polars_arrow::datatypes::{ArrowDataType, Field, TimeUnit};
use polars_buffer::Buffer;
use polars_parquet::read::{FileMetadata, infer_schema, read_metadata};
use serde_json::{Map, Value};

use super::record::parse_record;
use super::{BadRecord, Decoded, Sink, Status};
use crate::inputs::Format;

/// Parquet's magic bytes, at the start and at the end of every file.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";

/// The OCSF classes CloudTrail events map to: API Activity, Account Change,
/// Authentication.
const CLOUDTRAIL_CLASSES: [i64; 3] = [6003, 3001, 3002];

/// The leaf columns offered to the prefilter, decoded for every row group.
const PROBE: &[&str] = &[
    "class_uid",
    "time",
    "time_dt",
    "metadata.product.name",
    "actor.user.credential_uid",
    "actor.user.uid",
    "actor.user.uuid",
    "actor.user.name",
    "actor.session.issuer",
    "actor.idp.name",
    "api.request.data",
    "api.response.data",
    "unmapped",
];

/// The other leaf columns a CloudTrail record is rebuilt from, decoded only
/// for row groups that hold a row the prefilter wants.
const REST: &[&str] = &[
    "metadata.uid",
    "metadata.product.version",
    "time",
    "time_dt",
    "cloud.region",
    "api.operation",
    "api.service.name",
    "api.version",
    "api.request.uid",
    "api.response.error",
    "api.response.message",
    "actor.user.type",
    "actor.user.uid_alt",
    "actor.user.account_uid",
    "actor.user.account.uid",
    "actor.session.created_time",
    "actor.session.created_time_dt",
    "actor.session.is_mfa",
    "actor.session.mfa",
    "actor.invoked_by",
    "http_request.user_agent",
    "src_endpoint.ip",
    "src_endpoint.domain",
    "src_endpoint.uid",
    "resources",
    "accountid",
];

/// Whether `bytes`, a whole file, is Parquet by its magic bytes.
pub fn is_parquet(bytes: &[u8]) -> bool {
    bytes.len() >= 12 && bytes.starts_with(PARQUET_MAGIC) && bytes.ends_with(PARQUET_MAGIC)
}

/// Reads one whole Parquet file, passing the CloudTrail events the sink
/// wants to it.
pub fn decode(bytes: Vec<u8>, origin: &Arc<str>, sink: &mut dyn Sink) -> Decoded {
    let failed = |reason: String| Decoded {
        status: Status::Failed(reason),
        ..Decoded::default()
    };
    if !is_parquet(&bytes) {
        return failed("damaged Parquet: the file does not end with its magic bytes".into());
    }
    let metadata =
        match guarded(|| read_metadata(&mut Cursor::new(&bytes[..])).map_err(|e| e.to_string())) {
            Ok(m) => m,
            Err(e) => return failed(format!("damaged Parquet footer: {e}")),
        };
    let schema = match guarded(|| infer_schema(&metadata).map_err(|e| e.to_string())) {
        Ok(s) => s,
        Err(e) => return failed(format!("unreadable Parquet schema: {e}")),
    };
    let fields: Vec<Field> = schema.iter_values().cloned().collect();
    let has = |name: &str| fields.iter().any(|f| f.name.as_str() == name);
    if !has("class_uid") || !has("metadata") {
        return failed(
            "Parquet, but not OCSF: no `class_uid` and `metadata` columns (not a Security Lake CloudTrail table)"
                .into(),
        );
    }
    let probe = prune_all(&fields, PROBE);
    let rest = prune_all(&fields, REST);
    let file = File {
        bytes: Buffer::from(bytes),
        metadata,
    };
    let mut reader = Reader {
        origin,
        sink,
        out: Decoded {
            format: Some(Format::Ocsf),
            ..Decoded::default()
        },

        probe: Vec::new(),
        other_rows: 0,
        times: Some(None),
    };
    let mut first_row = 0usize;
    for group in 0..file.metadata.row_groups.len() {
        let height = file.metadata.row_groups[group].num_rows();
        if let Err(e) = reader.group(&file, group, first_row, &probe, &rest) {
            let reason = format!(
                "damaged Parquet row group {group} (rows {first_row}..{}) after {} complete record(s): {e}",
                first_row + height,
                reader.out.records
            );
            reader.out.status = if reader.out.records > 0 {
                Status::Partial(reason)
            } else {
                Status::Failed(reason)
            };
            return reader.out;
        }
        first_row += height;
    }
    if let Some(Some((start, end))) = reader.times {
        reader.out.times = Some(crate::time::Span {
            start: crate::time::Timestamp::from_millis(start),
            end: crate::time::Timestamp::from_millis(end),
        });
    }
    if reader.out.records == 0 && reader.other_rows > 0 {
        reader.out.status =
            Status::NotEvents("OCSF events from no CloudTrail source (skipped by design)".into());
    }
    reader.out
}

thread_local! {
    /// Set while this thread runs polars' Parquet decoder.
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs polars' decoder on untrusted bytes. Damage it does not expect
/// makes it panic rather than return an error: the panic is caught, and
/// becomes this file's damage (the panic message is kept off stderr; the
/// report names the file and the reason).
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    DECODING.with(|d| d.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    DECODING.with(|d| d.set(false));
    r.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unexpected data".into());
        Err(format!("the Parquet decoder gave up: {what}"))
    })
}

/// A Parquet file in memory, with its footer read.
struct File {
    bytes: Buffer<u8>,
    metadata: FileMetadata,
}

impl File {
    /// Decodes the pruned top-level `field` in row group `group`.
    fn column(&self, group: usize, field: &Pruned) -> Result<Box<dyn Array>, String> {
        let rg = &self.metadata.row_groups[group];
        let chunks: Vec<_> = rg
            .columns_under_root_iter(field.field.name.as_str())
            .into_iter()
            .flatten()
            .filter(|c| {
                let path = &c.descriptor().path_in_schema;
                field.leaves.iter().any(|leaf| {
                    leaf.len() <= path.len() && leaf.iter().zip(path).all(|(a, b)| a == b.as_str())
                })
            })
            .map(|c| {
                let range = c.byte_range();
                let (start, end) = (range.start as usize, range.end as usize);
                if end > self.bytes.len() || start > end {
                    return Err(format!(
                        "column chunk {} lies outside the file",
                        c.descriptor().path_in_schema.join(".")
                    ));
                }
                Ok((c, self.bytes.clone().sliced(start..end)))
            })
            .collect::<Result<_, _>>()?;
        if chunks.is_empty() {
            return Err(format!("no column chunks for {}", field.field.name));
        }
        let (arrays, _) = guarded(|| {
            to_deserializer(chunks, field.field.clone(), None).map_err(|e| e.to_string())
        })?;
        let array = match arrays.len() {
            1 => arrays.into_iter().next().ok_or("no array")?,
            _ => {
                let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
                concatenate(&refs).map_err(|e| e.to_string())?
            }
        };
        if array.len() != rg.num_rows() {
            return Err(format!(
                "column {} holds {} values for {} rows",
                field.field.name,
                array.len(),
                rg.num_rows()
            ));
        }
        Ok(array)
    }
}

/// A top-level field cut down to the leaves wanted, and those leaves' paths.
struct Pruned {
    field: Field,
    leaves: Vec<Vec<String>>,
}

/// The top-level fields of `fields` pruned to the dotted `paths` they hold.
fn prune_all(fields: &[Field], paths: &[&str]) -> Vec<Pruned> {
    let mut out = Vec::new();
    for f in fields {
        let wanted: Vec<Vec<&str>> = paths
            .iter()
            .map(|p| p.split('.').collect::<Vec<_>>())
            .filter(|p| p[0] == f.name.as_str())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let tails: Vec<&[&str]> = wanted.iter().map(|p| &p[1..]).collect();
        if let Some(dtype) = prune(&f.dtype, &tails) {
            let mut field = f.clone();
            field.dtype = dtype;
            let mut leaves = Vec::new();
            leaf_paths(&field.dtype, &mut vec![f.name.to_string()], &mut leaves);
            out.push(Pruned { field, leaves });
        }
    }
    out
}

/// `dtype` with only the struct fields on `paths` (relative to it); an
/// empty path keeps the whole type. `None` when no path exists in it.
fn prune(dtype: &ArrowDataType, paths: &[&[&str]]) -> Option<ArrowDataType> {
    if paths.iter().any(|p| p.is_empty()) {
        return Some(dtype.clone());
    }
    let ArrowDataType::Struct(fields) = dtype else {
        return None;
    };
    let kept: Vec<Field> = fields
        .iter()
        .filter_map(|f| {
            let sub: Vec<&[&str]> = paths
                .iter()
                .filter(|p| p[0] == f.name.as_str())
                .map(|p| &p[1..])
                .collect();
            if sub.is_empty() {
                return None;
            }
            let mut f = f.clone();
            f.dtype = prune(&f.dtype, &sub)?;
            Some(f)
        })
        .collect();
    (!kept.is_empty()).then_some(ArrowDataType::Struct(kept))
}

/// The paths of the Parquet leaf columns a pruned type reads: its struct
/// fields spelled out, and lists and maps whole.
fn leaf_paths(dtype: &ArrowDataType, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match dtype {
        ArrowDataType::Struct(fields) => {
            for f in fields {
                at.push(f.name.to_string());
                leaf_paths(&f.dtype, at, out);
                at.pop();
            }
        }
        _ => out.push(at.clone()),
    }
}

/// The state of one file's read.
struct Reader<'a> {
    origin: &'a Arc<str>,
    sink: &'a mut dyn Sink,
    out: Decoded,
    /// The prefilter's view of a row, rebuilt for each.
    probe: Vec<u8>,
    /// Rows of classes or products other than CloudTrail's.
    other_rows: u64,
    /// The earliest and latest event time (ms) of the CloudTrail rows so
    /// far; `None` once a row had no time.
    times: Option<Option<(i64, i64)>>,
}

impl Reader<'_> {
    /// Reads one row group: every row is offered to the prefilter; a row
    /// it wants is rebuilt and parsed at once (the other columns are
    /// decoded when the first such row comes), so a key a row mints is
    /// looked for in the rows after it, as in a JSON file.
    fn group(
        &mut self,
        file: &File,
        group: usize,
        first_row: usize,
        probe: &[Pruned],
        rest: &[Pruned],
    ) -> Result<(), String> {
        let height = file.metadata.row_groups[group].num_rows();
        let mut probe_columns = Columns::default();
        for p in probe {
            probe_columns.add(&p.field.name, file.column(group, p)?);
        }
        let mut rest_columns: Option<Columns> = None;
        let columns = &probe_columns;
        let class = columns.leaf("class_uid");
        let product = columns.leaf("metadata.product.name");
        let (time, time_dt) = (columns.leaf("time"), columns.leaf("time_dt"));
        let key = columns.leaf("actor.user.credential_uid");
        let texts: Vec<Leaf<'_>> = [
            "actor.user.uid",
            "actor.user.uuid",
            "actor.user.name",
            "actor.session.issuer",
            "actor.idp.name",
            "api.request.data",
            "api.response.data",
        ]
        .iter()
        .map(|p| columns.leaf(p))
        .collect();
        let unmapped = columns.leaf("unmapped");
        for row in 0..height {
            let cloudtrail = class
                .int(row)
                .is_some_and(|c| CLOUDTRAIL_CLASSES.contains(&c))
                && product
                    .str(row)
                    .is_none_or(|p| p.eq_ignore_ascii_case("cloudtrail"));
            if !cloudtrail {
                self.other_rows += 1;
                continue;
            }
            let index = self.out.records;
            self.out.records += 1;
            let t = time.millis(row).or_else(|| time_dt.millis(row));
            self.times = match (self.times, t) {
                (Some(None), Some(t)) => Some(Some((t, t))),
                (Some(Some((a, b))), Some(t)) => Some(Some((a.min(t), b.max(t)))),
                _ => None,
            };
            let probe = &mut self.probe;
            probe.clear();
            if let Some(k) = key.str(row) {
                probe.extend_from_slice(b"\"accessKeyId\":\"");
                probe.extend_from_slice(k.as_bytes());
                probe.extend_from_slice(b"\"\n");
            }
            for t in &texts {
                if let Some(s) = t.str(row) {
                    probe.extend_from_slice(s.as_bytes());
                    probe.push(b'\n');
                }
            }
            unmapped.each_entry(row, |k, v| {
                probe.extend_from_slice(k.as_bytes());
                probe.push(b'\t');
                probe.extend_from_slice(v.as_bytes());
                probe.push(b'\n');
            });
            if !self.sink.wants(&self.probe) {
                continue;
            }
            if rest_columns.is_none() {
                let mut c = Columns::default();
                for p in rest {
                    c.add(&p.field.name, file.column(group, p)?);
                }
                rest_columns = Some(c);
            }
            let both = Both(columns, rest_columns.as_ref());
            let record = rebuild(&both, row);
            let origin: Arc<str> = Arc::from(format!("{}#row={}", self.origin, first_row + row));
            match serde_json::to_vec(&record)
                .map_err(|e| e.to_string())
                .and_then(|b| parse_record(&b, &origin).map_err(|e| e.to_string()))
            {
                Ok(event) => self.sink.event(event),
                Err(reason) => self.out.bad_records.push(BadRecord { index, reason }),
            }
        }
        Ok(())
    }
}

/// The probe columns and, once decoded, the others.
struct Both<'a>(&'a Columns, Option<&'a Columns>);

impl Both<'_> {
    fn leaf(&self, path: &str) -> Leaf<'_> {
        let first = self.0.leaf(path);
        match (&first.array, self.1) {
            (None, Some(rest)) => rest.leaf(path),
            _ => first,
        }
    }
}

/// The decoded top-level columns of one row group, by name; the same name
/// may come twice (probe and rest), each pruned to other leaves.
#[derive(Default)]
struct Columns {
    roots: Vec<(String, Box<dyn Array>)>,
}

impl Columns {
    fn add(&mut self, name: &str, array: Box<dyn Array>) {
        self.roots.push((name.to_owned(), array));
    }

    /// The leaf at a dotted path, with the struct arrays above it (whose
    /// nulls are its nulls too); an absent leaf reads as all null.
    fn leaf(&self, path: &str) -> Leaf<'_> {
        let mut parts = path.split('.');
        let root = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        'roots: for (name, array) in self.roots.iter().filter(|(n, _)| n == root) {
            let _ = name;
            let mut at: &dyn Array = array.as_ref();
            let mut parents = Vec::new();
            for part in &rest {
                let Some(s) = at.as_any().downcast_ref::<StructArray>() else {
                    continue 'roots;
                };
                let Some(i) = s.fields().iter().position(|f| f.name.as_str() == *part) else {
                    continue 'roots;
                };
                parents.push(at);
                at = s.values()[i].as_ref();
            }
            return Leaf {
                array: Some(at),
                parents,
            };
        }
        Leaf {
            array: None,
            parents: Vec::new(),
        }
    }
}

/// One leaf column of a row group.
struct Leaf<'a> {
    array: Option<&'a dyn Array>,
    parents: Vec<&'a dyn Array>,
}

impl<'a> Leaf<'a> {
    /// The array, when the leaf and all its parents are valid at `row`.
    fn at(&self, row: usize) -> Option<&'a dyn Array> {
        let a = self.array?;
        (row < a.len() && a.is_valid(row) && self.parents.iter().all(|p| p.is_valid(row)))
            .then_some(a)
    }

    fn str(&self, row: usize) -> Option<&'a str> {
        text(self.at(row)?, row).filter(|s| !s.is_empty())
    }

    fn int(&self, row: usize) -> Option<i64> {
        let a = self.at(row)?.as_any();
        if let Some(p) = a.downcast_ref::<PrimitiveArray<i64>>() {
            Some(p.value(row))
        } else if let Some(p) = a.downcast_ref::<PrimitiveArray<i32>>() {
            Some(i64::from(p.value(row)))
        } else {
            text(self.at(row)?, row)?.parse().ok()
        }
    }

    /// Milliseconds since the epoch, from an integer (ms) or a timestamp.
    fn millis(&self, row: usize) -> Option<i64> {
        let a = self.at(row)?;
        let raw = self.int(row)?;
        Some(match a.dtype() {
            ArrowDataType::Timestamp(TimeUnit::Second, _) => raw.saturating_mul(1000),
            ArrowDataType::Timestamp(TimeUnit::Microsecond, _) => raw.div_euclid(1000),
            ArrowDataType::Timestamp(TimeUnit::Nanosecond, _) => raw.div_euclid(1_000_000),
            _ => raw,
        })
    }

    fn bool(&self, row: usize) -> Option<bool> {
        let a = self.at(row)?;
        if let Some(b) = a.as_any().downcast_ref::<BooleanArray>() {
            Some(b.value(row))
        } else {
            match text(a, row)? {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }
        }
    }

    /// Calls `each` with every entry of a map (or a list of key/value
    /// structs) at `row`; a plain string is one JSON object's text, passed
    /// with an empty key.
    fn each_entry(&self, row: usize, mut each: impl FnMut(&str, &str)) {
        let Some(a) = self.at(row) else {
            return;
        };
        if let Some(s) = text(a, row) {
            each("", s);
            return;
        }
        let (entries, range) = if let Some(m) = a.as_any().downcast_ref::<MapArray>() {
            let (s, e) = m.offsets().start_end(row);
            (m.field().as_ref(), s..e)
        } else if let Some(l) = a.as_any().downcast_ref::<ListArray<i32>>() {
            let (s, e) = l.offsets().start_end(row);
            (l.values().as_ref(), s..e)
        } else if let Some(l) = a.as_any().downcast_ref::<ListArray<i64>>() {
            let (s, e) = l.offsets().start_end(row);
            (l.values().as_ref(), s..e)
        } else {
            return;
        };
        let Some(kv) = entries.as_any().downcast_ref::<StructArray>() else {
            return;
        };
        let [k, v] = [0, 1].map(|i| kv.values().get(i).map(|a| a.as_ref()));
        let (Some(k), Some(v)) = (k, v) else {
            return;
        };
        for i in range {
            if let (Some(key), Some(value)) = (
                k.is_valid(i).then(|| text(k, i)).flatten(),
                v.is_valid(i).then(|| text(v, i)).flatten(),
            ) {
                each(key, value);
            }
        }
    }
}

/// The text of a string (or binary) array at `row`, whatever its layout.
fn text(a: &dyn Array, row: usize) -> Option<&str> {
    let any = a.as_any();
    if let Some(s) = any.downcast_ref::<Utf8ViewArray>() {
        Some(s.value(row))
    } else if let Some(s) = any.downcast_ref::<Utf8Array<i64>>() {
        Some(s.value(row))
    } else if let Some(s) = any.downcast_ref::<Utf8Array<i32>>() {
        Some(s.value(row))
    } else if let Some(b) = any.downcast_ref::<BinaryViewArray>() {
        std::str::from_utf8(b.value(row)).ok()
    } else {
        None
    }
}

/// The CloudTrail record a row stands for.
fn rebuild(c: &Both<'_>, row: usize) -> Value {
    let s = |path: &str| c.leaf(path).str(row).map(|v| Value::String(v.to_owned()));
    let mut rec = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    };
    put(&mut rec, "eventVersion", s("metadata.product.version"));
    put(&mut rec, "eventID", s("metadata.uid"));
    let time = c
        .leaf("time")
        .millis(row)
        .or_else(|| c.leaf("time_dt").millis(row));
    put(
        &mut rec,
        "eventTime",
        time.and_then(rfc3339).map(Value::String),
    );
    put(&mut rec, "eventSource", s("api.service.name"));
    put(&mut rec, "eventName", s("api.operation"));
    put(&mut rec, "awsRegion", s("cloud.region"));
    put(
        &mut rec,
        "sourceIPAddress",
        s("src_endpoint.ip").or_else(|| s("src_endpoint.domain")),
    );
    put(&mut rec, "userAgent", s("http_request.user_agent"));
    put(&mut rec, "errorCode", s("api.response.error"));
    put(&mut rec, "errorMessage", s("api.response.message"));
    put(&mut rec, "requestID", s("api.request.uid"));
    put(&mut rec, "apiVersion", s("api.version"));
    put(&mut rec, "vpcEndpointId", s("src_endpoint.uid"));
    put(&mut rec, "requestParameters", json(s("api.request.data")));
    put(&mut rec, "responseElements", json(s("api.response.data")));
    put(&mut rec, "recipientAccountId", s("accountid"));
    put(&mut rec, "resources", resources(&c.leaf("resources"), row));

    // userIdentity. Version 2 has the ARN in `uid` and the principal id in
    // `uid_alt`; version 1 the principal id in `uid` and the ARN in `uuid`.
    let mut ui = Map::new();
    let v1 = c.leaf("actor.user.uuid").array.is_some();
    let (arn, principal) = if v1 {
        (s("actor.user.uuid"), s("actor.user.uid"))
    } else {
        (s("actor.user.uid"), s("actor.user.uid_alt"))
    };
    put(&mut ui, "type", s("actor.user.type"));
    put(&mut ui, "principalId", principal);
    put(&mut ui, "arn", arn);
    put(
        &mut ui,
        "accountId",
        s("actor.user.account.uid").or_else(|| s("actor.user.account_uid")),
    );
    put(&mut ui, "accessKeyId", s("actor.user.credential_uid"));
    put(&mut ui, "userName", s("actor.user.name"));
    put(&mut ui, "invokedBy", s("actor.invoked_by"));
    put(&mut ui, "identityProvider", s("actor.idp.name"));
    let created = c
        .leaf("actor.session.created_time_dt")
        .millis(row)
        .or_else(|| c.leaf("actor.session.created_time").millis(row))
        .filter(|&t| t > 0);
    let mfa = c
        .leaf("actor.session.is_mfa")
        .bool(row)
        .or_else(|| c.leaf("actor.session.mfa").bool(row));
    let issuer = c.leaf("actor.session.issuer").str(row);
    if created.is_some() || mfa.is_some() || issuer.is_some() {
        let mut attributes = Map::new();
        put(
            &mut attributes,
            "creationDate",
            created.and_then(rfc3339).map(Value::String),
        );
        put(
            &mut attributes,
            "mfaAuthenticated",
            mfa.map(|m| Value::String(m.to_string())),
        );
        let mut context = Map::new();
        context.insert("attributes".into(), Value::Object(attributes));
        if let Some(arn) = issuer {
            context.insert("sessionIssuer".into(), Value::Object(issuer_of(arn)));
        }
        ui.insert("sessionContext".into(), Value::Object(context));
    }
    if !ui.is_empty() {
        rec.insert("userIdentity".into(), Value::Object(ui));
    }

    // Everything the mapping did not name, nested again by its dotted keys;
    // what the mapped columns gave wins.
    c.leaf("unmapped").each_entry(row, |k, v| {
        if k.is_empty() {
            if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(v) {
                for (k, v) in m {
                    merge(&mut rec, &[k.as_str()], v);
                }
            }
            return;
        }
        let path: Vec<&str> = k.split('.').collect();
        let leaf = path.last().copied().unwrap_or_default();
        merge(&mut rec, &path, unmapped_value(leaf, v));
    });
    Value::Object(rec)
}

/// Sets `path` in `m` unless something is there already.
fn merge(m: &mut Map<String, Value>, path: &[&str], v: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        m.entry(first.to_string()).or_insert(v);
        return;
    }
    let slot = m
        .entry(first.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(inner) = slot {
        merge(inner, rest, v);
    }
}

/// A value of the `unmapped` map: the text of a JSON object or array is
/// that object or array, `readOnly` and `managementEvent` are booleans as
/// CloudTrail writes them, anything else is the string it is.
fn unmapped_value(key: &str, v: &str) -> Value {
    let t = v.trim_start();
    if (t.starts_with('{') || t.starts_with('['))
        && let Ok(parsed) = serde_json::from_str::<Value>(v)
    {
        return parsed;
    }
    match (key, v) {
        ("readOnly" | "managementEvent", "true") => Value::Bool(true),
        ("readOnly" | "managementEvent", "false") => Value::Bool(false),
        _ => Value::String(v.to_owned()),
    }
}

/// A JSON column's text as JSON; text that is not JSON stays a string.
fn json(v: Option<Value>) -> Option<Value> {
    match v? {
        Value::String(s) => Some(serde_json::from_str(&s).unwrap_or(Value::String(s))),
        other => Some(other),
    }
}

/// `sessionIssuer` from its ARN, the only part the OCSF mapping keeps: the
/// type and name are read back from it (`…:user/NAME` is an `IAMUser`,
/// `…:role/PATH/NAME` a `Role`, `…:root` the `Root`).
fn issuer_of(arn: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("arn".into(), Value::String(arn.to_owned()));
    let mut parts = arn.splitn(6, ':');
    let account = parts.nth(4).filter(|a| !a.is_empty());
    let resource = parts.next().unwrap_or_default();
    if let Some(a) = account {
        m.insert("accountId".into(), Value::String(a.to_owned()));
    }
    let (kind, name) = match resource.split_once('/') {
        Some(("user", rest)) => ("IAMUser", rest.rsplit('/').next()),
        Some(("role", rest)) => ("Role", rest.rsplit('/').next()),
        None if resource == "root" => ("Root", None),
        _ => return m,
    };
    m.insert("type".into(), Value::String(kind.to_owned()));
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        m.insert("userName".into(), Value::String(n.to_owned()));
    }
    m
}

/// `resources[]`: `uid` is the ARN, `account.uid` the account.
fn resources(leaf: &Leaf<'_>, row: usize) -> Option<Value> {
    let a = leaf.at(row)?;
    let (values, range) = if let Some(l) = a.as_any().downcast_ref::<ListArray<i32>>() {
        let (s, e) = l.offsets().start_end(row);
        (l.values().as_ref(), s..e)
    } else if let Some(l) = a.as_any().downcast_ref::<ListArray<i64>>() {
        let (s, e) = l.offsets().start_end(row);
        (l.values().as_ref(), s..e)
    } else {
        return None;
    };
    let items = values.as_any().downcast_ref::<StructArray>()?;
    let field = |name: &str| {
        items
            .fields()
            .iter()
            .position(|f| f.name.as_str() == name)
            .map(|i| items.values()[i].as_ref())
    };
    let str_at = |a: Option<&dyn Array>, i: usize| {
        a.filter(|a| a.is_valid(i))
            .and_then(|a| text(a, i))
            .map(|s| Value::String(s.to_owned()))
    };
    let (uid, kind, account) = (field("uid"), field("type"), field("account"));
    let account_uid = account.and_then(|a| {
        let s = a.as_any().downcast_ref::<StructArray>()?;
        let i = s.fields().iter().position(|f| f.name.as_str() == "uid")?;
        Some((a, s.values()[i].as_ref()))
    });
    let mut out = Vec::new();
    for i in range {
        if !items.is_valid(i) {
            continue;
        }
        let mut r = Map::new();
        if let Some(v) = str_at(uid, i) {
            r.insert("ARN".into(), v);
        }
        if let Some((parent, uid)) = account_uid
            && parent.is_valid(i)
            && let Some(v) = str_at(Some(uid), i)
        {
            r.insert("accountId".into(), v);
        }
        if let Some(v) = str_at(kind, i) {
            r.insert("type".into(), v);
        }
        out.push(Value::Object(r));
    }
    Some(Value::Array(out))
}

/// Milliseconds since the epoch as CloudTrail writes times: whole seconds
/// without a fraction.
fn rfc3339(ms: i64) -> Option<String> {
    let t = chrono::DateTime::from_timestamp_millis(ms)?;
    Some(if ms % 1000 == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_read_back_from_their_arns() {
        let m = issuer_of("arn:aws:iam::111111111111:role/service/deploy-role");
        assert_eq!(m["type"], "Role");
        assert_eq!(m["userName"], "deploy-role");
        assert_eq!(m["accountId"], "111111111111");
        let m = issuer_of("arn:aws:iam::111111111111:user/ci-deployer");
        assert_eq!(m["type"], "IAMUser");
        assert_eq!(m["userName"], "ci-deployer");
        let m = issuer_of("arn:aws:iam::111111111111:root");
        assert_eq!(m["type"], "Root");
        assert!(!m.contains_key("userName"));
        assert_eq!(issuer_of("garbage").len(), 1);
    }

    #[test]
    fn unmapped_values_and_dotted_keys() {
        let mut rec = Map::new();
        merge(
            &mut rec,
            &["userIdentity", "sessionContext", "sessionIssuer", "type"],
            unmapped_value("type", "Role"),
        );
        merge(&mut rec, &["readOnly"], unmapped_value("readOnly", "true"));
        merge(&mut rec, &["readOnly"], Value::Bool(false));
        merge(
            &mut rec,
            &["additionalEventData"],
            unmapped_value("additionalEventData", r#"{"a":1}"#),
        );
        let v = Value::Object(rec);
        assert_eq!(
            v["userIdentity"]["sessionContext"]["sessionIssuer"]["type"],
            "Role"
        );
        assert_eq!(v["readOnly"], true, "the first value set wins");
        assert_eq!(v["additionalEventData"]["a"], 1);
        assert_eq!(unmapped_value("x", "{not json"), "{not json");
    }

    #[test]
    fn times_are_written_as_cloudtrail_writes_them() {
        assert_eq!(rfc3339(1_765_202_400_000).unwrap(), "2025-12-08T14:00:00Z");
        assert_eq!(
            rfc3339(1_765_202_400_123).unwrap(),
            "2025-12-08T14:00:00.123Z"
        );
    }

    #[test]
    fn pruning_keeps_only_the_leaves_asked_for() {
        let s = |n: &str| Field::new(n.into(), ArrowDataType::Utf8View, true);
        let user = Field::new(
            "user".into(),
            ArrowDataType::Struct(vec![s("name"), s("credential_uid"), s("uid")]),
            true,
        );
        let actor = Field::new(
            "actor".into(),
            ArrowDataType::Struct(vec![user, s("invoked_by")]),
            true,
        );
        let pruned = prune_all(
            &[actor, s("class_uid")],
            &[
                "actor.user.credential_uid",
                "actor.user.uid",
                "actor.idp.name",
            ],
        );
        assert_eq!(pruned.len(), 1);
        assert_eq!(
            pruned[0].leaves,
            [
                vec!["actor", "user", "credential_uid"],
                vec!["actor", "user", "uid"]
            ]
        );
    }
}
