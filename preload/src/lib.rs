//! `netstack-preload`: loaded into an unmodified program with `LD_PRELOAD` by `netstack
//! run`, it moves the program's AF_INET TCP and UDP sockets onto netstack.
//!
//! # Design
//! Each netstack socket is a real file descriptor in the program: one end of a Unix
//! connection to the daemon (`netstack serve --control PATH`), which joins the other
//! end to the netstack socket (`control.rs` describes the protocol). So every call that
//! only moves bytes or waits — read, write, send, recv on TCP, poll, select, epoll,
//! sendfile, splice, fcntl(O_NONBLOCK), ioctl(FIONBIO), dup, SO_RCVTIMEO, close-on-exec,
//! fork — works on it unchanged, in the kernel, without the shim. The shim intercepts
//! only what names addresses or changes the socket's state, and sends those to the
//! daemon over a separate control connection.
//!
//! Intercepted: socket, bind, listen, accept, accept4, connect, getsockname,
//! getpeername, setsockopt, getsockopt, shutdown, close, send, recv, sendto, recvfrom,
//! sendmsg, recvmsg. Not intercepted: fcntl (O_NONBLOCK lives on the real descriptor,
//! and the shim reads it back when it must know: connect), read, write, poll, select,
//! epoll, ioctl, dup. Left to the kernel: every socket that is not AF_INET SOCK_STREAM
//! or SOCK_DGRAM (AF_UNIX, AF_INET6, raw, netlink), and an AF_INET socket bound or
//! connected to 127.0.0.0/8 (handed over: a kernel socket replaces the descriptor,
//! same number, with `dup2`).
//!
//! Errors are the errno values Linux gives, chosen by the daemon from netstack's
//! errors. All `unsafe` is calls across the C ABI, each with a `// SAFETY:` line.

mod control;
mod real;
mod table;

use core::ffi::{c_int, c_void};
use std::net::{Ipv4Addr, SocketAddrV4};

use libc::{msghdr, size_t, sockaddr, socklen_t, ssize_t};
use table::Sock;

/// Bytes before each UDP datagram on a data connection: address and port.
const DGRAM_HEADER: usize = 6;
/// The prefix alone, naming 0.0.0.0:0: "bare datagrams from now on" (the daemon's
/// `gateway/udp.rs`).
const SWITCH: [u8; DGRAM_HEADER] = [0; DGRAM_HEADER];

fn set_errno(e: c_int) {
    // SAFETY: __errno_location returns this thread's errno, always valid.
    unsafe { *libc::__errno_location() = e };
}

fn errno() -> c_int {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `-1` with errno `e`, as a C call fails.
fn fail<T: From<i8>>(e: c_int) -> T {
    set_errno(e);
    T::from(-1)
}

fn is_nonblocking(fd: c_int) -> bool {
    // SAFETY: F_GETFL on a descriptor we own takes no pointer.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    flags >= 0 && flags & libc::O_NONBLOCK != 0
}

/// Applies socket()/accept4() type flags to a descriptor.
fn apply_flags(fd: c_int, flags: c_int) {
    // SAFETY: fcntl on our own descriptor with integer arguments.
    unsafe {
        if flags & libc::SOCK_NONBLOCK != 0 {
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            );
        }
        if flags & libc::SOCK_CLOEXEC != 0 {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
}

/// An IPv4 address the caller passed, or the errno Linux gives for it.
///
/// # Safety
/// `addr` must be valid for reads of `len` bytes (or null).
unsafe fn read_addr(addr: *const sockaddr, len: socklen_t) -> Result<SocketAddrV4, c_int> {
    if addr.is_null() {
        return Err(libc::EFAULT);
    }
    if (len as usize) < std::mem::size_of::<libc::sa_family_t>() {
        return Err(libc::EINVAL);
    }
    // SAFETY: at least the family field is readable (checked above).
    let family = unsafe { (*addr).sa_family };
    if c_int::from(family) != libc::AF_INET {
        return Err(libc::EAFNOSUPPORT);
    }
    if (len as usize) < std::mem::size_of::<libc::sockaddr_in>() {
        return Err(libc::EINVAL);
    }
    // SAFETY: the caller passed a sockaddr_in of at least its size (checked above);
    // read_unaligned because a sockaddr may be any buffer.
    let sin = unsafe { std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in>()) };
    Ok(SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
        u16::from_be(sin.sin_port),
    ))
}

