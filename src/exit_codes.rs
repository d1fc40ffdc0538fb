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

/// Finished, and some evidence failed its integrity check (`verify`).
pub const INTEGRITY: u8 = 4;

/// The status of a verification: an integrity failure outranks unread inputs.
pub fn of_verify(outcome: &keytrail::verify::Outcome) -> ExitCode {
    ExitCode::from(if outcome.integrity_failed() {
        INTEGRITY
    } else if !outcome.unreadable.is_empty() {
        PARTIAL
    } else {
        SUCCESS
    })
}

/// The status of a run that finished.
pub fn of(completion: Completion) -> ExitCode {
    ExitCode::from(match completion {
        Completion::Complete => SUCCESS,
        Completion::Partial => PARTIAL,
        Completion::Tampered => INTEGRITY,
    })
}
