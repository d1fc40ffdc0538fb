//! End-to-end tests of the `keytrail` binary on the bundled fixtures.

mod support;
mod trace;