/// Writes `a` to a caller's (addr, len) pair as the kernel does: truncated to `*len`,
/// and `*len` set to the full size.
///
/// # Safety
/// `addr` must be valid for writes of `*len` bytes and `len` valid, or either null.
unsafe fn write_addr(a: SocketAddrV4, addr: *mut sockaddr, len: *mut socklen_t) {
    if addr.is_null() || len.is_null() {
        return;
    }
    // SAFETY: sockaddr_in is plain data; all-zero is valid.
    let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    sin.sin_family = libc::AF_INET as libc::sa_family_t;
    sin.sin_port = a.port().to_be();
    sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
    let full = std::mem::size_of::<libc::sockaddr_in>();
    // SAFETY: `len` is valid (checked non-null); we copy at most *len bytes into addr.
    unsafe {
        let n = (*len as usize).min(full);
        std::ptr::copy_nonoverlapping((&raw const sin).cast::<u8>(), addr.cast::<u8>(), n);
        *len = full as socklen_t;
    }
}

fn parse_addr(s: Option<&String>) -> Option<SocketAddrV4> {
    s.and_then(|s| s.parse().ok())
}

/// Moves `fd` to a kernel socket of the same type and flags (for loopback), replaying
/// the options set so far. The Unix connection closes; the daemon forgets the socket.
fn hand_to_kernel(fd: c_int, sock: &Sock) -> Result<(), c_int> {
    let ty = if sock.stream {
        libc::SOCK_STREAM
    } else {
        libc::SOCK_DGRAM
    };
    // SAFETY: the C library's socket(2), fcntl and dup2 on descriptors we own, and
    // setsockopt with buffers we hold for the length we pass.
    unsafe {
        let kfd = real::socket()(libc::AF_INET, ty, 0);
        if kfd < 0 {
            return Err(errno());
        }
        if is_nonblocking(fd) {
            libc::fcntl(kfd, libc::F_SETFL, libc::O_NONBLOCK);
        }
        let cloexec = libc::fcntl(fd, libc::F_GETFD) & libc::FD_CLOEXEC;
        for (level, name, value) in &sock.options {
            real::setsockopt()(
                kfd,
                *level,
                *name,
                value.as_ptr().cast(),
                value.len() as socklen_t,
            );
        }
        if libc::dup3(kfd, fd, if cloexec != 0 { libc::O_CLOEXEC } else { 0 }) < 0 {
            let e = errno();
            real::close()(kfd);
            return Err(e);
        }
        real::close()(kfd);
    }
    table::remove(fd);
    Ok(())
}

/// socket(2): AF_INET stream and datagram sockets become netstack sockets.
///
/// # Safety
/// As socket(2).
#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, ty: c_int, protocol: c_int) -> c_int {
    let base = ty & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    let stream = base == libc::SOCK_STREAM && matches!(protocol, 0 | libc::IPPROTO_TCP);
    let dgram = base == libc::SOCK_DGRAM && matches!(protocol, 0 | libc::IPPROTO_UDP);
    if domain != libc::AF_INET || !(stream || dgram) || control::path().is_none() {
        // SAFETY: passing the caller's call on unchanged.
        return unsafe { real::socket()(domain, ty, protocol) };
    }
    let kind = if stream { "tcp" } else { "udp" };
    match control::open_data(dgram, &format!("SOCKET {kind}")) {
        Ok((fd, words)) => {
            let Some(id) = words.first().and_then(|w| w.parse().ok()) else {
                // SAFETY: closing the connection we opened.
                unsafe { real::close()(fd) };
                return fail(libc::EIO);
            };
            apply_flags(fd, ty);
            table::put(
                fd,
                Sock {
                    id,
                    stream,
                    ..Sock::default()
                },
            );
            fd
        }
        Err(e) => fail(e),
    }
}

/// bind(2).
///
/// # Safety
/// As bind(2).
#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::bind()(fd, addr, len) };
    };
    // SAFETY: the caller's (addr, len), as bind(2) requires.
    let a = match unsafe { read_addr(addr, len) } {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if a.ip().is_loopback() {
        if let Err(e) = hand_to_kernel(fd, &sock) {
            return fail(e);
        }
        // SAFETY: the caller's call, now on a kernel socket.
        return unsafe { real::bind()(fd, addr, len) };
    }
    if sock.local.is_some() {
        return fail(libc::EINVAL);
    }
    match control::request(&format!("BIND {} {a}", sock.id)) {
        Ok(words) => {
            let local = parse_addr(words.first()).unwrap_or(a);
            table::update(fd, |s| s.local = Some(local));
            0
        }
        Err(e) => fail(e),
    }
}

