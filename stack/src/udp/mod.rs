//! UDP sockets (RFC 768, RFC 1122 4.1).
//!
//! A socket is bound to a local port (chosen by the caller or by the port allocator)
//! and optionally connected to one remote address. Like Linux:
//! * a connected socket receives only from its peer; datagrams from anyone else find no
//!   socket and are answered with port unreachable;
//! * an ICMP error about a datagram a connected socket sent is reported once, as
//!   [`UdpError::ConnectionRefused`] (or the matching error) on its next send or receive;
//!   unconnected sockets do not see ICMP errors (Linux reports them only with IP_RECVERR);
//! * broadcast datagrams are received only by sockets that enabled broadcast, and sending
//!   to a broadcast address needs it too (EACCES without it).
//!
//! Received datagrams queue per socket up to [`Config::udp_recv_buffer`] bytes; beyond
//! it they are dropped and counted, never blocking the stack.
//!
//! [`Config::udp_recv_buffer`]: crate::Config::udp_recv_buffer

pub mod api;

use core::fmt;
use core::net::SocketAddrV4;
use std::collections::VecDeque;

use crate::config::Config;
use crate::counters::RxDrop;
use crate::icmp::errors::SoftError;
use crate::outbound::{Origin, Outbound};
use crate::socket::demux::Demux;
use crate::socket::ports::PortAllocator;
use crate::socket::table::SocketTable;
use crate::socket::touched::Touched;
use crate::socket::{Protocol, SocketHandle};
use crate::time::Instant;
use crate::wire::{IcmpRepr, UdpRepr, WireError};

/// Bytes charged per queued datagram beyond its data, so empty datagrams are bounded too.
const DATAGRAM_OVERHEAD: usize = 64;
/// The largest UDP payload over IPv4: 65535 - 20 - 8.
pub const MAX_DATAGRAM: usize = 65507;

/// One row of the stack's UDP `netstat`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpSocketInfo {
    /// The socket's handle.
    pub handle: SocketHandle,
    /// Bound address.
    pub local: SocketAddrV4,
    /// Connected peer, if any.
    pub remote: Option<SocketAddrV4>,
    /// Datagrams waiting to be read.
    pub recv_queue: usize,
    /// Bytes charged to the receive buffer.
    pub recv_bytes: usize,
}

/// A received datagram waiting to be read.
#[derive(Debug)]
struct Datagram {
    from: SocketAddrV4,
    data: Vec<u8>,
}

/// One UDP socket's state.
#[derive(Debug)]
struct UdpSocket {
    /// Bound address (0.0.0.0 or ours) and port; port 0 until bound.
    local: SocketAddrV4,
    remote: Option<SocketAddrV4>,
    broadcast: bool,
    queue: VecDeque<Datagram>,
    queued_bytes: usize,
    /// An ICMP error waiting to be reported (connected sockets only).
    error: Option<SoftError>,
}

/// Errors of the UDP socket calls. The facade maps each to a `std::io::ErrorKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UdpError {
    /// The handle does not name an open UDP socket.
    InvalidHandle,
    /// The local port is held by another socket (EADDRINUSE).
    AddrInUse,
    /// The local address is not ours (EADDRNOTAVAIL).
    AddrNotAvailable,
    /// The socket is already bound (EINVAL).
    AlreadyBound,
    /// No ephemeral port is free (EADDRNOTAVAIL on Linux).
    PortsExhausted,
    /// The socket table is full (EMFILE in spirit).
    TooManySockets,
    /// `send` on a socket with no peer (EDESTADDRREQ).
    NotConnected,
    /// The destination or peer is not a valid address/port (EINVAL).
    InvalidAddress,
    /// Broadcast destination without broadcast enabled (EACCES).
    BroadcastNotEnabled,
    /// The datagram is larger than 65507 bytes (EMSGSIZE).
    TooBig,
    /// No route to the destination (ENETUNREACH).
    NoRoute,
    /// The peer's port is closed: an ICMP port unreachable came back (ECONNREFUSED).
    ConnectionRefused,
    /// An ICMP host unreachable or time exceeded came back (EHOSTUNREACH).
    HostUnreachable,
    /// An ICMP network unreachable came back (ENETUNREACH).
    NetworkUnreachable,
    /// An ICMP fragmentation-needed came back (EMSGSIZE).
    MessageTooBig,
}

impl fmt::Display for UdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UdpError::InvalidHandle => "not an open UDP socket",
            UdpError::AddrInUse => "address already in use",
            UdpError::AddrNotAvailable => "cannot assign requested address",
            UdpError::AlreadyBound => "socket is already bound",
            UdpError::PortsExhausted => "no ephemeral port is free",
            UdpError::TooManySockets => "too many open sockets",
            UdpError::NotConnected => "destination address required",
            UdpError::InvalidAddress => "invalid address",
            UdpError::BroadcastNotEnabled => {
                "permission denied: broadcast not enabled on this socket"
            }
            UdpError::TooBig => "message too long",
            UdpError::NoRoute => "network is unreachable",
            UdpError::ConnectionRefused => "connection refused",
            UdpError::HostUnreachable => "no route to host",
            UdpError::NetworkUnreachable => "network is unreachable",
            UdpError::MessageTooBig => "message too long for the path",
        })
    }
}

