//! What a connection sends, and its timers: RFC 9293 3.8 (data communication), RFC 1122
//! 4.2.3.4 (Nagle and the sender's silly window rule), RFC 6298 (retransmission), RFC
//! 9293 3.8.6.1 (zero-window probes), RFC 1122 4.2.3.6 (keep-alive).

use super::buffer_pool::BufferPool;
use super::connection::{Connection, MAX_WINDOW};
use super::error::TcpError;
use super::options::Timestamps;
use super::segment::Segment;
use super::state::State;
use super::timer::Timer;
use crate::outbound::MAX_TSO_PAYLOAD;
use crate::time::{Duration, Instant};
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, Options, TcpRepr};

/// How long a zero-window probe waits at most between tries.
const MAX_PERSIST: Duration = Duration::from_secs(60);

impl Connection {
    /// The next segment this connection wants to send at `now`, if any. Call until it
    /// returns `None` after every other call; the `None` also arms the timers that wait
    /// for what was sent (the delayed ACK, keep-alive).
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Segment> {
        if !self.pending.is_empty() {
            return Some(self.pending.remove(0));
        }
        let seg = self.next_segment(now);
        if seg.is_none() {
            self.schedule_ack(now);
            if !self.pooled && self.quiet() {
                self.send.release_if_empty();
                self.recv.release_if_empty();
            }
        }
        seg
    }

    /// Whether nothing is in flight or owed: no segment to retransmit or probe, no
    /// delayed ACK. A busy connection keeps its rings instead of re-growing them at
    /// every drain.
    fn quiet(&self) -> bool {
        let busy = [Timer::Retransmit, Timer::Persist, Timer::DelayedAck];
        !busy.iter().any(|&t| self.timers.is_set(t))
    }

    /// Once the connection is quiet, moves the storage of its empty buffers into `pool`
    /// (which frees what it does not keep), so an idle connection holds no buffer memory.
    /// A stand-alone connection does this itself whenever
    /// [`poll_transmit`](Connection::poll_transmit) runs out of segments; the stack does
    /// it for its connections with its shared pool.
    pub fn reclaim_buffers(&mut self, pool: &mut BufferPool) {
        if self.quiet() {
            if let Some(ring) = self.send.take_storage_if_empty() {
                pool.put(ring);
            }
            if let Some(ring) = self.recv.take_storage_if_empty() {
                pool.put(ring);
            }
        }
    }

    /// Gives the receive buffer a ring from `pool` if it has none, before data arrives.
    pub fn lend_recv_storage(&mut self, pool: &mut BufferPool) {
        if !self.recv.has_storage() {
            if let Some(ring) = pool.take(self.recv.capacity()) {
                if let Some(back) = self.recv.adopt_storage(ring) {
                    pool.put(back);
                }
            }
        }
    }

    /// Gives the send buffer a ring from `pool` if it has none, before the application
    /// writes.
    pub fn lend_send_storage(&mut self, pool: &mut BufferPool) {
        if !self.send.has_storage() {
            if let Some(ring) = pool.take(self.send.capacity()) {
                if let Some(back) = self.send.adopt_storage(ring) {
                    pool.put(back);
                }
            }
        }
    }

    /// Copies the data of `seg`, a segment [`poll_transmit`](Connection::poll_transmit)
    /// just returned, into `buf`, which must be `seg.data_len` bytes long.
    pub fn read_payload(&self, seg: &Segment, buf: &mut [u8]) {
        self.send.read_at(seg.data_offset, buf);
    }

