//! Segment arrival: RFC 9293 3.10.7.2 (LISTEN), 3.10.7.3 (SYN-SENT) and 3.10.7.4 (every
//! other state), in the RFC's order of checks, with RFC 5961's defences against blind
//! resets and injection.

use super::connection::{Arrival, Connection};
use super::error::TcpError;
use super::segment::Segment;
use super::state::State;
use super::timer::Timer;
use crate::time::{Duration, Instant};

/// Least time between two ACKs answering unacceptable segments without data: 500 ms, as
/// Linux's tcp_invalid_ratelimit.
pub const OOW_ACK_INTERVAL: Duration = Duration::from_millis(500);
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, TcpRepr};

impl Connection {
    /// Processes one segment that arrived at `now` (its header and its data; the caller
    /// checked the checksum and that it belongs to this connection's ports). Then call
    /// [`poll_transmit`](Connection::poll_transmit) for the answer.
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpRepr, data: &[u8]) -> Arrival {
        self.counters.segments_in += 1;
        self.last_heard = now;
        self.keepalive_probes = 0;
        match self.state {
            State::Listen => return self.on_segment_listen(now, seg),
            State::SynSent => return self.on_segment_syn_sent(now, seg),
            // RFC 9293 3.10.7.1: a closed connection has nothing to say to a segment.
            State::Closed => return Arrival::default(),
            _ => {}
        }
        let mut out = Arrival::default();

        // RFC 9293 3.5, figure 8 (simultaneous open), step 6: in SYN-RECEIVED the peer's
        // SYN,ACK repeats the SYN we already have (SEG.SEQ = IRS) and acknowledges ours.
        // Take it without its SYN, as the handshake's ACK (Linux does the same): calling
        // it a retransmitted SYN and answering with our SYN,ACK again would have two
        // such stacks trade SYN,ACKs for ever.
        // (The same after a CLOSE in SYN-RECEIVED sent our FIN before that ACK came.)
        let stripped;
        let seg =
            if !self.syn_acked && seg.flags.has(Flags::SYN | Flags::ACK) && seg.seq == self.irs {
                stripped = TcpRepr {
                    seq: seg.seq + 1,
                    flags: Flags(seg.flags.0 & !Flags::SYN.0),
                    ..*seg
                };
                &stripped
            } else {
                seg
            };

        // RFC 7323 5.3 R1 (PAWS): a segment older than TS.Recent is an old duplicate;
        // acknowledge it (unless it is a RST) and drop it.
        let seg_ts = seg.options.timestamps.filter(|_| self.ts.is_some());
        if let (Some(ts), Some((val, _))) = (&self.ts, seg_ts) {
            if !seg.flags.has(Flags::RST) && ts.rejects(now, val) {
                self.dup_ack(now, seg.segment_len(data.len()));
                return out;
            }
        }

        // First: is the sequence number acceptable?
        let seg_len = seg.segment_len(data.len());
        if !self.acceptable(seg.seq, seg_len) {
            // A retransmitted SYN in SYN-RECEIVED (or after a CLOSE there): our SYN-ACK
            // was lost; send it again (and the FIN after it, if one was sent).
            if !self.syn_acked && seg.flags.has(Flags::SYN) && seg.seq == self.irs {
                self.snd_nxt = self.iss;
                return out;
            }
            // RFC 5961 4.2: a SYN in a synchronized state draws a challenge ACK whatever
            // its sequence number, and challenge ACKs are rate-limited (RFC 5961 7), so a
            // flood of blind SYNs cannot make us flood the peer with ACKs.
            if seg.flags.has(Flags::SYN) && self.state != State::SynReceived {
                out.challenge_ack = true;
                return out;
            }
            // RFC 9293 3.10.7.4: anything unacceptable gets an ACK, unless it is a RST. In
            // TIME-WAIT that is the retransmitted FIN, and the 2*MSL wait restarts.
            if !seg.flags.has(Flags::RST) {
                self.dup_ack(now, seg_len);
                // RFC 2883 4: data we already had is reported as a D-SACK block.
                if self.negotiated.sack
                    && !data.is_empty()
                    && (seg.seq + data.len()).le(self.rcv_nxt)
                {
                    self.sack_report.duplicate(seg.seq, seg.seq + data.len());
                }
                if self.state == State::TimeWait && seg.flags.has(Flags::FIN) {
                    self.restart_time_wait(now);
                }
            }
            return out;
        }

        // RFC 7323 5.3 R3: an acceptable segment may update TS.Recent.
        if let (Some(ts), Some((val, _))) = (&mut self.ts, seg_ts) {
            ts.update(now, val, seg.seq);
        }

        // Second: RST.
        if seg.flags.has(Flags::RST) {
            out.challenge_ack = !self.on_reset(now, seg);
            return out;
        }

        // Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK, drop.
        // (A new SYN for TIME-WAIT is taken up by the stack before it gets here.)
        if seg.flags.has(Flags::SYN) {
            out.challenge_ack = true;
            return out;
        }

        // Fifth: ACK. Without it, drop.
        if !seg.flags.has(Flags::ACK) {
            return out;
        }
        if self.state == State::SynReceived {
            // RFC 9293 3.10.7.4: SND.UNA < SEG.ACK =< SND.NXT moves us to ESTABLISHED.
            if self.snd_una.lt(seg.ack) && seg.ack.le(self.snd_nxt) {
                self.set_state(State::Established);
                self.syn_acknowledged(now, seg);
                out.established = true;
            } else {
                self.reset_for_ack(seg);
                return out;
            }
        }
        if !self.on_ack(now, seg, data.len(), &mut out) {
            return out;
        }
        // The peer is there: the zero-window probes it answers go on for ever.
        self.probes_unanswered = 0;

        // RFC 1122 4.2.2.13: new data after the application closed cannot be delivered;
        // reset, so the peer learns it was lost (Linux's TCPAbortOnData, BSD likewise).
        if self.orphaned
            && matches!(self.state, State::FinWait1 | State::FinWait2)
            && (seg.seq + data.len()).gt(self.rcv_nxt)
            && !data.is_empty()
        {
            self.abort_on_data(seg);
            return out;
        }

        // Seventh: segment text, in the states that still receive.
        if self.state.can_receive() && !data.is_empty() {
            let seq = if seg.flags.has(Flags::SYN) {
                seg.seq + 1
            } else {
                seg.seq
            };
            self.take_text(seq, data);
        }

        // Eighth: FIN. Note where it is; act on it once every byte before it is in.
        if seg.flags.has(Flags::FIN) {
            // The FIN is the last unit of the segment's sequence space.
            self.peer_fin = Some(seg.seq + (seg_len - 1));
            self.ack_now = true;
        }
        self.take_fin(now);
        out
    }

    /// RFC 9293 3.10.7.4, second, with RFC 5961 3.2: only a RST at exactly RCV.NXT
    /// resets; any other in-window RST asks for a challenge ACK (returns false).
    fn on_reset(&mut self, now: Instant, seg: &TcpRepr) -> bool {
        if seg.seq != self.rcv_nxt {
            return false;
        }
        match self.state {
            // SYN-RECEIVED: "If this connection was initiated with a passive OPEN (i.e.,
            // came from the LISTEN state), then return this connection to LISTEN state
            // and return. The user need not be informed." An active one (simultaneous
            // open) was refused.
            State::SynReceived if self.passive => self.return_to_listen(now),
            State::SynReceived => self.fail(TcpError::ConnectionRefused),
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.fail(TcpError::ConnectionReset)
            }
            _ => {
                self.timers.clear();
                self.set_state(State::Closed);
            }
        }
        true
    }

    /// RFC 9293 3.10.7.4, first check, the four cases: does a segment of `seg_len` units
    /// at `seq` fall (partly) in the receive window?
    fn acceptable(&self, seq: Seq, seg_len: usize) -> bool {
        let (rcv_nxt, rcv_wnd) = (self.rcv_nxt, self.rcv_wnd());
        match (seg_len, rcv_wnd) {
            (0, 0) => seq == rcv_nxt,
            (0, _) => seq.in_window(rcv_nxt, rcv_nxt + rcv_wnd),
            (_, 0) => false,
            (_, _) => {
                let last = seq + (seg_len - 1);
                seq.in_window(rcv_nxt, rcv_nxt + rcv_wnd)
                    || last.in_window(rcv_nxt, rcv_nxt + rcv_wnd)
            }
        }
    }

    /// RFC 9293 3.10.7.4, seventh: the segment's text, starting at `seq`, into the receive
    /// buffer (in order or out of order), and whether to acknowledge it at once.
    fn take_text(&mut self, mut seq: Seq, mut data: &[u8]) {
        // Trim what we already have (RFC 9293 3.10.7.4: "trim ... to the window").
        if seq.lt(self.rcv_nxt) {
            let skip = (self.rcv_nxt - seq).min(data.len());
            if self.negotiated.sack {
                // RFC 2883 4: report the duplicate part.
                self.sack_report.duplicate(seq, seq + skip);
            }
            data = &data[skip..];
            seq += skip;
        }
        let offset = seq - self.rcv_nxt;
        let had_holes = self.recv.has_out_of_order();
        let advanced = self.recv.insert(offset, data);
        self.rcv_nxt += advanced;
        if offset > 0 {
            // RFC 5681 4.2: out-of-order data is acknowledged at once (a duplicate ACK),
            // with its block first among the SACK blocks (RFC 2018 4).
            self.counters.out_of_order += 1;
            self.ack_now = true;
            if self.negotiated.sack {
                self.sack_report.received(seq);
            }
        } else if had_holes {
            // ... and so is data that fills a hole.
            self.ack_now = true;
        } else if advanced > 0 {
            // RFC 1122 4.2.3.2: acknowledge at least every second full segment; else
            // within the delayed-ACK time. A segment joined from several (receive
            // coalescing, or the kernel's GRO over TAP) counts as the full segments it
            // holds, as Linux counts a GRO segment by its size.
            let full = (advanced / self.our_mss.max(1)).max(1);
            self.unacked_segments = self
                .unacked_segments
                .saturating_add(u32::try_from(full).unwrap_or(u32::MAX));
            if self.unacked_segments >= 2 {
                self.ack_now = true;
            }
        } else {
            // Nothing new (a duplicate): tell the sender where we are.
            self.ack_now = true;
        }
    }

    /// Acts on the peer's FIN once RCV.NXT reaches it (RFC 9293 3.10.7.4, eighth).
    fn take_fin(&mut self, now: Instant) {
        let Some(fin) = self.peer_fin else { return };
        if fin != self.rcv_nxt
            || !matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2 | State::SynReceived
            )
        {
            // A FIN already taken (we are past it) needs nothing here: its retransmission
            // lies wholly before RCV.NXT, so the sequence check above acknowledged it and,
            // in TIME-WAIT, restarted the 2*MSL wait. Acknowledging every later
            // acceptable segment instead would answer a bare ACK in TIME-WAIT, which RFC
            // 9293 3.10.7.4 does not, and two TIME-WAITs would trade ACKs for as long as
            // they live.
            return;
        }
        self.rcv_nxt += 1;
        self.ack_now = true;
        match self.state {
            State::SynReceived | State::Established => self.set_state(State::CloseWait),
            State::FinWait1 if self.fin_acked => self.enter_time_wait(now),
            State::FinWait1 => self.set_state(State::Closing),
            State::FinWait2 => self.enter_time_wait(now),
            _ => {}
        }
    }

    /// The ACK field (RFC 9293 3.10.7.4, fifth; RFC 5961 5.2). Returns false when the
    /// segment must be dropped here.
    fn on_ack(&mut self, now: Instant, seg: &TcpRepr, data_len: usize, out: &mut Arrival) -> bool {
        let ack = seg.ack;
        // RFC 5961 5.2: acceptable only within [SND.UNA - MAX.SND.WND, SND.NXT]; an ACK
        // for data never sent, or far in the past, draws a challenge ACK and is dropped.
        let oldest = Seq(self.snd_una.0.wrapping_sub(self.max_snd_wnd as u32));
        if ack.gt(self.snd_max) || ack.lt(oldest) {
            out.challenge_ack = true;
            return false;
        }
        let mut newly_sacked = false;
        if self.negotiated.sack {
            newly_sacked = self
                .scoreboard
                .update(self.snd_una, self.snd_max, &seg.options.sack);
        }
        if ack.gt(self.snd_una) {
            self.ack_new_data(now, seg);
        } else if ack == self.snd_una {
            self.maybe_dup_ack(seg, data_len, newly_sacked);
        }
        // RFC 6675 5 step 4: with SACK, a loss is also found once IsLost(HighACK + 1),
        // before three duplicate ACKs have arrived (several losses, or reordering).
        // RFC 6675 5.1: not before HighACK reaches the RecoveryPoint of a timeout.
        if self.negotiated.sack
            && !self.in_recovery
            && !self.rto_recovery
            && self.snd_una != self.snd_max
            && self.snd_una.ge(self.recover)
            && self.scoreboard.is_lost(self.snd_una, self.mss)
        {
            self.enter_recovery();
        }
        // RFC 9293 3.10.7.4: update the send window if the segment is newer.
        if self.snd_una.le(ack)
            && (self.snd_wl1.lt(seg.seq) || (self.snd_wl1 == seg.seq && self.snd_wl2.le(ack)))
        {
            self.update_window(seg);
        }
        match self.state {
            State::FinWait1 if self.fin_acked => self.set_state(State::FinWait2),
            State::Closing if self.fin_acked => self.enter_time_wait(now),
            State::LastAck if self.fin_acked => {
                self.timers.clear();
                self.set_state(State::Closed);
                return false;
            }
            _ => {}
        }
        true
    }

    /// SND.UNA advances to `ack`: free acknowledged data, time the round trip, grow the
    /// congestion window or leave recovery, and restart or stop the retransmission timer.
    fn ack_new_data(&mut self, now: Instant, seg: &TcpRepr) {
        let ack = seg.ack;
        let flight_before = self.outstanding();
        let mut acked = ack - self.snd_una;
        if !self.syn_acked {
            // Our SYN, acknowledged in FIN-WAIT-1 or CLOSING: a CLOSE in SYN-RECEIVED
            // sent our FIN before the handshake's ACK (RFC 9293 3.10.4), and the states
            // that follow take the ACK as ESTABLISHED does (3.10.7.4, fifth).
            if self.retries > 0 {
                // RFC 6298 (5.7), as for an ACK that completes the handshake.
                self.rtt.after_syn_timeout();
            }
            self.syn_acked = true;
            acked -= 1;
            self.snd_una += 1;
        }
        let data = acked.min(self.send.len());
        self.send.consume(data);
        self.snd_una += data;
        if acked > data && self.fin_queued {
            self.fin_acked = true;
            self.snd_una += 1;
        }
        if self.snd_nxt.lt(self.snd_una) {
            self.snd_nxt = self.snd_una;
        }
        self.scoreboard.acknowledged(self.snd_una);
        if self.rto_recovery && self.snd_una.ge(self.recover) {
            // Everything outstanding at the timeout is acknowledged.
            self.rto_recovery = false;
            self.scoreboard.end_recovery();
        }
        self.measure_rtt(now, seg);
        self.retries = 0;
        let mss = self.mss;
        match self.in_recovery {
            // RFC 6582 3.2 step 6, RFC 6675 5: a full acknowledgment ends recovery.
            true if ack.ge(self.recover) => {
                self.in_recovery = false;
                self.cc.on_exit_recovery(self.outstanding(), mss);
                self.scoreboard.end_recovery();
            }
            // RFC 6675: a partial acknowledgment changes nothing but the pipe; NextSeg
            // decides what goes next.
            true if self.negotiated.sack => {}
            // Step 5: a partial acknowledgment retransmits the next hole at once.
            true => {
                self.cc.on_partial_ack(acked, mss);
                self.retransmit_first = true;
                self.counters.retransmits += 1;
            }
            // RFC 7661 1, Linux's tcp_is_cwnd_limited: cwnd grows only while it limits
            // the sender (in slow start, while the flight is over half of it). An
            // application that sends less would otherwise grow cwnd without bound and
            // later burst it into the network all at once.
            false if self.cwnd_limited(flight_before.max(self.max_flight)) => {
                self.cc.on_ack(now, acked, mss)
            }
            false => {}
        }
        self.dup_acks = 0;
        // RFC 6298 (5.2)/(5.3): all acknowledged stops the timer, else restart it.
        if self.snd_una == self.snd_max {
            self.timers.stop(Timer::Retransmit);
        } else {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        }
    }

    /// RFC 5681 2 ("DUPLICATE ACKNOWLEDGMENT") and 3.2: the third one starts fast
    /// retransmit and NewReno recovery (RFC 6582 3.2 step 2 guards re-entry).
    /// With SACK, an ACK that SACKs new data is a duplicate even if the window it
    /// carries moved (RFC 6675 2: it reports a segment that arrived out of order); a
    /// receiver whose application reads in bursts changes its window all the time.
    fn maybe_dup_ack(&mut self, seg: &TcpRepr, data_len: usize, newly_sacked: bool) {
        // (Only data and our FIN count: an ACK below our SYN says nothing of a loss.)
        let duplicate = self.snd_una != self.snd_max
            && self.syn_acked
            && data_len == 0
            && !seg.flags.has(Flags::SYN)
            && !seg.flags.has(Flags::FIN)
            && (self.peer_window(seg) == self.snd_wnd || newly_sacked)
            // A zero-window ACK answers a window probe (whose byte counts as sent): it
            // says the receiver is full, not that a segment was lost, and there is no
            // window to retransmit into.
            && seg.window != 0;
        if !duplicate {
            return;
        }
        self.counters.dup_acks += 1;
        self.dup_acks += 1;
        if self.in_recovery {
            // SACK recovery counts the pipe instead (RFC 6675).
            if !self.negotiated.sack {
                self.cc.on_dup_ack_in_recovery(self.mss);
            }
        } else if self.dup_acks == 3 && self.may_start_recovery(seg.ack) {
            self.enter_recovery();
        }
    }

    /// Whether duplicates of `ack` may start a fast retransmit. RFC 6582 3.2 step 2:
    /// only if the ACK covers more than `recover`; otherwise they belong to a loss
    /// already being repaired. With SACK the scoreboard tells losses apart, and RFC 6675
    /// (5, 5.1) holds back only until HighACK reaches the RecoveryPoint; the segment
    /// right at it may be the one lost.
    fn may_start_recovery(&self, ack: Seq) -> bool {
        if self.negotiated.sack {
            !self.rto_recovery && ack.ge(self.recover)
        } else {
            ack.gt(self.recover)
        }
    }

    /// A loss is found: fast retransmit and recovery begin (RFC 5681 3.2 with RFC 6582,
    /// or RFC 6675 5 with SACK). `recover` (RecoveryPoint) is the highest sequence sent.
    fn enter_recovery(&mut self) {
        let (flight, mss) = (self.outstanding(), self.mss);
        self.in_recovery = true;
        self.recover = self.snd_max;
        if self.negotiated.sack {
            self.cc.on_sack_recovery(flight, mss);
        } else {
            self.cc.on_enter_recovery(flight, mss);
        }
        // RFC 5681 3.2 step 2, RFC 6675 5 step 4.3: retransmit the first unacknowledged
        // segment now, whatever the window.
        self.retransmit_first = true;
        self.sampler.on_retransmit();
        self.counters.retransmits += 1;
        self.counters.fast_retransmits += 1;
    }

    /// The window `seg` offers in bytes: its field, scaled by the peer's shift except on
    /// a SYN (RFC 7323 2.2).
    fn peer_window(&self, seg: &TcpRepr) -> usize {
        let shift = if seg.flags.has(Flags::SYN) {
            0
        } else {
            self.negotiated.snd_shift
        };
        usize::from(seg.window) << shift
    }

    fn update_window(&mut self, seg: &TcpRepr) {
        self.snd_wnd = self.peer_window(seg);
        self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        if self.snd_wnd > 0 {
            self.timers.stop(Timer::Persist);
            self.persist_backoff = 0;
        }
    }

    /// RFC 9293 3.10.7.2: a segment for a connection in LISTEN.
    fn on_segment_listen(&mut self, now: Instant, seg: &TcpRepr) -> Arrival {
        if seg.flags.has(Flags::RST) {
            return Arrival::default();
        }
        if seg.flags.has(Flags::ACK) {
            // An ACK to a listener: <SEQ=SEG.ACK><CTL=RST>.
            self.reset_for_ack(seg);
            return Arrival::default();
        }
        if seg.flags.has(Flags::SYN) {
            // Text on the SYN is not kept (Linux drops it too without TCP Fast Open);
            // the peer sends it again once we acknowledge only the SYN.
            self.take_syn(now, seg);
            self.set_state(State::SynReceived);
        }
        Arrival::default()
    }

    /// RFC 9293 3.10.7.3: a segment in SYN-SENT.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr) -> Arrival {
        let ack_ok = seg.flags.has(Flags::ACK) && self.iss.lt(seg.ack) && seg.ack.le(self.snd_max);
        if seg.flags.has(Flags::ACK) && !ack_ok {
            if !seg.flags.has(Flags::RST) {
                self.reset_for_ack(seg);
            }
            return Arrival::default();
        }
        if seg.flags.has(Flags::RST) {
            // RFC 5961 3.2: in SYN-SENT a RST is believed only if it acknowledges our SYN.
            if ack_ok {
                self.fail(TcpError::ConnectionRefused);
            }
            return Arrival::default();
        }
        if !seg.flags.has(Flags::SYN) {
            return Arrival::default();
        }
        self.take_syn(now, seg);
        if ack_ok {
            self.syn_acknowledged(now, seg);
            self.set_state(State::Established);
            self.ack_now = true;
        } else {
            // Simultaneous open: answer with SYN-ACK from SYN-RECEIVED.
            self.set_state(State::SynReceived);
            self.snd_nxt = self.iss;
        }
        Arrival::default()
    }

    /// Our SYN is acknowledged by `seg` (the SYN,ACK in SYN-SENT, or the handshake's
    /// last ACK in SYN-RECEIVED): SND.UNA moves past it, the window is the segment's,
    /// and the SYN's round trip is measured unless it was retransmitted (Karn).
    fn syn_acknowledged(&mut self, now: Instant, seg: &TcpRepr) {
        self.syn_acked = true;
        self.snd_una = self.iss + 1;
        self.update_window(seg);
        self.timers.stop(Timer::Retransmit);
        if self.retries > 0 {
            // RFC 6298 (5.7): the SYN was retransmitted, so data starts at RTO 3 s.
            self.rtt.after_syn_timeout();
        }
        self.retries = 0;
        self.measure_rtt(now, seg);
    }

    /// True when a flight of `flight` bytes was held back by cwnd.
    fn cwnd_limited(&self, flight: usize) -> bool {
        let cwnd = self.cc.cwnd();
        if cwnd < self.cc.ssthresh() {
            flight.saturating_mul(2) >= cwnd
        } else {
            flight + self.send_mss() >= cwnd
        }
    }

    /// An ACK that advances SND.UNA times a round trip: the segment the sampler was
    /// timing (RFC 6298, Karn's rule), or else, with timestamps, the echo of the segment
    /// that drew this ACK, which is valid even for a retransmission (RFC 7323 4.1).
    fn measure_rtt(&mut self, now: Instant, seg: &TcpRepr) {
        let timed = self.sampler.on_ack(seg.ack, now);
        let echoed = match (&self.ts, seg.options.timestamps) {
            (Some(ts), Some((_, ecr))) => ts.rtt(now, ecr),
            _ => None,
        };
        if let Some(rtt) = timed.or(echoed) {
            self.rtt.sample(rtt);
            self.cc.on_rtt_sample(now, rtt);
        }
    }

    /// Queues <SEQ=SEG.ACK><CTL=RST>, the reset for an ACK of something we never sent
    /// (RFC 9293 3.10.7.2-3.10.7.4).
    fn reset_for_ack(&mut self, seg: &TcpRepr) {
        let repr = TcpRepr {
            src_port: seg.dst_port,
            dst_port: seg.src_port,
            seq: seg.ack,
            ack: self.rcv_nxt,
            flags: Flags::RST,
            window: 0,
            ..TcpRepr::default()
        };
        self.push_pending(Segment::header(repr));
    }

    /// Data arrived after the application closed: <SEQ=SEG.ACK><CTL=RST>, as Linux
    /// answers (RFC 9293 3.10.7.1's reset for a segment with ACK), and CLOSED.
    fn abort_on_data(&mut self, seg: &TcpRepr) {
        self.reset_for_ack(seg);
        self.timers.clear();
        self.set_state(State::Closed);
    }

    /// Answers an unacceptable segment with an ACK (RFC 9293 3.10.7.4), at most once per
    /// [`OOW_ACK_INTERVAL`] when it carries neither data, SYN nor FIN, as Linux's
    /// `tcp_oow_rate_limited`: such a segment is no data to acknowledge, and answering
    /// every one lets a blind attacker reflect a flood of forged ACKs off us onto the
    /// peer, or two confused stacks trade ACKs for ever (RFC 5961 10 warns of both).
    /// Data is always answered: a zero-window probe with data needs its ACK.
    fn dup_ack(&mut self, now: Instant, seg_len: usize) {
        if seg_len == 0 {
            let recent = self
                .last_oow_ack
                .is_some_and(|t| now.saturating_since(t) < OOW_ACK_INTERVAL);
            if recent {
                return;
            }
            self.last_oow_ack = Some(now);
        }
        self.ack_now = true;
    }

    /// Grants the challenge ACK that [`Arrival::challenge_ack`] asked for: an ACK goes out
    /// with the next [`poll_transmit`](Connection::poll_transmit).
    pub fn grant_challenge_ack(&mut self) {
        self.ack_now = true;
    }
}