/// listen(2).
///
/// # Safety
/// As listen(2).
#[no_mangle]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::listen()(fd, backlog) };
    };
    if !sock.stream {
        return fail(libc::EOPNOTSUPP);
    }
    if sock.listening {
        return 0;
    }
    if sock.connected || sock.connecting {
        return fail(libc::EINVAL);
    }
    match control::request(&format!("LISTEN {} {backlog}", sock.id)) {
        Ok(words) => {
            let local = parse_addr(words.first());
            table::update(fd, |s| {
                s.listening = true;
                s.local = local;
            });
            0
        }
        Err(e) => fail(e),
    }
}

/// accept(2).
///
/// # Safety
/// As accept(2).
#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    // SAFETY: the caller's arguments, as accept(2) requires.
    unsafe { accept4(fd, addr, len, 0) }
}

/// accept4(2): waits (or not, with O_NONBLOCK) for the listener's next "a connection is
/// waiting" byte, then opens the connection's own data connection to the daemon.
///
/// # Safety
/// As accept4(2).
#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::accept4()(fd, addr, len, flags) };
    };
    if !sock.listening {
        return fail(libc::EINVAL);
    }
    let mut token = [0u8; 1];
    // SAFETY: reading one byte into our buffer, from the listener's descriptor; its
    // blocking mode is the program's, so EAGAIN comes back as accept's would.
    let n = unsafe { libc::read(fd, token.as_mut_ptr().cast(), 1) };
    if n < 0 {
        return -1; // errno from read: EAGAIN, EINTR
    }
    if n == 0 {
        return fail(libc::EINVAL);
    }
    match control::open_data(false, &format!("ACCEPT {}", sock.id)) {
        Ok((new, words)) => {
            let (Some(id), local, peer) = (
                words.first().and_then(|w| w.parse().ok()),
                parse_addr(words.get(1)),
                parse_addr(words.get(2)),
            ) else {
                // SAFETY: closing the connection we opened.
                unsafe { real::close()(new) };
                return fail(libc::ECONNABORTED);
            };
            apply_flags(new, flags);
            table::put(
                new,
                Sock {
                    id,
                    stream: true,
                    connected: true,
                    local,
                    peer,
                    ..Sock::default()
                },
            );
            if let Some(p) = peer {
                // SAFETY: the caller's (addr, len), as accept(2) requires.
                unsafe { write_addr(p, addr, len) };
            }
            new
        }
        Err(e) => fail(e),
    }
}

/// Waits for a connect under way to finish; returns its errno (0 on success).
fn finish_connect(fd: c_int, sock: &Sock) -> c_int {
    match control::request(&format!("WAIT {}", sock.id)) {
        Ok(words) => {
            let (local, peer) = (parse_addr(words.first()), parse_addr(words.get(1)));
            table::update(fd, |s| {
                s.connecting = false;
                s.connected = true;
                s.local = local;
                s.peer = peer;
            });
            0
        }
        Err(e) => {
            table::update(fd, |s| s.connecting = false);
            e
        }
    }
}

/// connect(2). A non-blocking TCP connect returns EINPROGRESS at once; its result is
/// collected by getsockopt(SO_ERROR) (or the next connect).
///
/// # Safety
/// As connect(2).
#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::connect()(fd, addr, len) };
    };
    // SAFETY: the caller's (addr, len), as connect(2) requires.
    let a = match unsafe { read_addr(addr, len) } {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    if a.ip().is_loopback() && sock.local.is_none() {
        if let Err(e) = hand_to_kernel(fd, &sock) {
            return fail(e);
        }
        // SAFETY: the caller's call, now on a kernel socket.
        return unsafe { real::connect()(fd, addr, len) };
    }
    if sock.stream {
        if sock.connected {
            return fail(libc::EISCONN);
        }
        if sock.connecting {
            return match finish_connect(fd, &sock) {
                0 => fail(libc::EISCONN),
                e => fail(e),
            };
        }
        if sock.listening {
            return fail(libc::EINVAL);
        }
    }
    if let Err(e) = control::request(&format!("CONNECT {} {a}", sock.id)) {
        return fail(e);
    }
    if !sock.stream {
        let bare = sock.bare || go_bare(fd);
        table::update(fd, |s| {
            s.peer = Some(a);
            s.bare = bare;
        });
        return 0;
    }
    table::update(fd, |s| s.connecting = true);
    if is_nonblocking(fd) {
        return fail(libc::EINPROGRESS);
    }
    match finish_connect(fd, &sock) {
        0 => 0,
        e => fail(e),
    }
}

