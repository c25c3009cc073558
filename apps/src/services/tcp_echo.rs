//! TCP echo (RFC 862) and discard (RFC 863): one thread per connection, written as any
//! `std::net` server would be.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::thread;

use log::{debug, warn};

use super::Service;
use crate::net::{TcpListener, TcpStream};
use crate::runtime::Handle;

/// The echo port, RFC 862.
pub const ECHO_PORT: u16 = 7;
/// The discard port, RFC 863.
pub const DISCARD_PORT: u16 = 9;

/// What a connection gets.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Echo,
    Discard,
}

/// TCP echo on `port`: every byte comes back; at the client's FIN we finish and close.
pub fn start_echo(net: &Handle, port: u16) -> io::Result<Service> {
    start(net, port, Kind::Echo, "tcp echo")
}

/// TCP discard on `port`: every byte is read and dropped.
pub fn start_discard(net: &Handle, port: u16) -> io::Result<Service> {
    start(net, port, Kind::Discard, "tcp discard")
}

fn start(net: &Handle, port: u16, kind: Kind, name: &str) -> io::Result<Service> {
    let listener = TcpListener::bind(net, ("0.0.0.0", port))?;
    let label = format!("{name} on port {port}");
    let thread = thread::Builder::new()
        .name(format!("{name}-{port}"))
        .spawn(move || {
            loop {
                match listener.accept() {
                    Ok((stream, peer)) => {
                        debug!("{kind:?}: connection from {peer}");
                        let spawned = thread::Builder::new()
                            .name(format!("{kind:?}-{peer}"))
                            .spawn(move || {
                                if let Err(e) = serve(stream, kind) {
                                    debug!("{kind:?} {peer}: {e}");
                                }
                            });
                        if let Err(e) = spawned {
                            warn!("{kind:?}: cannot start a thread for {peer}: {e}");
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // stack stopped
                    Err(e) => warn!("{kind:?}: accept: {e}"),
                }
            }
        })?;
    Ok(Service {
        name: label,
        thread,
    })
}

fn serve(mut stream: TcpStream, kind: Kind) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            // The client half-closed: send what is left and close our side too.
            stream.shutdown(Shutdown::Write)?;
            return Ok(());
        }
        if let Kind::Echo = kind {
            stream.write_all(&buf[..n])?;
        }
    }
}
