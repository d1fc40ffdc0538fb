//! The library's typed errors.
//!
//! Only conditions that stop the whole run are errors. A file or object that
//! cannot be read is not an error: it becomes an [`crate::scan::InputIssue`],
//! is counted, named in the report, and turns the exit status to 3.

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
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The output path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// An output already exists and `--force` was not given.
    #[error("{} already exists (use --force to overwrite)", path.display())]
    OutputExists {
        /// The existing path.
        path: PathBuf,
    },
    /// The Parquet writer failed.
    #[error("cannot write Parquet to {}: {reason}", path.display())]
    Parquet {
        /// The output path.
        path: PathBuf,
        /// What the writer said.
        reason: String,
    },
    /// The worker pool could not be built.
    #[error("cannot start {threads} worker threads: {reason}")]
    Threads {
        /// The requested thread count.
        threads: usize,
        /// What the pool builder said.
        reason: String,
    },
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
