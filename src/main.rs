//! The `keytrail` binary: parse, resolve, run, exit code.

mod cli;
mod exit_codes;

use std::io;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use keytrail::output::{self, sanitize};

fn main() -> ExitCode {
    let args = match Cli::parse().command {
        Command::Trace(args) => *args,
        Command::Verify(args) => return verify(args),
        Command::Acquire(args) => return acquire(args),
        Command::Shard(args) => return shard(args.step),
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

/// `keytrail shard …`.
fn shard(step: cli::ShardStep) -> ExitCode {
    use cli::ShardStep;
    use keytrail::shard;
    let stdout = &mut io::stdout().lock();
    let done = match step {
        ShardStep::List(args) => {
            let config = args.into_config().unwrap_or_else(|msg| usage(&msg));
            shard::list(&config.sources, &config.scan, &config.trace, stdout).map(|()| None)
        }
        ShardStep::Scan(args) => {
            let (input, _, params) = args.scan_params();
            open(&input).and_then(|mut i| shard::scan(&mut *i, &params, stdout).map(|()| None))
        }
        ShardStep::Select(args) => {
            let (input, lineage, params) = args.scan_params();
            let lineage = lineage.unwrap_or_else(|| usage("shard select needs --lineage FILE"));
            open(&input).and_then(|mut i| {
                let mut l = open(&lineage)?;
                shard::select(&mut *i, &mut *l, &params, stdout).map(|()| None)
            })
        }
        ShardStep::Closure(args) => {
            let config = args.trace.into_config().unwrap_or_else(|msg| usage(&msg));
            opened(&args.inputs).and_then(|mut ins| {
                let mut refs: Vec<&mut dyn io::BufRead> =
                    ins.iter_mut().map(|b| &mut **b as _).collect();
                shard::closure(&mut refs, &config.trace, stdout).map(|()| None)
            })
        }
        ShardStep::Merge(args) => {
            let config = args.trace.into_config().unwrap_or_else(|msg| usage(&msg));
            opened(&args.inputs).and_then(|mut ins| {
                let mut refs: Vec<&mut dyn io::BufRead> =
                    ins.iter_mut().map(|b| &mut **b as _).collect();
                shard::merge(&mut refs, &config).map(Some)
            })
        }
    };
    match done {
        Ok(Some(completion)) => exit_codes::of(completion),
        Ok(None) => ExitCode::from(exit_codes::SUCCESS),
        Err(e) => {
            let chain = format!("{:#}", anyhow::Error::from(e));
            output::message(&format!("error: {}", sanitize::terminal(&chain)));
            ExitCode::from(exit_codes::ERROR)
        }
    }
}

/// Opens a shard step's input (`-`: stdin).
fn open(path: &std::path::Path) -> keytrail::Result<Box<dyn io::BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(io::stdin().lock()));
    }
    std::fs::File::open(path)
        .map(|f| Box::new(io::BufReader::new(f)) as Box<dyn io::BufRead>)
        .map_err(|e| keytrail::Error::Shard(format!("{}: {e}", path.display())))
}

fn opened(paths: &[std::path::PathBuf]) -> keytrail::Result<Vec<Box<dyn io::BufRead>>> {
    paths.iter().map(|p| open(p)).collect()
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
