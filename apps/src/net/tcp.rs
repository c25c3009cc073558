//! [`TcpListener`] and [`TcpStream`]: `std::net`'s shapes over netstack's TCP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use netstack_core::tcp::SocketOptions;
use netstack_core::{SocketHandle, Stack, TcpError, TcpSockets, TcpState};

use super::buffer_size::Buffer;
use super::options::Options;
use super::{stopped, to_v4};
use crate::runtime::Handle;

/// Connections a listener keeps ready for `accept` (Linux caps listen(2) at somaxconn, 4096).
const BACKLOG: usize = 1024;

/// TCP errors as the `io::ErrorKind` Linux's errno maps to in std.
pub(crate) fn tcp_io(e: TcpError) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        TcpError::InvalidHandle | TcpError::NotConnected => K::NotConnected,
        TcpError::InvalidState | TcpError::InvalidAddress => K::InvalidInput,
        TcpError::AddrInUse => K::AddrInUse,
        TcpError::AddrNotAvailable | TcpError::PortsExhausted => K::AddrNotAvailable,
        TcpError::TooManySockets => K::OutOfMemory,
        TcpError::NoRoute | TcpError::NetworkUnreachable => K::NetworkUnreachable,
        TcpError::HostUnreachable => K::HostUnreachable,
        TcpError::ConnectionRefused => K::ConnectionRefused,
        TcpError::ConnectionReset => K::ConnectionReset,
        TcpError::ConnectionAborted => K::ConnectionAborted,
        TcpError::TimedOut => K::TimedOut,
        TcpError::BrokenPipe => K::BrokenPipe,
    };
    io::Error::new(kind, e)
}

#[derive(Debug)]
struct Inner {
    net: Handle,
    socket: SocketHandle,
    options: Options,
    read_shut: AtomicBool,
    /// SO_LINGER: `None` closes in the background (the default); zero resets the
    /// connection; a positive time waits that long for the data to be acknowledged.
    linger: Mutex<Option<Duration>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let socket = self.socket;
        let linger = *self.linger.lock().unwrap_or_else(PoisonError::into_inner);
        match linger {
            // SO_LINGER with a zero time: close(2) resets the connection (RST, no FIN).
            Some(t) if t.is_zero() => {
                self.net.with_stack(|stack, now| {
                    let _ = stack.tcp().abort(now, socket);
                });
                return;
            }
            // A positive time: the FIN goes now, and close waits until all is
            // acknowledged or the time is up (Linux's tcp_close with SOCK_LINGER).
            Some(t) => {
                self.net.with_stack(|stack, now| {
                    let _ = stack.tcp().shutdown(now, socket);
                });
                let deadline = StdInstant::now() + t;
                self.net.wait_socket(socket, Some(deadline), |stack| {
                    stack.tcp().all_acked(socket).then_some(())
                });
            }
            None => {}
        }
        self.net.with_stack(|stack, now| {
            let _ = stack.tcp().close(now, socket);
        });
    }
}

impl Inner {
    /// Runs one call on netstack's TCP sockets for this socket, with the stack locked,
    /// and maps its error to the `io::Error` std would give.
    fn tcp<R>(
        &self,
        call: impl FnOnce(
            &mut TcpSockets<'_>,
            SocketHandle,
            netstack_core::Instant,
        ) -> Result<R, TcpError>,
    ) -> io::Result<R> {
        let socket = self.socket;
        self.net
            .with_stack(|stack, now| call(&mut stack.tcp(), socket, now))
            .map_err(tcp_io)
    }

    /// SO_RCVBUF or SO_SNDBUF: Linux's arithmetic (`buffer_size.rs`), then half the
    /// result, in bytes of data, to the stack.
    fn set_buffer_size(&self, which: Buffer, size: usize) -> io::Result<()> {
        let bytes = Buffer::data_bytes(which.reported(size));
        self.tcp(|tcp, socket, _| match which {
            Buffer::Recv => tcp.set_recv_buffer(socket, bytes),
            Buffer::Send => tcp.set_send_buffer(socket, bytes),
        })
    }

    /// The size getsockopt reports: twice the stack's bytes of data.
    fn buffer_size(&self, which: Buffer) -> io::Result<usize> {
        let (recv, send) = self.tcp(|tcp, socket, _| tcp.buffer_sizes(socket))?;
        Ok(Buffer::reported_of(match which {
            Buffer::Recv => recv,
            Buffer::Send => send,
        }))
    }

