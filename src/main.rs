//! The `keytrail` binary: parse, resolve, run, exit code.

mod cli;
mod exit_codes;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use keytrail::output::{self, sanitize};

fn main() -> ExitCode {
    let Command::Trace(args) = Cli::parse().command;
    let config = match args.into_config() {
        Ok(config) => config,
        Err(msg) => {
            clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{msg}\n")).exit()
        }
    };
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