    /// The earliest timer deadline: call [`handle_timeout`](Connection::handle_timeout)
    /// then, if nothing arrives first. `None` when no timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Runs every timer due at `now`; harmless to call early. Then call
    /// [`poll_transmit`](Connection::poll_transmit).
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.expired(now) {
            if let Some(probe) = self.on_timer(now, timer) {
                self.push_pending(probe);
            }
        }
    }

    /// The next segment to build now, if any.
    fn next_segment(&mut self, now: Instant) -> Option<Segment> {
        match self.state {
            State::Closed | State::Listen => return None,
            // Our SYN, first or again (a timeout rewound SND.NXT to ISS); also after a
            // CLOSE in SYN-RECEIVED moved us on before the handshake's ACK came.
            _ if !self.syn_acked && self.snd_nxt == self.iss => return Some(self.syn(now)),
            State::SynSent => return None,
            _ => {}
        }
        if !self.syn_acked {
            // SYN-RECEIVED, or a CLOSE there sent our FIN before the handshake's ACK.
            return self
                .fin_before_handshake(now)
                .or_else(|| self.ack_only(now));
        }
        if let Some(seg) = self.data_segment(now) {
            return Some(seg);
        }
        self.ack_only(now)
    }

    fn syn(&mut self, now: Instant) -> Segment {
        let mut flags = Flags::SYN;
        let mut ack = Seq(0);
        if self.state != State::SynSent {
            // We have the peer's SYN: a SYN,ACK.
            flags = flags | Flags::ACK;
            ack = self.rcv_nxt;
        }
        self.snd_nxt = self.iss + 1;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        // Karn (RFC 6298 3): time the SYN only when it is sent the first time.
        if self.retries == 0 {
            self.sampler.start(self.snd_nxt, now);
        }
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        // RFC 7323 2.2: the window of a SYN is never scaled.
        let window = self.advertised_window().min(MAX_WINDOW);
        self.rcv_adv = self.rcv_nxt + window;
        self.ack_now = false;
        self.counters.segments_out += 1;
        Segment {
            repr: TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq: self.iss,
                ack,
                flags,
                window: window as u16,
                urgent: 0,
                options: self.syn_options(now),
            },
            data_offset: 0,
            data_len: 0,
        }
    }

    /// The options of our SYN or SYN,ACK. RFC 9293 3.7.1: our MSS, always. A SYN offers
    /// what our config enables; a SYN,ACK answers only what the peer's SYN offered
    /// (RFC 7323 2.2, 3.2; RFC 2018 2).
    fn syn_options(&self, now: Instant) -> Options {
        let cfg = &self.config;
        let answering = self.state != State::SynSent;
        let agreed = self.negotiated;
        let scale = if answering {
            agreed.window_scaling
        } else {
            cfg.window_scaling
        };
        let stamp = if answering {
            agreed.timestamps
        } else {
            cfg.timestamps
        };
        let sack = if answering { agreed.sack } else { cfg.sack };
        let echo = self.ts.map_or(0, |t| t.recent);
        Options {
            mss: Some(self.our_mss.min(usize::from(u16::MAX)) as u16),
            window_scale: scale.then_some(self.our_shift),
            sack_permitted: sack,
            timestamps: stamp.then(|| (Timestamps::val(self.ts_offset(), now), echo)),
            ..Options::default()
        }
    }

    /// Our FIN at ISS + 1, right after our SYN,ACK, when a CLOSE in SYN-RECEIVED queued
    /// it (RFC 9293 3.10.4: "form a FIN segment and send it, and enter FIN-WAIT-1") and
    /// the handshake's ACK has not come yet. No data can precede it: SEND takes none
    /// before ESTABLISHED.
    fn fin_before_handshake(&mut self, now: Instant) -> Option<Segment> {
        let fin = self.iss + 1;
        if !self.fin_queued || self.snd_nxt != fin || !self.send.is_empty() {
            return None;
        }
        self.snd_nxt = fin + 1;
        self.snd_max = self.snd_max.max(self.snd_nxt);
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        Some(self.segment(now, fin, Flags::FIN | Flags::ACK, 0, 0))
    }

    /// A segment of new or retransmitted data, possibly carrying our FIN.
    fn data_segment(&mut self, now: Instant) -> Option<Segment> {
        if !self.syn_acked || matches!(self.state, State::Closed | State::TimeWait) {
            return None;
        }
        if self.retransmit_first {
            self.retransmit_first = false;
            if let Some(seg) = self.first_unacked(now) {
                return Some(seg);
            }
        }
        // RFC 6675 5 (C): in SACK recovery, send while cwnd - pipe >= 1 SMSS: the lost
        // holes first (NextSeg rule 1), then new data.
        let sack_recovery = (self.in_recovery || self.rto_recovery) && self.negotiated.sack;
        let flight = if sack_recovery {
            self.scoreboard
                .pipe(self.snd_una, self.snd_max, self.send_mss())
        } else {
            self.flight_size()
        };
        if sack_recovery {
            if flight + self.send_mss() > self.cc.cwnd() {
                return None;
            }
            if let Some(seg) = self.next_lost_segment(now) {
                return Some(seg);
            }
        }
        let offset = self.snd_nxt - self.snd_una;
        let fin_pending = self.fin_queued && !self.fin_acked && !self.fin_sent();
        if offset > self.send.len() {
            return None; // only the FIN is beyond the data, and it is out
        }
        let unsent = self.send.len() - offset;
        // The congestion window limits what is in the network, the peer's window what
        // lies beyond SND.UNA.
        let usable = (self.cc.cwnd() + self.limited_transmit())
            .saturating_sub(flight)
            .min(self.snd_wnd.saturating_sub(self.flight_size()));
        let full = self.send_mss();
        let len = unsent.min(self.burst()).min(usable);
        // Several segments at once for a link that segments them (TSO): whole segments
        // only, unless this is the end of the data, so the link cuts no small segment
        // that Nagle's rule below would have held.
        let len = if len > full && len < unsent {
            len - len % full
        } else {
            len
        };
        let with_fin = fin_pending && len == unsent;
        let held = if len == 0 && !with_fin {
            true
        } else if len > 0 && len < full && !with_fin && !self.force_send {
            // RFC 1122 4.2.3.4: Nagle's algorithm: while data is unacknowledged, hold a
            // small segment until it fills or everything is acknowledged; and the
            // sender's silly window rule: send less than an MSS only if it is all we
            // have, or at least half the largest window the peer has offered.
            (!self.nodelay && flight > 0) || (len < unsent && len < self.max_snd_wnd / 2)
        } else {
            false
        };
        if held {
            // With nothing in flight no ACK will come to wake us: a closed window needs
            // probing (RFC 9293 3.8.6.1), and a small one the SWS override timeout (RFC
            // 1122 4.2.3.4 (d)); the persist timer serves both.
            if unsent > 0 && flight == 0 && !self.timers.is_set(Timer::Persist) {
                self.timers
                    .set(Timer::Persist, now + self.persist_interval());
            }
            return None;
        }
        self.force_send = false;
        let seq = self.snd_nxt;
        let mut flags = Flags::ACK;
        if len > 0 && len == unsent {
            flags = flags | Flags::PSH;
        }
        if with_fin {
            flags = flags | Flags::FIN;
        }
        let retransmit = seq.lt(self.snd_max);
        if !retransmit && self.outstanding() == 0 && now - self.last_send > self.rtt.rto() {
            // RFC 5681 4.1: after an idle period longer than an RTO, restart from the
            // restart window rather than bursting a stale cwnd.
            let mss = self.mss;
            self.cc.on_idle_restart(now, self.rtt.rto(), mss);
        }
        if !retransmit {
            self.last_send = now;
        }
        self.snd_nxt += len + usize::from(with_fin);
        if self.snd_nxt.gt(self.snd_max) {
            self.snd_max = self.snd_nxt;
        }
        if !retransmit {
            self.sampler.start(self.snd_nxt, now);
        }
        if !self.timers.is_set(Timer::Retransmit) {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        // RFC 7661's "validated" window, Linux's tcp_cwnd_validate: remember the largest
        // flight of this window of data; a new window starts once it is acknowledged.
        let flight = self.flight_size();
        if !self.snd_una.lt(self.max_flight_until) || flight > self.max_flight {
            self.max_flight = flight;
            self.max_flight_until = self.snd_nxt;
        }
        Some(self.segment(now, seq, flags, offset, len))
    }

    /// The most new data one segment handed to the link may carry: one MSS, or for a link
    /// doing TSO as many whole MSS as fit 64 KB (`outbound::MAX_TSO_PAYLOAD`), which the
    /// link cuts into MSS-sized segments on the wire.
    fn burst(&self) -> usize {
        let full = self.send_mss();
        if self.config.tso {
            (MAX_TSO_PAYLOAD / full).max(1) * full
        } else {
            full
        }
    }

    /// RFC 3042 Limited Transmit: on each of the first two duplicate ACKs, one more
    /// full segment of new data may go out beyond cwnd (cwnd itself unchanged), so a
    /// small window still draws the three duplicates fast retransmit needs.
    fn limited_transmit(&self) -> usize {
        if self.in_recovery || self.rto_recovery {
            return 0;
        }
        self.dup_acks.min(2) as usize * self.send_mss()
    }

    /// The segment at SND.UNA again (data, or our FIN if only it is unacknowledged).
    fn first_unacked(&mut self, now: Instant) -> Option<Segment> {
        let data = self.outstanding().min(self.send.len()).min(self.send_mss());
        let fin = self.fin_queued
            && !self.fin_acked
            && self.snd_max.gt(self.fin_seq())
            && data == self.send.len();
        if data == 0 && !fin {
            return None;
        }
        let mut flags = Flags::ACK;
        if fin {
            flags = flags | Flags::FIN;
        }
        let seq = self.snd_una;
        if self.negotiated.sack {
            self.scoreboard.retransmitted(seq + data + usize::from(fin));
        }
        self.restart_timer_for_head(now);
        Some(self.segment(now, seq, flags, 0, data))
    }

    /// The segment at SND.UNA was just resent: its acknowledgment is a round trip
    /// away, so the retransmission timer restarts from now (as Linux does when it
    /// resends the head). Left running from the last new ACK, which came about a round
    /// trip before the loss was found, it would fire just as the repair arrives whenever
    /// the RTO is near twice the round trip (a 200 ms RTO on a 100 ms path).
    fn restart_timer_for_head(&mut self, now: Instant) {
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }

    /// RFC 6675 NextSeg rule 1: the first lost hole not yet retransmitted in this
    /// recovery, one segment of it (with our FIN if the hole reaches it).
    fn next_lost_segment(&mut self, now: Instant) -> Option<Segment> {
        let (seq, len) = self
            .scoreboard
            .next_lost(self.snd_una, self.snd_max, self.send_mss())?;
        let offset = seq - self.snd_una;
        // Never past the peer's window, even if it shrank since the first transmission
        // (RFC 9293 3.8.6.2.1: the receiver would drop it; a closed window is probed by
        // the persist timer instead).
        let room = self.snd_wnd.saturating_sub(offset);
        let data = len.min(self.send.len().saturating_sub(offset)).min(room);
        let fin = self.fin_queued
            && !self.fin_acked
            && offset + data == self.send.len()
            && len > data
            && room > data;
        if data == 0 && !fin {
            return None;
        }
        self.scoreboard.retransmitted(seq + data + usize::from(fin));
        self.counters.retransmits += 1;
        if seq == self.snd_una {
            self.restart_timer_for_head(now);
        }
        let mut flags = Flags::ACK;
        if fin {
            flags = flags | Flags::FIN;
        }
        Some(self.segment(now, seq, flags, offset, data))
    }

    /// A bare ACK, if one is owed.
    fn ack_only(&mut self, now: Instant) -> Option<Segment> {
        if !self.ack_now {
            return None;
        }
        Some(self.segment(now, self.ack_seq(), Flags::ACK, 0, 0))
    }

    /// The sequence number of a bare ACK: SND.MAX, which is RFC 9293's SND.NXT (ours is
    /// rewound by a retransmission timeout, and a zero-window probe's byte counts in
    /// SND.MAX only). From the rewound SND.NXT, or from the edge of a closed window
    /// before a probe byte the peer took, a bare ACK lies before the peer's RCV.NXT: the
    /// peer drops it as old and answers with an ACK of its own (3.10.7.4), and when its
    /// bare ACKs lie before ours in the same way, the two trade ACKs that neither ever
    /// processes.
    fn ack_seq(&self) -> Seq {
        self.snd_max
    }

    fn segment(
        &mut self,
        now: Instant,
        seq: Seq,
        flags: Flags,
        data_offset: usize,
        data_len: usize,
    ) -> Segment {
        let field = self.window_field();
        let shift = self.negotiated.rcv_shift;
        // The invariant hook's per-segment check (invariants.rs), in debug builds.
        #[cfg(debug_assertions)]
        if let Err(violation) =
            super::invariants::check_window_edge(self.rcv_adv, self.rcv_nxt, field, shift)
        {
            panic!("{} -> {}: {violation}", self.local, self.remote);
        }
        self.rcv_adv = self
            .rcv_adv
            .max(self.rcv_nxt + (usize::from(field) << shift));
        // Every segment carries our ACK, so whatever was owed is paid.
        self.ack_now = false;
        self.unacked_segments = 0;
        self.timers.stop(Timer::DelayedAck);
        // A TSO segment leaves as several on the wire: count those.
        self.counters.segments_out += data_len.div_ceil(self.send_mss()).max(1) as u64;
        let mut options = Options::default();
        if let Some(ts) = &mut self.ts {
            // RFC 7323 3.2: once agreed, every segment carries TSval and TS.Recent; and
            // 4.3 (2): remember the ACK it carries as Last.ACK.sent.
            options.timestamps = Some((Timestamps::val(ts.offset, now), ts.recent));
            ts.last_ack_sent = self.rcv_nxt;
        }
        if self.negotiated.sack && !flags.has(Flags::RST) {
            // RFC 2018 3: as many blocks as fit in the 40 bytes of options (three beside
            // timestamps, else four), and in the peer's MSS beside the data: a block is
            // 8 bytes after a 16-byte base (nop,nop,TS and nop,nop,SACK kind and length)
            // or a 4-byte one (nop,nop,kind,length).
            let base = if options.timestamps.is_some() { 16 } else { 4 };
            let room = self.mss.saturating_sub(data_len).saturating_sub(base) / 8;
            let max = if options.timestamps.is_some() { 3 } else { 4 };
            options.sack = self
                .sack_report
                .blocks(self.rcv_nxt, &self.recv, max.min(room));
        }
        Segment {
            repr: TcpRepr {
                src_port: self.local.port(),
                dst_port: self.remote.port(),
                seq,
                ack: self.rcv_nxt,
                flags,
                window: field,
                urgent: 0,
                options,
            },
            data_offset,
            data_len,
        }
    }

    /// The window field of our next segment (RFC 7323 2.3): the window shifted right by
    /// our shift, and never less than the window already offered, shifted the same way.
    /// Both round down, so the right edge can move left by less than one unit of the
    /// scale, the retraction RFC 7323 2.4 allows, and never right of the free space.
    /// (Rounding the offered window up instead, as before, moved the edge up to one unit
    /// right at each segment, until it promised bytes the buffer could not hold: found
    /// by the invariant hook, regression test in stack/tests/tcp_window_edge.rs.)
    fn window_field(&self) -> u16 {
        let shift = self.negotiated.rcv_shift;
        let window = self.advertised_window();
        let offered = self.rcv_wnd();
        let field = (window >> shift).max(offered >> shift);
        field.min(MAX_WINDOW) as u16
    }

    /// Arms the timers that wait on what was just sent or received: the delayed ACK
    /// when data arrived that we have not acknowledged yet, keep-alive, and the
    /// FIN-WAIT-2 limit of a closed connection.
    pub(crate) fn schedule_ack(&mut self, now: Instant) {
        let cfg = &self.config;
        if self.unacked_segments > 0 && !self.ack_now && !self.timers.is_set(Timer::DelayedAck) {
            self.timers.set(Timer::DelayedAck, now + cfg.delayed_ack);
        }
        if self.keepalive && self.state.is_synchronized() && !self.timers.is_set(Timer::Keepalive) {
            self.timers
                .set(Timer::Keepalive, self.last_heard + cfg.keepalive_idle);
        }
        if self.orphaned && self.state == State::FinWait2 && !self.timers.is_set(Timer::Close) {
            self.timers.set(Timer::Close, now + cfg.fin_wait2_timeout);
        }
    }

    fn persist_interval(&self) -> Duration {
        let base = self.rtt.rto();
        let d = base.saturating_mul(1u64 << self.persist_backoff.min(16));
        d.min(MAX_PERSIST)
    }

    /// Runs one expired timer. Returns a keep-alive or window probe to send, if any.
    fn on_timer(&mut self, now: Instant, timer: Timer) -> Option<Segment> {
        match timer {
            Timer::Retransmit => {
                self.retransmit_timeout(now);
                None
            }
            Timer::DelayedAck => {
                if self.unacked_segments > 0 {
                    self.ack_now = true;
                }
                None
            }
            Timer::Persist => {
                self.persist_backoff += 1;
                if self.flight_size() > 0 {
                    return None;
                }
                let offset = self.snd_nxt - self.snd_una;
                if offset >= self.send.len() {
                    return None;
                }
                if self.snd_wnd > 0 {
                    // RFC 1122 4.2.3.4 (d): the override timeout; send what the window allows.
                    self.force_send = true;
                    return None;
                }
                // RFC 1122 4.2.2.17: probe for as long as the peer answers; a peer silent for
                // as many probes as a retransmission may take (`data_retries`) is gone.
                if self.probes_unanswered >= self.config.data_retries {
                    self.fail(TcpError::TimedOut);
                    return None;
                }
                self.probes_unanswered += 1;
                // RFC 9293 3.8.6.1: send one byte past the closed window, and back off.
                self.timers
                    .set(Timer::Persist, now + self.persist_interval());
                let seq = self.snd_nxt;
                // The byte is in sequence space: if the window had opened (and the update
                // was lost) the peer takes it and acknowledges SND.NXT + 1, which must be
                // an acceptable ACK (RFC 9293 3.10.7.4, SEG.ACK =< the highest SND.NXT)
                // rather than "an ACK for data never sent" to drop with a challenge ACK.
                self.snd_max = self.snd_max.max(seq + 1);
                Some(self.segment(now, seq, Flags::ACK, offset, 1))
            }
            Timer::Keepalive => {
                let cfg = &self.config;
                let (idle, interval, probes) = (
                    cfg.keepalive_idle,
                    cfg.keepalive_interval,
                    cfg.keepalive_probes,
                );
                if !self.keepalive || !self.state.is_synchronized() {
                    return None;
                }
                let idle_until = self.last_heard + idle;
                if now < idle_until {
                    self.timers.set(Timer::Keepalive, idle_until);
                    return None;
                }
                if self.keepalive_probes >= probes {
                    self.fail(TcpError::TimedOut);
                    return None;
                }
                self.keepalive_probes += 1;
                self.timers.set(Timer::Keepalive, now + interval);
                // RFC 1122 4.2.3.6: a probe is an ACK with SEG.SEQ = SND.NXT - 1.
                let seq = Seq(self.snd_nxt.0.wrapping_sub(1));
                Some(self.segment(now, seq, Flags::ACK, 0, 0))
            }
            Timer::Close => {
                // TIME-WAIT over, or an orphan gave up waiting in FIN-WAIT-2.
                self.timers.clear();
                self.set_state(State::Closed);
                None
            }
        }
    }

    /// RFC 6298 (5.4)-(5.6): retransmit the earliest unacknowledged segment, back the
    /// timer off, and collapse the congestion window (RFC 5681 3.1 eq. 4). Gives up after
    /// the configured retries.
    fn retransmit_timeout(&mut self, now: Instant) {
        if self.snd_una == self.snd_max
            && self.state != State::SynSent
            && self.state != State::SynReceived
        {
            return;
        }
        self.retries += 1;
        let limit = if self.syn_acked {
            self.config.data_retries
        } else {
            self.config.syn_retries
        };
        if self.retries > limit {
            self.fail(TcpError::TimedOut);
            return;
        }
        self.counters.timeouts += 1;
        self.rtt.backoff();
        let mss = self.mss;
        self.cc.on_rto(self.outstanding(), mss);
        self.retransmit_first = false;
        self.sampler.on_retransmit();
        self.dup_acks = 0;
        // RFC 6582 3.2 step 1 / 4, RFC 6675 5.1: after a timeout, leave recovery and
        // remember the highest sequence sent; no new recovery starts before SND.UNA
        // passes it, so duplicates from before the timeout start nothing.
        self.in_recovery = false;
        self.recover = self.snd_max;
        // RFC 2018 8: forget the SACKed bits (the receiver may have reneged).
        self.scoreboard.clear();
        if self.negotiated.sack && self.syn_acked && self.snd_wnd > 0 {
            // RFC 6675 5.1: SACKs that arrive from now on still count. Everything sent
            // is presumed lost and resent hole by hole from SND.UNA, skipping what the
            // peer SACKs again, as in SACK recovery but in slow start (Linux's loss
            // state), so one more loss need not cost another timeout.
            self.rto_recovery = true;
            self.scoreboard.timed_out(self.snd_max);
            return self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
        self.rto_recovery = false;
        self.counters.retransmits += 1;
        self.snd_nxt = if self.syn_acked {
            self.snd_una
        } else {
            self.iss
        };
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }
}
