//! The `keytrail` binary: parse, resolve, run, exit code.

mod cli;
mod exit_codes;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use keytrail::output::{self, sanitize};

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Trace(args) => *args,
        Command::Verify(args) => return verify(args),
        Command::Acquire(args) => return acquire(args),
    };
    let config = args.into_config().unwrap_or_else(|msg| usage(&msg));
    match keytrail::run(&config) {
        Ok(completion) => exit_codes::of(completion),
        Err(e) => {
            // `{:#}` prints the error and each cause once, on one line.
            let chain = format!("{:#}", anyhow::Error::from(e));
            output::message(&format!("error: {}", sanitize::terminal(&chain)));
            ExitCode::from(exit_codes::ERROR)
        }
    }
}

/// Exits with a usage error.
fn usage(msg: &str) -> ! {
    clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{msg}\n")).exit()
}

/// `keytrail verify`.
fn verify(args: cli::VerifyArgs) -> ExitCode {
    let config = args.into_config().unwrap_or_else(|msg| usage(&msg));
    match keytrail::verify::run(&config) {
        Ok(outcome) => exit_codes::of_verify(&outcome),
        Err(e) => {
            let chain = format!("{:#}", anyhow::Error::from(e));
            output::message(&format!("error: {}", sanitize::terminal(&chain)));
            ExitCode::from(exit_codes::ERROR)
        }
    }
}

/// `keytrail acquire`.
fn acquire(args: cli::AcquireArgs) -> ExitCode {
    match keytrail::acquire::run(&args.into_config()) {
        Ok(done) if done.failed.is_empty() => ExitCode::from(exit_codes::SUCCESS),
        Ok(_) => ExitCode::from(exit_codes::PARTIAL),
        Err(e) => {
            let chain = format!("{:#}", anyhow::Error::from(e));
            output::message(&format!("error: {}", sanitize::terminal(&chain)));
            ExitCode::from(exit_codes::ERROR)
        }
    }
}
