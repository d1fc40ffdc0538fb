//! `--html`: the interactive report, rendered in headless Chromium
//! (issue 19).
//!
//! Each test writes a report with the built binary and loads it with
//! `chromium --headless --dump-dom`, which prints the DOM once the page's
//! script has run. The script records its own state on `<body>`: `data-ready`,
//! `data-rows` (rows it holds), `data-filtered` (rows shown after the filters,
//! including a `#key=…` fragment applied at load), and any trouble:
//! `data-error` (an uncaught exception), `data-console-error`, and
//! `data-csp-violation` (something tried to load, which the policy blocked).
//! Chromium's net log shows any request the page started: there must be none.
//! Clicks, choices and the wheel are driven over the DevTools protocol by
//! `html/cdp.py` (standard-library Python), which also reports console errors,
//! uncaught exceptions and requests.
//!
//! Chromium must be installed (`scripts/test.sh` installs Debian's
//! `chromium`); without it these tests fail rather than skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::{SEED, TestEnv, code, golden, gzip, json, read, root, run, show};

/// The Chromium binary: Debian's `chromium`.
fn chromium() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("chromium"))
            .find(|p| p.is_file())
    });
    found.expect(
        "chromium is not installed: these tests need a real browser \
         (scripts/test.sh installs Debian's `chromium`)",
    )
}

/// The DOM of `page` (with `fragment`, such as `#key=…`) after its script
/// has run, from a fresh browser profile that can resolve no host name.
/// Fails if the page itself started a network request.
fn dump_dom(page: &Path, fragment: &str) -> String {
    let (dom, requests) = load(page, fragment);
    assert!(requests.is_empty(), "the page made requests: {requests:?}");
    assert!(dom.contains("<body"), "no DOM: {}", show_dom(&dom));
    dom
}

/// The DOM of `page` after its script has run, and the URLs of the network
/// requests the page started (from Chromium's net log; requests the browser
/// makes for itself have no origin and are left out).
fn load(page: &Path, fragment: &str) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().expect("profile dir");
    let net_log = profile.path().join("net-log.json");
    let url = format!("file://{}{fragment}", page.display());
    let out = run(Command::new(chromium()).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        &format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ),
        &format!("--log-net-log={}", net_log.display()),
        "--dump-dom",
        &url,
    ]));
    assert!(out.status.success(), "chromium failed: {}", show(&out));
    let dom = String::from_utf8(out.stdout).expect("utf-8 DOM");
    (dom, page_requests(&json(&net_log)))
}

/// The URLs of the requests in a net log that a page started.
fn page_requests(log: &Value) -> Vec<String> {
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names its event types");
    log["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter_map(|e| {
            let url = e["params"]["url"].as_str()?;
            (e["params"]["initiator"] != "not an origin").then(|| url.to_owned())
        })
        .collect()
}

/// Loads `url` in headless Chromium driven over the DevTools protocol
/// (`tests/cli/html/cdp.py`), waits for the page's script to be ready, and
/// evaluates `expressions` in order, as a user's clicks would. Returns the
/// driver's report: `results`, `console_errors`, `exceptions`, `requests`.
fn drive(url: &str, expressions: &[&str]) -> Value {
    let profile = tempfile::tempdir().expect("profile dir");
    let out = run(Command::new("python3")
        .arg(root().join("tests/cli/html/cdp.py"))
        .arg(chromium())
        .arg(url)
        .arg(profile.path())
        .args(expressions));
    assert!(
        out.status.success(),
        "the DevTools driver failed: {}",
        show(&out)
    );
    serde_json::from_slice(&out.stdout).expect("the driver's JSON report")
}

/// [`drive`], failing on any console error, uncaught exception or request.
fn drive_clean(page: &Path, fragment: &str, expressions: &[&str]) -> Vec<Value> {
    let report = drive(&format!("file://{}{fragment}", page.display()), expressions);
    for trouble in ["console_errors", "exceptions", "requests"] {
        assert_eq!(report[trouble], json!([]), "{trouble}: {report}");
    }
    report["results"].as_array().expect("results").clone()
}

