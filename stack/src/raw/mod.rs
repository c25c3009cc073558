//! Raw IP sockets: a socket bound to one IP protocol number, as Linux's `SOCK_RAW`
//! (raw(7)).
//!
//! Like Linux:
//! * every datagram of a socket's protocol that the stack accepts is also copied to the
//!   socket, *with its IPv4 header* (options included; a reassembled datagram's header
//!   is the rebuilt one, no longer a fragment), whether or not the stack's own layer
//!   (ICMP, UDP, TCP) handles it too. An ICMP raw socket therefore sees the echo
//!   requests the stack answers, and the echo replies a pinger waits for;
//! * a socket bound to a local address (`bind`) receives only datagrams addressed to it,
//!   and one connected to a peer (`connect`) only datagrams from that peer;
//! * a socket for protocol 255 (`IPPROTO_RAW`) receives nothing and always sends with a
//!   caller-built header;
//! * a datagram of a protocol the stack does not speak, taken by a raw socket, gets no
//!   ICMP protocol unreachable (Linux answers only when no raw socket took it).
//!
//! Sending: without `IP_HDRINCL` the stack builds the header (our address, the
//! socket's protocol and TTL) and fragments large payloads. With it the caller gives the
//! whole datagram; the stack checks it (version 4, IHL, length within the link MTU: no
//! fragmentation, EMSGSIZE otherwise), and fills in what Linux fills in: the total length
//! and the header checksum always, the identification when zero and DF clear, the source address
//! when 0.0.0.0 ([`api`]). Linux checks only that the IHL fits the data and sends a
//! header with a wrong version or an IHL below 5 as it is; we refuse both (EINVAL),
//! since nothing on the wire would accept them.
//!
//! Each socket's queue is bounded by [`Config::udp_recv_buffer`] bytes (the same budget
//! as a UDP socket); a copy that does not fit is dropped and counted, never blocking the
//! stack or the protocol layer that also handles the datagram.
//!
//! [`Config::udp_recv_buffer`]: crate::Config::udp_recv_buffer

pub mod api;

use core::fmt;
use core::net::Ipv4Addr;
use std::collections::{HashMap, VecDeque};

use crate::config::Config;
use crate::outbound::Origin;
use crate::socket::table::SocketTable;
use crate::socket::touched::Touched;
use crate::socket::{Protocol, SocketHandle};
use crate::time::Instant;

/// `IPPROTO_RAW`: a send-only raw socket that always supplies its own header.
pub const IPPROTO_RAW: u8 = 255;
/// Bytes charged per queued datagram beyond its data, so tiny datagrams are bounded too.
const DATAGRAM_OVERHEAD: usize = 64;

/// One raw socket's state.
#[derive(Debug)]
struct RawSocket {
    protocol: u8,
    /// `IP_HDRINCL`: sends carry a caller-built IPv4 header.
    hdrincl: bool,
    /// Receive only datagrams addressed here (`bind`); None is any.
    local: Option<Ipv4Addr>,
    /// Receive only from, and send by default to, this peer (`connect`).
    remote: Option<Ipv4Addr>,
    /// `IP_TTL` for datagrams whose header the stack builds; None is the stack's default.
    ttl: Option<u8>,
    queue: VecDeque<RawDatagram>,
    queued_bytes: usize,
}

/// A received datagram, IPv4 header first, as Linux hands it to a raw socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawDatagram {
    /// The sender's address (the header's source).
    pub from: Ipv4Addr,
    /// The whole datagram: IPv4 header (with options) and payload.
    pub data: Vec<u8>,
    /// When its (last) frame was received.
    pub received_at: Instant,
}

/// Why a raw socket call failed. The facade maps each to an `io::ErrorKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawError {
    /// The handle does not name an open raw socket.
    InvalidHandle,
    /// Protocol 0 (`IPPROTO_IP`) cannot be a raw socket's protocol (EPROTONOSUPPORT).
    BadProtocol,
    /// The socket table is full.
    TooManySockets,
    /// The address to bind is not ours (EADDRNOTAVAIL).
    AddrNotAvailable,
    /// `send` on a socket with no peer (EDESTADDRREQ).
    NotConnected,
    /// The destination cannot be sent to (EINVAL).
    InvalidAddress,
    /// A caller-built header is not a valid IPv4 header, or is longer than the data
    /// (EINVAL).
    BadHeader,
    /// The datagram does not fit the link MTU with `IP_HDRINCL`, or an IPv4 datagram at
    /// all (EMSGSIZE).
    TooBig,
    /// No route to the destination (ENETUNREACH).
    NoRoute,
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RawError::InvalidHandle => "not an open raw socket",
            RawError::BadProtocol => "protocol not supported for a raw socket",
            RawError::TooManySockets => "too many open sockets",
            RawError::AddrNotAvailable => "cannot assign requested address",
            RawError::NotConnected => "destination address required",
            RawError::InvalidAddress => "invalid address",
            RawError::BadHeader => "invalid IPv4 header",
            RawError::TooBig => "message too long",
            RawError::NoRoute => "network is unreachable",
        })
    }
}

impl std::error::Error for RawError {}

/// What raw sockets count.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RawCounters {
    /// Copies queued on a raw socket.
    pub delivered: u64,
    /// Copies dropped because the socket's queue was full.
    pub queue_full: u64,
    /// Datagrams sent from raw sockets.
    pub sent: u64,
    /// Caller-built headers refused.
    pub bad_headers: u64,
}

/// The raw socket layer: its sockets, and which of them each protocol number reaches.
#[derive(Debug)]
pub(crate) struct Raw {
    table: SocketTable<RawSocket>,
    /// Protocol number -> its sockets, in opening order. Bounded by the table.
    by_protocol: HashMap<u8, Vec<SocketHandle>>,
    recv_buffer: usize,
    pub touched: Touched,
    pub counters: RawCounters,
}

impl Raw {
    pub fn new(config: &Config) -> Raw {
        Raw {
            table: SocketTable::new(Protocol::Raw, config.max_sockets),
            by_protocol: HashMap::new(),
            recv_buffer: config.udp_recv_buffer,
            touched: Touched::default(),
            counters: RawCounters::default(),
        }
    }

    /// Sockets open.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Copies a whole datagram (header `origin.header`, then `body`) to every raw socket
    /// of its protocol that wants it (raw(7); Linux's `raw_v4_input`). Returns whether
    /// any socket was a match, even one whose queue was full.
    pub fn deliver(&mut self, now: Instant, origin: &Origin<'_>, body: &[u8]) -> bool {
        let ip = &origin.ip;
        let Some(sockets) = self.by_protocol.get(&ip.protocol) else {
            return false;
        };
        let mut matched = false;
        for &h in sockets {
            let Ok(s) = self.table.get_mut(h) else {
                continue;
            };
            if s.local.is_some_and(|a| a != ip.dst) || s.remote.is_some_and(|a| a != ip.src) {
                continue;
            }
            matched = true;
            let len = origin.header.len() + body.len();
            let cost = len + DATAGRAM_OVERHEAD;
            if s.queued_bytes + cost > self.recv_buffer {
                self.counters.queue_full += 1;
                continue;
            }
            let mut data = Vec::with_capacity(len);
            data.extend_from_slice(origin.header);
            data.extend_from_slice(body);
            s.queued_bytes += cost;
            s.queue.push_back(RawDatagram {
                from: ip.src,
                data,
                received_at: now,
            });
            self.counters.delivered += 1;
            self.touched.touch(h);
        }
        matched
    }
}
