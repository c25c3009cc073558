//! Talking to the daemon (`netstack serve --control PATH`) over its Unix socket.
//!
//! Two kinds of connection, both to PATH, each opened by the shim with the C library's
//! own `socket` and `connect`:
//!
//! * a **data connection** per netstack socket: its first line (`SOCKET tcp`, `SOCKET
//!   udp` (to PATH.dgram), `ACCEPT <listener id>`) is answered with one line (`OK <id> ...`), and from
//!   then on it *is* the program's file descriptor for the socket. The daemon joins it
//!   to the netstack socket: bytes both ways for TCP; for UDP (a SOCK_SEQPACKET
//!   connection) one message per datagram, prefixed by the peer's address (4 bytes) and
//!   port (2 bytes, network order) until the socket connects, bare after (each side
//!   says so in band with a prefix alone naming 0.0.0.0:0; `gateway/udp.rs`). A listener's connection carries one byte per
//!   connection waiting to be accepted, so it polls readable exactly when accept would
//!   not block.
//! * a **control connection** per operation (`BIND`, `LISTEN`, `CONNECT`, `WAIT`, `OPT`, `GETOPT`,
//!   `NAME`): one request line, one reply line (`OK ...` or `ERR <errno>`), closed.
//!   One connection per call keeps the shim free of shared state across threads and
//!   fork.

use core::ffi::c_int;
use std::ffi::CString;
use std::sync::OnceLock;

use crate::real;

/// The daemon's socket path, from `NETSTACK_CONTROL` (set by `netstack run`); `None`
/// means the shim stays out of the way.
pub fn path() -> Option<&'static CString> {
    static PATH: OnceLock<Option<CString>> = OnceLock::new();
    PATH.get_or_init(|| {
        let p = std::env::var_os("NETSTACK_CONTROL")?;
        CString::new(std::os::unix::ffi::OsStrExt::as_bytes(p.as_os_str())).ok()
    })
    .as_ref()
}

fn errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A new Unix connection of type `ty` to the daemon: PATH for streams, PATH.dgram (a
/// SOCK_SEQPACKET listener) for datagram sockets.
fn connect_daemon(ty: c_int) -> Result<c_int, c_int> {
    let mut path = path().ok_or(libc::ENETDOWN)?.as_bytes().to_vec();
    if ty & libc::SOCK_SEQPACKET == libc::SOCK_SEQPACKET {
        path.extend_from_slice(b".dgram");
    }
    // SAFETY: sockaddr_un is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    if path.len() >= addr.sun_path.len() {
        return Err(libc::ENAMETOOLONG);
    }
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    for (dst, &src) in addr.sun_path.iter_mut().zip(&path) {
        *dst = src as libc::c_char;
    }
    // SAFETY: the C library's socket(2).
    let fd = unsafe { real::socket()(libc::AF_UNIX, ty, 0) };
    if fd < 0 {
        return Err(errno());
    }
    let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    // SAFETY: `addr` is a valid sockaddr_un of `len` bytes that outlives the call.
    let rc = unsafe { real::connect()(fd, (&raw const addr).cast(), len) };
    if rc < 0 {
        // The daemon is not there: the network is down, as far as the program can tell.
        // SAFETY: closing the descriptor we just opened.
        unsafe { real::close()(fd) };
        return Err(libc::ENETDOWN);
    }
    Ok(fd)
}

fn write_all(fd: c_int, mut bytes: &[u8]) -> Result<(), c_int> {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for reads of its length.
        let n = unsafe { libc::send(fd, bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Reads the one reply line. On a stream, byte by byte: what follows the line is the
/// program's data and must stay in the socket.
fn read_line(fd: c_int, seqpacket: bool) -> Result<String, c_int> {
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let want = if seqpacket { buf.len() } else { 1 };
        // SAFETY: `buf` is valid for writes of `want` <= its length bytes.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), want, 0) };
        if n < 0 {
            let e = errno();
            if e == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(libc::ENETDOWN);
        }
        line.extend_from_slice(&buf[..n as usize]);
        if seqpacket || line.ends_with(b"\n") || line.len() > 4096 {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}

/// `OK a b c` -> `[a, b, c]`; `ERR n` -> errno n.
fn parse(line: &str) -> Result<Vec<String>, c_int> {
    let mut words = line.split_whitespace();
    match words.next() {
        Some("OK") => Ok(words.map(str::to_string).collect()),
        Some("ERR") => Err(words
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(libc::EIO)),
        _ => Err(libc::EIO),
    }
}

/// One control operation: sends `line`, returns the reply's words after `OK`.
pub fn request(line: &str) -> Result<Vec<String>, c_int> {
    let fd = connect_daemon(libc::SOCK_STREAM | libc::SOCK_CLOEXEC)?;
    let reply = write_all(fd, format!("{line}\n").as_bytes()).and_then(|()| read_line(fd, false));
    // SAFETY: closing our own control connection.
    unsafe { real::close()(fd) };
    parse(&reply?)
}

/// Opens a data connection (SOCK_SEQPACKET for UDP) announced by `line`; returns its
/// descriptor and the reply's words after `OK`.
pub fn open_data(seqpacket: bool, line: &str) -> Result<(c_int, Vec<String>), c_int> {
    let ty = if seqpacket {
        libc::SOCK_SEQPACKET
    } else {
        libc::SOCK_STREAM
    };
    let fd = connect_daemon(ty)?;
    let reply = write_all(fd, format!("{line}\n").as_bytes())
        .and_then(|()| read_line(fd, seqpacket))
        .and_then(|l| parse(&l));
    match reply {
        Ok(words) => Ok((fd, words)),
        Err(e) => {
            // SAFETY: closing the connection we just opened.
            unsafe { real::close()(fd) };
            Err(e)
        }
    }
}
