//! A connection's life in the stack: opened (actively here, passively in `listen.rs`),
//! run (each segment or timer, then everything it wants to send, to the wire), and freed
//! when it is over and nobody holds it (CLOSED, or TIME-WAIT, which becomes a
//! buffer-less entry).
//!
//! While a connection is worked on it is taken out of the socket table, so the layer can
//! send on its behalf, and put back (or freed) afterwards.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::binds::Holder;
use super::connection::Connection;
use super::error::TcpError;
use super::events::EventKind;
use super::layer::{Tcp, TcpSocket};
use super::segment::Segment;
use super::socket_options::SocketOptions;
use super::state::State;
use crate::outbound::Outbound;
use crate::socket::{Protocol, SocketHandle};
use crate::time::Instant;
use crate::wire::ipv4::protocol;
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, TcpRepr};

/// Segments one flush sends at most; a connection with more to say goes on at its next
/// event (the window of 64 KiB holds 45 full segments, so this never binds in practice).
const FLUSH_LIMIT: usize = 4096;

impl Tcp {
    /// Starts an active open to `remote` (RFC 9293 3.10.1) from `local`'s port, or an
    /// ephemeral port chosen per RFC 6056 if it names none, with an RFC 6528 initial
    /// sequence number, and the buffer sizes of `options` (which choose the window
    /// scale its SYN offers).
    pub fn connect(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        local: Option<SocketAddrV4>,
        remote: SocketAddrV4,
        options: SocketOptions,
    ) -> Result<SocketHandle, TcpError> {
        let ip = *remote.ip();
        let cfg = out.config();
        if remote.port() == 0
            || ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_loopback()
            || cfg.is_broadcast(ip)
            || ip == cfg.addr
        {
            return Err(TcpError::InvalidAddress);
        }
        if !cfg.on_link(ip) && cfg.gateway.is_none() {
            return Err(TcpError::NoRoute);
        }
        let our = out.addr();
        let port = match local {
            Some(l) if !l.ip().is_unspecified() && *l.ip() != our => {
                return Err(TcpError::AddrNotAvailable)
            }
            Some(l) if l.port() != 0 => self.connect_port(our, l.port(), remote, options)?,
            _ => {
                let (demux, time_wait) = (&self.demux, &self.time_wait);
                self.ports
                    .allocate(Protocol::Tcp, our, (ip, remote.port()), |p| {
                        let local = SocketAddrV4::new(our, p);
                        !demux.is_connected(Protocol::Tcp, local, remote)
                            && !time_wait.contains(local, remote)
                    })
                    .map_err(|_| TcpError::PortsExhausted)?
            }
        };
        let local = SocketAddrV4::new(our, port);
        let iss = self.isn.isn(now, local, remote);
        let our_mss = Tcp::our_mss(out);
        let config = options.apply(&self.config);
        let mut conn = Connection::connect(config, local, remote, iss, our_mss, now);
        conn.pooled = true;
        conn.reuse_addr = options.reuse_addr;
        let holder = conn.holder();
        let Ok(h) = self.table.insert(TcpSocket::Conn(Box::new(conn))) else {
            self.ports.release(Protocol::Tcp, port);
            return Err(TcpError::TooManySockets);
        };
        self.binds.hold(port, holder);
        self.demux.connect(Protocol::Tcp, local, remote, h);
        log::debug!("tcp {local} -> {remote}: CLOSED -> SYN-SENT");
        self.flush_handle(now, out, h);
        Ok(h)
    }

    /// Takes port `port`, which the socket bound, for a connection to `remote`: as bind
    /// would (EADDRINUSE unless SO_REUSEADDR lets it share), then as connect does
    /// (EADDRNOTAVAIL if the 4-tuple is taken, by a connection or TIME-WAIT, as Linux's
    /// `__inet_check_established` without tcp_tw_reuse).
    fn connect_port(
        &mut self,
        our: Ipv4Addr,
        port: u16,
        remote: SocketAddrV4,
        options: SocketOptions,
    ) -> Result<u16, TcpError> {
        if self.bind_conflict(port, options.reuse_addr) {
            return Err(TcpError::AddrInUse);
        }
        let local = SocketAddrV4::new(our, port);
        if self.demux.is_connected(Protocol::Tcp, local, remote)
            || self.time_wait.contains(local, remote)
        {
            return Err(TcpError::AddrNotAvailable);
        }
        self.ports.hold(Protocol::Tcp, port);
        Ok(port)
    }

