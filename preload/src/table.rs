//! Which of the program's file descriptors are netstack sockets, and what the shim
//! remembers about each (the daemon's id, the state the calls need, options set).

use core::ffi::c_int;
use std::collections::BTreeMap;
use std::net::SocketAddrV4;
use std::sync::{Mutex, PoisonError};

/// One netstack socket as the program's file descriptor stands for it.
#[derive(Clone, Debug, Default)]
pub struct Sock {
    /// The daemon's name for it.
    pub id: u64,
    /// SOCK_STREAM (TCP); otherwise SOCK_DGRAM (UDP).
    pub stream: bool,
    pub listening: bool,
    /// A non-blocking connect is under way; its result is not known yet.
    pub connecting: bool,
    pub connected: bool,
    /// SO_ERROR: the failure of a non-blocking connect, reported once.
    pub error: c_int,
    pub local: Option<SocketAddrV4>,
    pub peer: Option<SocketAddrV4>,
    /// A connected UDP socket whose datagrams travel without the 6-byte prefix, both
    /// ways, so that read() and write() see bare datagrams.
    pub bare: bool,
    /// Options set and not applied elsewhere, to answer getsockopt and to replay on a
    /// kernel socket if the socket is handed to the kernel (loopback).
    pub options: Vec<(c_int, c_int, Vec<u8>)>,
}

static TABLE: Mutex<BTreeMap<c_int, Sock>> = Mutex::new(BTreeMap::new());

fn table() -> std::sync::MutexGuard<'static, BTreeMap<c_int, Sock>> {
    TABLE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The socket `fd` stands for, if it is one of ours. Never call while holding the lock.
pub fn get(fd: c_int) -> Option<Sock> {
    if fd < 0 {
        return None;
    }
    table().get(&fd).cloned()
}

pub fn put(fd: c_int, sock: Sock) {
    table().insert(fd, sock);
}

pub fn update(fd: c_int, f: impl FnOnce(&mut Sock)) {
    if let Some(s) = table().get_mut(&fd) {
        f(s);
    }
}

pub fn remove(fd: c_int) -> Option<Sock> {
    table().remove(&fd)
}
