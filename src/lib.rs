//! keytrail follows a leaked AWS access key, and every credential minted from
//! it, through CloudTrail archives on disk or in S3.
//!
//! The stages, each a module, in the order data flows:
//! [`source`] lists and opens files, [`decode`] turns bytes into the few
//! [`event::Event`]s that can matter, [`trace`] computes the credential
//! lineage, [`timeline`] deduplicates and orders, and [`output`] writes.
//! [`scan`] is the orchestrator and the only place with parallelism.

pub mod config;
pub mod decode;
pub mod error;
pub mod event;
pub mod model;
pub mod output;
pub mod run;
pub mod scan;
pub mod source;
pub mod time;
pub mod timeline;
pub mod trace;

pub use error::{Error, Result};
pub use run::run;
