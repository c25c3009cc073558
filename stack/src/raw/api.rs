//! The raw socket calls: a [`RawSockets`] view of the stack's raw layer, from
//! [`Stack::raw`](crate::Stack::raw). A stale handle, or another protocol's, is
//! [`RawError::InvalidHandle`].

use core::net::Ipv4Addr;
use std::collections::VecDeque;

use super::{Raw, RawDatagram, RawError, RawSocket, DATAGRAM_OVERHEAD, IPPROTO_RAW};
use crate::outbound::{Outbound, SendError, MAX_PAYLOAD};
use crate::socket::SocketHandle;
use crate::time::Instant;
use crate::wire::ipv4::HEADER_LEN;

/// The raw socket calls.
#[derive(Debug)]
pub struct RawSockets<'a> {
    raw: &'a mut Raw,
    out: &'a mut Outbound,
}

impl<'a> RawSockets<'a> {
    pub(crate) fn new(raw: &'a mut Raw, out: &'a mut Outbound) -> RawSockets<'a> {
        RawSockets { raw, out }
    }

    /// Opens a raw socket for IP protocol `protocol` (`socket(AF_INET, SOCK_RAW,
    /// protocol)`). Protocol 255 (`IPPROTO_RAW`) sends only, with `IP_HDRINCL` on.
    pub fn open(&mut self, protocol: u8) -> Result<SocketHandle, RawError> {
        // raw(7): IPPROTO_IP (0) is not a valid raw protocol on Linux.
        if protocol == 0 {
            return Err(RawError::BadProtocol);
        }
        let socket = RawSocket {
            protocol,
            hdrincl: protocol == IPPROTO_RAW,
            local: None,
            remote: None,
            ttl: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
        };
        let h = self
            .raw
            .table
            .insert(socket)
            .map_err(|_| RawError::TooManySockets)?;
        if protocol != IPPROTO_RAW {
            self.raw.by_protocol.entry(protocol).or_default().push(h);
        }
        Ok(h)
    }

    /// Receive only datagrams addressed to `local` (0.0.0.0: any again).
    pub fn bind(&mut self, h: SocketHandle, local: Ipv4Addr) -> Result<(), RawError> {
        let ours = self.out.addr();
        let s = self.get_mut(h)?;
        if !local.is_unspecified() && local != ours {
            return Err(RawError::AddrNotAvailable);
        }
        s.local = (!local.is_unspecified()).then_some(local);
        Ok(())
    }

    /// Receive only from `remote`, and make it `send`'s destination.
    pub fn connect(&mut self, h: SocketHandle, remote: Ipv4Addr) -> Result<(), RawError> {
        if remote.is_unspecified() {
            return Err(RawError::InvalidAddress);
        }
        self.get_mut(h)?.remote = Some(remote);
        Ok(())
    }

    /// `IP_HDRINCL`: whether sends carry a caller-built IPv4 header.
    pub fn set_hdrincl(&mut self, h: SocketHandle, on: bool) -> Result<(), RawError> {
        let s = self.get_mut(h)?;
        // An IPPROTO_RAW socket always includes the header (raw(7)).
        s.hdrincl = on || s.protocol == IPPROTO_RAW;
        Ok(())
    }

    /// Whether `IP_HDRINCL` is on.
    pub fn hdrincl(&self, h: SocketHandle) -> Result<bool, RawError> {
        Ok(self.get(h)?.hdrincl)
    }

    /// `IP_TTL` for datagrams whose header the stack builds; `None` restores the
    /// stack's default.
    pub fn set_ttl(&mut self, h: SocketHandle, ttl: Option<u8>) -> Result<(), RawError> {
        self.get_mut(h)?.ttl = ttl;
        Ok(())
    }

    /// The TTL sends use.
    pub fn ttl(&self, h: SocketHandle) -> Result<u8, RawError> {
        Ok(self.get(h)?.ttl.unwrap_or(self.out.config().ttl))
    }

    /// The IP protocol number the socket was opened with.
    pub fn protocol(&self, h: SocketHandle) -> Result<u8, RawError> {
        Ok(self.get(h)?.protocol)
    }

    /// The connected peer, if any.
    pub fn peer_addr(&self, h: SocketHandle) -> Result<Option<Ipv4Addr>, RawError> {
        Ok(self.get(h)?.remote)
    }

    /// The bound address (0.0.0.0 when unbound).
    pub fn local_addr(&self, h: SocketHandle) -> Result<Ipv4Addr, RawError> {
        Ok(self.get(h)?.local.unwrap_or(Ipv4Addr::UNSPECIFIED))
    }

    /// Sends `data` to `dst`: the payload after an IPv4 header the stack builds, or,
    /// with `IP_HDRINCL`, the whole datagram. Returns the bytes taken (all of `data`).
    pub fn send_to(
        &mut self,
        now: Instant,
        h: SocketHandle,
        data: &[u8],
        dst: Ipv4Addr,
    ) -> Result<usize, RawError> {
        if dst.is_unspecified() {
            return Err(RawError::InvalidAddress);
        }
        let s = self.get(h)?;
        let (protocol, hdrincl) = (s.protocol, s.hdrincl);
        let ttl = s.ttl.unwrap_or(self.out.config().ttl);
        let sent = if hdrincl {
            self.check_header(data)?;
            self.out.send_ipv4_prebuilt(now, dst, data)
        } else {
            if data.len() > MAX_PAYLOAD {
                return Err(RawError::TooBig);
            }
            self.out
                .send_ipv4_ttl(now, dst, protocol, ttl, data.len(), |buf| {
                    buf.copy_from_slice(data)
                })
        };
        sent.map_err(|e| match e {
            SendError::NoRoute(_) => RawError::NoRoute,
            SendError::BadDestination(_) => RawError::InvalidAddress,
            SendError::TooBig { .. } => RawError::TooBig,
        })?;
        self.raw.counters.sent += 1;
        Ok(data.len())
    }

    /// Sends to the connected peer.
    pub fn send(&mut self, now: Instant, h: SocketHandle, data: &[u8]) -> Result<usize, RawError> {
        let dst = self.get(h)?.remote.ok_or(RawError::NotConnected)?;
        self.send_to(now, h, data, dst)
    }

    /// The oldest received datagram, header included, or `None` when none is waiting.
    pub fn recv(&mut self, h: SocketHandle) -> Result<Option<RawDatagram>, RawError> {
        let s = self.get_mut(h)?;
        let d = s.queue.pop_front();
        if let Some(d) = &d {
            s.queued_bytes -= d.data.len() + DATAGRAM_OVERHEAD;
        }
        Ok(d)
    }

    /// Like [`RawSockets::recv`] but leaves the datagram queued.
    pub fn peek(&self, h: SocketHandle) -> Result<Option<RawDatagram>, RawError> {
        Ok(self.get(h)?.queue.front().cloned())
    }

    /// True when a datagram is waiting (or the handle is stale: a call would not block).
    pub fn readable(&self, h: SocketHandle) -> bool {
        self.get(h).map(|s| !s.queue.is_empty()).unwrap_or(true)
    }

    /// Closes the socket, discarding what it had not read.
    pub fn close(&mut self, h: SocketHandle) -> Result<(), RawError> {
        let s = self
            .raw
            .table
            .remove(h)
            .map_err(|_| RawError::InvalidHandle)?;
        if let Some(list) = self.raw.by_protocol.get_mut(&s.protocol) {
            list.retain(|&x| x != h);
            if list.is_empty() {
                self.raw.by_protocol.remove(&s.protocol);
            }
        }
        Ok(())
    }

    /// raw(7) with `IP_HDRINCL`: the header must be IPv4 with an IHL of at least 5 that
    /// fits the data. Linux checks no more (it rewrites length and checksum).
    fn check_header(&mut self, data: &[u8]) -> Result<(), RawError> {
        let ok = data.len() >= HEADER_LEN
            && data[0] >> 4 == 4
            && usize::from(data[0] & 0x0f) * 4 >= HEADER_LEN
            && usize::from(data[0] & 0x0f) * 4 <= data.len();
        if !ok {
            self.raw.counters.bad_headers += 1;
            return Err(RawError::BadHeader);
        }
        Ok(())
    }

    fn get(&self, h: SocketHandle) -> Result<&RawSocket, RawError> {
        self.raw.table.get(h).map_err(|_| RawError::InvalidHandle)
    }

    fn get_mut(&mut self, h: SocketHandle) -> Result<&mut RawSocket, RawError> {
        self.raw
            .table
            .get_mut(h)
            .map_err(|_| RawError::InvalidHandle)
    }
}
