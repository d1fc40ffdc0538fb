//! End-to-end tests of the `keytrail` binary on the bundled fixtures.

mod footholds;
mod hostile;
mod html;
mod lineage;
mod manifest;
mod properties;
mod respond;
mod s3;
mod spark;
mod support;
mod trace;
mod verify;
