//! The interactive HTML report: one self-contained, offline file for people
//! who want to *look* at an incident (issue 19).
//!
//! The page is four fixed parts and one variable one. The script
//! (`html/report.js`), the graph layout library it uses (dagre, vendored in
//! `html/vendor/`, see its README) and the style sheet (`html/report.css`)
//! are compiled in and never depend on the evidence; the evidence travels as one JSON
//! blob in a `<script type="application/json">` element, which the script
//! parses and renders with `textContent` and DOM/SVG attributes only, so
//! recorded text (session names, user agents, request parameters) is data
//! and never markup.
//!
//! Two defences stand behind that rule:
//! - inside the blob, `<`, `>`, `&`, U+2028 and U+2029 are written as
//!   `\u003c`-style escapes, so no recorded string can close the element
//!   (`</script>`) or start a comment;
//! - a `Content-Security-Policy` meta tag sets `default-src 'none'` and
//!   allows the two inline scripts and the one inline style sheet only by
//!   their SHA-256 hashes, computed here at write time. The page can fetch
//!   nothing, run no injected script and load no image.
//!
//! The blob's keys: `version`, `seeds`, `window` (`since`, `until`),
//! `cutoff`, `complete`, `credentials` (ordered by depth then key: `key`,
//! `kind`, `parent`, `depth`, `principal`, `window`, `actions`, `failed`,
//! `after_deactivation`, `status`, `status_label`, `deactivated_at`,
//! `first_seen`, `last_seen`), `edges` (`from`, `to`, `api`, `time`),
//! `containment`, `blast_radius` and `inputs` (as in the JSON report),
//! `duplicates_dropped`, and the timeline as `columns` (the names of
//! [`COLUMNS`], then `lane_key`), `strings` (every distinct text value
//! once) and `rows` (one array per row in column order: text as an index
//! into `strings` or `null`, times as milliseconds since the epoch,
//! booleans, JSON values as they are). `lane_key` is the row's lineage key
//! even for sign-ins, whose `access_key_id` is empty.
//!
//! The output is a function of its input only: the same run gives the same
//! bytes.

use std::collections::HashMap;
use std::io::{self, Write};

use base64::Engine as _;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{COLUMNS, Cell, Run};
use crate::analyze::{Analysis, BlastRadius, Containment, Cutoff};
use crate::inputs::InputStats;
use crate::model::AccessKeyId;
use crate::time::Timestamp;

/// The page's script: reads the blob, renders, filters. No `eval`, no
/// `innerHTML`, no network.
const SCRIPT: &str = include_str!("html/report.js");
/// The page's style sheet.
const STYLE: &str = include_str!("html/report.css");
/// The lineage graph's layout engine: `@dagrejs/dagre` 3.1.3 (which bundles
/// `@dagrejs/graphlib` 4.0.6), byte for byte as published on npm; see
/// `html/vendor/README.md`. It defines the global `dagre` and nothing else.
const DAGRE: &str = include_str!("html/vendor/dagre-3.1.3.min.js");
/// Its MIT license, which asks to travel with every copy.
const DAGRE_LICENSE: &str = include_str!("html/vendor/dagre-LICENSE");

/// The library as the page runs it: its license first, and without its two
/// trailing comments, which point at files the page does not have (the
/// source map would make an open DevTools try to fetch it).
fn library() -> String {
    let mut code = DAGRE.trim_end();
    for trailer in [
        "//# sourceMappingURL=dagre.min.js.map",
        "/*! For license information please see dagre.min.js.LEGAL.txt */",
    ] {
        code = code.strip_suffix(trailer).unwrap_or(code).trim_end();
    }
    format!(
        "/*! @dagrejs/dagre 3.1.3 (with @dagrejs/graphlib 4.0.6), MIT license:\n\n{DAGRE_LICENSE}*/\n{code}\n"
    )
}

#[derive(Serialize)]
struct Data<'a> {
    version: &'static str,
    seeds: Vec<&'a AccessKeyId>,
    window: Window,
    cutoff: &'a Cutoff,
    complete: bool,
    credentials: Vec<CredentialEntry<'a>>,
    edges: Vec<EdgeEntry<'a>>,
    containment: &'a Containment,
    blast_radius: &'a BlastRadius,
    inputs: &'a InputStats,
    duplicates_dropped: usize,
    columns: Vec<&'static str>,
    strings: Vec<&'a str>,
    rows: Vec<Vec<Value>>,
}