    /// Runs a segment through connection `h`, then sends what it decided.
    pub(super) fn on_connection_segment(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        h: SocketHandle,
        seg: &TcpRepr,
        data: &[u8],
    ) {
        let Ok(TcpSocket::Conn(mut conn)) = self.table.take(h) else {
            return;
        };
        if !data.is_empty() {
            conn.lend_recv_storage(&mut self.pool);
        }
        let arrival = conn.handle_segment(now, seg, data);
        if arrival.challenge_ack && self.allow_challenge(now) {
            conn.grant_challenge_ack();
            self.counters.challenge_acks += 1;
        }
        if arrival.established {
            if let Some(lh) = conn.parent {
                self.promote(lh, h);
            }
        }
        self.flush_or_hold(now, out, h, conn);
    }

    /// [`flush`](Tcp::flush), or while output is held, puts the connection back to send
    /// at [`release_output`](Tcp::release_output). The event log still sees each state
    /// the event led to (FIN-WAIT-2 between an ACK and a FIN read in one batch).
    fn flush_or_hold(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        h: SocketHandle,
        mut conn: Box<Connection>,
    ) {
        match self.held.as_mut().filter(|l| l.len() < MAX_HELD) {
            Some(held) => {
                if !held.contains(&h) {
                    held.push(h);
                }
                self.observe(now, &mut conn);
                self.table.restore(h, TcpSocket::Conn(conn));
            }
            None => self.flush(now, out, h, conn),
        }
    }

    /// [`flush_or_hold`](Tcp::flush_or_hold) for connection `h` where it sits.
    pub(super) fn flush_or_hold_handle(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        h: SocketHandle,
    ) {
        match self.table.take(h) {
            Ok(TcpSocket::Conn(conn)) => self.flush_or_hold(now, out, h, conn),
            Ok(other) => self.table.restore(h, other),
            Err(_) => {}
        }
    }

    /// From now until [`release_output`](Tcp::release_output), a connection that a
    /// segment reaches, or that the application sends on or reads from, sends nothing
    /// (up to [`MAX_HELD`] connections; more send at once; other calls, such as close,
    /// send at once): what it decided goes out at the release. A
    /// batch of ACKs then opens the window once, and TCP sends one large segment (a TSO
    /// frame) instead of a small one per ACK; a batch of data draws one ACK; what an
    /// application writes in pieces leaves as one segment. Linux's TCP defers small
    /// TSO frames (`tcp_tso_should_defer`) and corks small writes while earlier ones
    /// wait to leave (autocorking) for the same reasons. Returns false, changing
    /// nothing, if output is held already.
    pub(crate) fn hold_output(&mut self) -> bool {
        if self.held.is_some() {
            return false;
        }
        self.held = Some(Vec::new());
        true
    }

    /// Ends [`hold_output`](Tcp::hold_output): every connection a segment reached
    /// sends, in the order the first segment for each arrived.
    pub(crate) fn release_output(&mut self, now: Instant, out: &mut Outbound) {
        for h in self.held.take().unwrap_or_default() {
            self.flush_handle(now, out, h);
        }
    }
}

/// Connections that hold their output at once, at most: past them, a connection sends
/// at once, as without holding.
const MAX_HELD: usize = 64;

impl Tcp {
    /// Runs `call` on connection `h` where it sits, then sends what it decided.
    pub(super) fn with_conn<R>(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        h: SocketHandle,
        call: impl FnOnce(&mut Connection) -> R,
    ) -> Result<R, TcpError> {
        let mut conn = match self.table.take(h) {
            Ok(TcpSocket::Conn(conn)) => conn,
            Ok(other) => {
                self.table.restore(h, other);
                return Err(TcpError::InvalidState);
            }
            Err(_) => return Err(TcpError::InvalidHandle),
        };
        let r = call(&mut conn);
        // Not held: a call may hand the connection a new handle (close) or free it
        // (abort), which a held handle would no longer find.
        self.flush(now, out, h, conn);
        Ok(r)
    }