fn show_dom(dom: &str) -> &str {
    &dom[..dom.len().min(4000)]
}

/// The attributes of the `<body>` start tag, where the page keeps its state.
fn body_state(dom: &str) -> BTreeMap<String, String> {
    let start = dom.find("<body").expect("a body") + "<body".len();
    let tag = &dom[start..start + dom[start..].find('>').expect("end of tag")];
    let mut attrs = BTreeMap::new();
    let mut rest = tag.trim();
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_owned();
        let value_end = rest[eq + 2..].find('"').expect("closing quote");
        attrs.insert(name, rest[eq + 2..eq + 2 + value_end].to_owned());
        rest = rest[eq + 2 + value_end + 1..].trim_start();
    }
    attrs
}

/// Fails unless the page finished its script without any trouble.
fn assert_clean(dom: &str) -> BTreeMap<String, String> {
    let state = body_state(dom);
    for trouble in ["data-error", "data-console-error", "data-csp-violation"] {
        assert!(
            !state.contains_key(trouble),
            "{trouble}: {:?}\n{}",
            state[trouble],
            show_dom(dom)
        );
    }
    assert_eq!(
        state.get("data-ready").map(String::as_str),
        Some("1"),
        "{}",
        show_dom(dom)
    );
    state
}

/// The real elements of `dom`, as their name and attribute names (text is
/// escaped by the serializer, so a `<` and a letter outside an attribute
/// value always open a real element).
fn elements(dom: &str) -> Vec<(String, Vec<String>)> {
    parse(dom).0
}

/// The text of `dom` outside its tags, scripts and style sheets: what the
/// page shows.
fn text(dom: &str) -> String {
    parse(dom).1
}

fn parse(dom: &str) -> (Vec<(String, Vec<String>)>, String) {
    let bytes = dom.as_bytes();
    let mut found = Vec::new();
    let mut text = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            text.push(bytes[i]);
            i += 1;
            continue;
        }
        if !bytes
            .get(i + 1)
            .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'/')
        {
            i += 1;
            continue;
        }
        if bytes[i + 1] == b'/' {
            i += dom[i..].find('>').expect("end of an end tag") + 1;
            continue;
        }
        i += 1;
        let name_end = i + dom[i..]
            .find(|c: char| c.is_ascii_whitespace() || c == '>' || c == '/')
            .expect("end of the tag name");
        let name = dom[i..name_end].to_ascii_lowercase();
        i = name_end;
        let mut attrs = Vec::new();
        loop {
            while bytes[i].is_ascii_whitespace() || bytes[i] == b'/' {
                i += 1;
            }
            if bytes[i] == b'>' {
                break;
            }
            let end = i + dom[i..]
                .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '>')
                .expect("end of an attribute name");
            attrs.push(dom[i..end].to_ascii_lowercase());
            i = end;
            if bytes[i] == b'=' {
                let quote = bytes[i + 1];
                assert_eq!(quote, b'"', "the serializer quotes every value");
                i += 2 + dom[i + 2..].find('"').expect("closing quote") + 1;
            }
        }
        i += 1;
        if name == "script" || name == "style" {
            // Raw text, not shown.
            i += dom[i..]
                .find(&format!("</{name}"))
                .expect("end of raw text");
        }
        found.push((name, attrs));
    }
    (found, String::from_utf8(text).expect("utf-8 text"))
}

/// The embedded data of a written report.
fn data_of(page: &Path) -> Value {
    let html = read(page);
    let start = "<script type=\"application/json\" id=\"keytrail-data\">";
    let from = html.find(start).expect("the data element") + start.len();
    let to = from + html[from..].find("</script>").expect("its end");
    serde_json::from_str(&html[from..to]).expect("the data is JSON")
}

