//! An HTTP/1.1 server (RFC 9110, RFC 9112) with persistent connections: one thread
//! serves every connection, each a state machine (`session.rs`) on the event-driven
//! [`server`].
//!
//! | Request              | Response                                                  |
//! |----------------------|-----------------------------------------------------------|
//! | `GET /`              | the status page: configuration, counters, ARP, sockets    |
//! | `GET /bytes/N`       | N bytes (N up to 10^12), byte i = i mod 251               |
//! | `POST /sha256`       | the body's SHA-256 in hex; Content-Length or chunked      |
//!
//! HEAD works wherever GET does. Limits: a request head of at most 8 KiB (else 431, or
//! 414 for an overlong request line) and 64 header fields (else 431); request bodies are
//! streamed, so their size is not limited (no 413). Malformed requests get 400 and the
//! connection is closed; an idle connection is closed quietly after 30 s.

mod body;
mod bytes;
mod conn;
mod request;
mod response;
mod session;
mod sha256;
mod status;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use self::session::HttpSession;
use super::server::{self, Placement};
use super::Service;
use crate::runtime::Handle;

/// The HTTP port.
pub const PORT: u16 = 80;

/// How long a connection may sit idle, between requests or in the middle of one,
/// before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a response may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// After a response that ends the connection, how long unread request bytes are read
/// and dropped (so that closing does not reset the connection under the response
/// before the client has read it), and how many at most.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// Listens on `port` and serves every connection from one thread until the runtime
/// stops. The status page reads the stack through `net`.
pub fn start(net: &Handle, port: u16) -> io::Result<Service> {
    server::start(
        net,
        port,
        "http",
        Placement::Loop,
        move |stack, socket, peer| {
            let mut tcp = stack.tcp();
            // Responses go out in whole writes (head and small bodies together), so
            // Nagle's algorithm would only delay the last segment of each.
            let _ = tcp.set_nodelay(socket, true);
            let local = tcp
                .local_addr(socket)
                .unwrap_or(std::net::SocketAddrV4::new([0, 0, 0, 0].into(), port));
            HttpSession::new(SocketAddr::V4(local), SocketAddr::V4(peer))
        },
    )
}