/// getsockname(2).
///
/// # Safety
/// As getsockname(2).
#[no_mangle]
pub unsafe extern "C" fn getsockname(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::getsockname()(fd, addr, len) };
    };
    let mut local = sock.local;
    if sock.connecting && finish_connect(fd, &sock) == 0 {
        local = table::get(fd).and_then(|s| s.local);
    } else if local.is_none_or(|l| l.port() == 0 || l.ip().is_unspecified()) {
        // The daemon knows what a first send or a connect chose.
        if let Ok(words) = control::request(&format!("NAME {}", sock.id)) {
            local = parse_addr(words.first()).or(local);
        }
    }
    let local = local.unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
    // SAFETY: the caller's (addr, len), as getsockname(2) requires.
    unsafe { write_addr(local, addr, len) };
    0
}

/// getpeername(2).
///
/// # Safety
/// As getpeername(2).
#[no_mangle]
pub unsafe extern "C" fn getpeername(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    let Some(mut sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::getpeername()(fd, addr, len) };
    };
    if sock.connecting {
        if finish_connect(fd, &sock) != 0 {
            return fail(libc::ENOTCONN);
        }
        sock = table::get(fd).unwrap_or(sock);
    }
    match sock.peer {
        Some(p) if sock.connected || !sock.stream => {
            // SAFETY: the caller's (addr, len), as getpeername(2) requires.
            unsafe { write_addr(p, addr, len) };
            0
        }
        _ => fail(libc::ENOTCONN),
    }
}

/// Writes an int option value as getsockopt does.
///
/// # Safety
/// `val`/`len` as getsockopt(2) requires.
unsafe fn put_int(v: c_int, val: *mut c_void, len: *mut socklen_t) -> c_int {
    if val.is_null() || len.is_null() {
        return fail(libc::EFAULT);
    }
    let bytes = v.to_ne_bytes();
    // SAFETY: the caller's buffer of *len bytes; we copy at most that many.
    unsafe {
        let n = (*len as usize).min(bytes.len());
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), val.cast::<u8>(), n);
        *len = n as socklen_t;
    }
    0
}

