//! The `netstack` commands. [`run()`] dispatches on the parsed command line and returns
//! the exit status; each command lives in its own file.

pub mod demo;
pub mod echo;
pub mod http_get;
pub mod peer;
pub mod ping;
pub mod plot;
pub mod queues;
pub mod report;
pub mod run;
pub mod serve;
pub mod setup;

use std::io::{self, Write};

use crate::cli::{Cli, Command};
use crate::error::CliError;
use crate::ping::PingFailure;

/// Runs the command `cli` names (`serve` when none) and returns the exit status.
pub fn run(cli: &Cli) -> Result<u8, CliError> {
    match &cli.command {
        None => serve::run(&cli.net, &crate::cli::ServeArgs::default()),
        Some(Command::Serve(args)) => serve::run(&cli.net, args),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Ping(args)) => ping::run(&cli.net, args),
        Some(Command::Echo(args)) => echo::run(&cli.net, args),
        Some(Command::HttpGet(args)) => http_get::run(&cli.net, args),
        Some(Command::Demo) => demo::run(&cli.net),
        Some(Command::Plot(args)) => plot::run(args),
    }
}

/// Writes `text` to `out`. A closed output (`netstack ... | head`) ends the command with
/// status 1 instead of the panic `println!` would raise.
pub(crate) fn write_out(out: &mut dyn Write, text: &str) -> Result<(), CliError> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(output_error)
}

/// A failed write to stdout as a [`CliError`]: silent when the reader went away.
pub(crate) fn output_error(err: io::Error) -> CliError {
    if err.kind() == io::ErrorKind::BrokenPipe {
        CliError::output_closed()
    } else {
        CliError::failure(format!("cannot write output: {err}"))
    }
}

/// A ping session's failure as a [`CliError`].
pub(crate) fn ping_error(err: PingFailure) -> CliError {
    match err {
        // Like ping(8)'s "connect: Network is unreachable": the command cannot work.
        PingFailure::Send(_) | PingFailure::Open(_) => CliError::usage(err.to_string()),
        PingFailure::Output(err) => output_error(err),
    }
}
