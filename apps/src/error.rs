//! How the `netstack` binary fails: a message for the user and an exit status.

use std::fmt;

/// Exit status for a run that failed (no reply, the device could not be used).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status for a usage or configuration error, as ping(8) and clap use.
pub const EXIT_USAGE: u8 = 2;

/// An error that ends the program. `main` prints it as `netstack: <message>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    message: String,
    exit_code: u8,
}

impl CliError {
    /// The command line or the configuration it describes is wrong: exit status 2.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            exit_code: EXIT_USAGE,
        }
    }

    /// Something went wrong while running: exit status 1.
    pub fn failure(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            exit_code: EXIT_FAILURE,
        }
    }

    /// Our output was closed (`netstack ping ... | head`): exit with status 1 and,
    /// like a program killed by SIGPIPE, say nothing.
    pub fn output_closed() -> CliError {
        CliError {
            message: String::new(),
            exit_code: EXIT_FAILURE,
        }
    }

    /// The same error with another exit status (127 for a program not found, as the
    /// shell's).
    pub fn with_exit_code(self, exit_code: u8) -> CliError {
        CliError { exit_code, ..self }
    }

    /// The status the process should exit with.
    pub fn exit_code(&self) -> u8 {
        self.exit_code
    }

    /// The message, without the `netstack: ` prefix. May be a short paragraph; empty
    /// when nothing should be printed.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}