#[derive(Serialize)]
struct Window {
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

#[derive(Serialize)]
struct CredentialEntry<'a> {
    key: &'a AccessKeyId,
    kind: &'a str,
    parent: Option<&'a AccessKeyId>,
    depth: u32,
    principal: Option<&'a str>,
    window: &'a str,
    actions: usize,
    failed: usize,
    after_deactivation: usize,
    status: Option<crate::analyze::containment::Status>,
    status_label: Option<&'static str>,
    deactivated_at: Option<Timestamp>,
    first_seen: Option<Timestamp>,
    last_seen: Option<Timestamp>,
}

#[derive(Serialize)]
struct EdgeEntry<'a> {
    from: &'a AccessKeyId,
    to: &'a AccessKeyId,
    api: &'a str,
    time: Option<Timestamp>,
}

/// Writes the HTML report of `run` and `analysis`.
pub fn write<W: Write + ?Sized>(
    run: &Run<'_>,
    analysis: &Analysis<'_>,
    out: &mut W,
) -> io::Result<()> {
    let blob = embed(&serde_json::to_vec(&data(run, analysis))?);
    let library = library();
    let title = match run.seeds.iter().next() {
        Some(seed) if run.seeds.len() == 1 => format!("keytrail: {seed}"),
        Some(seed) => format!("keytrail: {seed} and {} more", run.seeds.len() - 1),
        None => "keytrail".to_owned(),
    };
    // The title holds validated key ids only ([A-Z0-9]), so it needs no escaping.
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"keytrail {version}\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body>\n<noscript>This report needs JavaScript to render its data.</noscript>\n\
         <script type=\"application/json\" id=\"keytrail-data\">",
        csp = csp(&library),
        version = env!("CARGO_PKG_VERSION"),
    )?;
    out.write_all(&blob)?;
    write!(
        out,
        "</script>\n<script>{library}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )?;
    out.flush()
}

/// The Content-Security-Policy: nothing may load, and only this module's
/// own scripts (`library`, then [`SCRIPT`]) and style sheet may run or apply.
fn csp(library: &str) -> String {
    format!(
        "default-src 'none'; script-src '{}' '{}'; style-src '{}'; img-src 'none'; \
         connect-src 'none'; base-uri 'none'; form-action 'none'",
        hash(library),
        hash(SCRIPT),
        hash(STYLE)
    )
}