/// getsockopt(2): SO_ERROR (which finishes a non-blocking connect), SO_TYPE and friends
/// from what the shim knows; a TCP socket's SO_RCVBUF and SO_SNDBUF from the daemon;
/// timeouts from the real descriptor; other options as last set (0 if never).
///
/// # Safety
/// As getsockopt(2).
#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::getsockopt()(fd, level, name, val, len) };
    };
    let int = |v: c_int| {
        // SAFETY: the caller's (val, len), as getsockopt(2) requires.
        unsafe { put_int(v, val, len) }
    };
    match (level, name) {
        (libc::SOL_SOCKET, libc::SO_ERROR) => {
            let e = if sock.connecting {
                finish_connect(fd, &sock)
            } else {
                sock.error
            };
            table::update(fd, |s| s.error = 0);
            int(e)
        }
        (libc::SOL_SOCKET, libc::SO_TYPE) => int(if sock.stream {
            libc::SOCK_STREAM
        } else {
            libc::SOCK_DGRAM
        }),
        (libc::SOL_SOCKET, libc::SO_DOMAIN) => int(libc::AF_INET),
        (libc::SOL_SOCKET, libc::SO_PROTOCOL) => int(if sock.stream {
            libc::IPPROTO_TCP
        } else {
            libc::IPPROTO_UDP
        }),
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => int(c_int::from(sock.listening)),
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO | libc::SO_SNDTIMEO) => {
            // SAFETY: the same call on the real descriptor, whose timeouts are these.
            unsafe { real::getsockopt()(fd, level, name, val, len) }
        }
        (libc::IPPROTO_IPV6, _) => fail(libc::EOPNOTSUPP),
        (libc::IPPROTO_TCP, libc::TCP_CONGESTION) | (libc::SOL_SOCKET, libc::SO_LINGER) => {
            let default: &[u8] = if name == libc::TCP_CONGESTION {
                b"cubic\0"
            } else {
                &[0; 8]
            };
            let set = sock
                .options
                .iter()
                .rev()
                .find(|(l, n, _)| *l == level && *n == name)
                .map_or(default, |(_, _, v)| v.as_slice());
            if val.is_null() || len.is_null() {
                return fail(libc::EFAULT);
            }
            // SAFETY: the caller's buffer of *len bytes; we copy at most that many.
            unsafe {
                let n = (*len as usize).min(set.len());
                std::ptr::copy_nonoverlapping(set.as_ptr(), val.cast::<u8>(), n);
                *len = n as socklen_t;
            }
            0
        }
        (libc::IPPROTO_IP, libc::IP_TTL) => {
            let set = stored(&sock, level, name);
            int(set.unwrap_or(64))
        }
        // The daemon's sizes, as Linux reports them (doubled, within its limits).
        (libc::SOL_SOCKET, libc::SO_RCVBUF | libc::SO_SNDBUF) if sock.stream => {
            let which = if name == libc::SO_RCVBUF {
                "rcvbuf"
            } else {
                "sndbuf"
            };
            match control::request(&format!("GETOPT {} {which}", sock.id)) {
                Ok(words) => int(words.first().and_then(|w| w.parse().ok()).unwrap_or(0)),
                Err(e) => fail(e),
            }
        }
        // A flag reads back as 0 or 1, whatever non-zero value was set.
        (libc::SOL_SOCKET, libc::SO_REUSEADDR | libc::SO_KEEPALIVE)
        | (libc::IPPROTO_TCP, libc::TCP_NODELAY) => {
            int(c_int::from(stored(&sock, level, name).unwrap_or(0) != 0))
        }
        _ => int(stored(&sock, level, name).unwrap_or(0)),
    }
}

/// Whether SO_LINGER was last set on with a zero time (close resets).
fn linger_zero(sock: &Sock) -> bool {
    let set = sock
        .options
        .iter()
        .rev()
        .find(|(l, n, _)| *l == libc::SOL_SOCKET && *n == libc::SO_LINGER);
    set.and_then(|(_, _, v)| v.get(..8))
        .is_some_and(|b| b[..4] != [0; 4] && b[4..8] == [0; 4])
}

fn stored(sock: &Sock, level: c_int, name: c_int) -> Option<c_int> {
    sock.options
        .iter()
        .rev()
        .find(|(l, n, _)| *l == level && *n == name)
        .and_then(|(_, _, v)| v.get(..4))
        .map(|b| c_int::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// setsockopt(2): timeouts go on the real descriptor (they govern its reads and
/// writes); on TCP sockets TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT,
/// SO_LINGER, IP_TTL, TCP_CONGESTION, SO_RCVBUF, SO_SNDBUF and SO_REUSEADDR go to the
/// daemon, which applies them to the netstack socket (and refuses what Linux refuses);
/// the rest are remembered.
///
/// # Safety
/// As setsockopt(2).
#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    val: *const c_void,
    len: socklen_t,
) -> c_int {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::setsockopt()(fd, level, name, val, len) };
    };
    if level == libc::IPPROTO_IPV6 {
        return fail(libc::ENOPROTOOPT);
    }
    if val.is_null() && len > 0 {
        return fail(libc::EFAULT);
    }
    // SAFETY: the caller's buffer of `len` bytes, as setsockopt(2) requires.
    let value = unsafe { std::slice::from_raw_parts(val.cast::<u8>(), len as usize) }.to_vec();
    if level == libc::SOL_SOCKET && matches!(name, libc::SO_RCVTIMEO | libc::SO_SNDTIMEO) {
        // SAFETY: the same call on the real descriptor.
        let rc = unsafe { real::setsockopt()(fd, level, name, val, len) };
        if rc < 0 {
            return rc;
        }
    }
    if let Some(opt) = daemon_option(sock.stream, level, name, &value) {
        if let Err(e) = control::request(&format!("OPT {} {opt}", sock.id)) {
            return fail(e);
        }
    }
    table::update(fd, |s| s.options.push((level, name, value)));
    0
}

