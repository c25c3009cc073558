//! [`RawSocket`]: a raw IP socket (Linux's `socket(AF_INET, SOCK_RAW, protocol)`) over
//! netstack's raw layer. `std::net` has none; the calls follow the BSD ones: `recv_from`
//! returns the whole datagram *with its IPv4 header*, `send_to` takes the payload, or
//! the whole datagram once [`set_header_included`](RawSocket::set_header_included) is on.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use netstack_core::{RawError, SocketHandle, Stack};

use super::held::{Held, Wake};
use crate::runtime::Handle;

/// A raw IPv4 socket on a netstack runtime. Clones share the socket; it closes when the
/// last one is dropped.
#[derive(Debug, Clone)]
pub struct RawSocket {
    inner: Arc<Held>,
}

impl RawSocket {
    /// Opens a raw socket for IP protocol `protocol` (1 for ICMP, 255 for a send-only
    /// socket that always supplies the header).
    pub fn new(net: &Handle, protocol: u8) -> io::Result<RawSocket> {
        let held = Held::open(
            net,
            |stack| stack.raw().open(protocol),
            raw_io,
            |stack, h| {
                let _ = stack.raw().close(h);
            },
        )?;
        Ok(RawSocket {
            inner: Arc::new(held),
        })
    }

    /// The stack's handle for this socket (for a runtime readiness set).
    pub fn handle(&self) -> SocketHandle {
        self.inner.socket
    }

    /// Receives only datagrams addressed to `addr` (0.0.0.0: any).
    pub fn bind(&self, addr: Ipv4Addr) -> io::Result<()> {
        self.call(|stack, _| stack.raw().bind(self.inner.socket, addr))
    }

    /// Receives only from `addr`, and makes it [`send`](Self::send)'s destination.
    pub fn connect(&self, addr: Ipv4Addr) -> io::Result<()> {
        self.call(|stack, _| stack.raw().connect(self.inner.socket, addr))
    }

    /// Sends `buf` to `addr`: the payload, or with `IP_HDRINCL` the whole datagram.
    pub fn send_to(&self, buf: &[u8], addr: Ipv4Addr) -> io::Result<usize> {
        self.call(|stack, now| stack.raw().send_to(now, self.inner.socket, buf, addr))
    }

    /// Sends `buf` to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.call(|stack, now| stack.raw().send(now, self.inner.socket, buf))
    }

    /// Receives one datagram, IPv4 header first, waiting as the blocking mode and read
    /// timeout say. A datagram longer than `buf` is truncated.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, Ipv4Addr)> {
        self.receive(buf, false)
    }

    /// Like [`recv_from`](Self::recv_from) but leaves the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, Ipv4Addr)> {
        self.receive(buf, true)
    }

    /// `IP_HDRINCL`: whether sends carry a caller-built IPv4 header.
    pub fn set_header_included(&self, on: bool) -> io::Result<()> {
        self.call(|stack, _| stack.raw().set_hdrincl(self.inner.socket, on))
    }

    /// Whether `IP_HDRINCL` is on.
    pub fn header_included(&self) -> io::Result<bool> {
        self.call(|stack, _| stack.raw().hdrincl(self.inner.socket))
    }

    /// `IP_TTL` for datagrams whose header the stack builds. Zero is `InvalidInput`, as
    /// Linux's EINVAL.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = u8::try_from(ttl)
            .ok()
            .filter(|&t| t > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "TTL must be 1..=255"))?;
        self.call(|stack, _| stack.raw().set_ttl(self.inner.socket, Some(ttl)))
    }

    /// The TTL sends use.
    pub fn ttl(&self) -> io::Result<u32> {
        self.call(|stack, _| stack.raw().ttl(self.inner.socket))
            .map(u32::from)
    }

    /// Limits how long a receive waits; `None` waits forever. Zero is `InvalidInput`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.inner.options.set_read_timeout(t)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.options.read_timeout())
    }

    /// In non-blocking mode a receive with nothing waiting fails with `WouldBlock`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.options.set_nonblocking(on);
        Ok(())
    }

    /// Raw sockets keep no pending error: always `None` (ICMP errors arrive as
    /// datagrams on an ICMP socket).
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        Ok(None)
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&mut Stack, netstack_core::Instant) -> Result<R, RawError>,
    ) -> io::Result<R> {
        self.inner.call(f, raw_io)
    }

    fn receive(&self, buf: &mut [u8], peek: bool) -> io::Result<(usize, Ipv4Addr)> {
        let socket = self.inner.socket;
        self.inner.receive(Wake::Socket, |stack| {
            let got = if peek {
                stack.raw().peek(socket)
            } else {
                stack.raw().recv(socket)
            };
            match got {
                Ok(Some(d)) => {
                    let n = d.data.len().min(buf.len());
                    buf[..n].copy_from_slice(&d.data[..n]);
                    Some(Ok((n, d.from)))
                }
                Ok(None) => None,
                Err(e) => Some(Err(raw_io(e))),
            }
        })
    }
}

/// Raw socket errors as the `io::ErrorKind` of the errno Linux gives.
pub(crate) fn raw_io(e: RawError) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        RawError::InvalidHandle => K::NotConnected,
        RawError::BadProtocol => K::Unsupported,
        RawError::TooManySockets => K::OutOfMemory,
        RawError::AddrNotAvailable => K::AddrNotAvailable,
        RawError::NotConnected => K::NotConnected,
        RawError::InvalidAddress | RawError::BadHeader | RawError::TooBig => K::InvalidInput,
        RawError::NoRoute => K::NetworkUnreachable,
    };
    io::Error::new(kind, e)
}
