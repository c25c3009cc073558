//! The socket table: opaque handles, demultiplexing, and ephemeral ports.
//!
//! * [`SocketHandle`] names a socket. It carries a generation, so a handle kept after its
//!   socket closed is refused as stale instead of reaching whichever socket reused the slot.
//! * [`table::SocketTable`] stores sockets in slots, bounded by
//!   [`Config::max_sockets`](crate::Config::max_sockets).
//! * [`demux::Demux`] maps an arriving datagram or segment to its socket with at most
//!   three hash lookups (exact 4-tuple, then bound address, then wildcard address); no
//!   receive path scans the sockets.
//! * [`ports::PortAllocator`] chooses ephemeral ports per RFC 6056.

pub mod demux;
pub mod ports;
pub mod table;

use core::fmt;

/// An opaque name for a socket, valid until the socket is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketHandle {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl SocketHandle {
    /// The handle's slot number: small, dense and stable while the socket lives, for
    /// callers that keep per-socket tables (the runtime's waiter buckets).
    pub fn slot(&self) -> u32 {
        self.index
    }
}

impl fmt::Display for SocketHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}.{}", self.index, self.generation)
    }
}

/// Transport protocols that have sockets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::Udp => "udp",
            Protocol::Tcp => "tcp",
        })
    }
}

/// Every socket the stack holds, of any protocol, behind one handle space.
#[derive(Debug)]
pub(crate) enum Socket {
    Udp(crate::udp::UdpSocket),
    TcpListener(crate::tcp::listen::Listener),
    Tcp(Box<crate::tcp::tcb::Tcb>),
}

/// The socket table with its demultiplexer and port allocator.
#[derive(Debug)]
pub(crate) struct Sockets {
    pub table: table::SocketTable<Socket>,
    pub demux: demux::Demux,
    pub ports: ports::PortAllocator,
}
