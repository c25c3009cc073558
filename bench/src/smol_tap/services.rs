//! The services of `smol-tap`, one socket at a time: what each does when its socket is
//! polled, and listening again once a connection is over.

use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::{Socket, State};

use super::http::Http;
use crate::pattern;

/// The services `smol-tap` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// Sends the byte pattern until the peer goes (port 19).
    Chargen,
    /// Reads and forgets (port 9).
    Discard,
    /// Sends back what it reads (port 7).
    Echo,
    /// HTTP/1.1 `GET /bytes/N` with keep-alive (port 80).
    Http,
}

impl Service {
    /// Every service, in the order their pools are made.
    pub const ALL: [Service; 4] = [
        Service::Chargen,
        Service::Discard,
        Service::Echo,
        Service::Http,
    ];

    /// The TCP port it listens on.
    pub fn port(self) -> u16 {
        match self {
            Service::Chargen => 19,
            Service::Discard => 9,
            Service::Echo => 7,
            Service::Http => 80,
        }
    }
}

/// One socket of a service's pool and what its application remembers.
pub struct Slot {
    /// The socket in the interface's set.
    pub handle: SocketHandle,
    service: Service,
    /// Chargen: stream bytes sent so far.
    offset: u64,
    /// HTTP: the request being read and the response being written.
    http: Http,
}

impl Slot {
    /// A slot of `service` whose socket is `handle`; it listens on its first poll.
    pub fn new(service: Service, handle: SocketHandle) -> Slot {
        Slot {
            handle,
            service,
            offset: 0,
            http: Http::default(),
        }
    }

    /// Does the service's work on `socket`; returns the bytes moved, 0 if there was
    /// nothing to do. `scratch` is room for copying.
    pub fn serve(&mut self, socket: &mut Socket<'_>, scratch: &mut [u8]) -> usize {
        match socket.state() {
            State::Closed => {
                self.offset = 0;
                self.http = Http::default();
                // Cannot fail: the socket is closed and the port is not 0.
                let _ = socket.listen(self.service.port());
                return 0;
            }
            State::Listen | State::SynReceived => return 0,
            _ => {}
        }
        let moved = match self.service {
            Service::Chargen => chargen(socket, &mut self.offset),
            Service::Discard => discard(socket),
            Service::Echo => echo(socket, scratch),
            Service::Http => self.http.serve(socket, scratch),
        };
        // The peer is done: close our side too once our data has gone. The client
        // closes first, so this socket ends via LAST-ACK, never in TIME-WAIT (which
        // would hold the whole socket, buffers and all, for 10 s).
        if !socket.may_recv() && socket.send_queue() == 0 && socket.may_send() {
            socket.close();
        }
        if self.service == Service::Chargen && !socket.may_recv() {
            // Nobody reads chargen after closing: drop what is queued at once.
            socket.abort();
        }
        moved
    }
}

fn chargen(socket: &mut Socket<'_>, offset: &mut u64) -> usize {
    let mut moved = 0;
    while socket.can_send() {
        let room = socket.send_capacity() - socket.send_queue();
        let n = socket
            .send_slice(pattern::slice(*offset, room))
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        *offset += n as u64;
        moved += n;
    }
    moved
}

fn discard(socket: &mut Socket<'_>) -> usize {
    let mut moved = 0;
    while socket.can_recv() {
        match socket.recv(|data| (data.len(), data.len())) {
            Ok(0) | Err(_) => break,
            Ok(n) => moved += n,
        }
    }
    moved
}

fn echo(socket: &mut Socket<'_>, scratch: &mut [u8]) -> usize {
    let mut moved = 0;
    while socket.can_recv() && socket.can_send() {
        let room = (socket.send_capacity() - socket.send_queue()).min(scratch.len());
        let n = socket.recv_slice(&mut scratch[..room]).unwrap_or(0);
        if n == 0 {
            break;
        }
        // Cannot fall short: `room` bytes of the send buffer were free.
        let _ = socket.send_slice(&scratch[..n]);
        moved += n;
    }
    moved
}
