//! UDP echo (RFC 862): every datagram received is sent back to its sender. The event
//! loop answers every waiting datagram in the round it arrives (a runtime `Task`).

use std::io;
use std::net::SocketAddrV4;
use std::time::{Duration, Instant as StdInstant};

use log::{debug, warn};
use netstack_core::{SocketHandle, Stack};

use super::Service;
use crate::runtime::{Events, Handle, Interest, Poll, Task, Token};

/// The echo port, RFC 862.
pub const PORT: u16 = 7;

/// The largest UDP payload over IPv4.
const MAX_DATAGRAM: usize = 65507;

/// Binds `port` and echoes from the event loop until the runtime stops.
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
    net.spawn_task(Box::new(Echo {
        poll,
        socket,
        buf: vec![0; MAX_DATAGRAM].into_boxed_slice(),
        events: Events::new(),
    }));
    Ok(Service {
        name: format!("udp echo on port {port}"),
        thread: None,
    })
}

/// The echo service's state.
struct Echo {
    poll: Poll,
    socket: SocketHandle,
    buf: Box<[u8]>,
    events: Events,
}

impl Task for Echo {
    /// Answers every waiting datagram once the socket has been reported readable.
    fn turn(&mut self, stack: &mut Stack, now: netstack_core::Instant) {
        if self
            .poll
            .wait(&mut self.events, Some(Duration::ZERO))
            .is_err()
            || self.events.is_empty()
        {
            return;
        }
        loop {
            let mut udp = stack.udp();
            match udp.recv_from(self.socket, &mut self.buf) {
                Ok(Some((n, from))) => {
                    debug!("udp echo: {n} bytes from {from}");
                    if let Err(e) = udp.send_to(now, self.socket, &self.buf[..n], from) {
                        warn!("udp echo: cannot answer {from}: {e}");
                    }
                }
                Ok(None) | Err(netstack_core::UdpError::InvalidHandle) => break,
                // An ICMP error from an earlier answer: reported once, then gone.
                Err(e) => debug!("udp echo: {e}"),
            }
        }
    }

    fn deadline(&self) -> Option<StdInstant> {
        None
    }
}