    /// Sends everything connection `h` wants to send, then stores it back, or frees it
    /// when it is finished and nobody holds its handle.
    pub(super) fn flush(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        h: SocketHandle,
        mut conn: Box<Connection>,
    ) {
        // What the call that ran the connection changed, before what it sends.
        self.observe(now, &mut conn);
        for _ in 0..FLUSH_LIMIT {
            if out.transmit_room() == 0 {
                // Full: stop before taking another segment, and go on after the driver
                // has transmitted (see `blocked` in layer.rs).
                self.blocked.insert(h);
                self.blocked_since.get_or_insert(now);
                break;
            }
            let snd_max_before = conn.snd_max;
            let Some(seg) = conn.poll_transmit(now) else {
                break;
            };
            self.emit_segment(now, out, &conn, &seg);
            self.record_sent(now, &conn, &seg, snd_max_before);
        }
        // Sending can change the state too (a FIN: ESTABLISHED -> FIN-WAIT-1).
        self.observe(now, &mut conn);
        // poll_transmit's final `None` armed the timers; if the limit cut it short, arm
        // them here (it is idempotent).
        conn.schedule_ack(now);
        self.settle(now, h, conn);
    }

    /// Records in the event log what changed in `conn` since the log last looked.
    fn observe(&mut self, now: Instant, conn: &mut Connection) {
        if !self.events.is_enabled() {
            return;
        }
        let now_seen = conn.observation();
        let seen = core::mem::replace(&mut conn.observed, now_seen);
        let c: &Connection = conn;
        self.events
            .record_changes(seen, now_seen, c.passive, |kind| {
                c.event(now, kind, c.in_recovery)
            });
    }

    /// Records that `seg` was sent. `snd_max_before` is SND.MAX before the segment was
    /// built: a segment that occupies sequence space below it repeats what was sent.
    fn record_sent(&mut self, now: Instant, conn: &Connection, seg: &Segment, snd_max_before: Seq) {
        if !self.events.is_enabled() {
            return;
        }
        let repr = &seg.repr;
        let occupies = seg.data_len > 0 || repr.flags.has(Flags::SYN) || repr.flags.has(Flags::FIN);
        let kind = EventKind::Sent {
            seq: repr.seq.0,
            len: seg.data_len,
            flags: repr.flags,
            ack: repr.ack.0,
        };
        let retransmit = occupies && repr.seq.lt(snd_max_before);
        self.events.record(conn.event(now, kind, retransmit));
    }

    /// Flushes connection `h` where it sits in the table.
    pub(super) fn flush_handle(&mut self, now: Instant, out: &mut Outbound, h: SocketHandle) {
        match self.table.take(h) {
            Ok(TcpSocket::Conn(conn)) => self.flush(now, out, h, conn),
            Ok(other) => self.table.restore(h, other),
            Err(_) => {}
        }
    }

    /// Puts a connection back, or, when no application holds it and it is over (CLOSED,
    /// or TIME-WAIT which becomes a buffer-less entry, or a listener's child a reset sent
    /// back to LISTEN: its listener is the one that listens), frees it.
    fn settle(&mut self, now: Instant, h: SocketHandle, mut conn: Box<Connection>) {
        conn.reclaim_buffers(&mut self.pool);
        // The invariant hook (invariants.rs): after every event, in debug builds.
        #[cfg(debug_assertions)]
        if let Err(violation) = conn.check_invariants() {
            panic!(
                "TCP invariant violated on {} -> {} in {}: {violation}; {:?}",
                conn.local,
                conn.remote,
                conn.state,
                conn.details()
            );
        }
        let back_to_listen = conn.state == State::Listen && conn.parent.is_some();
        if conn.orphaned
            && (back_to_listen || matches!(conn.state, State::Closed | State::TimeWait))
        {
            if conn.state == State::TimeWait {
                self.time_wait.insert(now, &conn);
            }
            self.unregister(h, &conn);
            self.table.release(h);
            return;
        }
        self.timers.set(h, conn.poll_timeout());
        self.table.restore(h, TcpSocket::Conn(conn));
        // Whatever happened may have made it readable or writable, or ended it.
        self.touched.touch(h);
    }

