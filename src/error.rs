//! The library's typed errors.
//!
//! Only conditions that stop the whole run are errors. A file or object that
//! cannot be read is not an error: it becomes an input issue, is counted,
//! named in the report, and turns the exit status to 3.
//!
//! Each error says what failed and where, once: a variant that has a
//! `#[source]` does not repeat it in its own message, since the binary
//! prints the whole chain.

use std::io;
use std::path::PathBuf;

/// A fatal problem: the run cannot produce a trustworthy result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A source root cannot be listed at all.
    #[error("cannot read source {source_name}: {reason}")]
    Source {
        /// The source as the user named it.
        source_name: String,
        /// What went wrong, and where possible how to fix it.
        reason: String,
    },
    /// An output file cannot be created or written.
    #[error("cannot write {}", path.display())]
    Output {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// `--verify` could not run: an unreadable `--public-keys` or
    /// `--signatures` file, or a source it cannot check.
    #[error("cannot verify integrity: {0}")]
    Verify(String),
    /// A `keytrail shard` step was given input it cannot use: a line that
    /// is not one of the shard lines, a lineage file that does not parse, an
    /// option that needs one machine.
    #[error("shard: {0}")]
    Shard(String),
    /// An output already exists and `--force` was not given.
    #[error("{} already exists (use --force to overwrite)", path.display())]
    OutputExists {
        /// The existing path.
        path: PathBuf,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
