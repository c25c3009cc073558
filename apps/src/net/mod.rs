//! The BSD-style socket facade: types shaped like `std::net`'s, backed by a [`Runtime`].
//!
//! The one difference from `std::net` is where a socket lives: constructors take the
//! [`Handle`](crate::runtime::Handle) of the runtime whose stack should own it, e.g.
//! `UdpSocket::bind(&handle, "0.0.0.0:7")`. Everything else reads as ordinary Rust
//! network code: methods take `&self`, sockets are `Send + Sync` and may be used from
//! several threads, and errors are `std::io::Error` with the kinds std uses on Linux
//! (`AddrInUse`, `ConnectionRefused`, `WouldBlock` for an expired read timeout or a
//! non-blocking socket with nothing to read, `InvalidInput`, ...).
//!
//! Only IPv4 exists here; an IPv6 address is `InvalidInput`.
//!
//! [`Runtime`]: crate::runtime::Runtime

pub mod buffer_size;
mod held;
mod options;
mod raw;
mod selector;
mod socket;
mod tcp;
mod udp;

pub use raw::RawSocket;
pub use selector::{Selector, Source};
pub use socket::TcpSocket;
pub(crate) use tcp::tcp_io;
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;

use std::io;
use std::net::{SocketAddr, SocketAddrV4, ToSocketAddrs};

use netstack_core::UdpError;

/// The first IPv4 address `addr` names.
pub(crate) fn to_v4(addr: impl ToSocketAddrs) -> io::Result<SocketAddrV4> {
    let mut saw_v6 = false;
    for a in addr.to_socket_addrs()? {
        match a {
            SocketAddr::V4(v4) => return Ok(v4),
            SocketAddr::V6(_) => saw_v6 = true,
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        if saw_v6 {
            "netstack speaks IPv4 only"
        } else {
            "no address to use"
        },
    ))
}

/// The error a stopped runtime gives every socket call.
pub(crate) fn stopped() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the network stack has stopped")
}

/// UDP errors as the `io::ErrorKind` Linux's errno maps to in std.
pub(crate) fn udp_io(e: UdpError) -> io::Error {
    use io::ErrorKind as K;
    let kind = match e {
        UdpError::InvalidHandle => K::NotConnected,
        UdpError::AddrInUse | UdpError::PortsExhausted => K::AddrInUse,
        UdpError::AddrNotAvailable => K::AddrNotAvailable,
        UdpError::AlreadyBound
        | UdpError::InvalidAddress
        | UdpError::TooBig
        | UdpError::MessageTooBig => K::InvalidInput,
        UdpError::TooManySockets => K::OutOfMemory,
        UdpError::NotConnected => K::NotConnected,
        UdpError::BroadcastNotEnabled => K::PermissionDenied,
        UdpError::NoRoute | UdpError::NetworkUnreachable => K::NetworkUnreachable,
        UdpError::ConnectionRefused => K::ConnectionRefused,
        UdpError::HostUnreachable => K::HostUnreachable,
    };
    io::Error::new(kind, e)
}
