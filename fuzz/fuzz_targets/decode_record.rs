//! Arbitrary bytes through the single-record parser.

#![no_main]

use std::sync::Arc;

use keytrail::decode::record::{REDACTED, parse_record};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Whether every `sessionToken`, at any depth, was redacted.
fn redacted(v: &Value) -> bool {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k.eq_ignore_ascii_case("sessionToken") {
                        if child.as_str() != Some(REDACTED) {
                            return false;
                        }
                    } else {
                        stack.push(child);
                    }
                }
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    true
}

fuzz_target!(|data: &[u8]| {
    let origin: Arc<str> = Arc::from("fuzz");
    if let Ok(event) = parse_record(data, &origin) {
        for v in [
            &event.request_parameters,
            &event.response_elements,
            &event.additional_event_data,
        ]
        .into_iter()
        .flatten()
        {
            assert!(redacted(v), "unredacted sessionToken in {v}");
        }
    }
});
