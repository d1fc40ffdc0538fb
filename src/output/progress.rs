//! Progress on stderr, for people watching a long scan.
//!
//! Hidden when stderr is not a terminal or with `--quiet`, so logs and pipes
//! stay clean. Counts files and compressed bytes, which is what the analyst
//! can compare with the size of the archive they pointed at.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress display that may be hidden.
#[derive(Clone)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// A visible bar when `enabled` and stderr is a terminal.
    pub fn new(enabled: bool) -> Progress {
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {msg} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, ETA {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar) }
    }

    /// A hidden display, for library use and tests.
    pub fn hidden() -> Progress {
        Progress { bar: None }
    }

    /// More files (of `bytes` in total) are queued.
    pub fn queued(&self, files: u64, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc_length(bytes);
            bar.set_message(format!("{files} files queued"));
        }
    }

    /// One file of `bytes` was read; `done` files so far.
    pub fn read(&self, done: u64, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
            bar.set_message(format!("{done} files"));
        }
    }

    /// Removes the bar before results are printed.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
