//! A listening socket's own state: its address, its SYN queue and its accept queue. What
//! the TCP layer does with them is in `listen.rs`.

use core::net::SocketAddrV4;
use std::collections::VecDeque;

use super::socket_options::SocketOptions;
use crate::socket::SocketHandle;
use crate::time::Instant;

/// A listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub local: SocketAddrV4,
    /// Half-open connections, oldest first.
    pub syn_queue: VecDeque<SocketHandle>,
    /// Established connections waiting for `accept`, oldest first.
    pub accept_queue: VecDeque<SocketHandle>,
    /// Most connections the accept queue holds.
    pub backlog: usize,
    /// Half-open connections evicted to make room, so far.
    pub evicted: u64,
    /// When we last answered a SYN with a cookie: only shortly after that is an ACK to
    /// the listener checked for one (see `syncookie::RECENT`).
    pub last_cookie: Option<Instant>,
    /// The options set on the listener, inherited by every connection it makes.
    pub options: SocketOptions,
}

impl Listener {
    pub fn new(local: SocketAddrV4, backlog: usize, options: SocketOptions) -> Listener {
        Listener {
            local,
            syn_queue: VecDeque::new(),
            accept_queue: VecDeque::new(),
            backlog: backlog.max(1),
            evicted: 0,
            last_cookie: None,
            options,
        }
    }

    /// Forgets a connection of its queues (it completed, failed or was evicted).
    pub fn forget(&mut self, h: SocketHandle) {
        self.syn_queue.retain(|&x| x != h);
        self.accept_queue.retain(|&x| x != h);
    }

    /// Points the queues' entry for `old` at `new` (the connection was re-handled).
    pub fn rename(&mut self, old: SocketHandle, new: SocketHandle) {
        let queues = self
            .syn_queue
            .iter_mut()
            .chain(self.accept_queue.iter_mut());
        for q in queues.filter(|q| **q == old) {
            *q = new;
        }
    }
}
