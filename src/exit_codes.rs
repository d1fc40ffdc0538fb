//! The exit statuses, which scripts around keytrail rely on. A usage error
//! exits 2, from clap itself.

use std::process::ExitCode;

use keytrail::Completion;

/// Every input was read completely.
pub const SUCCESS: u8 = 0;
/// A fatal error: an unreadable source root, an output that cannot be written.
pub const ERROR: u8 = 1;
/// Finished, but some inputs could not be read completely.
pub const PARTIAL: u8 = 3;

/// The status of a run that finished.
pub fn of(completion: Completion) -> ExitCode {
    ExitCode::from(match completion {
        Completion::Complete => SUCCESS,
        Completion::Partial => PARTIAL,
    })
}
