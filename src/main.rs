//! The `keytrail` binary: parse, resolve, run, exit code.

mod cli;

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
        Ok(complete) if complete => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(3),
        Err(e) => {
            output::message(&format!(
                "error: {}",
                sanitize::terminal(&format!("{:#}", anyhow::Error::from(e)))
            ));
            ExitCode::from(1)
        }
    }
}
