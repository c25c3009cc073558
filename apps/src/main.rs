//! The `netstack` binary: parse the command line, set up logging, run the command, and
//! turn any failure into one `netstack: ...` message and an exit status.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use netstack::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with status 0; misuse is one line on stderr
            // with status 2.
            if err.use_stderr() {
                let _ = writeln!(
                    std::io::stderr(),
                    "{}",
                    netstack::usage_error::one_line(&err)
                );
            } else {
                let _ = err.print();
            }
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    // Quiet unless asked: RUST_LOG=info (or debug, trace) shows more.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match netstack::commands::run(&cli) {
        Ok(status) => ExitCode::from(status),
        Err(err) => {
            if !err.message().is_empty() {
                let _ = writeln!(std::io::stderr(), "netstack: {err}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}
