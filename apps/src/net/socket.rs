//! [`TcpSocket`]: a TCP socket before it connects or listens, for the options that must
//! be set first because they shape the SYN or the bind: SO_RCVBUF (the window scale the
//! SYN offers), SO_SNDBUF, SO_REUSEADDR, and the local address. The shape of
//! socket(2) + setsockopt(2) + bind(2) + connect(2)/listen(2), as tokio's `TcpSocket`.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant as StdInstant};

use netstack_core::tcp::SocketOptions;

use super::buffer_size::Buffer;
use super::{tcp_io, to_v4};
use super::{TcpListener, TcpStream};
use crate::runtime::Handle;

/// What is set before connect or listen.
#[derive(Clone, Copy, Debug, Default)]
struct Setup {
    /// Buffer sizes in bytes of data (half what getsockopt reports), reuse.
    options: SocketOptions,
    local: Option<SocketAddrV4>,
}

/// A TCP socket that has not connected or listened yet: set SO_RCVBUF (the window
/// scale the SYN offers), SO_SNDBUF, SO_REUSEADDR and the local address first, then
/// connect or listen, as socket(2) + setsockopt(2) + bind(2) + connect(2)/listen(2).
#[derive(Debug)]
pub struct TcpSocket {
    net: Handle,
    setup: Mutex<Setup>,
}

impl TcpSocket {
    /// A new socket on `net`'s stack (it takes no stack resources until it connects or
    /// listens).
    pub fn new(net: &Handle) -> io::Result<TcpSocket> {
        Ok(TcpSocket {
            net: net.clone(),
            setup: Mutex::new(Setup::default()),
        })
    }

    fn update<R>(&self, f: impl FnOnce(&mut Setup) -> R) -> R {
        f(&mut self.setup.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn setup(&self) -> Setup {
        self.update(|s| *s)
    }

    /// SO_RCVBUF, as Linux: capped at `net.core.rmem_max`, doubled, at least 2304; half
    /// of that is the receive buffer, which bounds every window the connection offers
    /// and chooses the window scale its SYN announces (RFC 7323 2.2). The connections a
    /// listener accepts inherit it.
    pub fn set_recv_buffer_size(&self, size: usize) -> io::Result<()> {
        let bytes = Buffer::data_bytes(Buffer::Recv.reported(size));
        self.update(|s| s.options.recv_buffer = Some(bytes));
        Ok(())
    }

    /// SO_RCVBUF as getsockopt reports it: what was set, doubled; if nothing was, twice
    /// the stack's buffer (`TcpConfig::recv_buffer`).
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        let set = self.setup().options.recv_buffer;
        let bytes = set.unwrap_or_else(|| self.net.with_stack(|s, _| s.config().tcp.recv_buffer));
        Ok(Buffer::reported_of(bytes))
    }

    /// SO_SNDBUF, as Linux: capped at `net.core.wmem_max`, doubled, at least 4608; half
    /// of that is the most data the connection holds unacknowledged.
    pub fn set_send_buffer_size(&self, size: usize) -> io::Result<()> {
        let bytes = Buffer::data_bytes(Buffer::Send.reported(size));
        self.update(|s| s.options.send_buffer = Some(bytes));
        Ok(())
    }

    /// SO_SNDBUF as getsockopt reports it.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        let set = self.setup().options.send_buffer;
        let bytes = set.unwrap_or_else(|| self.net.with_stack(|s, _| s.config().tcp.send_buffer));
        Ok(Buffer::reported_of(bytes))
    }

    /// SO_REUSEADDR: bind a port that connections of another socket with it set still
    /// hold (in TIME-WAIT, say); never beside a listener. Off by default, as in C.
    pub fn set_reuse_address(&self, on: bool) -> io::Result<()> {
        self.update(|s| s.options.reuse_addr = on);
        Ok(())
    }

    /// Whether SO_REUSEADDR is set.
    pub fn reuse_address(&self) -> io::Result<bool> {
        Ok(self.setup().options.reuse_addr)
    }

    /// Binds the socket to `addr` (0.0.0.0 or the stack's address; port 0: one chosen
    /// at listen or connect), as Linux's bind(2): `AddrInUse` when the port is held by
    /// a listener, or by a connection or TIME-WAIT entry unless both it and this socket
    /// set SO_REUSEADDR. A second bind is `InvalidInput`, Linux's EINVAL.
    ///
    /// The port is checked here and taken at listen or connect (checked again then):
    /// two sockets bound to one port before either listens or connects both succeed
    /// here, where Linux refuses the second bind.
    pub fn bind(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let addr = to_v4(addr)?;
        let reuse = self.setup().options.reuse_addr;
        self.net
            .with_stack(|s, _| s.tcp().check_bind(addr, reuse))
            .map_err(tcp_io)?;
        self.update(|s| match s.local {
            Some(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the socket is already bound",
            )),
            None => {
                s.local = Some(addr);
                Ok(())
            }
        })
    }

    /// The address bound, 0.0.0.0:0 if none.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        let unbound = SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0);
        Ok(SocketAddr::V4(self.setup().local.unwrap_or(unbound)))
    }

    /// Listens on the address bound (an ephemeral port if none), holding up to
    /// `backlog` established connections for accept.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let setup = self.setup();
        let local = setup
            .local
            .unwrap_or(SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0));
        TcpListener::listen_with(&self.net, local, backlog as usize, setup.options)
    }

    /// Connects to `addr` with the options set, from the address bound if any, waiting
    /// as long as the SYN retries last.
    pub fn connect(self, addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let setup = self.setup();
        TcpStream::connect_with(&self.net, setup.local, to_v4(addr)?, None, setup.options)
    }

    /// Connects to `addr`, giving up with `TimedOut` after `timeout`.
    pub fn connect_timeout(self, addr: &SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        let setup = self.setup();
        let deadline = Some(StdInstant::now() + timeout);
        TcpStream::connect_with(
            &self.net,
            setup.local,
            to_v4(addr)?,
            deadline,
            setup.options,
        )
    }
}