    /// Waits as the socket's mode says until `ready` gives a result. `what` names the
    /// wait for the timeout error.
    fn wait<R>(
        &self,
        deadline: Option<Option<StdInstant>>,
        mut ready: impl FnMut(&mut Stack, netstack_core::Instant) -> Option<io::Result<R>>,
    ) -> io::Result<R> {
        let clock = self.net.clock();
        let Some(deadline) = deadline else {
            return self
                .net
                .with_stack(|stack, now| ready(stack, now))
                .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()));
        };
        match self
            .net
            .wait_socket(self.socket, deadline, |stack| ready(stack, clock.now()))
        {
            Some(r) => r,
            None if !self.net.is_running() => Err(stopped()),
            // Linux's SO_RCVTIMEO/SO_SNDTIMEO expiry is EAGAIN, which std calls WouldBlock.
            None => Err(io::Error::new(io::ErrorKind::WouldBlock, "timed out")),
        }
    }
}

/// A listening TCP socket on a netstack runtime, like `std::net::TcpListener`.
#[derive(Debug, Clone)]
pub struct TcpListener {
    inner: Arc<Inner>,
}

impl TcpListener {
    /// Listens on `addr` (port 0 picks an ephemeral port), with SO_REUSEADDR set as
    /// std's `TcpListener::bind` sets it. [`TcpSocket`](super::TcpSocket) sets options
    /// first.
    pub fn bind(net: &Handle, addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let options = SocketOptions {
            reuse_addr: true,
            ..SocketOptions::default()
        };
        Self::listen_with(net, to_v4(addr)?, BACKLOG, options)
    }

    pub(super) fn listen_with(
        net: &Handle,
        addr: std::net::SocketAddrV4,
        backlog: usize,
        options: SocketOptions,
    ) -> io::Result<TcpListener> {
        let socket = net
            .with_stack(|stack, _| stack.tcp().listen_with(addr, backlog, options))
            .map_err(tcp_io)?;
        Ok(TcpListener {
            inner: Arc::new(Inner {
                net: net.clone(),
                socket,
                options: Options::default(),
                read_shut: AtomicBool::new(false),
                linger: Mutex::new(None),
            }),
        })
    }

    /// The stack's handle for this listener, to register it in a runtime
    /// [`Poll`](crate::runtime::Poll).
    pub fn handle(&self) -> SocketHandle {
        self.inner.socket
    }

    /// Waits for a connection and returns it with the peer's address.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let socket = self.inner.socket;
        let deadline = self.inner.options.read_deadline().map(|_| None);
        let h = self.inner.wait(deadline, |stack, _| {
            stack.tcp().accept(socket).map_err(tcp_io).transpose()
        })?;
        let peer = self.inner.tcp(|tcp, _, _| tcp.peer_addr(h))?;
        let stream = TcpStream::from_handle(&self.inner.net, h);
        Ok((stream, SocketAddr::V4(peer)))
    }

    /// An endless iterator of accepted connections, as std's `incoming`.
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// The address listened on.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .tcp(|tcp, socket, _| tcp.local_addr(socket))
            .map(SocketAddr::V4)
    }

    /// In non-blocking mode `accept` with nothing waiting fails with `WouldBlock`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.options.set_nonblocking(on);
        Ok(())
    }

    /// Another handle to the same listener.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(self.clone())
    }

    /// SO_RCVBUF for the connections accepted from now on, as Linux's
    /// [`TcpStream::set_recv_buffer_size`].
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_buffer_size(Buffer::Recv, size)
    }

    /// SO_RCVBUF as getsockopt reports it (twice the bytes of data).
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.buffer_size(Buffer::Recv)
    }

    /// SO_SNDBUF for the connections accepted from now on.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_buffer_size(Buffer::Send, size)
    }

    /// SO_SNDBUF as getsockopt reports it.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.inner.buffer_size(Buffer::Send)
    }
}

/// A TCP connection on a netstack runtime, like `std::net::TcpStream`: `Read` and
/// `Write` (also through `&TcpStream`), shutdown, timeouts, no-delay, non-blocking.
#[derive(Debug, Clone)]
pub struct TcpStream {
    inner: Arc<Inner>,
}

impl TcpStream {
    fn from_handle(net: &Handle, socket: SocketHandle) -> TcpStream {
        TcpStream {
            inner: Arc::new(Inner {
                net: net.clone(),
                socket,
                options: Options::default(),
                read_shut: AtomicBool::new(false),
                linger: Mutex::new(None),
            }),
        }
    }

