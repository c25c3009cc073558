//! `netstack echo HOST --udp`: each line of stdin goes to the server as one datagram and
//! each reply is printed as it comes back. Exit status 0 when every line was echoed,
//! 1 when a reply was missing or the server refused (ICMP port unreachable), 2 for
//! usage errors.

use std::io::{self, BufRead, Write};

use crate::cli::{EchoArgs, NetOptions};
use crate::commands::{output_error, setup};
use crate::error::{CliError, EXIT_FAILURE};
use crate::net::UdpSocket;

/// Runs the command.
pub fn run(net: &NetOptions, args: &EchoArgs) -> Result<u8, CliError> {
    if !args.udp {
        return Err(CliError::usage(
            "TCP echo is not available yet; use --udp for UDP echo",
        ));
    }
    let runtime = setup::start(net, setup::seed(net))?;
    let handle = runtime.handle();
    let server = (args.host, args.port);
    let socket = UdpSocket::bind(&handle, "0.0.0.0:0")
        .and_then(|s| s.connect(server).map(|()| s))
        .map_err(|e| CliError::usage(format!("{}:{}: {e}", args.host, args.port)))?;
    socket
        .set_read_timeout(Some(args.timeout))
        .map_err(|e| CliError::failure(e.to_string()))?;

    let mut status = 0;
    let mut out = io::stdout().lock();
    let mut reply = vec![0u8; 65507];
    for line in io::stdin().lock().split(b'\n') {
        let mut line = line.map_err(|e| CliError::failure(format!("cannot read stdin: {e}")))?;
        line.push(b'\n');
        // A line longer than a datagram goes in several.
        for chunk in line.chunks(65507) {
            socket.send(chunk).map_err(|e| refused(args, e))?;
            match socket.recv(&mut reply) {
                Ok(n) => out
                    .write_all(&reply[..n])
                    .and_then(|()| out.flush())
                    .map_err(output_error)?,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    eprintln!(
                        "netstack: no reply from {}:{} within {:?}",
                        args.host, args.port, args.timeout
                    );
                    status = EXIT_FAILURE;
                }
                Err(e) => return Err(refused(args, e)),
            }
        }
    }
    drop(socket);
    runtime
        .shutdown()
        .map_err(|e| CliError::failure(e.to_string()))?;
    Ok(status)
}

fn refused(args: &EchoArgs, e: io::Error) -> CliError {
    let hint = if e.kind() == io::ErrorKind::ConnectionRefused {
        " (ICMP port unreachable)"
    } else {
        ""
    };
    CliError::failure(format!("{}:{}: {e}{hint}", args.host, args.port))
}
