//! [`UdpSocket`]: `std::net::UdpSocket`'s shape over netstack's UDP.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use netstack_core::{SocketHandle, Stack, UdpError};

use super::held::{Held, Wake};
use super::{to_v4, udp_io};
use crate::runtime::Handle;

/// A UDP socket on a netstack runtime. Like `std::net::UdpSocket`, but created on a
/// runtime [`Handle`]. Clones made with [`try_clone`](UdpSocket::try_clone) share the
/// socket; it closes when the last one is dropped.
#[derive(Debug, Clone)]
pub struct UdpSocket {
    inner: Arc<Held>,
}

impl UdpSocket {
    /// Opens a socket bound to `addr` (port 0 picks an ephemeral port).
    pub fn bind(net: &Handle, addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let addr = to_v4(addr)?;
        let held = Held::open(
            net,
            |stack| stack.udp().bind(addr),
            udp_io,
            |stack, h| {
                let _ = stack.udp().close(h);
            },
        )?;
        Ok(UdpSocket {
            inner: Arc::new(held),
        })
    }

    /// Sets the default peer for [`send`](Self::send) and [`recv`](Self::recv); only its
    /// datagrams are received afterwards.
    pub fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addr = to_v4(addr)?;
        self.call(|stack, _| stack.udp().connect(self.inner.socket, addr))
    }

    /// Sends one datagram to `addr`. Returns the bytes sent (all of them).
    pub fn send_to(&self, buf: &[u8], addr: impl ToSocketAddrs) -> io::Result<usize> {
        let addr = to_v4(addr)?;
        self.call(|stack, now| stack.udp().send_to(now, self.inner.socket, buf, addr))?;
        Ok(buf.len())
    }

    /// Sends one datagram to the connected peer.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.call(|stack, now| stack.udp().send(now, self.inner.socket, buf))?;
        Ok(buf.len())
    }

    /// Receives one datagram, waiting as the socket's blocking mode and read timeout say.
    /// A datagram longer than `buf` is truncated.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.receive(buf, false)
    }

    /// Like [`recv_from`](Self::recv_from), but leaves the datagram queued.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.receive(buf, true)
    }

    /// Receives one datagram from the connected peer.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).map(|(n, _)| n)
    }

    /// Like [`recv`](Self::recv), but leaves the datagram queued.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.peek_from(buf).map(|(n, _)| n)
    }

    /// The local address (0.0.0.0:port until connected, when bound to the wildcard).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.call(|stack, _| stack.udp().local_addr(self.inner.socket))
            .map(SocketAddr::V4)
    }

    /// The connected peer, or `NotConnected`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.call(|stack, _| stack.udp().peer_addr(self.inner.socket))?
            .map(SocketAddr::V4)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotConnected, "socket is not connected"))
    }

    /// Limits how long a receive waits; `None` waits forever. Zero is `InvalidInput`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.inner.options.set_read_timeout(t)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.options.read_timeout())
    }

    /// Kept for `std` parity: a UDP send never waits here (a full device queue drops, as
    /// a real link would).
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.inner.options.set_write_timeout(t)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.options.write_timeout())
    }

    /// In non-blocking mode a receive with nothing waiting fails with `WouldBlock`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.options.set_nonblocking(on);
        Ok(())
    }

    /// Allows sending to and receiving from broadcast addresses.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.call(|stack, _| stack.udp().set_broadcast(self.inner.socket, on))
    }

    /// Whether broadcast is allowed.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.call(|stack, _| stack.udp().broadcast(self.inner.socket))
    }

    /// The stack's handle for this socket (for a runtime readiness set).
    pub fn handle(&self) -> SocketHandle {
        self.inner.socket
    }

    /// Takes the error an ICMP message reported for a connected socket (SO_ERROR):
    /// `ConnectionRefused` after a port unreachable, say.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.call(|stack, _| stack.udp().take_error(self.inner.socket))
            .map(|e| e.map(udp_io))
    }

    /// Another handle to the same socket.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(self.clone())
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&mut Stack, netstack_core::Instant) -> Result<R, UdpError>,
    ) -> io::Result<R> {
        self.inner.call(f, udp_io)
    }

    fn receive(&self, buf: &mut [u8], peek: bool) -> io::Result<(usize, SocketAddr)> {
        let socket = self.inner.socket;
        self.inner.receive(Wake::AnyChange, |stack| {
            let got = if peek {
                stack.udp().peek_from(socket, buf)
            } else {
                stack.udp().recv_from(socket, buf)
            };
            match got {
                Ok(Some((n, from))) => Some(Ok((n, SocketAddr::V4(from)))),
                Ok(None) => None,
                Err(e) => Some(Err(udp_io(e))),
            }
        })
    }
}
