//! UDP echo (RFC 862): every datagram received is sent back to its sender. One thread
//! waits for the socket's readiness and answers every waiting datagram per event.

use std::io;
use std::net::SocketAddrV4;
use std::thread;

use log::{debug, warn};
use netstack_core::SocketHandle;

use super::Service;
use crate::runtime::{Events, Handle, Interest, Poll, Token};

/// The echo port, RFC 862.
pub const PORT: u16 = 7;

/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65507;

/// Binds `port` and echoes on a new thread until the runtime stops.
pub fn start(net: &Handle, port: u16) -> io::Result<Service> {
    let poll = Poll::new(net);
    let socket = net.with_stack(|stack, _| -> io::Result<SocketHandle> {
        let socket = stack
            .udp()
            .bind(SocketAddrV4::new([0, 0, 0, 0].into(), port))
            .map_err(crate::net::udp_io)?;
        poll.register(stack, socket, Token(0), Interest::READABLE)?;
        Ok(socket)
    })?;
    let net = net.clone();
    let thread = thread::Builder::new()
        .name(format!("udp-echo-{port}"))
        .spawn(move || serve(&net, &poll, socket))?;
    Ok(Service {
        name: format!("udp echo on port {port}"),
        thread,
    })
}

/// Sleeps until datagrams wait, then answers all of them under one lock of the stack.
fn serve(net: &Handle, poll: &Poll, socket: SocketHandle) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut events = Events::new();
    while poll.wait(&mut events, None).is_ok() {
        net.with_stack(|stack, now| loop {
            let mut udp = stack.udp();
            match udp.recv_from(socket, &mut buf) {
                Ok(Some((n, from))) => {
                    debug!("udp echo: {n} bytes from {from}");
                    if let Err(e) = udp.send_to(now, socket, &buf[..n], from) {
                        warn!("udp echo: cannot answer {from}: {e}");
                    }
                }
                Ok(None) | Err(netstack_core::UdpError::InvalidHandle) => break,
                // An ICMP error from an earlier answer: reported once, then gone.
                Err(e) => debug!("udp echo: {e}"),
            }
        });
    }
    net.with_stack(|stack, _| {
        let _ = stack.udp().close(socket);
    });
}
