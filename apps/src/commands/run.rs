//! `netstack run -- PROGRAM ARGS...`: runs PROGRAM with the `netstack-preload` shim, so
//! its IPv4 TCP sockets are netstack's (see `preload/src/lib.rs` for what is
//! intercepted and `apps/src/gateway` for the daemon's side).
//!
//! The command checks that a daemon answers on the control socket, finds the shim, and
//! then replaces itself with PROGRAM (exec), so PROGRAM keeps this process's pid,
//! terminal and signals, and its exit status is the command's.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::cli::{RunArgs, DEFAULT_CONTROL};
use crate::error::CliError;

/// The shim's file name, as cargo builds it.
pub const PRELOAD_NAME: &str = "libnetstack_preload.so";

/// The exit status of a program that could not be found, as the shell's.
const EXIT_NOT_FOUND: u8 = 127;

/// Runs the command; returns only if PROGRAM could not be started.
pub fn run(args: &RunArgs) -> Result<u8, CliError> {
    let control = args
        .control
        .clone()
        .or_else(|| std::env::var_os("NETSTACK_CONTROL").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL));
    let (program, rest) = args.program.split_first().ok_or_else(|| {
        CliError::usage("run: no program given (netstack run -- PROGRAM ARGS...)")
    })?;
    if !is_runnable(Path::new(program)) {
        return Err(CliError::failure(format!(
            "run: {}: command not found",
            Path::new(program).display()
        ))
        .with_exit_code(EXIT_NOT_FOUND));
    }
    check_daemon(&control)?;
    let preload = find_preload(args.preload.as_deref())?;
    let mut ld_preload = OsString::from(&preload);
    if let Some(old) = std::env::var_os("LD_PRELOAD").filter(|v| !v.is_empty()) {
        ld_preload.push(":");
        ld_preload.push(old);
    }
    let err = Command::new(program)
        .args(rest)
        .env("LD_PRELOAD", ld_preload)
        .env("NETSTACK_CONTROL", &control)
        .exec();
    let name = Path::new(program).display();
    if err.kind() == std::io::ErrorKind::NotFound {
        return Err(CliError::failure(format!("run: {name}: command not found"))
            .with_exit_code(EXIT_NOT_FOUND));
    }
    Err(CliError::failure(format!(
        "run: cannot start {name}: {err}"
    )))
}

/// Whether `program` names a file, as a path or through `$PATH` (as execvp looks).
fn is_runnable(program: &Path) -> bool {
    if program.components().count() > 1 {
        return program.is_file();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
}

/// Fails with one line unless a netstack daemon answers `HELLO` on `path`.
fn check_daemon(path: &Path) -> Result<(), CliError> {
    let absent = || {
        CliError::failure(format!(
            "run: no netstack daemon on {} (start one with: sudo netstack serve --control {})",
            path.display(),
            path.display()
        ))
    };
    let mut conn = UnixStream::connect(path).map_err(|_| absent())?;
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    conn.write_all(b"HELLO\n").map_err(|_| absent())?;
    let mut line = String::new();
    BufReader::new(conn)
        .read_line(&mut line)
        .map_err(|_| absent())?;
    if line.trim() != "OK netstack" {
        return Err(CliError::failure(format!(
            "run: {} is not a netstack control socket",
            path.display()
        )));
    }
    Ok(())
}

/// The shim: `--preload`, `$NETSTACK_PRELOAD`, or next to the `netstack` binary.
fn find_preload(given: Option<&Path>) -> Result<PathBuf, CliError> {
    let candidate = given
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("NETSTACK_PRELOAD").map(PathBuf::from))
        .or_else(|| {
            let exe = std::env::current_exe().ok()?;
            Some(exe.parent()?.join(PRELOAD_NAME))
        })
        .ok_or_else(|| CliError::failure("run: cannot locate the netstack binary's folder"))?;
    if !candidate.is_file() {
        return Err(CliError::failure(format!(
            "run: no shim library at {} (build it with: cargo build -p netstack-preload)",
            candidate.display()
        )));
    }
    // The dynamic loader resolves a relative LD_PRELOAD against the program's folder.
    std::fs::canonicalize(&candidate)
        .map_err(|e| CliError::failure(format!("run: {}: {e}", candidate.display())))
}