/// The daemon's `name value` for an option netstack applies (gateway/options.rs).
fn daemon_option(stream: bool, level: c_int, name: c_int, value: &[u8]) -> Option<String> {
    let int = || {
        value
            .get(..4)
            .map(|b| c_int::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    if !stream {
        return None;
    }
    Some(match (level, name) {
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => format!("nodelay {}", int()?),
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => format!("keepalive {}", int()?),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => format!("keepidle {}", int()?),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => format!("keepintvl {}", int()?),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => format!("keepcnt {}", int()?),
        (libc::IPPROTO_IP, libc::IP_TTL) => format!("ttl {}", int()?),
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => format!("rcvbuf {}", int()?),
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => format!("sndbuf {}", int()?),
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => format!("reuseaddr {}", int()?),
        (libc::SOL_SOCKET, libc::SO_LINGER) => {
            // struct linger { int l_onoff; int l_linger; }
            let b = value.get(..8)?;
            let on = c_int::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            let secs = c_int::from_ne_bytes([b[4], b[5], b[6], b[7]]);
            format!("linger {}", if on != 0 { secs.max(0) } else { -1 })
        }
        (libc::IPPROTO_TCP, libc::TCP_CONGESTION) => {
            let name = value.split(|&b| b == 0).next()?;
            format!("congestion {}", std::str::from_utf8(name).ok()?)
        }
        _ => return None,
    })
}

/// shutdown(2): on the real descriptor; the daemon turns the end of the bytes into a FIN.
/// With SO_LINGER 0 set, the daemon is told first (`SHUT`), so that this end is a FIN
/// as on Linux, and only close(2) resets.
///
/// # Safety
/// As shutdown(2).
#[no_mangle]
pub unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    if let Some(sock) = table::get(fd) {
        if sock.stream && !sock.connected && !sock.connecting {
            return fail(libc::ENOTCONN);
        }
        let writes = matches!(how, libc::SHUT_WR | libc::SHUT_RDWR);
        if sock.stream && writes && linger_zero(&sock) {
            if let Err(e) = control::request(&format!("SHUT {}", sock.id)) {
                return fail(e);
            }
        }
    }
    // SAFETY: the caller's call (on the Unix connection when it is ours).
    unsafe { real::shutdown()(fd, how) }
}

/// close(2): the daemon sees the connection end and closes the netstack socket.
///
/// # Safety
/// As close(2).
#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    table::remove(fd);
    // SAFETY: the caller's call, unchanged.
    unsafe { real::close()(fd) }
}

