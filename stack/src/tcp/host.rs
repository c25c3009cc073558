//! How the stack hosts TCP: from an arriving segment to its connection (or listener, or
//! TIME-WAIT entry, or a reset), and from a connection's decisions back to the wire.
//!
//! A connection is taken out of the socket table while it is worked on, so the stack can
//! send on its behalf, and put back (or freed) afterwards.

use core::net::SocketAddrV4;
use std::collections::{BTreeSet, HashMap};

use log::debug;

use super::config::TcpConfig;
use super::error::TcpError;
use super::isn::IsnGenerator;
use super::seq::Seq;
use super::state::State;
use super::tcb::Tcb;
use crate::counters::RxDrop;
use crate::icmp::errors::{Origin, SoftError};
use crate::iface::Stack;
use crate::rng::Rng;
use crate::socket::{Protocol, Socket, SocketHandle};
use crate::time::{Duration, Instant};
use crate::wire::ipv4::protocol;
use crate::wire::tcp::{Flags, TcpRepr};
use crate::wire::{tcp as wire_tcp, WireError};

/// A connection in TIME-WAIT, without buffers (RFC 9293 3.10.7.4: all that remains is
/// to acknowledge a retransmitted FIN and to keep the 4-tuple from reuse for 2*MSL).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeWait {
    pub snd_nxt: Seq,
    pub rcv_nxt: Seq,
    pub until: Instant,
}

/// TCP's stack-wide state.
#[derive(Debug)]
pub(crate) struct TcpHost {
    pub config: TcpConfig,
    pub isn: IsnGenerator,
    pub time_wait: HashMap<(SocketAddrV4, SocketAddrV4), TimeWait>,
    /// Challenge ACKs sent in the current one-second period (RFC 5961 7).
    challenge_sent: u32,
    challenge_period: Instant,
    /// Connections with an armed timer, checked by `poll_timeout`/`handle_timeout`. A
    /// set, so `settle` after every segment costs O(log n), and ordered, so timers due at
    /// the same instant run in the same order on every replay.
    pub active: BTreeSet<SocketHandle>,
}

impl TcpHost {
    pub fn new(config: TcpConfig, rng: &mut Rng) -> TcpHost {
        TcpHost {
            config,
            isn: IsnGenerator::new(rng),
            time_wait: HashMap::new(),
            challenge_sent: 0,
            challenge_period: Instant::ZERO,
            active: BTreeSet::new(),
        }
    }

    /// RFC 5961 7: at most `challenge_ack_limit` challenge ACKs per second.
    fn allow_challenge(&mut self, now: Instant) -> bool {
        if now - self.challenge_period >= Duration::from_secs(1) {
            self.challenge_period = now;
            self.challenge_sent = 0;
        }
        self.challenge_sent += 1;
        self.challenge_sent <= self.config.challenge_ack_limit
    }
}

impl Stack {
    /// Delivers a TCP segment (RFC 9293 3.10.7).
    pub(crate) fn process_tcp(
        &mut self,
        now: Instant,
        origin: &Origin<'_>,
        body: &[u8],
    ) -> Result<(), RxDrop> {
        let ip = &origin.ip;
        // TCP is unicast only (RFC 1122 4.2.3.10).
        if self.is_broadcast(ip.dst) || origin.link_broadcast {
            return Err(RxDrop::TcpBroadcast);
        }
        let (seg, data) = TcpRepr::parse(ip.src, ip.dst, body).map_err(|e| match e {
            WireError::BadChecksum => RxDrop::TcpBadChecksum,
            _ => RxDrop::TcpMalformed,
        })?;
        let local = SocketAddrV4::new(ip.dst, seg.dst_port);
        let remote = SocketAddrV4::new(ip.src, seg.src_port);
        if seg.src_port == 0 || seg.dst_port == 0 {
            return Err(RxDrop::TcpMalformed);
        }
        if let Some(tw) = self.tcp.time_wait.get(&(local, remote)).copied() {
            if !self.time_wait_segment(now, local, remote, tw, &seg, data) {
                return Ok(());
            }
        }
        match self.sockets.demux.lookup(Protocol::Tcp, local, remote) {
            Some(h) => match self.sockets.table.get(h) {
                Ok(Socket::Tcp(tcb)) => {
                    // The handshake's last ACK while the listener's accept queue is full:
                    // drop it and stay in SYN-RECEIVED; our SYN-ACK retransmission draws
                    // the ACK again later, when `accept` may have made room. Linux does the
                    // same by default (tcp_abort_on_overflow = 0), so a burst of clients
                    // is slowed down rather than reset.
                    if tcb.state == State::SynReceived
                        && seg.flags.has(Flags::ACK)
                        && !seg.flags.has(Flags::RST)
                    {
                        if let Some(lh) = tcb.parent {
                            if self.accept_queue_full(lh) {
                                self.counters.tcp_accept_queue_overflows += 1;
                                return Err(RxDrop::TcpAcceptQueueFull);
                            }
                        }
                    }
                    self.tcp_segment(now, h, &seg, data);
                    Ok(())
                }
                Ok(Socket::TcpListener(_)) => self.listener_segment(now, h, local, remote, &seg),
                _ => Err(RxDrop::TcpNoSocket),
            },
            None => {
                // RFC 9293 3.10.7.1: CLOSED. Answer anything but a RST with a RST.
                self.send_reset_for(now, local, remote, &seg, data.len());
                Err(RxDrop::TcpNoSocket)
            }
        }
    }

