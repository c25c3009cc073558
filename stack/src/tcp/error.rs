//! Errors of the TCP calls. The facade maps each to a `std::io::ErrorKind`.

use core::fmt;

/// What went wrong with a TCP call or connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpError {
    /// The handle does not name an open TCP socket.
    InvalidHandle,
    /// The call does not fit the socket (accept on a connection, send on a listener).
    InvalidState,
    /// The local port is held by another socket (EADDRINUSE).
    AddrInUse,
    /// The local address is not ours (EADDRNOTAVAIL).
    AddrNotAvailable,
    /// No ephemeral port is free.
    PortsExhausted,
    /// The socket table is full.
    TooManySockets,
    /// The address is unusable (port 0, unspecified, broadcast, ourselves).
    InvalidAddress,
    /// No route to the destination.
    NoRoute,
    /// The peer answered our SYN with RST, or ICMP said nobody listens (ECONNREFUSED).
    ConnectionRefused,
    /// The peer reset an open connection (ECONNRESET).
    ConnectionReset,
    /// We gave up on the connection ourselves (ECONNABORTED).
    ConnectionAborted,
    /// Retransmissions or keep-alives went unanswered (ETIMEDOUT).
    TimedOut,
    /// The connection is not established yet (ENOTCONN).
    NotConnected,
    /// Sending after shutdown or after the connection closed (EPIPE).
    BrokenPipe,
    /// ICMP host unreachable (EHOSTUNREACH).
    HostUnreachable,
    /// ICMP network unreachable (ENETUNREACH).
    NetworkUnreachable,
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TcpError::InvalidHandle => "not an open TCP socket",
            TcpError::InvalidState => "operation not valid for this socket",
            TcpError::AddrInUse => "address already in use",
            TcpError::AddrNotAvailable => "cannot assign requested address",
            TcpError::PortsExhausted => "no ephemeral port is free",
            TcpError::TooManySockets => "too many open sockets",
            TcpError::InvalidAddress => "invalid address",
            TcpError::NoRoute => "network is unreachable",
            TcpError::ConnectionRefused => "connection refused",
            TcpError::ConnectionReset => "connection reset by peer",
            TcpError::ConnectionAborted => "connection aborted",
            TcpError::TimedOut => "connection timed out",
            TcpError::NotConnected => "transport endpoint is not connected",
            TcpError::BrokenPipe => "broken pipe",
            TcpError::HostUnreachable => "no route to host",
            TcpError::NetworkUnreachable => "network is unreachable",
        })
    }
}

impl std::error::Error for TcpError {}