/// The page's rows whose lineage key is `key`.
fn rows_of(data: &Value, key: &str) -> usize {
    let strings = data["strings"].as_array().expect("strings");
    let lane = data["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .position(|c| c == "lane_key")
        .expect("lane_key");
    data["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter(|r| strings[r[lane].as_u64().expect("index") as usize] == key)
        .count()
}

/// Writes the sample incident's report with a fixed cut-off.
fn incident(env: &TestEnv) -> (PathBuf, Value) {
    let page = env.path("report.html");
    let report = env.path("report.json");
    let out = env.trace(&[
        "--key",
        SEED,
        "fixtures/incident",
        "--cutoff",
        "2025-12-09",
        "--html",
        page.to_str().expect("utf-8 path"),
        "--report",
        report.to_str().expect("utf-8 path"),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    (page, json(&report))
}

#[test]
fn the_incident_page_shows_every_credential_and_holds_every_row() {
    let env = TestEnv::new();
    let (page, report) = incident(&env);
    let dom = dump_dom(&page, "");
    let state = assert_clean(&dom);
    let rows = report["timeline"]["rows"].as_u64().expect("rows");
    assert_eq!(state["data-rows"], rows.to_string());
    assert_eq!(state["data-filtered"], rows.to_string());

    let header = &dom[dom.find("<header").expect("headline")..dom.find("</header>").expect("end")];
    let graph = &dom[dom.find("id=\"graph\"").expect("graph")..];
    let graph = &graph[..graph.find("</section>").expect("end of graph")];
    let credentials = report["credentials"].as_array().expect("credentials");
    assert!(credentials.len() >= 8, "{credentials:?}");
    for c in credentials {
        let key = c["access_key_id"].as_str().expect("key");
        assert!(header.contains(key), "{key} missing from the headline");
        assert!(
            graph.contains(&format!("data-key=\"{key}\"")),
            "{key} has no node in the graph"
        );
    }
    assert_eq!(state["data-credentials"], credentials.len().to_string());
    // Nothing on the page can load anything.
    for (name, attrs) in elements(&dom) {
        for attr in ["src", "href", "xlink:href", "srcset", "action"] {
            assert!(!attrs.iter().any(|a| a == attr), "<{name} {attrs:?}>");
        }
    }
}

#[test]
fn a_credential_in_the_fragment_narrows_the_table() {
    let env = TestEnv::new();
    let (page, report) = incident(&env);
    let data = data_of(&page);
    let all = report["timeline"]["rows"].as_u64().expect("rows") as usize;
    for key in ["ASIAEXAMPLEROLE00001", SEED] {
        let dom = dump_dom(&page, &format!("#key={key}"));
        let state = assert_clean(&dom);
        let expected = rows_of(&data, key);
        assert!(0 < expected && expected < all, "{key}: {expected} of {all}");
        assert_eq!(state["data-rows"], all.to_string());
        assert_eq!(state["data-filtered"], expected.to_string(), "{key}");
        assert_eq!(state["data-filter-key"], key);
        // The graph marks the credential chosen.
        let selected = format!("data-key=\"{key}\"");
        assert!(
            dom.match_indices("<g class=\"node")
                .map(|(i, _)| &dom[i..i + dom[i..].find('>').expect("end of tag")])
                .any(|t| t.contains("selected") && t.contains(&selected)),
            "{key} is not selected in the graph"
        );
    }
}

#[test]
fn an_existing_page_is_kept_unless_forced_and_stdout_is_refused() {
    let env = TestEnv::new();
    let page = env.path("report.html");
    std::fs::write(&page, "old").expect("test file");
    let args = |force: bool| {
        let mut args = vec![
            "--key",
            SEED,
            "fixtures/incident",
            "-q",
            "--html",
            page.to_str().expect("utf-8 path"),
        ];
        if force {
            args.push("--force");
        }
        env.trace(&args)
    };
    let out = args(false);
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        show(&out)
    );
    assert_eq!(read(&page), "old");
    let out = args(true);
    assert_eq!(code(&out), 0, "{}", show(&out));
    assert!(read(&page).starts_with("<!DOCTYPE html>"));

    let out = env.trace(&["--key", SEED, "fixtures/incident", "--html", "-"]);
    assert_eq!(code(&out), 2, "{}", show(&out));
}

/// The network check is not vacuous: a page that does fetch is caught.
#[test]
fn the_network_check_sees_a_page_request() {
    let env = TestEnv::new();
    let page = env.path("leak.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><img src=\"http://192.0.2.1/x.png\">\
         <script>fetch(\"https://keytrail.invalid/a\").catch(function () {});\
         document.body.setAttribute(\"data-ready\", \"1\")</script>",
    )
    .expect("test page");
    let (_, requests) = load(&page, "");
    assert!(
        requests.iter().any(|u| u.starts_with("http://192.0.2.1/")),
        "{requests:?}"
    );
    assert!(
        requests.iter().any(|u| u.contains("keytrail.invalid")),
        "{requests:?}"
    );
    // And the DevTools driver sees requests and console errors.
    let report = drive(
        &format!("file://{}", page.display()),
        &["console.error('boom'); 1"],
    );
    let requests = report["requests"].to_string();
    assert!(
        requests.contains("192.0.2.1") && requests.contains("keytrail.invalid"),
        "{report}"
    );
    assert!(
        report["console_errors"].to_string().contains("boom"),
        "{report}"
    );
}

/// What a user does: click a credential in the graph, then its lane, then
/// clear it; choose a service; click a row; zoom the timeline.
#[test]
fn clicks_filter_select_and_zoom() {
    let env = TestEnv::new();
    let (page, report) = incident(&env);
    let data = data_of(&page);
    let all = report["timeline"]["rows"]
        .as_u64()
        .expect("rows")
        .to_string();
    let key = "ASIAEXAMPLEROLE00001";
    let click = |selector: &str| {
        format!(
            "document.querySelector({selector:?}).dispatchEvent(new MouseEvent('click', {{bubbles: true}})); \
             document.body.getAttribute('data-filtered')"
        )
    };
    let node = click(&format!("g.node[data-key={key}]"));
    let shown_keys = "Array.from(document.querySelectorAll('.row .c-key'), function (e) { return e.textContent; })";
    let lane = format!(
        "Array.from(document.querySelectorAll('.lane-label')).filter(function (e) {{ return e.textContent === '{SEED}'; }})[0]\
         .dispatchEvent(new MouseEvent('click', {{bubbles: true}})); document.body.getAttribute('data-filtered')"
    );
    let service = "var s = document.querySelector('select[name=service]'); s.value = 'iam.amazonaws.com'; \
         s.dispatchEvent(new Event('change')); document.body.getAttribute('data-filtered')";
    let row = click(".row");
    let detail = "Array.from(document.querySelectorAll('#detail h3'), function (e) { return e.textContent; })";
    let ticks = "Array.from(document.querySelectorAll('#timeline .axis text'), function (e) { return e.textContent; }).join(' ')";
    let zoom = "var svg = document.querySelector('#timeline svg'), r = svg.getBoundingClientRect(); \
         for (var i = 0; i < 12; i++) svg.dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: r.left + 700, clientY: r.top + 40, bubbles: true, cancelable: true})); 1";
    let results = drive_clean(
        &page,
        "",
        &[
            &node,
            shown_keys,
            "document.querySelector('select[name=key]').value",
            &node,
            &lane,
            &lane,
            service,
            &row,
            detail,
            ticks,
            zoom,
            ticks,
        ],
    );
    let of = |key: &str| rows_of(&data, key).to_string();
    assert_eq!(results[0], of(key), "clicking a node filters to it");
    let keys = results[1].as_array().expect("table keys");
    assert!(
        !keys.is_empty() && keys.iter().all(|k| k == key),
        "{keys:?}"
    );
    assert_eq!(results[2], key, "the filter shows the credential");
    assert_eq!(results[3], all, "clicking it again clears the filter");
    assert_eq!(results[4], of(SEED), "clicking a lane filters to it");
    assert_eq!(results[5], all);
    let iam = results[6]
        .as_str()
        .expect("count")
        .parse::<usize>()
        .expect("a number");
    assert!(iam > 0 && iam.to_string() != all, "{iam}");
    assert_eq!(
        results[8],
        json!(["Event", "Request", "Response", "Resources"]),
        "a row click shows the row"
    );
    assert_ne!(results[9], results[11], "the wheel zooms the time axis");
}

#[test]
fn the_embedded_data_is_golden() {
    let env = TestEnv::new();
    let (page, _) = incident(&env);
    let mut data = data_of(&page);
    data["version"] = json!("(any)");
    // Re-reads depend on which worker learns a key first: not the page's doing.
    data["inputs"]["rereads"] = json!("(any)");
    data["inputs"]["bytes_read"] = json!("(any)");
    golden(
        "incident.html-data.json",
        &(serde_json::to_string_pretty(&data).expect("json") + "\n"),
    );
}

const HOSTILE: &str = "</script><img src=x onerror=\"document.body.dataset.pwned=1\">'\"javascript:alert(1)\u{202e}gpj.exe\u{2066}<!--";

/// A trail whose attacker-written fields are all [`HOSTILE`].
fn hostile_trail(env: &TestEnv) -> PathBuf {
    let role = "ASIAEXAMPLEROLE00001";
    let role_arn = format!("arn:aws:sts::111111111111:assumed-role/deploy/{HOSTILE}");
    let base = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/ci", "accountId": "111111111111", "accessKeyId": SEED},
        "eventTime": "2025-12-08T14:00:00Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
        "awsRegion": "us-east-1", "sourceIPAddress": HOSTILE, "userAgent": HOSTILE,
        "requestParameters": {"roleArn": "arn:aws:iam::111111111111:role/deploy", "roleSessionName": HOSTILE, "policy": format!("javascript:{HOSTILE}")},
        "responseElements": {"credentials": {"accessKeyId": role, "sessionToken": "TOKEN", "expiration": "Dec 8, 2025, 3:00:00 PM"},
            "assumedRoleUser": {"arn": role_arn, "assumedRoleId": "AROAEXAMPLE:x"}},
        "eventID": "h-assume", "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "111111111111"
    });
    let action = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": role_arn, "accountId": "111111111111", "accessKeyId": role},
        "eventTime": "2025-12-08T14:01:00Z", "eventSource": "s3.amazonaws.com", "eventName": HOSTILE,
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": HOSTILE,
        "errorCode": HOSTILE, "errorMessage": HOSTILE,
        "requestParameters": {"bucketName": HOSTILE, "key": HOSTILE},
        "resources": [{"ARN": format!("arn:aws:s3:::{HOSTILE}"), "type": "AWS::S3::Object"}],
        "eventID": "h-action", "readOnly": true, "eventType": "AwsApiCall", "recipientAccountId": "111111111111"
    });
    let dir = env.path("hostile");
    std::fs::create_dir(&dir).expect("test dir");
    let doc = json!({ "Records": [base, action] }).to_string();
    std::fs::write(dir.join("trail.json.gz"), gzip(doc.as_bytes())).expect("test file");
    dir
}

