//! The `feedwatch` command: parses the command line, sets up logging, and hands over to the
//! command's implementation in `feedwatch::commands`. Exit codes: 0 ok, 1 a user error (bad
//! config, bad input), 2 an internal failure.

use std::process::ExitCode;

use clap::Parser;
use feedwatch::commands::{self, Cli, CliError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon logs its work; one-shot commands print their results and log only errors.
    let daemon = matches!(cli.command, commands::Command::Run);
    init_logging(cli.verbose, daemon);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("feedwatch: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::User(e)) => {
            eprintln!("feedwatch: {e:#}");
            ExitCode::from(1)
        }
        Err(CliError::Internal(e)) => {
            eprintln!("feedwatch: internal error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Journald's structured fields under systemd, plain lines elsewhere; `RUST_LOG` overrides the
/// level.
fn init_logging(verbose: bool, daemon: bool) {
    use tracing_subscriber::prelude::*;
    let default = match (verbose, daemon) {
        (true, _) => "feedwatch=debug,info",
        (false, true) => "info",
        (false, false) => "error",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let registry = tracing_subscriber::registry().with(filter);
    if std::env::var_os("JOURNAL_STREAM").is_some()
        && let Ok(journald) = tracing_journald::layer()
    {
        registry.with(journald).init();
        return;
    }
    // systemd adds its own timestamps when it captures stderr; so does the journal.
    let under_systemd = std::env::var_os("INVOCATION_ID").is_some();
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .with_target(false);
    if under_systemd {
        registry.with(fmt.without_time()).init();
    } else {
        registry.with(fmt).init();
    }
}