    /// Connects to `addr`, waiting as long as the SYN retries last (about two minutes).
    pub fn connect(net: &Handle, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        Self::connect_inner(net, addr, None)
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`.
    pub fn connect_timeout(
        net: &Handle,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        Self::connect_inner(net, addr, Some(StdInstant::now() + timeout))
    }

    fn connect_inner(
        net: &Handle,
        addr: impl ToSocketAddrs,
        deadline: Option<StdInstant>,
    ) -> io::Result<TcpStream> {
        Self::connect_with(net, None, to_v4(addr)?, deadline, SocketOptions::default())
    }

    pub(super) fn connect_with(
        net: &Handle,
        local: Option<std::net::SocketAddrV4>,
        addr: std::net::SocketAddrV4,
        deadline: Option<StdInstant>,
        options: SocketOptions,
    ) -> io::Result<TcpStream> {
        if !net.is_running() {
            return Err(stopped());
        }
        let socket = net
            .with_stack(|stack, now| match local {
                Some(local) => stack.tcp().connect_from(now, local, addr, options),
                None => stack.tcp().connect_with(now, addr, options),
            })
            .map_err(tcp_io)?;
        let stream = TcpStream::from_handle(net, socket);
        let result = net.wait_socket(socket, deadline, |stack| match stack.tcp().state(socket) {
            Ok(TcpState::SynSent | TcpState::SynReceived) => None,
            Ok(TcpState::Closed) => {
                let error = stack
                    .tcp()
                    .take_error(socket)
                    .ok()
                    .flatten()
                    .unwrap_or(TcpError::ConnectionRefused);
                Some(Err(tcp_io(error)))
            }
            Ok(_) => Some(Ok(())),
            Err(e) => Some(Err(tcp_io(e))),
        });
        match result {
            Some(Ok(())) => Ok(stream),
            Some(Err(e)) => Err(e),
            None if !net.is_running() => Err(stopped()),
            None => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection timed out",
            )),
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .tcp(|tcp, socket, _| tcp.peer_addr(socket))
            .map(SocketAddr::V4)
    }

    /// Our address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .tcp(|tcp, socket, _| tcp.local_addr(socket))
            .map(SocketAddr::V4)
    }

    /// `Write` closes our sending side (a FIN follows the data); `Read` makes further
    /// reads return end of stream; `Both` does both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if matches!(how, Shutdown::Read | Shutdown::Both) {
            self.inner.read_shut.store(true, Ordering::Release);
        }
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            self.inner
                .tcp(|tcp, socket, now| tcp.shutdown(now, socket))?;
        }
        Ok(())
    }

    /// Limits how long a read waits; `None` waits forever. Zero is `InvalidInput`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.inner.options.set_read_timeout(t)
    }

    /// Limits how long a write waits for buffer space.
    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.inner.options.set_write_timeout(t)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.options.read_timeout())
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(self.inner.options.write_timeout())
    }

    /// Disables (true) or enables Nagle's algorithm.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.tcp(|tcp, socket, _| tcp.set_nodelay(socket, on))
    }

    /// Whether Nagle's algorithm is disabled.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp(|tcp, socket, _| tcp.nodelay(socket))
    }

    /// In non-blocking mode reads and writes that would wait fail with `WouldBlock`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.options.set_nonblocking(on);
        Ok(())
    }

    /// The stack's handle for this connection, to register it in a runtime
    /// [`Poll`](crate::runtime::Poll) or a [`Selector`](super::Selector).
    pub fn handle(&self) -> SocketHandle {
        self.inner.socket
    }

    /// Reads without taking: the next read returns the same bytes (MSG_PEEK). Waits as
    /// a read does.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inner.read_shut.load(Ordering::Acquire) || buf.is_empty() {
            return Ok(0);
        }
        let socket = self.inner.socket;
        self.inner
            .wait(self.inner.options.read_deadline(), |stack, _| {
                stack.tcp().peek(socket, buf).map_err(tcp_io).transpose()
            })
    }

    /// The error the connection has met, taken (SO_ERROR): reset, refused, timed out.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner
            .tcp(|tcp, socket, _| tcp.take_error(socket))
            .map(|e| e.map(tcp_io))
    }

    /// SO_LINGER: what dropping the last handle does. `None` (the default) closes in
    /// the background; `Some(0)` resets the connection at once, discarding unsent data;
    /// `Some(t)` sends the FIN and waits up to `t` for everything to be acknowledged.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        *self
            .inner
            .linger
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = linger;
        Ok(())
    }

    /// The SO_LINGER setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .linger
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// Resets the connection now (RST; RFC 9293 3.10.5 ABORT): what closing with
    /// SO_LINGER 0 does, for a caller that closes on behalf of another (`netstack run`).
    pub fn reset(&self) -> io::Result<()> {
        self.inner.tcp(|tcp, socket, now| tcp.abort(now, socket))
    }

    /// SO_KEEPALIVE: probe the peer when the connection has been idle.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.inner
            .tcp(|tcp, socket, now| tcp.set_keepalive(now, socket, on))
    }

    /// Whether keep-alive is on.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.tcp(|tcp, socket, _| tcp.keepalive(socket))
    }

    /// TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT at once: idle time before the first
    /// probe, time between probes, unanswered probes before the connection is dropped
    /// (`TimedOut`). Zero is `InvalidInput`, as Linux's EINVAL.
    pub fn set_keepalive_params(
        &self,
        idle: Duration,
        interval: Duration,
        probes: u32,
    ) -> io::Result<()> {
        let (idle, interval) = (idle.into(), interval.into());
        self.inner
            .tcp(|tcp, socket, now| tcp.set_keepalive_params(now, socket, idle, interval, probes))
    }

    /// IP_TTL of the connection's segments (1-255; else `InvalidInput`).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = u8::try_from(ttl)
            .ok()
            .filter(|&t| t > 0)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "TTL must be 1..=255"))?;
        self.inner
            .tcp(|tcp, socket, _| tcp.set_ttl(socket, Some(ttl)))
    }

    /// SO_RCVBUF, as Linux: `size` capped at `net.core.rmem_max`, doubled, at least
    /// 2304 (what [`recv_buffer_size`](Self::recv_buffer_size) then reports), and half
    /// of that is the receive buffer, the largest window offered. Set after the
    /// connection's SYN, it cannot change the window scale the SYN offered, and a
    /// smaller size applies as the application reads (the window offered is kept). Set
    /// it on a [`TcpSocket`](super::TcpSocket) before connecting to shape the SYN.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_buffer_size(Buffer::Recv, size)
    }

    /// SO_RCVBUF as getsockopt reports it (twice the bytes of data).
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        self.inner.buffer_size(Buffer::Recv)
    }

    /// SO_SNDBUF, as Linux: `size` capped at `net.core.wmem_max`, doubled, at least
    /// 4608; half of that is the most data queued unacknowledged, so a write takes
    /// no more.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        self.inner.set_buffer_size(Buffer::Send, size)
    }

    /// SO_SNDBUF as getsockopt reports it.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        self.inner.buffer_size(Buffer::Send)
    }

    /// The TTL of the connection's segments.
    pub fn ttl(&self) -> io::Result<u32> {
        self.inner
            .tcp(|tcp, socket, _| tcp.ttl(socket))
            .map(u32::from)
    }

    /// TCP_CONGESTION: "cubic" or "reno" (Linux's names; "newreno" too). Anything else
    /// is `NotFound`, Linux's ENOENT.
    pub fn set_congestion(&self, name: &str) -> io::Result<()> {
        use netstack_core::tcp::Algorithm;
        let algorithm = match name {
            "cubic" => Algorithm::Cubic,
            "reno" | "newreno" => Algorithm::NewReno,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no congestion control named {name:?}"),
                ))
            }
        };
        self.inner
            .tcp(|tcp, socket, _| tcp.set_congestion(socket, algorithm))
    }

    /// The congestion control in use, by Linux's name ("cubic", "reno").
    pub fn congestion(&self) -> io::Result<&'static str> {
        self.inner
            .tcp(|tcp, socket, _| tcp.congestion(socket))
            .map(|n| if n == "newreno" { "reno" } else { n })
    }

    /// Another handle to the same connection.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(self.clone())
    }

    fn read_inner(&self, buf: &mut [u8]) -> io::Result<usize> {
        if self.inner.read_shut.load(Ordering::Acquire) || buf.is_empty() {
            return Ok(0);
        }
        let socket = self.inner.socket;
        self.inner
            .wait(self.inner.options.read_deadline(), |stack, now| {
                stack
                    .tcp()
                    .recv(now, socket, buf)
                    .map_err(tcp_io)
                    .transpose()
            })
    }

    fn write_inner(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let socket = self.inner.socket;
        self.inner
            .wait(self.inner.options.write_deadline(), |stack, now| {
                if !stack.tcp().can_write(socket) {
                    return None;
                }
                match stack.tcp().send(now, socket, buf) {
                    Ok(0) => None,
                    Ok(n) => Some(Ok(n)),
                    Err(e) => Some(Err(tcp_io(e))),
                }
            })
    }
}

impl Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_inner(buf)
    }
}

impl Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }

    /// Data is handed to the stack by `write`; there is nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_inner(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