#[test]
fn hostile_text_is_shown_as_text_and_nothing_runs() {
    let env = TestEnv::new();
    let trail = hostile_trail(&env);
    let page = env.path("hostile.html");
    let out = env.trace(&[
        "--key",
        SEED,
        trail.to_str().expect("utf-8 path"),
        "--cutoff",
        "2025-12-09",
        "--html",
        page.to_str().expect("utf-8 path"),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let data = data_of(&page);
    assert_eq!(data["rows"].as_array().expect("rows").len(), 2);
    // Load with each row selected, so that its request, response and
    // resources are on the page too.
    for fragment in ["", "#row=0", "#row=1", "#key=ASIAEXAMPLEROLE00001&row=1"] {
        let dom = dump_dom(&page, fragment);
        let state = assert_clean(&dom);
        assert!(!state.contains_key("data-pwned"), "the payload ran");
        assert_eq!(state["data-rows"], "2");
        for (name, attrs) in elements(&dom) {
            assert!(
                !matches!(name.as_str(), "img" | "iframe" | "object" | "embed"),
                "an element was injected: {fragment}"
            );
            assert!(
                !attrs.iter().any(|a| a.starts_with("on")),
                "a handler was injected: <{name} {attrs:?}> {fragment}"
            );
        }
        // The text is there, escaped, with its bidi controls made visible.
        assert!(
            dom.contains("&lt;/script&gt;&lt;img src=x onerror="),
            "{fragment}: the hostile text is not shown"
        );
        let shown = text(&dom);
        assert!(!shown.contains('\u{202e}') && !shown.contains('\u{2066}'));
        assert!(dom.contains("\\u{202E}gpj.exe"), "{fragment}");
        if !fragment.is_empty() {
            assert!(state.contains_key("data-selected"), "{fragment}");
            // The request, as JSON in a <pre>: the quotes are escaped by
            // JSON.stringify, the markup by the serializer.
            assert!(
                shown.contains(r#"onerror=\"document.body.dataset.pwned=1\""#),
                "{fragment}: the request is not shown"
            );
        }
    }
    assert!(
        !read(&page).contains("TOKEN"),
        "a session token was written"
    );
}

/// A trail of `n` actions of the seed key, spread over a week, with every
/// fifth one failed and every seventh one a write.
fn big_trail(env: &TestEnv, n: usize) -> PathBuf {
    let dir = env.path("big");
    std::fs::create_dir(&dir).expect("test dir");
    let start = 1_765_000_000_i64;
    let records: Vec<Value> = (0..n)
        .map(|i| {
            let t = rfc3339(start + (i as i64) * 6);
            let mut r = json!({
                "eventVersion": "1.08",
                "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111111111111:user/ci", "accountId": "111111111111", "accessKeyId": SEED},
                "eventTime": t, "eventSource": format!("svc{}.amazonaws.com", i % 13), "eventName": format!("Action{}", i % 97),
                "awsRegion": "us-east-1", "sourceIPAddress": format!("203.0.113.{}", i % 250), "userAgent": format!("agent/{}", i % 31),
                "requestParameters": {"n": i}, "eventID": format!("e-{i:08}"), "readOnly": i % 7 != 0,
                "eventType": "AwsApiCall", "recipientAccountId": "111111111111"
            });
            if i % 5 == 0 {
                r["errorCode"] = json!("AccessDenied");
            }
            r
        })
        .collect();
    let doc = json!({ "Records": records }).to_string();
    std::fs::write(dir.join("trail.json.gz"), gzip(doc.as_bytes())).expect("test file");
    dir
}

/// `secs` since the epoch as an RFC 3339 UTC time.
fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .expect("a valid time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The 100 000-row page opens and is usable within a deadline. Slow in a
/// debug build (writing the trail and tracing it), so marked to run on
/// request: `cargo test --test cli html -- --ignored`.
#[test]
#[ignore = "slow: 100 000 rows"]
fn a_timeline_of_100k_rows_opens_in_time() {
    const ROWS: usize = 100_000;
    let env = TestEnv::new();
    let trail = big_trail(&env, ROWS);
    let page = env.path("big.html");
    let out = env.trace(&[
        "--key",
        SEED,
        trail.to_str().expect("utf-8 path"),
        "--cutoff",
        "2026-01-01",
        "--html",
        page.to_str().expect("utf-8 path"),
        "-q",
    ]);
    assert_eq!(code(&out), 0, "{}", show(&out));
    let size = std::fs::metadata(&page).expect("page").len();
    let started = Instant::now();
    let dom = dump_dom(&page, "");
    let load = started.elapsed();
    let state = assert_clean(&dom);
    assert_eq!(state["data-rows"], ROWS.to_string());
    assert_eq!(state["data-filtered"], ROWS.to_string());
    // The table is virtual: only a screenful of rows is in the DOM.
    assert!(dom.matches("class=\"row").count() < 100);
    let started = Instant::now();
    let dom = dump_dom(&page, "#key=NOSUCHKEY0000000");
    let filtered = started.elapsed();
    let filter_state = assert_clean(&dom);
    assert_eq!(filter_state["data-filtered"], "0");
    eprintln!(
        "100k rows: {size} bytes; interactive {} ms after navigation (script {} ms); \
         browser start to DOM dump {load:?}; \
         one filter pass {} ms, browser start to DOM dump with it {filtered:?}",
        state["data-interactive-ms"], state["data-init-ms"], state["data-filter-ms"]
    );
    assert!(load.as_secs() < 30, "{load:?}");
}
