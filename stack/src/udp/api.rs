//! The UDP calls an application (or the socket facade) makes: a [`UdpSockets`] view of
//! the stack's UDP layer, from [`Stack::udp`](crate::Stack::udp). Every call takes the
//! handle the layer gave out; a stale handle, or another protocol's, is `InvalidHandle`.

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::VecDeque;

use super::{Udp, UdpError, UdpSocket, UdpSocketInfo, DATAGRAM_OVERHEAD, MAX_DATAGRAM};
use crate::outbound::{Outbound, SendError};
use crate::socket::{Protocol, SocketHandle};
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::{udp, UdpRepr};

/// The UDP socket calls.
#[derive(Debug)]
pub struct UdpSockets<'a> {
    udp: &'a mut Udp,
    out: &'a mut Outbound,
}

impl<'a> UdpSockets<'a> {
    pub(crate) fn new(udp: &'a mut Udp, out: &'a mut Outbound) -> UdpSockets<'a> {
        UdpSockets { udp, out }
    }

    /// Opens a UDP socket bound to `local`. Address 0.0.0.0 means any (we have one
    /// address, so it is ours); port 0 picks an ephemeral port.
    pub fn bind(&mut self, local: SocketAddrV4) -> Result<SocketHandle, UdpError> {
        let h = self.open()?;
        match self.bind_handle(h, local) {
            Ok(()) => Ok(h),
            Err(e) => {
                let _ = self.udp.table.remove(h);
                Err(e)
            }
        }
    }

    /// Opens an unbound UDP socket; it is bound to an ephemeral port by its first send
    /// or connect.
    pub fn open(&mut self) -> Result<SocketHandle, UdpError> {
        let socket = UdpSocket {
            local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            remote: None,
            broadcast: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            error: None,
        };
        self.udp
            .table
            .insert(socket)
            .map_err(|_| UdpError::TooManySockets)
    }

    fn bind_handle(&mut self, h: SocketHandle, local: SocketAddrV4) -> Result<(), UdpError> {
        if self.get(h)?.local.port() != 0 {
            return Err(UdpError::AlreadyBound);
        }
        if !local.ip().is_unspecified() && *local.ip() != self.out.addr() {
            return Err(UdpError::AddrNotAvailable);
        }
        let port = if local.port() == 0 {
            let remote = self
                .get(h)?
                .remote
                .map_or((Ipv4Addr::UNSPECIFIED, 0), |r| (*r.ip(), r.port()));
            let our = self.out.addr();
            self.udp
                .ports
                .allocate(Protocol::Udp, our, remote, |_| true)
                .map_err(|_| UdpError::PortsExhausted)?
        } else {
            // One address, no SO_REUSEADDR: a port belongs to one UDP socket.
            if self.udp.ports.is_used(Protocol::Udp, local.port()) {
                return Err(UdpError::AddrInUse);
            }
            self.udp.ports.hold(Protocol::Udp, local.port());
            local.port()
        };
        let bound = SocketAddrV4::new(*local.ip(), port);
        self.udp.demux.bind(Protocol::Udp, bound, h);
        self.get_mut(h)?.local = bound;
        Ok(())
    }

    /// Sets the socket's peer: `send` goes there, and only its datagrams are received.
    /// Binds an ephemeral port first if the socket is unbound.
    pub fn connect(&mut self, h: SocketHandle, remote: SocketAddrV4) -> Result<(), UdpError> {
        if remote.ip().is_unspecified() || remote.port() == 0 {
            return Err(UdpError::InvalidAddress);
        }
        if self.get(h)?.local.port() == 0 {
            self.get_mut(h)?.remote = Some(remote);
            self.bind_handle(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let s = self.get(h)?;
        let (local, old) = (s.local, s.remote);
        let key_local = SocketAddrV4::new(self.out.addr(), local.port());
        // Move the socket from the bound map to the connected map (or re-point it).
        if let Some(old) = old {
            self.udp.demux.disconnect(Protocol::Udp, key_local, old);
        }
        self.udp.demux.unbind(Protocol::Udp, local);
        if !self.udp.demux.connect(Protocol::Udp, key_local, remote, h) {
            self.udp.demux.bind(Protocol::Udp, local, h);
            return Err(UdpError::AddrInUse);
        }
        let s = self.get_mut(h)?;
        s.remote = Some(remote);
        s.error = None;
        Ok(())
    }

    /// Sends `data` to `dst` from the socket, binding an ephemeral port if needed.
    pub fn send_to(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        dst: SocketAddrV4,
    ) -> Result<(), UdpError> {
        if let Some(e) = self.get_mut(h)?.error.take() {
            return Err(e.into());
        }
        if dst.ip().is_unspecified() || dst.port() == 0 {
            return Err(UdpError::InvalidAddress);
        }
        if data.len() > MAX_DATAGRAM {
            return Err(UdpError::TooBig);
        }
        if self.out.is_broadcast(*dst.ip()) && !self.get(h)?.broadcast {
            return Err(UdpError::BroadcastNotEnabled);
        }
        if self.get(h)?.local.port() == 0 {
            self.bind_handle(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
        }
        let src_port = self.get(h)?.local.port();
        let src = self.out.addr();
        let repr = UdpRepr {
            src_port,
            dst_port: dst.port(),
        };
        self.out
            .send_ipv4(
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
        self.udp.counters.datagrams_sent += 1;
        Ok(())
    }

    /// Sends `data` to the connected peer.
    pub fn send(&mut self, now: Instant, h: SocketHandle, data: &[u8]) -> Result<(), UdpError> {
        let remote = self.get(h)?.remote.ok_or(UdpError::NotConnected)?;
        self.send_to(now, h, data, remote)
    }

    /// Takes the oldest waiting datagram into `buf`: `Ok(Some((len, from)))`, or
    /// `Ok(None)` when none waits. A datagram longer than `buf` is truncated and the rest
    /// discarded, as `recv` on Linux does. A pending ICMP error is reported first.
    pub fn recv_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<(usize, SocketAddrV4)>, UdpError> {
        self.read(h, buf, true)
    }

    /// Like [`UdpSockets::recv_from`] but leaves the datagram queued.
    pub fn peek_from(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<Option<(usize, SocketAddrV4)>, UdpError> {
        self.read(h, buf, false)
    }

    fn read(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
        consume: bool,
    ) -> Result<Option<(usize, SocketAddrV4)>, UdpError> {
        let s = self.get_mut(h)?;
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
    pub fn readable(&self, h: SocketHandle) -> bool {
        self.get(h)
            .map(|s| !s.queue.is_empty() || s.error.is_some())
            .unwrap_or(true)
    }

    /// Takes the ICMP error waiting on a connected socket (SO_ERROR), if any; the next
    /// send or receive will not report it again.
    pub fn take_error(&mut self, h: SocketHandle) -> Result<Option<UdpError>, UdpError> {
        Ok(self.get_mut(h)?.error.take().map(UdpError::from))
    }

    /// Allows sending to, and receiving from, broadcast addresses.
    pub fn set_broadcast(&mut self, h: SocketHandle, on: bool) -> Result<(), UdpError> {
        self.get_mut(h)?.broadcast = on;
        Ok(())
    }

    /// Whether broadcast is enabled.
    pub fn broadcast(&self, h: SocketHandle) -> Result<bool, UdpError> {
        Ok(self.get(h)?.broadcast)
    }

    /// The bound address (0.0.0.0:0 before binding; our address once connected).
    pub fn local_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, UdpError> {
        let s = self.get(h)?;
        Ok(match s.remote {
            Some(_) => SocketAddrV4::new(self.out.addr(), s.local.port()),
            None => s.local,
        })
    }

    /// The connected peer, if any.
    pub fn peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, UdpError> {
        Ok(self.get(h)?.remote)
    }

    /// Closes the socket, freeing its port and discarding unread datagrams.
    pub fn close(&mut self, h: SocketHandle) -> Result<(), UdpError> {
        let s = self.get(h)?;
        let (local, remote) = (s.local, s.remote);
        if local.port() != 0 {
            match remote {
                Some(r) => self.udp.demux.disconnect(
                    Protocol::Udp,
                    SocketAddrV4::new(self.out.addr(), local.port()),
                    r,
                ),
                None => self.udp.demux.unbind(Protocol::Udp, local),
            }
            self.udp.ports.release(Protocol::Udp, local.port());
        }
        self.udp
            .table
            .remove(h)
            .map_err(|_| UdpError::InvalidHandle)?;
        Ok(())
    }

    /// Every UDP socket, for display. Scans the table: not for packet paths.
    pub fn sockets(&self) -> Vec<UdpSocketInfo> {
        let mut rows: Vec<UdpSocketInfo> = self
            .udp
            .table
            .iter()
            .map(|(handle, u)| UdpSocketInfo {
                handle,
                local: u.local,
                remote: u.remote,
                recv_queue: u.queue.len(),
                recv_bytes: u.queued_bytes,
            })
            .collect();
        rows.sort_by_key(|r| r.local.port());
        rows
    }

    fn get(&self, h: SocketHandle) -> Result<&UdpSocket, UdpError> {
        self.udp.table.get(h).map_err(|_| UdpError::InvalidHandle)
    }

    fn get_mut(&mut self, h: SocketHandle) -> Result<&mut UdpSocket, UdpError> {
        self.udp
            .table
            .get_mut(h)
            .map_err(|_| UdpError::InvalidHandle)
    }
}