/// A UDP socket has just connected: takes the daemon's [`SWITCH`] (dropping the
/// prefixed datagrams queued before it: received before connect, unread) and answers
/// with one, so both directions carry bare datagrams. False if the daemon sent none
/// (the program's queue was full): the prefix stays.
fn go_bare(fd: c_int) -> bool {
    let mut buf = vec![0u8; DGRAM_HEADER + 65536];
    loop {
        // SAFETY: `buf` is valid for writes of its length.
        let n = unsafe { real::recv()(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n < 0 {
            return false;
        }
        if buf[..n as usize] == SWITCH {
            break;
        }
    }
    // SAFETY: SWITCH is valid for reads of its length.
    let n = unsafe { real::send()(fd, SWITCH.as_ptr().cast(), SWITCH.len(), libc::MSG_NOSIGNAL) };
    n == SWITCH.len() as ssize_t
}

/// Sends one UDP datagram over the data connection, framed with its destination (bare
/// on a connected socket).
fn send_datagram(
    fd: c_int,
    sock: &Sock,
    data: &[u8],
    to: Option<SocketAddrV4>,
    flags: c_int,
) -> ssize_t {
    let Some(to) = to.or(sock.peer) else {
        return fail(libc::EDESTADDRREQ);
    };
    if data.len() > 65507 {
        return fail(libc::EMSGSIZE);
    }
    let flags = flags & (libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL);
    if sock.bare {
        if Some(to) != sock.peer {
            // Bare datagrams go to the peer only: another destination cannot be said.
            return fail(libc::EISCONN);
        }
        // SAFETY: `data` is valid for reads of its length.
        return unsafe {
            real::send()(
                fd,
                data.as_ptr().cast(),
                data.len(),
                flags | libc::MSG_NOSIGNAL,
            )
        };
    }
    let mut frame = Vec::with_capacity(DGRAM_HEADER + data.len());
    frame.extend_from_slice(&to.ip().octets());
    frame.extend_from_slice(&to.port().to_be_bytes());
    frame.extend_from_slice(data);
    // SAFETY: the frame is valid for reads of its length.
    let n = unsafe {
        real::send()(
            fd,
            frame.as_ptr().cast(),
            frame.len(),
            flags | libc::MSG_NOSIGNAL,
        )
    };
    if n < 0 {
        return n;
    }
    data.len() as ssize_t
}

/// Receives one UDP datagram: at most `cap` of its bytes, and its sender (the peer,
/// on a connected socket whose datagrams come bare).
fn recv_datagram(
    fd: c_int,
    sock: &Sock,
    cap: usize,
    flags: c_int,
) -> Result<(Vec<u8>, SocketAddrV4), c_int> {
    let flags = flags & (libc::MSG_DONTWAIT | libc::MSG_PEEK);
    if let (true, Some(peer)) = (sock.bare, sock.peer) {
        let mut data = vec![0u8; cap.min(65507)];
        // SAFETY: `data` is valid for writes of its length.
        let n = unsafe { real::recv()(fd, data.as_mut_ptr().cast(), data.len(), flags) };
        if n < 0 {
            return Err(errno());
        }
        data.truncate(n as usize);
        return Ok((data, peer));
    }
    let mut frame = vec![0u8; DGRAM_HEADER + cap.min(65507)];
    // SAFETY: `frame` is valid for writes of its length.
    let n = unsafe {
        real::recv()(
            fd,
            frame.as_mut_ptr().cast(),
            frame.len(),
            flags | libc::MSG_TRUNC,
        )
    };
    if n < 0 {
        return Err(errno());
    }
    let n = n as usize;
    if n < DGRAM_HEADER {
        return Err(libc::ENOTCONN);
    }
    let from = SocketAddrV4::new(
        Ipv4Addr::new(frame[0], frame[1], frame[2], frame[3]),
        u16::from_be_bytes([frame[4], frame[5]]),
    );
    // With MSG_TRUNC, n is the datagram's whole length even when it did not fit; what
    // did not fit the caller's buffer is discarded, as on Linux.
    let whole = n - DGRAM_HEADER;
    frame.truncate(DGRAM_HEADER + whole.min(cap));
    frame.drain(..DGRAM_HEADER);
    Ok((frame, from))
}

/// send(2): TCP as is; UDP framed.
///
/// # Safety
/// As send(2).
#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the caller's arguments, as send(2) requires.
    unsafe { sendto(fd, buf, len, flags, std::ptr::null(), 0) }
}

/// sendto(2).
///
/// # Safety
/// As sendto(2).
#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addr_len: socklen_t,
) -> ssize_t {
    let sock = match table::get(fd) {
        Some(s) if !s.stream => s,
        // TCP ignores the address, as Linux does for a connected stream.
        // SAFETY: the caller's call on the real descriptor.
        Some(_) => return unsafe { real::send()(fd, buf, len, flags) },
        // SAFETY: not ours: the caller's call, unchanged.
        None => return unsafe { real::sendto()(fd, buf, len, flags, addr, addr_len) },
    };
    let to = if addr.is_null() {
        None
    } else {
        // SAFETY: the caller's (addr, addr_len).
        match unsafe { read_addr(addr, addr_len) } {
            Ok(a) => Some(a),
            Err(e) => return fail(e),
        }
    };
    let data = if len == 0 {
        &[][..]
    } else {
        // SAFETY: the caller's buffer of `len` bytes.
        unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) }
    };
    send_datagram(fd, &sock, data, to, flags)
}

/// recv(2).
///
/// # Safety
/// As recv(2).
#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    // SAFETY: the caller's arguments, as recv(2) requires.
    unsafe {
        recvfrom(
            fd,
            buf,
            len,
            flags,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        )
    }
}

