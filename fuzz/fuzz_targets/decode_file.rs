//! Arbitrary bytes (gzip or not) through the whole-file decoder, with a sink
//! that parses every record, so that the splitter, the gzip reader and the
//! record parser all see fuzzed input.

#![no_main]

use std::sync::Arc;

use keytrail::decode::{Scratch, Sink, decode};
use keytrail::event::Event;
use libfuzzer_sys::fuzz_target;

struct Everything(u64);

impl Sink for Everything {
    fn wants(&mut self, _: &[u8]) -> bool {
        true
    }
    fn event(&mut self, _: Event) {
        self.0 += 1;
    }
}

fuzz_target!(|data: &[u8]| {
    let origin: Arc<str> = Arc::from("fuzz");
    let mut sink = Everything(0);
    let d = decode(data, &origin, &mut sink, &mut Scratch::default());
    // Every event came from a counted record.
    assert!(sink.0 <= d.records);
});