    /// A segment for a TIME-WAIT entry. Returns true when it should go on to a listener
    /// (an acceptable new SYN, RFC 6191's rule without timestamps: beyond RCV.NXT).
    fn time_wait_segment(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        tw: TimeWait,
        seg: &TcpRepr,
        data: &[u8],
    ) -> bool {
        let key = (local, remote);
        if seg.flags.has(Flags::SYN) && !seg.flags.has(Flags::ACK) && seg.seq.gt(tw.rcv_nxt) {
            self.tcp.time_wait.remove(&key);
            return true;
        }
        if seg.flags.has(Flags::RST) {
            if seg.seq == tw.rcv_nxt {
                self.tcp.time_wait.remove(&key);
            }
            return false;
        }
        // RFC 9293 3.10.7.4 with the receive window closed (RCV.WND = 0): only an empty
        // segment at RCV.NXT is acceptable, and that bare ACK needs no answer (Linux's
        // tcp_timewait_state_process is silent too); answering it would have two
        // TIME-WAITs trade ACKs for as long as they live.
        if seg.segment_len(data.len()) == 0 && seg.seq == tw.rcv_nxt {
            return false;
        }
        // Anything else is unacceptable and gets an ACK (it tells a confused peer where
        // we are); a retransmitted FIN also restarts the 2*MSL wait.
        if seg.flags.has(Flags::FIN) {
            if let Some(e) = self.tcp.time_wait.get_mut(&key) {
                e.until = now + self.tcp.config.msl.saturating_mul(2);
            }
        }
        let ack = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq: tw.snd_nxt,
            ack: tw.rcv_nxt,
            flags: Flags::ACK,
            window: 0,
            ..TcpRepr::default()
        };
        self.emit_tcp(now, *remote.ip(), &ack, &[]);
        false
    }

    /// RFC 9293 3.10.7.2: a segment for a listening socket.
    fn listener_segment(
        &mut self,
        now: Instant,
        lh: SocketHandle,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seg: &TcpRepr,
    ) -> Result<(), RxDrop> {
        if seg.flags.has(Flags::RST) {
            return Err(RxDrop::TcpListenerIgnored);
        }
        if seg.flags.has(Flags::ACK) {
            // An ACK to a listener: <SEQ=SEG.ACK><CTL=RST>.
            self.send_reset_for(now, local, remote, seg, 0);
            return Err(RxDrop::TcpListenerIgnored);
        }
        if !seg.flags.has(Flags::SYN) {
            return Err(RxDrop::TcpListenerIgnored);
        }
        // With the accept queue full, a new connection could not be handed out anyway:
        // drop the SYN and let the client retry (Linux's tcp_conn_request does the same).
        if self.accept_queue_full(lh) {
            self.counters.tcp_accept_queue_overflows += 1;
            return Err(RxDrop::TcpAcceptQueueFull);
        }
        // Room in the SYN queue: evict the oldest half-open connection if full.
        let full = match self.sockets.table.get(lh) {
            Ok(Socket::TcpListener(l)) => l.syn_queue.len() >= self.tcp.config.syn_backlog,
            _ => return Err(RxDrop::TcpNoSocket),
        };
        if full {
            let oldest = match self.sockets.table.get_mut(lh) {
                Ok(Socket::TcpListener(l)) => {
                    l.evicted += 1;
                    l.syn_queue.pop_front()
                }
                _ => None,
            };
            if let Some(old) = oldest {
                self.tcp_discard(old);
                self.counters.tcp_syn_queue_evictions += 1;
            }
        }
        let iss = self.tcp.isn.isn(now, local, remote);
        let our_mss = self.max_ip_payload() - wire_tcp::HEADER_LEN;
        let mut tcb = Tcb::new(
            &self.tcp.config,
            local,
            remote,
            State::SynReceived,
            iss,
            our_mss,
            now,
        );
        tcb.irs = seg.seq;
        tcb.rcv_nxt = seg.seq + 1;
        tcb.rcv_adv = tcb.rcv_nxt;
        tcb.snd_wnd = usize::from(seg.window);
        tcb.max_snd_wnd = tcb.snd_wnd;
        tcb.snd_wl1 = seg.seq;
        tcb.snd_wl2 = seg.ack;
        tcb.set_peer_mss(seg);
        tcb.parent = Some(lh);
        // Nobody holds its handle until `accept` hands it out.
        tcb.orphaned = true;
        let Ok(h) = self.sockets.table.insert(Socket::Tcp(Box::new(tcb))) else {
            return Err(RxDrop::TcpNoRoom);
        };
        self.sockets.demux.connect(Protocol::Tcp, local, remote, h);
        self.sockets.ports.hold(Protocol::Tcp, local.port());
        if let Ok(Socket::TcpListener(l)) = self.sockets.table.get_mut(lh) {
            l.syn_queue.push_back(h);
        }
        debug!("tcp {local} <- {remote}: SYN, LISTEN -> SYN-RECEIVED");
        self.tcp_flush_handle(now, h);
        Ok(())
    }

    /// Runs a segment through connection `h`, then sends what it decided.
    fn tcp_segment(&mut self, now: Instant, h: SocketHandle, seg: &TcpRepr, data: &[u8]) {
        let Ok(Socket::Tcp(mut tcb)) = self.sockets.table.take(h) else {
            return;
        };
        let out = tcb.on_segment(now, seg, data);
        if let Some(rst) = out.rst {
            self.emit_tcp(now, *tcb.remote.ip(), &rst, &[]);
        }
        if out.challenge_ack && self.tcp.allow_challenge(now) {
            tcb.ack_now = true;
            self.counters.tcp_challenge_acks += 1;
        }
        if out.established {
            if let Some(lh) = tcb.parent {
                self.promote(lh, h);
            }
        }
        self.tcp_flush(now, h, tcb);
    }

    /// A half-open connection completed its handshake: move it to the accept queue (the
    /// caller checked there is room) and wake whoever waits in `accept`.
    fn promote(&mut self, lh: SocketHandle, h: SocketHandle) {
        if let Ok(Socket::TcpListener(l)) = self.sockets.table.get_mut(lh) {
            l.syn_queue.retain(|&x| x != h);
            l.accept_queue.push_back(h);
            self.touch(lh);
        }
    }

    /// True when listener `lh` holds as many established connections as its backlog.
    fn accept_queue_full(&self, lh: SocketHandle) -> bool {
        match self.sockets.table.get(lh) {
            Ok(Socket::TcpListener(l)) => l.accept_queue.len() >= l.backlog,
            _ => false,
        }
    }

    /// Sends everything connection `h` wants to send, then stores it back, or frees it
    /// when it is finished and nobody holds its handle.
    pub(crate) fn tcp_flush(&mut self, now: Instant, h: SocketHandle, mut tcb: Box<Tcb>) {
        let cfg = self.tcp.config.clone();
        for _ in 0..4096 {
            let Some(seg) = tcb.next_segment(now, &cfg) else {
                break;
            };
            self.emit_segment(now, &mut tcb, &seg);
        }
        tcb.schedule_ack(now, &cfg);
        self.settle(now, h, tcb);
    }

    /// Flushes connection `h` where it sits in the table.
    pub(crate) fn tcp_flush_handle(&mut self, now: Instant, h: SocketHandle) {
        if let Ok(Socket::Tcp(tcb)) = self.sockets.table.take(h) {
            self.tcp_flush(now, h, tcb);
        }
    }

    /// Puts a connection back, or, when no application holds it and it is over (CLOSED,
    /// or TIME-WAIT which becomes a buffer-less entry), frees it.
    fn settle(&mut self, now: Instant, h: SocketHandle, tcb: Box<Tcb>) {
        if tcb.orphaned && matches!(tcb.state, State::Closed | State::TimeWait) {
            if tcb.state == State::TimeWait {
                let until = tcb
                    .timers
                    .get(super::timer::Timer::Close)
                    .unwrap_or(now + self.tcp.config.msl.saturating_mul(2));
                self.tcp.time_wait.insert(
                    (tcb.local, tcb.remote),
                    TimeWait {
                        snd_nxt: tcb.snd_nxt,
                        rcv_nxt: tcb.rcv_nxt,
                        until,
                    },
                );
            }
            self.unregister(h, &tcb);
            self.sockets.table.release(h);
            return;
        }
        if tcb.timers.next().is_some() {
            self.tcp.active.insert(h);
        }
        self.sockets.table.restore(h, Socket::Tcp(tcb));
        // Whatever happened may have made it readable or writable, or ended it.
        self.touch(h);
    }

    /// Removes a connection's registrations (demux, port, listener queues).
    fn unregister(&mut self, h: SocketHandle, tcb: &Tcb) {
        self.sockets
            .demux
            .disconnect(Protocol::Tcp, tcb.local, tcb.remote);
        self.sockets.ports.release(Protocol::Tcp, tcb.local.port());
        if let Some(lh) = tcb.parent {
            if let Ok(Socket::TcpListener(l)) = self.sockets.table.get_mut(lh) {
                l.forget(h);
            }
        }
        self.tcp.active.remove(&h);
    }

    /// Moves connection `h`, which the application has just closed but the stack goes on
    /// finishing (FIN-WAIT, LAST-ACK ...), to a new handle, so the application's `h` and
    /// every copy of it go stale at once. Does nothing if `h` is already freed.
    pub(crate) fn tcp_rehandle(&mut self, h: SocketHandle) {
        let (local, remote, parent) = match self.sockets.table.get(h) {
            Ok(Socket::Tcp(t)) => (t.local, t.remote, t.parent),
            _ => return,
        };
        let Ok(socket) = self.sockets.table.remove(h) else {
            return;
        };
        self.sockets.demux.disconnect(Protocol::Tcp, local, remote);
        let Ok(new) = self.sockets.table.insert(socket) else {
            // Unreachable: `remove` just freed a slot. Were it otherwise, the connection
            // would be dropped without a word, as an evicted one is.
            self.sockets.ports.release(Protocol::Tcp, local.port());
            self.tcp.active.remove(&h);
            if let Some(l) = self.listener_mut(parent) {
                l.forget(h);
            }
            return;
        };
        self.sockets
            .demux
            .connect(Protocol::Tcp, local, remote, new);
        if self.tcp.active.remove(&h) {
            self.tcp.active.insert(new);
        }
        if let Some(l) = self.listener_mut(parent) {
            let queues = l.syn_queue.iter_mut().chain(l.accept_queue.iter_mut());
            for q in queues.filter(|q| **q == h) {
                *q = new;
            }
        }
    }

    fn listener_mut(&mut self, lh: Option<SocketHandle>) -> Option<&mut super::listen::Listener> {
        match self.sockets.table.get_mut(lh?) {
            Ok(Socket::TcpListener(l)) => Some(l),
            _ => None,
        }
    }

    /// Drops a connection without a word (an evicted half-open one).
    pub(crate) fn tcp_discard(&mut self, h: SocketHandle) {
        if let Ok(Socket::Tcp(tcb)) = self.sockets.table.take(h) {
            self.unregister(h, &tcb);
            self.sockets.table.release(h);
        }
    }

    /// Emits one segment of `tcb`, copying its data straight from the send buffer.
    fn emit_segment(&mut self, now: Instant, tcb: &mut Tcb, seg: &super::output::Segment) {
        let src = self.config.addr;
        let dst = *tcb.remote.ip();
        let len = seg.repr.header_len() + seg.data_len;
        let send = &tcb.send;
        let sent = self.send_ipv4(now, dst, protocol::TCP, len, |buf| {
            seg.repr.emit_with(src, dst, seg.data_len, buf, |data| {
                send.read_at(seg.data_offset, data);
            });
        });
        if sent.is_ok() {
            self.counters.tcp_segments_sent += 1;
        }
    }

    /// Emits a segment outside any connection's flow (a reset).
    pub(crate) fn tcp_send_raw(&mut self, now: Instant, dst: core::net::Ipv4Addr, repr: &TcpRepr) {
        self.emit_tcp(now, dst, repr, &[]);
    }

    /// Emits a segment that belongs to no connection (a reset, a TIME-WAIT ACK).
    fn emit_tcp(&mut self, now: Instant, dst: core::net::Ipv4Addr, repr: &TcpRepr, data: &[u8]) {
        let src = self.config.addr;
        let len = repr.header_len() + data.len();
        if self
            .send_ipv4(now, dst, protocol::TCP, len, |buf| {
                repr.emit(src, dst, data, buf);
            })
            .is_ok()
        {
            self.counters.tcp_segments_sent += 1;
        }
    }

    /// RFC 9293 3.10.7.1: the reset for a segment nobody takes. Never for a RST. If the
    /// segment had ACK: <SEQ=SEG.ACK><CTL=RST>; else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    fn send_reset_for(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seg: &TcpRepr,
        data_len: usize,
    ) {
        if seg.flags.has(Flags::RST) {
            return;
        }
        let mut rst = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            ..TcpRepr::default()
        };
        if seg.flags.has(Flags::ACK) {
            rst.seq = seg.ack;
            rst.flags = Flags::RST;
        } else {
            rst.seq = Seq(0);
            rst.ack = seg.seq + seg.segment_len(data_len);
            rst.flags = Flags::RST | Flags::ACK;
        }
        self.counters.tcp_resets_sent += 1;
        self.emit_tcp(now, *remote.ip(), &rst, &[]);
    }

    /// The earliest TCP timer (connections and TIME-WAIT entries).
    pub(crate) fn tcp_poll_timeout(&self) -> Option<Instant> {
        let conns = self
            .tcp
            .active
            .iter()
            .filter_map(|&h| match self.sockets.table.get(h) {
                Ok(Socket::Tcp(t)) => t.timers.next(),
                _ => None,
            });
        let tw = self.tcp.time_wait.values().map(|t| t.until);
        conns.chain(tw).min()
    }

    /// Runs every TCP timer due at `now`.
    pub(crate) fn tcp_handle_timeout(&mut self, now: Instant) {
        self.tcp.time_wait.retain(|_, t| now < t.until);
        let due: Vec<SocketHandle> = self
            .tcp
            .active
            .iter()
            .copied()
            .filter(|&h| match self.sockets.table.get(h) {
                Ok(Socket::Tcp(t)) => t.timers.next().is_some_and(|at| at <= now),
                _ => false,
            })
            .collect();
        // Forget connections whose timers are all disarmed (the due ones are armed).
        self.tcp.active.retain(
            |&h| matches!(self.sockets.table.get(h), Ok(Socket::Tcp(t)) if t.timers.next().is_some()),
        );
        let cfg = self.tcp.config.clone();
        for h in due {
            let Ok(Socket::Tcp(mut tcb)) = self.sockets.table.take(h) else {
                continue;
            };
            while let Some(timer) = tcb.timers.expired(now) {
                if let Some(probe) = tcb.on_timer(now, &cfg, timer) {
                    self.emit_segment(now, &mut tcb, &probe);
                }
            }
            self.tcp.active.remove(&h);
            self.tcp_flush(now, h, tcb);
        }
    }

    /// An ICMP error about a segment we sent (RFC 5927, RFC 1122 4.2.3.9). Only errors
    /// quoting a sequence number in flight count, so an off-path attacker must guess it.
    /// Hard errors (port or protocol unreachable) abort a connection still in SYN-SENT;
    /// later they, like every soft error, are only remembered, never fatal. Fragmentation
    /// needed lowers the MSS (RFC 1191).
    pub(crate) fn tcp_icmp_error(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        error: SoftError,
        quoted_seq: Option<Seq>,
    ) -> bool {
        let Some(h) = self.sockets.demux.lookup(Protocol::Tcp, local, remote) else {
            return false;
        };
        let Ok(Socket::Tcp(tcb)) = self.sockets.table.get_mut(h) else {
            return false;
        };
        let Some(seq) = quoted_seq else { return false };
        // RFC 5927 4.1: believe only errors quoting a sequence number we have in flight.
        let in_flight = tcb.snd_una.le(seq) && seq.lt(tcb.snd_max);
        let our_syn = tcb.state == State::SynSent && seq == tcb.iss;
        if !in_flight && !our_syn {
            return false;
        }
        match (error, tcb.state) {
            (SoftError::ConnectionRefused, State::SynSent) => tcb.fail(TcpError::ConnectionRefused),
            (SoftError::MessageTooBig(mtu), _) if mtu >= 68 => {
                let mss = usize::from(mtu).saturating_sub(40).max(64);
                if mss < tcb.mss {
                    tcb.mss = mss;
                    tcb.snd_nxt = tcb.snd_una;
                }
            }
            (SoftError::HostUnreachable, State::SynSent)
            | (SoftError::NetworkUnreachable, State::SynSent) => {
                // Soft: remembered, reported if the connect finally times out.
                tcb.error = tcb.error.or(Some(TcpError::HostUnreachable));
            }
            _ => {}
        }
        // Send what changed (a smaller resend) and wake the socket's waiters.
        self.tcp_flush_handle(now, h);
        true
    }
}