/// recvfrom(2).
///
/// # Safety
/// As recvfrom(2).
#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    let sock = match table::get(fd) {
        Some(s) if !s.stream => s,
        Some(_) => {
            // SAFETY: the caller's call on the real descriptor; a stream has no
            // source address to report, so the length is 0, as on Linux.
            unsafe {
                let n = real::recv()(fd, buf, len, flags);
                if n >= 0 && !addr_len.is_null() {
                    *addr_len = 0;
                }
                return n;
            }
        }
        // SAFETY: not ours: the caller's call, unchanged.
        None => return unsafe { real::recvfrom()(fd, buf, len, flags, addr, addr_len) },
    };
    match recv_datagram(fd, &sock, len, flags) {
        Ok((data, from)) => {
            // SAFETY: the caller's buffer of `len` >= data.len() bytes, and (addr, len).
            unsafe {
                std::ptr::copy_nonoverlapping(data.as_ptr(), buf.cast::<u8>(), data.len());
                write_addr(from, addr, addr_len);
            }
            data.len() as ssize_t
        }
        Err(e) => fail(e),
    }
}

/// sendmsg(2): TCP as is (without a name); UDP gathered into one framed datagram.
///
/// # Safety
/// As sendmsg(2).
#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::sendmsg()(fd, msg, flags) };
    };
    if msg.is_null() {
        return fail(libc::EFAULT);
    }
    // SAFETY: the caller's msghdr, as sendmsg(2) requires.
    let mut m = unsafe { std::ptr::read(msg) };
    if sock.stream {
        m.msg_name = std::ptr::null_mut();
        m.msg_namelen = 0;
        m.msg_control = std::ptr::null_mut();
        m.msg_controllen = 0;
        // SAFETY: the caller's iovecs in a copy of their msghdr.
        return unsafe { real::sendmsg()(fd, &raw const m, flags) };
    }
    let to = if m.msg_name.is_null() {
        None
    } else {
        // SAFETY: the caller's (msg_name, msg_namelen).
        match unsafe { read_addr(m.msg_name.cast(), m.msg_namelen) } {
            Ok(a) => Some(a),
            Err(e) => return fail(e),
        }
    };
    let mut data = Vec::new();
    for i in 0..m.msg_iovlen {
        // SAFETY: msg_iov holds msg_iovlen iovecs, each valid for iov_len bytes.
        unsafe {
            let iov = *m.msg_iov.add(i);
            if iov.iov_len > 0 {
                data.extend_from_slice(std::slice::from_raw_parts(
                    iov.iov_base.cast::<u8>(),
                    iov.iov_len,
                ));
            }
        }
    }
    send_datagram(fd, &sock, &data, to, flags)
}

/// recvmsg(2): TCP as is (no name); UDP scattered from one framed datagram.
///
/// # Safety
/// As recvmsg(2).
#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    let Some(sock) = table::get(fd) else {
        // SAFETY: not ours: the caller's call, unchanged.
        return unsafe { real::recvmsg()(fd, msg, flags) };
    };
    if msg.is_null() {
        return fail(libc::EFAULT);
    }
    if sock.stream {
        // SAFETY: the caller's msghdr; no control data or name from a Unix stream is
        // theirs, so both are reported empty.
        unsafe {
            let n = real::recvmsg()(fd, msg, flags);
            if n >= 0 {
                (*msg).msg_namelen = 0;
                (*msg).msg_controllen = 0;
            }
            return n;
        }
    }
    // SAFETY: the caller's msghdr, as recvmsg(2) requires.
    let m = unsafe { &mut *msg };
    let mut cap = 0usize;
    for i in 0..m.msg_iovlen {
        // SAFETY: msg_iov holds msg_iovlen iovecs.
        cap += unsafe { (*m.msg_iov.add(i)).iov_len };
    }
    match recv_datagram(fd, &sock, cap, flags) {
        Ok((data, from)) => {
            let mut left = &data[..];
            for i in 0..m.msg_iovlen {
                if left.is_empty() {
                    break;
                }
                // SAFETY: each iovec is valid for writes of iov_len bytes.
                unsafe {
                    let iov = *m.msg_iov.add(i);
                    let n = iov.iov_len.min(left.len());
                    std::ptr::copy_nonoverlapping(left.as_ptr(), iov.iov_base.cast::<u8>(), n);
                    left = &left[n..];
                }
            }
            if !m.msg_name.is_null() {
                // SAFETY: the caller's name buffer of msg_namelen bytes.
                unsafe { write_addr(from, m.msg_name.cast(), &raw mut m.msg_namelen) };
            }
            m.msg_controllen = 0;
            m.msg_flags = 0;
            data.len() as ssize_t
        }
        Err(e) => fail(e),
    }
}
