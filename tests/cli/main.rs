//! End-to-end tests of the `keytrail` binary on the bundled fixtures.

mod hostile;
mod properties;
mod respond;
mod support;
mod trace;
