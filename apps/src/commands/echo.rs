//! `netstack echo HOST`: copy stdin to an echo server over TCP and everything it sends
//! back to stdout; at the end of stdin, half-close and keep printing until the server
//! closes. With `--udp`, each line goes as one datagram and each reply is printed as it
//! comes back. Exit status 0 on success, 1 when the connection failed (refused, reset,
//! timed out) or a UDP reply was missing, 2 for usage errors.

use std::io::{self, BufRead, Write};

use crate::cli::{EchoArgs, NetOptions};
use crate::commands::{output_error, setup};
use crate::error::{CliError, EXIT_FAILURE};
use crate::net::UdpSocket;

/// Runs the command.
pub fn run(net: &NetOptions, args: &EchoArgs) -> Result<u8, CliError> {
    let runtime = setup::start(net, setup::seed(net))?;
    let handle = runtime.handle();
    if !args.udp {
        let status = tcp(&handle, args)?;
        setup::report_faults(&handle);
        runtime
            .shutdown()
            .map_err(|e| CliError::failure(e.to_string()))?;
        return Ok(status);
    }
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
    setup::report_faults(&handle);
    runtime
        .shutdown()
        .map_err(|e| CliError::failure(e.to_string()))?;
    Ok(status)
}

fn refused(args: &EchoArgs, e: io::Error) -> CliError {
    let hint = match (e.kind(), args.udp) {
        (io::ErrorKind::ConnectionRefused, true) => " (ICMP port unreachable)",
        (io::ErrorKind::ConnectionRefused, false) => " (reset: nothing listens there)",
        _ => "",
    };
    CliError::failure(format!("{}:{}: {e}{hint}", args.host, args.port))
}

/// The TCP client: one thread copies stdin to the connection and half-closes at its end;
/// this one copies the connection to stdout until the server closes.
fn tcp(handle: &crate::runtime::Handle, args: &EchoArgs) -> Result<u8, CliError> {
    let stream = crate::net::TcpStream::connect(handle, (args.host, args.port))
        .map_err(|e| refused(args, e))?;
    let writer = stream.clone();
    let sender = std::thread::spawn(move || -> io::Result<()> {
        let mut w = &writer;
        io::copy(&mut io::stdin().lock(), &mut w)?;
        writer.shutdown(std::net::Shutdown::Write)
    });
    let mut out = io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut r = &stream;
    loop {
        match io::Read::read(&mut r, &mut buf) {
            Ok(0) => break,
            Ok(n) => out
                .write_all(&buf[..n])
                .and_then(|()| out.flush())
                .map_err(output_error)?,
            Err(e) => return Err(refused(args, e)),
        }
    }
    match sender.join() {
        Ok(Ok(())) => Ok(0),
        Ok(Err(e)) => Err(refused(args, e)),
        Err(_) => Err(CliError::failure("the stdin copier panicked")),
    }
}
