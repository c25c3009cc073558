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

mod input;

use core::fmt;
use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;

use crate::icmp::errors::SoftError;
use crate::iface::{SendError, Stack};
use crate::socket::{Protocol, Socket, SocketHandle};
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::{udp, UdpRepr};

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
pub(crate) struct UdpSocket {
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

impl Stack {
    /// Opens a UDP socket bound to `local`. Address 0.0.0.0 means any (we have one
    /// address, so it is ours); port 0 picks an ephemeral port.
    pub fn udp_bind(&mut self, local: SocketAddrV4) -> Result<SocketHandle, UdpError> {
        let h = self.udp_open()?;
        match self.udp_bind_handle(h, local) {
            Ok(()) => Ok(h),
            Err(e) => {
                let _ = self.sockets.table.remove(h);
                Err(e)
            }
        }
    }

    /// Opens an unbound UDP socket; it is bound to an ephemeral port by its first send
    /// or connect.
    pub fn udp_open(&mut self) -> Result<SocketHandle, UdpError> {
        let socket = UdpSocket {
            local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            remote: None,
            broadcast: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            error: None,
        };
        self.sockets
            .table
            .insert(Socket::Udp(socket))
            .map_err(|_| UdpError::TooManySockets)
    }

    fn udp_bind_handle(&mut self, h: SocketHandle, local: SocketAddrV4) -> Result<(), UdpError> {
        if self.udp(h)?.local.port() != 0 {
            return Err(UdpError::AlreadyBound);
        }
        if !local.ip().is_unspecified() && *local.ip() != self.config.addr {
            return Err(UdpError::AddrNotAvailable);
        }
        let port = if local.port() == 0 {
            let remote = self
                .udp(h)?
                .remote
                .map_or((Ipv4Addr::UNSPECIFIED, 0), |r| (*r.ip(), r.port()));
            self.sockets
                .ports
                .allocate(Protocol::Udp, self.config.addr, remote, |_| true)
                .map_err(|_| UdpError::PortsExhausted)?
        } else {
            // One address, no SO_REUSEADDR: a port belongs to one UDP socket.
            if self.sockets.ports.is_used(Protocol::Udp, local.port()) {
                return Err(UdpError::AddrInUse);
            }
            self.sockets.ports.hold(Protocol::Udp, local.port());
            local.port()
        };
        let bound = SocketAddrV4::new(*local.ip(), port);
        self.sockets.demux.bind(Protocol::Udp, bound, h);
        self.udp_mut(h)?.local = bound;
        Ok(())
    }