/// The CSP source expression for an inline element whose text is `text`.
fn hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// `json` made safe inside a `<script>` element: the characters that HTML
/// or an old JavaScript parser could read as structure are escaped. They
/// can only occur inside JSON strings, where `\uXXXX` means the same.
fn embed(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + json.len() / 64);
    let mut i = 0;
    while i < json.len() {
        match json[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            // U+2028 and U+2029 are E2 80 A8 and E2 80 A9 in UTF-8.
            0xE2 if json.get(i + 1) == Some(&0x80)
                && matches!(json.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                out.extend_from_slice(if json[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// The blob: the analysis as the page needs it.
fn data<'a>(run: &Run<'a>, analysis: &'a Analysis<'a>) -> Data<'a> {
    let bounded = |t: Timestamp| (t != Timestamp::MIN && t != Timestamp::MAX).then_some(t);
    let nodes: HashMap<&AccessKeyId, &crate::analyze::graph::Node> =
        analysis.graph.nodes.iter().map(|n| (&n.key, n)).collect();
    let credentials = analysis
        .by_depth
        .iter()
        .map(|c| {
            let s = analysis.stats_of(c);
            let node = nodes.get(&c.key);
            let status = analysis.containment.state(&c.key).map(|s| s.status);
            CredentialEntry {
                key: &c.key,
                kind: node.map_or(c.kind.as_str(), |n| n.kind.as_str()),
                parent: c.parent.as_ref(),
                depth: c.depth,
                principal: c.principal_arn.as_deref(),
                window: node.map_or("", |n| n.window.as_str()),
                actions: s.actions,
                failed: s.failed,
                after_deactivation: s.actions_after_deactivation,
                status,
                status_label: status.map(|s| s.label()),
                deactivated_at: c.deactivated_at,
                first_seen: s.first_seen,
                last_seen: s.last_seen,
            }
        })
        .collect();
    let edges = analysis
        .graph
        .edges
        .iter()
        .map(|e| EdgeEntry {
            from: &e.from,
            to: &e.to,
            api: &e.api,
            time: e.time,
        })
        .collect();

    let mut strings: Vec<&'a str> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    let mut intern = |s: &'a str| -> Value {
        let next = strings.len();
        let i = *index.entry(s).or_insert_with(|| {
            strings.push(s);
            next
        });
        Value::from(i)
    };
    let rows = analysis
        .timeline
        .rows
        .iter()
        .map(|row| {
            let mut values: Vec<Value> = row
                .cells()
                .into_iter()
                .map(|cell| match cell {
                    Cell::Text(None) | Cell::Bool(None) | Cell::Json(None) => Value::Null,
                    Cell::Text(Some(s)) => intern(s),
                    Cell::Int(n) => Value::from(n),
                    Cell::Bool(Some(b)) => Value::from(b),
                    Cell::Time(t) => Value::from(t.as_millis()),
                    Cell::Json(Some(v)) => v.clone(),
                })
                .collect();
            values.push(intern(row.key.as_str()));
            values
        })
        .collect();

    Data {
        version: env!("CARGO_PKG_VERSION"),
        seeds: run.seeds.iter().collect(),
        window: Window {
            since: bounded(run.window.start),
            until: bounded(run.window.end),
        },
        cutoff: &analysis.containment.cutoff,
        complete: !run.inputs.incomplete(),
        credentials,
        edges,
        containment: &analysis.containment,
        blast_radius: &analysis.blast,
        inputs: run.inputs,
        duplicates_dropped: analysis.timeline.duplicates_dropped,
        columns: COLUMNS
            .iter()
            .map(|(name, _)| *name)
            .chain(["lane_key"])
            .collect(),
        strings,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::timeline::{Timeline, dedupe};
    use crate::trace::{TraceParams, trace};

    const SEED: &str = "AKIAEXAMPLESEED00001";
    /// Recorded text an attacker chose: it closes the script, injects an
    /// image with a handler, quotes, a `javascript:` URL, bidi controls and
    /// the line separators that once ended JavaScript strings.
    const HOSTILE: &str = "</script><img src=x onerror=alert(1)>\"'&amp;javascript:alert(1)\u{202e}gpj.exe\u{2028}\u{2029}<!--";

    fn page() -> Vec<u8> {
        let seed = AccessKeyId::parse(SEED).expect("a key");
        let hostile = serde_json::to_string(HOSTILE).expect("a string");
        let records = [
            format!(
                r#"{{"eventID":"e1","eventTime":"2025-12-08T14:03:12Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":{hostile},"userIdentity":{{"type":"IAMUser","accountId":"111111111111","arn":"arn:aws:iam::111111111111:user/u","accessKeyId":"{SEED}"}},"requestParameters":{{"roleSessionName":{hostile},"roleArn":"arn:aws:iam::111111111111:role/r"}},"responseElements":{{"credentials":{{"accessKeyId":"ASIAEXAMPLEROLE00001","sessionToken":"SECRET","expiration":"Dec 8, 2025, 3:03:12 PM"}},"assumedRoleUser":{{"arn":"arn:aws:sts::111111111111:assumed-role/r/x"}}}}}}"#
            ),
            format!(
                r#"{{"eventID":"e2","eventTime":"2025-12-08T14:05:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":{hostile},"userAgent":"ua","readOnly":true,"errorCode":{hostile},"userIdentity":{{"type":"AssumedRole","accountId":"111111111111","arn":"arn:aws:sts::111111111111:assumed-role/r/x","accessKeyId":"ASIAEXAMPLEROLE00001"}},"requestParameters":{{"bucketName":"b","key":{hostile}}}}}"#
            ),
        ];
        let events = records
            .iter()
            .map(|r| {
                crate::decode::record::parse_record(r.as_bytes(), &Arc::from("f.json"))
                    .expect("a valid record")
            })
            .collect();
        let (events, duplicates) = dedupe(events);
        let seeds: BTreeSet<AccessKeyId> = [seed].into();
        let params = TraceParams {
            seeds: seeds.clone(),
            seed_window: crate::time::Span {
                start: Timestamp::MIN,
                end: Timestamp::MAX,
            },
            follow_created_keys: true,
            follow_footholds: true,
        };
        let lineage = trace(&events, &params);
        let timeline = Timeline::build(events, &lineage, duplicates);
        let cutoff = Cutoff::given(Timestamp::from_millis(1_765_000_000_000));
        let analysis = Analysis::new(&lineage, &timeline, cutoff);
        let inputs = InputStats::default();
        let run = Run {
            seeds: &seeds,
            window: params.seed_window,
            delivery_margin: std::time::Duration::from_secs(3600),
            follow_created_keys: true,
            follow_footholds: true,
            inputs: &inputs,
        };
        let mut out = Vec::new();
        write(&run, &analysis, &mut out).expect("written");
        out
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The text between `start` and the next `end`, after `from`.
    fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
        let from = page.find(start).expect("start marker") + start.len();
        let len = page[from..].find(end).expect("end marker");
        &page[from..from + len]
    }

    #[test]
    fn embedding_escapes_what_could_end_the_element() {
        let json = serde_json::to_vec(&serde_json::json!({ "s": HOSTILE })).expect("json");
        let embedded = embed(&json);
        let text = std::str::from_utf8(&embedded).expect("utf-8");
        for c in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
            assert!(!text.contains(c), "{c:?} left in {text}");
        }
        let back: Value = serde_json::from_str(text).expect("still JSON");
        assert_eq!(back["s"], HOSTILE);
    }

    #[test]
    fn the_blob_holds_hostile_text_as_data_only() {
        let page = String::from_utf8(page()).expect("utf-8");
        let blob = between(
            &page,
            "<script type=\"application/json\" id=\"keytrail-data\">",
            "</script>",
        );
        assert!(!blob.contains('<') && !blob.contains('>') && !blob.contains('&'));
        let data: Value = serde_json::from_str(blob).expect("the blob is JSON");
        let strings = data["strings"].as_array().expect("strings");
        assert!(strings.iter().any(|s| s == HOSTILE), "{strings:?}");
        assert_eq!(data["rows"].as_array().expect("rows").len(), 2);
        // Three script elements and one style sheet, whatever the data says.
        assert_eq!(page.matches("<script").count(), 3);
        assert_eq!(page.matches("</script>").count(), 3);
        assert_eq!(page.matches("<style>").count(), 1);
        assert!(!page.contains("<img"), "markup leaked out of the data");
        assert!(!page.contains("SECRET"), "a session token was written");
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_script_and_style() {
        let page = String::from_utf8(page()).expect("utf-8");
        let csp = between(
            &page,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"",
            "\"",
        );
        let library = between(&page, "</script>\n<script>", "</script>");
        let script = between(&page, &format!("{library}</script>\n<script>"), "</script>");
        let style = between(&page, "<style>", "</style>");
        assert!(library.contains("var dagre="), "the library comes first");
        assert_eq!(script, SCRIPT);
        assert_eq!(style, STYLE);
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        assert!(
            csp.contains(&format!(
                "script-src '{}' '{}';",
                hash(library),
                hash(script)
            )),
            "{csp}"
        );
        assert!(
            csp.contains(&format!("style-src '{}';", hash(style))),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        // A known answer: SHA-256 of nothing.
        assert_eq!(
            hash(""),
            "sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }

    #[test]
    fn the_script_never_evaluates_or_parses_markup() {
        for banned in [
            "eval(",
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "new Function",
            "fetch(",
            "XMLHttpRequest",
            "setTimeout(\"",
        ] {
            assert!(!SCRIPT.contains(banned), "report.js uses {banned}");
            assert!(!DAGRE.contains(banned), "dagre uses {banned}");
        }
    }

    #[test]
    fn the_library_is_the_vendored_release_with_its_license_and_no_pointers() {
        // The file is the one published on npm (vendor/README.md).
        assert_eq!(
            hex(&Sha256::digest(DAGRE.as_bytes())),
            "54a503e346f93ca0bb10abe7999587e037262935687aca45eb4e4b0f64bbb578"
        );
        let library = library();
        assert!(library.starts_with("/*! @dagrejs/dagre 3.1.3"));
        assert!(library.contains("Copyright (c) 2012-2014 Chris Pettitt"));
        assert!(library.contains("re=\"3.1.3\""), "the version inside");
        // Nothing that could end the element or point elsewhere.
        for banned in ["</", "<!--", "sourceMappingURL", "LEGAL.txt"] {
            assert!(!library.contains(banned), "{banned}");
        }
        assert!(library.trim_end().ends_with("return Vn(Sr);})();"));
    }

    #[test]
    fn the_same_input_gives_the_same_bytes() {
        assert_eq!(page(), page());
    }
}
