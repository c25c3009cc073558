//! Ctrl-C (SIGINT) and SIGTERM, without `unsafe`: the `ctrlc` crate runs our closure on
//! an ordinary thread when either arrives, so the closure may lock, print and notify.

use crate::error::CliError;

/// Runs `on_signal` each time SIGINT or SIGTERM arrives. Call at most once per process.
pub fn on_interrupt(on_signal: impl FnMut() + Send + 'static) -> Result<(), CliError> {
    ctrlc::set_handler(on_signal)
        .map_err(|err| CliError::failure(format!("cannot handle Ctrl-C: {err}")))
}