    /// Removes a connection's registrations (demux, port, listener queues).
    fn unregister(&mut self, h: SocketHandle, conn: &Connection) {
        self.demux
            .disconnect(Protocol::Tcp, conn.local, conn.remote);
        self.ports.release(Protocol::Tcp, conn.local.port());
        self.binds.release(conn.local.port(), conn.holder());
        if let Some(l) = self.listener_mut(conn.parent) {
            l.forget(h);
        }
        self.timers.set(h, None);
        self.blocked.remove(&h);
    }

    /// Moves connection `h`, which the application has just closed but the stack goes on
    /// finishing (FIN-WAIT, LAST-ACK ...), to a new handle, so the application's `h` and
    /// every copy of it go stale at once. Does nothing if `h` is already freed.
    pub(super) fn rehandle(&mut self, h: SocketHandle) {
        let Some(conn) = self.conn(h) else { return };
        let (local, remote, parent, holder) = (conn.local, conn.remote, conn.parent, conn.holder());
        let Ok(socket) = self.table.remove(h) else {
            return;
        };
        self.demux.disconnect(Protocol::Tcp, local, remote);
        let Ok(new) = self.table.insert(socket) else {
            // Unreachable: `remove` just freed a slot. Were it otherwise, the connection
            // would be dropped without a word, as an evicted one is.
            self.ports.release(Protocol::Tcp, local.port());
            self.binds.release(local.port(), holder);
            self.timers.set(h, None);
            if let Some(l) = self.listener_mut(parent) {
                l.forget(h);
            }
            return;
        };
        self.demux.connect(Protocol::Tcp, local, remote, new);
        let deadline = self.timers.get(h);
        self.timers.set(h, None);
        self.timers.set(new, deadline);
        if self.blocked.remove(&h) {
            self.blocked.insert(new);
        }
        if let Some(l) = self.listener_mut(parent) {
            l.rename(h, new);
        }
    }

    /// Drops a connection without a word (an evicted half-open one).
    pub(super) fn discard(&mut self, h: SocketHandle) {
        match self.table.take(h) {
            Ok(TcpSocket::Conn(conn)) => {
                self.unregister(h, &conn);
                self.table.release(h);
            }
            Ok(other) => self.table.restore(h, other),
            Err(_) => {}
        }
    }

    /// Emits one segment of `conn`, copying its data straight from the send buffer. A
    /// segment of more than one MSS (TSO, `TcpConfig::tso`) goes to the link as one
    /// frame, with its checksum left for the link to complete, and counts as the
    /// segments the link cuts it into.
    fn emit_segment(&mut self, now: Instant, out: &mut Outbound, conn: &Connection, seg: &Segment) {
        let (src, dst) = (out.addr(), *conn.remote.ip());
        let hlen = seg.repr.header_len();
        let len = hlen + seg.data_len;
        let ttl = conn.ttl.unwrap_or(out.config().ttl);
        let mss = conn.send_mss();
        let (sent, segments) = if seg.data_len > mss {
            let sent = out.send_tcp_tso(now, dst, ttl, len, mss, |buf| {
                seg.repr.emit_partial(src, dst, seg.data_len, buf, |data| {
                    conn.read_payload(seg, data);
                });
            });
            (sent, seg.data_len.div_ceil(mss))
        } else {
            let sent = out.send_ipv4_ttl(now, dst, protocol::TCP, ttl, len, |buf| {
                seg.repr.emit_with(src, dst, seg.data_len, buf, |data| {
                    conn.read_payload(seg, data);
                });
            });
            (sent, 1)
        };
        if sent.is_ok() {
            self.counters.segments_sent += segments as u64;
        }
    }

    /// Emits a segment that belongs to no connection (a reset, a TIME-WAIT ACK).
    pub(super) fn emit_header(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        dst: Ipv4Addr,
        repr: &TcpRepr,
    ) {
        let src = out.addr();
        let len = repr.header_len();
        let sent = out.send_ipv4(now, dst, protocol::TCP, len, |buf| {
            repr.emit(src, dst, &[], buf);
        });
        if sent.is_ok() {
            self.counters.segments_sent += 1;
        }
    }
}

impl Connection {
    /// How the connection holds its port, for binding (`binds.rs`).
    pub(super) fn holder(&self) -> Holder {
        Holder {
            reuse: self.reuse_addr,
            listening: false,
        }
    }
}
