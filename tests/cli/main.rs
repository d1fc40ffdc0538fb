//! End-to-end tests of the `keytrail` binary on the bundled fixtures.

mod footholds;
mod hostile;
mod html;
mod inputs;
mod lineage;
mod manifest;
mod ocsf;
mod properties;
mod respond;
mod s3;
mod spark;
mod support;
mod trace;
mod verify;
