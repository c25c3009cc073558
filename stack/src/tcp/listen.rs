//! Passive open: a listener's SYN queue and accept queue (RFC 9293 3.10.7.2).
//!
//! A SYN to a listening port creates a connection in SYN-RECEIVED right away, in the
//! listener's bounded SYN queue, and registered under its 4-tuple so the handshake's
//! last ACK finds it directly. Once ESTABLISHED it moves to the accept queue, bounded by
//! the backlog; `accept` takes from there.
//!
//! Under a SYN flood that fills the SYN queue, the **oldest half-open connection is
//! evicted** to make room (BSD's syncache does the same). A legitimate client, whose ACK
//! comes one round trip after its SYN, is only crowded out by a flood of more than
//! `syn_backlog` SYNs per round trip; SYN cookies (RFC 4987 3.6) would survive more
//! but cost the options of the SYN, and are left for later.

use std::collections::VecDeque;

use crate::socket::SocketHandle;

/// A listening socket.
#[derive(Debug)]
pub(crate) struct Listener {
    pub local: core::net::SocketAddrV4,
    /// Half-open connections, oldest first.
    pub syn_queue: VecDeque<SocketHandle>,
    /// Established connections waiting for `accept`, oldest first.
    pub accept_queue: VecDeque<SocketHandle>,
    /// Most connections the accept queue holds.
    pub backlog: usize,
    /// Half-open connections evicted to make room, so far.
    pub evicted: u64,
}

impl Listener {
    pub fn new(local: core::net::SocketAddrV4, backlog: usize) -> Listener {
        Listener {
            local,
            syn_queue: VecDeque::new(),
            accept_queue: VecDeque::new(),
            backlog: backlog.max(1),
            evicted: 0,
        }
    }

    /// Forgets a half-open connection (it completed, failed or was evicted).
    pub fn forget(&mut self, h: SocketHandle) {
        self.syn_queue.retain(|&x| x != h);
        self.accept_queue.retain(|&x| x != h);
    }
}
