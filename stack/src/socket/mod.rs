//! What UDP, TCP and raw sockets share for their sockets: opaque handles, a slot table,
//! demultiplexing, ephemeral ports, and the list of sockets whose readiness changed.
//! Each transport layer owns its own instances; none of this knows UDP or TCP.
//!
//! * [`SocketHandle`] names a socket. It carries its protocol and a generation, so a
//!   handle kept after its socket closed is refused as stale instead of reaching
//!   whichever socket reused the slot, and a UDP handle never reaches a TCP socket.
//! * [`table::SocketTable`] stores one protocol's sockets in slots, bounded by
//!   [`Config::max_sockets`](crate::Config::max_sockets).
//! * [`demux::Demux`] maps an arriving datagram or segment to its socket with at most
//!   three hash lookups (exact 4-tuple, then bound address, then wildcard address); no
//!   receive path scans the sockets.
//! * [`ports::PortAllocator`] chooses ephemeral ports per RFC 6056.
//! * [`touched::Touched`] lists the sockets a runtime should wake.

pub mod demux;
pub mod ports;
pub mod table;
pub mod touched;

use core::fmt;

/// An opaque name for a socket, valid until the socket is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle {
    pub(crate) protocol: Protocol,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl SocketHandle {
    /// The handle's slot number: small, dense, unique across protocols and stable while
    /// the socket lives, for callers that keep per-socket tables (the runtime's waiter
    /// buckets).
    pub fn slot(&self) -> u32 {
        self.index * 3 + self.protocol as u32
    }

    /// The socket's transport protocol.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
}

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}.{}", self.protocol, self.index, self.generation)
    }
}

/// Transport protocols that have sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// UDP.
    Udp = 0,
    /// TCP.
    Tcp = 1,
    /// A raw IP socket, bound to one IP protocol number.
    Raw = 2,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
            Protocol::Raw => "raw",
        })
    }
}
