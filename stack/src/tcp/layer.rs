//! The TCP layer: every connection, listener and TIME-WAIT entry of the stack, and the
//! state they share (initial sequence numbers, ports, the challenge-ACK budget).
//!
//! Its work is split by job, each an `impl Tcp` block in its own file:
//! * `demux.rs`: from an arriving segment to its connection, listener, TIME-WAIT entry,
//!   or a reset; ICMP errors about our segments (RFC 5927);
//! * `listen.rs`: listening sockets, the SYN and accept queues, `accept`;
//! * `lifecycle.rs`: opening a connection, running it (its segments to the wire, its
//!   timers), and freeing it when it is over;
//! * this file: the state, and the timers of the layer as a whole.

use super::binds::Binds;
use super::buffer_pool::BufferPool;
use super::config::TcpConfig;
use super::connection::Connection;
use super::events::EventLog;
use super::isn::IsnGenerator;
use super::listener::Listener;
use super::syncookie::SynCookies;
use super::time_wait::TimeWaits;
use std::collections::BTreeSet;

use crate::deadlines::Deadlines;
use crate::outbound::Outbound;
use crate::rng::Rng;
use crate::socket::demux::Demux;
use crate::socket::ports::PortAllocator;
use crate::socket::table::SocketTable;
use crate::socket::touched::Touched;
use crate::socket::{Protocol, SocketHandle};
use crate::time::{Duration, Instant};
use crate::wire::tcp::HEADER_LEN;

/// What the TCP layer counts (per-connection counters live in each connection).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TcpCounters {
    pub segments_sent: u64,
    pub resets_sent: u64,
    pub challenge_acks: u64,
    pub syn_queue_evictions: u64,
    pub syn_cookies_sent: u64,
    pub syn_cookies_accepted: u64,
    pub accept_queue_overflows: u64,
}

/// A TCP socket: a listener, or one connection.
#[derive(Debug)]
pub(crate) enum TcpSocket {
    Listener(Listener),
    Conn(Box<Connection>),
}

/// The TCP layer. See the [module docs](self).
#[derive(Debug)]
pub(crate) struct Tcp {
    pub(super) config: TcpConfig,
    pub(super) isn: IsnGenerator,
    /// SYN cookies (RFC 4987), for SYNs that find a listener's SYN queue full.
    pub(super) cookies: SynCookies,
    pub(super) table: SocketTable<TcpSocket>,
    pub(super) demux: Demux,
    pub(super) ports: PortAllocator,
    /// Who holds each port, for binding (SO_REUSEADDR); TIME-WAIT entries are counted
    /// in `time_wait`.
    pub(super) binds: Binds,
    pub(super) time_wait: TimeWaits,
    /// Challenge ACKs sent in the current one-second period (RFC 5961 7).
    challenge_sent: u32,
    challenge_period: Instant,
    /// The next deadline of every connection with an armed timer, so the earliest is
    /// found in O(log n) however many connections there are, and timers due at the same
    /// instant run in the same order on every replay.
    pub(super) timers: Deadlines<SocketHandle>,
    /// Connections that stopped sending because the transmit queue was full, and when
    /// the first of them did: the next `handle_timeout` (due at once) lets them go on.
    pub(super) blocked: BTreeSet<SocketHandle>,
    pub(super) blocked_since: Option<Instant>,
    /// Ring storage of quiet connections, lent to the next that needs some.
    pub(super) pool: BufferPool,
    pub touched: Touched,
    pub counters: TcpCounters,
    /// Per-connection events, when the caller asked for them (`events.rs`).
    pub events: EventLog,
    /// While a batch of frames is received ([`Tcp::hold_output`]): the connections a
    /// segment reached, which send what they decided when the batch ends.
    pub(super) held: Option<Vec<SocketHandle>>,
}

impl Tcp {
    pub fn new(config: TcpConfig, max_sockets: usize, ports: PortAllocator, rng: &mut Rng) -> Tcp {
        let isn = IsnGenerator::new(rng);
        Tcp {
            cookies: SynCookies::new(isn.derived_key(1)),
            isn,
            table: SocketTable::new(Protocol::Tcp, max_sockets),
            demux: Demux::default(),
            ports,
            binds: Binds::default(),
            time_wait: TimeWaits::default(),
            challenge_sent: 0,
            challenge_period: Instant::ZERO,
            timers: Deadlines::default(),
            blocked: BTreeSet::new(),
            blocked_since: None,
            pool: BufferPool::new(),
            touched: Touched::default(),
            counters: TcpCounters::default(),
            events: EventLog::default(),
            held: None,
            config,
        }
    }

    /// Sockets open (listeners and connections; TIME-WAIT entries are not sockets).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// RFC 5961 7: at most `challenge_ack_limit` challenge ACKs per second.
    pub(super) fn allow_challenge(&mut self, now: Instant) -> bool {
        if now - self.challenge_period >= Duration::from_secs(1) {
            self.challenge_period = now;
            self.challenge_sent = 0;
        }
        self.challenge_sent += 1;
        self.challenge_sent <= self.config.challenge_ack_limit
    }

    /// The MSS we announce on a SYN: the link MTU less the IPv4 and TCP headers
    /// (RFC 9293 3.7.1; 1460 on Ethernet).
    pub(super) fn our_mss(out: &Outbound) -> usize {
        out.max_ip_payload() - HEADER_LEN
    }

    /// True when a socket with SO_REUSEADDR `reuse` may not bind `port` (Linux's rule,
    /// `binds.rs`): connections, listeners and TIME-WAIT entries hold ports.
    pub(super) fn bind_conflict(&self, port: u16, reuse: bool) -> bool {
        self.binds.conflicts(port, reuse) || self.time_wait.binds.conflicts(port, reuse)
    }

    /// The connection `h` names, if it is one.
    pub(super) fn conn(&self, h: SocketHandle) -> Option<&Connection> {
        match self.table.get(h) {
            Ok(TcpSocket::Conn(c)) => Some(c),
            _ => None,
        }
    }

    /// The earliest TCP timer (connections and TIME-WAIT entries). Connections held
    /// back by a full transmit queue count only when `room`: the queue can take
    /// segments again.
    pub fn poll_timeout(&self, room: bool) -> Option<Instant> {
        let conns = self.timers.next();
        let blocked = self.blocked_since.filter(|_| room);
        let waiting = [conns, self.time_wait.poll_timeout(), blocked];
        waiting.into_iter().flatten().min()
    }

    /// Runs every TCP timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Outbound) {
        self.time_wait.expire(now);
        // Connections held back by a full transmit queue go on first: the driver has
        // transmitted since, so there is room again.
        self.blocked_since = None;
        for h in std::mem::take(&mut self.blocked) {
            self.flush_handle(now, out, h);
        }
        // Take every due connection first: running one re-arms its next deadline, which
        // must wait for the next call even if it is already due.
        let due: Vec<SocketHandle> = std::iter::from_fn(|| self.timers.pop_due(now)).collect();
        for h in due {
            match self.table.take(h) {
                Ok(TcpSocket::Conn(mut conn)) => {
                    conn.handle_timeout(now);
                    self.flush(now, out, h, conn);
                }
                Ok(other) => self.table.restore(h, other),
                Err(_) => {}
            }
        }
    }
}
