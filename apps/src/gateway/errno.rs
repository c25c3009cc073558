//! netstack's errors as the errno Linux gives for them, for programs under `netstack
//! run` (the facade already mapped each to the `io::ErrorKind` std uses for that errno).

use std::io;

/// The errno for a facade error.
pub fn of(e: &io::Error) -> i32 {
    use io::ErrorKind as K;
    if let Some(n) = e.raw_os_error() {
        return n;
    }
    match e.kind() {
        K::ConnectionRefused => libc::ECONNREFUSED,
        K::ConnectionReset => libc::ECONNRESET,
        K::ConnectionAborted => libc::ECONNABORTED,
        K::TimedOut => libc::ETIMEDOUT,
        K::AddrInUse => libc::EADDRINUSE,
        K::AddrNotAvailable => libc::EADDRNOTAVAIL,
        K::NetworkUnreachable => libc::ENETUNREACH,
        K::HostUnreachable => libc::EHOSTUNREACH,
        K::NotConnected => libc::ENOTCONN,
        K::BrokenPipe => libc::EPIPE,
        K::PermissionDenied => libc::EACCES,
        K::InvalidInput => libc::EINVAL,
        K::WouldBlock => libc::EAGAIN,
        K::OutOfMemory => libc::ENOBUFS,
        K::Unsupported => libc::EOPNOTSUPP,
        _ => libc::EIO,
    }
}