    /// Sets the socket's peer: `udp_send` goes there, and only its datagrams are received.
    /// Binds an ephemeral port first if the socket is unbound.
    pub fn udp_connect(&mut self, h: SocketHandle, remote: SocketAddrV4) -> Result<(), UdpError> {
        if remote.ip().is_unspecified() || remote.port() == 0 {
            return Err(UdpError::InvalidAddress);
        }
        if self.udp(h)?.local.port() == 0 {
            self.udp_mut(h)?.remote = Some(remote);
            self.udp_bind_handle(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let s = self.udp(h)?;
        let (local, old) = (s.local, s.remote);
        let key_local = SocketAddrV4::new(self.config.addr, local.port());
        // Move the socket from the bound map to the connected map (or re-point it).
        if let Some(old) = old {
            self.sockets.demux.disconnect(Protocol::Udp, key_local, old);
        }
        self.sockets.demux.unbind(Protocol::Udp, local);
        if !self
            .sockets
            .demux
            .connect(Protocol::Udp, key_local, remote, h)
        {
            self.sockets.demux.bind(Protocol::Udp, local, h);
            return Err(UdpError::AddrInUse);
        }
        let s = self.udp_mut(h)?;
        s.remote = Some(remote);
        s.error = None;
        Ok(())
    }

    /// Sends `data` to `dst` from the socket, binding an ephemeral port if needed.
    pub fn udp_send_to(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        dst: SocketAddrV4,
    ) -> Result<(), UdpError> {
        if let Some(e) = self.udp_mut(h)?.error.take() {
            return Err(e.into());
        }
        if dst.ip().is_unspecified() || dst.port() == 0 {
            return Err(UdpError::InvalidAddress);
        }
        if data.len() > MAX_DATAGRAM {
            return Err(UdpError::TooBig);
        }
        if self.is_broadcast(*dst.ip()) && !self.udp(h)?.broadcast {
            return Err(UdpError::BroadcastNotEnabled);
        }
        if self.udp(h)?.local.port() == 0 {
            self.udp_bind_handle(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let src_port = self.udp(h)?.local.port();
        let src = self.config.addr;
        let repr = UdpRepr {
            src_port,
            dst_port: dst.port(),
        };
        self.send_ipv4(
            now,
            *dst.ip(),
            protocol::UDP,
            udp::HEADER_LEN + data.len(),
            |buf| {
                repr.emit(src, *dst.ip(), data, buf);
            },
        )
        .map_err(|e| match e {
            SendError::NoRoute(_) => UdpError::NoRoute,
            SendError::BadDestination(_) => UdpError::InvalidAddress,
            SendError::TooBig { .. } => UdpError::TooBig,
        })?;
        self.counters.udp_datagrams_sent += 1;
        Ok(())
    }

    /// Sends `data` to the connected peer.
    pub fn udp_send(&mut self, now: Instant, h: SocketHandle, data: &[u8]) -> Result<(), UdpError> {
        let remote = self.udp(h)?.remote.ok_or(UdpError::NotConnected)?;
        self.udp_send_to(now, h, data, remote)
    }

    /// Takes the oldest waiting datagram into `buf`: `Ok(Some((len, from)))`, or
    /// `Ok(None)` when none waits. A datagram longer than `buf` is truncated and the rest
    /// discarded, as `recv` on Linux does. A pending ICMP error is reported first.
    pub fn udp_recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<(usize, SocketAddrV4)>, UdpError> {
        self.udp_read(h, buf, true)
    }

    /// Like [`Stack::udp_recv_from`] but leaves the datagram queued.
    pub fn udp_peek_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<(usize, SocketAddrV4)>, UdpError> {
        self.udp_read(h, buf, false)
    }

    fn udp_read(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
        consume: bool,
    ) -> Result<Option<(usize, SocketAddrV4)>, UdpError> {
        let s = self.udp_mut(h)?;
        if let Some(e) = s.error.take() {
            return Err(e.into());
        }
        let Some(d) = s.queue.front() else {
            return Ok(None);
        };
        let (n, from) = (d.data.len().min(buf.len()), d.from);
        buf[..n].copy_from_slice(&d.data[..n]);
        if consume {
            if let Some(d) = s.queue.pop_front() {
                s.queued_bytes -= d.data.len() + DATAGRAM_OVERHEAD;
            }
        }
        Ok(Some((n, from)))
    }

    /// True when a datagram or an error is waiting, i.e. a receive would not block.
    pub fn udp_readable(&self, h: SocketHandle) -> bool {
        self.udp(h)
            .map(|s| !s.queue.is_empty() || s.error.is_some())
            .unwrap_or(true)
    }

    /// Allows sending to, and receiving from, broadcast addresses.
    pub fn udp_set_broadcast(&mut self, h: SocketHandle, on: bool) -> Result<(), UdpError> {
        self.udp_mut(h)?.broadcast = on;
        Ok(())
    }

    /// Whether broadcast is enabled.
    pub fn udp_broadcast(&self, h: SocketHandle) -> Result<bool, UdpError> {
        Ok(self.udp(h)?.broadcast)
    }

    /// The bound address (0.0.0.0:0 before binding; our address once connected).
    pub fn udp_local_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, UdpError> {
        let s = self.udp(h)?;
        Ok(match s.remote {
            Some(_) => SocketAddrV4::new(self.config.addr, s.local.port()),
            None => s.local,
        })
    }

    /// The connected peer, if any.
    pub fn udp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, UdpError> {
        Ok(self.udp(h)?.remote)
    }

    /// Closes the socket, freeing its port and discarding unread datagrams.
    pub fn udp_close(&mut self, h: SocketHandle) -> Result<(), UdpError> {
        let s = self.udp(h)?;
        let (local, remote) = (s.local, s.remote);
        if local.port() != 0 {
            match remote {
                Some(r) => self.sockets.demux.disconnect(
                    Protocol::Udp,
                    SocketAddrV4::new(self.config.addr, local.port()),
                    r,
                ),
                None => self.sockets.demux.unbind(Protocol::Udp, local),
            }
            self.sockets.ports.release(Protocol::Udp, local.port());
        }
        self.sockets
            .table
            .remove(h)
            .map_err(|_| UdpError::InvalidHandle)?;
        Ok(())
    }

    /// Every UDP socket, for display. Scans the table: not for packet paths.
    pub fn udp_sockets(&self) -> Vec<UdpSocketInfo> {
        let mut rows: Vec<UdpSocketInfo> = self
            .sockets
            .table
            .iter()
            .filter_map(|(handle, s)| match s {
                Socket::Udp(u) => Some(UdpSocketInfo {
                    handle,
                    local: u.local,
                    remote: u.remote,
                    recv_queue: u.queue.len(),
                    recv_bytes: u.queued_bytes,
                }),
                _ => None,
            })
            .collect();
        rows.sort_by_key(|r| r.local.port());
        rows
    }

    fn udp(&self, h: SocketHandle) -> Result<&UdpSocket, UdpError> {
        match self.sockets.table.get(h) {
            Ok(Socket::Udp(s)) => Ok(s),
            _ => Err(UdpError::InvalidHandle),
        }
    }

    fn udp_mut(&mut self, h: SocketHandle) -> Result<&mut UdpSocket, UdpError> {
        match self.sockets.table.get_mut(h) {
            Ok(Socket::Udp(s)) => Ok(s),
            _ => Err(UdpError::InvalidHandle),
        }
    }
}
