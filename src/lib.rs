//! keytrail follows a leaked AWS access key, and every credential minted from
//! it, through CloudTrail archives on disk or in S3.
//!
//! The stages, each a module, in the order data flows; each imports only
//! the ones before it:
//!
//! 1. [`source`] lists and opens local files and S3 objects;
//! 2. [`decode`] turns their bytes into the few [`event::Event`]s that can
//!    matter;
//! 3. [`scan`] reads every file side by side, the one parallel stage, and
//!    reports what was read in [`inputs`];
//! 4. [`trace`] computes the credential lineage;
//! 5. [`timeline`] deduplicates and orders the rows;
//! 6. [`analyze`] decides containment, blast radius and the graph, once;
//! 7. [`output`] renders all of it, and decides nothing.
//!
//! [`run`] is the orchestrator: it calls each stage once, in order;
//! [`shard`] cuts the same run into map and reduce steps for a cluster. Beneath
//! every stage are [`model`] (identifiers and kinds), [`time`] and
//! [`event`]; [`config`] is what the command line resolves to.

pub mod acquire;
pub mod analyze;
pub mod config;
pub mod decode;
pub mod error;
pub mod event;
pub mod inputs;
pub mod model;
pub mod output;
pub mod run;
pub mod scan;
pub mod shard;
pub mod source;
pub mod time;
pub mod timeline;
pub mod trace;
pub mod verify;

pub use error::{Error, Result};
pub use run::{Completion, run};
