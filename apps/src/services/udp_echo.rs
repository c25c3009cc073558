//! UDP echo (RFC 862): every datagram received is sent back to its sender.

use std::io;
use std::thread;

use log::{debug, warn};

use super::Service;
use crate::net::UdpSocket;
use crate::runtime::Handle;

/// The echo port, RFC 862.
pub const PORT: u16 = 7;

/// Binds `port` and echoes on a new thread until the runtime stops.
pub fn start(net: &Handle, port: u16) -> io::Result<Service> {
    let socket = UdpSocket::bind(net, ("0.0.0.0", port))?;
    let thread = thread::Builder::new()
        .name(format!("udp-echo-{port}"))
        .spawn(move || serve(&socket))?;
    Ok(Service {
        name: format!("udp echo on port {port}"),
        thread,
    })
}

fn serve(socket: &UdpSocket) {
    // 65507 is the largest UDP payload over IPv4.
    let mut buf = vec![0u8; 65507];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                debug!("udp echo: {n} bytes from {from}");
                if let Err(e) = socket.send_to(&buf[..n], from) {
                    warn!("udp echo: cannot answer {from}: {e}");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // the stack stopped
            Err(e) => warn!("udp echo: {e}"),
        }
    }
}