impl std::error::Error for UdpError {}

impl From<SoftError> for UdpError {
    fn from(e: SoftError) -> UdpError {
        match e {
            SoftError::ConnectionRefused => UdpError::ConnectionRefused,
            SoftError::HostUnreachable => UdpError::HostUnreachable,
            SoftError::NetworkUnreachable => UdpError::NetworkUnreachable,
            SoftError::MessageTooBig(_) => UdpError::MessageTooBig,
        }
    }
}

/// What UDP counts.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct UdpCounters {
    pub datagrams_received: u64,
    pub datagrams_sent: u64,
}

/// The UDP layer: its sockets, how arriving datagrams find them, and its ports.
#[derive(Debug)]
pub(crate) struct Udp {
    table: SocketTable<UdpSocket>,
    demux: Demux,
    ports: PortAllocator,
    /// Bytes a socket may hold unread ([`Config::udp_recv_buffer`]).
    recv_buffer: usize,
    pub touched: Touched,
    pub counters: UdpCounters,
}

impl Udp {
    pub fn new(config: &Config, ports: PortAllocator) -> Udp {
        Udp {
            table: SocketTable::new(Protocol::Udp, config.max_sockets),
            demux: Demux::default(),
            ports,
            recv_buffer: config.udp_recv_buffer,
            touched: Touched::default(),
            counters: UdpCounters::default(),
        }
    }

    /// Sockets open.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Delivers a UDP datagram to its socket (one to three hash lookups, see
    /// [`crate::socket::demux`]), or answers with port unreachable.
    pub fn receive(
        &mut self,
        now: Instant,
        origin: &Origin<'_>,
        body: &[u8],
        out: &mut Outbound,
    ) -> Result<(), RxDrop> {
        let ip = &origin.ip;
        // RFC 1122 4.1.3.4: verify the checksum if present, discard silently if wrong
        // (unless the link verified it: receive checksum offload).
        let parsed = if origin.checksum_verified {
            UdpRepr::parse_verified(ip.src, ip.dst, body)
        } else {
            UdpRepr::parse(ip.src, ip.dst, body)
        };
        let (udp, data) = parsed.map_err(|e| match e {
            WireError::BadChecksum => RxDrop::UdpBadChecksum,
            _ => RxDrop::UdpMalformed,
        })?;
        let local = SocketAddrV4::new(ip.dst, udp.dst_port);
        let remote = SocketAddrV4::new(ip.src, udp.src_port);
        let broadcast = out.is_broadcast(ip.dst);
        let found = if broadcast {
            self.demux.lookup_bound(Protocol::Udp, local)
        } else {
            self.demux.lookup(Protocol::Udp, local, remote)
        };
        let Some(h) = found else {
            // RFC 1122 4.1.3.1: a datagram to a port with no socket SHOULD get port
            // unreachable (send_icmp_error skips broadcasts and rate-limits).
            let unreachable = IcmpRepr::DestUnreachable {
                code: 3,
                next_hop_mtu: 0,
            };
            out.send_icmp_error(now, origin, body, unreachable);
            return Err(RxDrop::UdpNoSocket);
        };
        let limit = self.recv_buffer;
        let Ok(s) = self.table.get_mut(h) else {
            // The demultiplexer only holds live handles; treat a miss as no socket.
            return Err(RxDrop::UdpNoSocket);
        };
        if broadcast && !s.broadcast {
            return Err(RxDrop::UdpBroadcastNotWanted);
        }
        let cost = data.len() + DATAGRAM_OVERHEAD;
        if s.queued_bytes + cost > limit {
            return Err(RxDrop::UdpRecvBufferFull);
        }
        s.queued_bytes += cost;
        s.queue.push_back(Datagram {
            from: remote,
            data: data.to_vec(),
        });
        // Now readable: a runtime wakes whoever waits on it (Stack::take_touched).
        self.touched.touch(h);
        self.counters.datagrams_received += 1;
        Ok(())
    }

    /// Records an ICMP error on the connected socket that sent `local` -> `remote`.
    /// Returns whether a socket took it.
    pub fn on_icmp_error(
        &mut self,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        error: SoftError,
    ) -> bool {
        if !self.demux.is_connected(Protocol::Udp, local, remote) {
            return false;
        }
        let Some(h) = self.demux.lookup(Protocol::Udp, local, remote) else {
            return false;
        };
        match self.table.get_mut(h) {
            Ok(s) => {
                s.error = Some(error);
                self.touched.touch(h);
                true
            }
            _ => false,
        }
    }
}
