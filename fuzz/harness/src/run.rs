//! Runs a [`Conversation`] against one stand-alone [`Connection`], checking every oracle
//! after every event and recording the transitions it reaches (and, when asked, a trace).

use std::net::SocketAddrV4;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, Endpoint, State, TcpConfig};
use netstack_core::wire::tcp::Flags;
use netstack_core::{Duration, Instant};

use crate::conversation::{Conversation, PeerSegment, Setup, Step, BUFFERS};
use crate::oracle::{self, AppModel};
use crate::peer::{our_byte, PeerModel};
use crate::trace::{Dir, Line, PEER, US};
use crate::transitions::{is_legal, Coverage, Event, Transition};

/// The MSS we announce.
pub const OUR_MSS: usize = 1460;
/// How often one instant may come back as the next deadline before the timers count as
/// stuck (a timer that never moves on would spin its caller forever).
const SAME_DEADLINE_LIMIT: u32 = 64;

/// An oracle failed: which, and the trace up to there (when one was recorded).
#[derive(Debug)]
pub struct Failure {
    /// What went wrong.
    pub reason: String,
    /// The step it happened at.
    pub step: usize,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "oracle failed at step {}: {}", self.step, self.reason)
    }
}

/// A conversation in progress.
pub struct Runner {
    /// The connection under test.
    pub conn: Connection,
    /// The virtual clock.
    pub now: Instant,
    /// What the peer sent.
    pub peer: PeerModel,
    /// What the application did.
    pub app: AppModel,
    /// Transitions reached.
    pub coverage: Coverage,
    /// The trace, when recording.
    pub trace: Option<Vec<Line>>,
    /// Our SYN carried a window-scale option: its shift.
    our_ws: Option<u8>,
    /// The rightmost edge we advertised (SEG.ACK + SEG.WND of our segments).
    our_edge: Option<u32>,
    /// The last TSval we sent, for the peer's TSecr.
    our_tsval: u32,
    /// (receive, send) buffer sizes.
    buffers: (usize, usize),
    /// Steps run.
    step: usize,
    /// Segments the connection sent.
    sent: u64,
    /// The connection sent a RST during the current step.
    reset_sent: bool,
}

fn addr(a: (std::net::Ipv4Addr, u16)) -> SocketAddrV4 {
    SocketAddrV4::new(a.0, a.1)
}

impl Runner {
    /// Builds the connection `setup` describes.
    pub fn new(setup: &Setup, record: bool) -> Runner {
        let now = Instant::ZERO;
        let buffers = (
            BUFFERS[usize::from(setup.recv_buffer)],
            BUFFERS[usize::from(setup.send_buffer)],
        );
        let config = TcpConfig {
            recv_buffer: buffers.0,
            send_buffer: buffers.1,
            ..TcpConfig::default()
        };
        let (local, remote, iss) = (addr(US), addr(PEER), Seq(setup.iss));
        let mut coverage = Coverage::default();
        let mut peer = PeerModel::new(setup.irs);
        let conn = match setup.state {
            State::Listen => {
                coverage.record(State::Closed, Event::PassiveOpen, State::Listen);
                Connection::listen(config, local, remote, iss, OUR_MSS, now)
            }
            State::SynSent => {
                coverage.record(State::Closed, Event::ActiveOpen, State::SynSent);
                Connection::connect(config, local, remote, iss, OUR_MSS, now)
            }
            state => {
                let ep = Endpoint {
                    config,
                    local,
                    remote,
                    iss,
                    irs: Seq(setup.irs),
                    snd_wnd: usize::from(setup.peer_window),
                    our_mss: OUR_MSS,
                    peer_mss: (setup.peer_mss != 0).then_some(setup.peer_mss),
                    peer_window_scale: None,
                    peer_timestamp: None,
                    peer_sack_permitted: false,
                };
                // What in_state says the peer already sent: its SYN, and its FIN at
                // IRS + 1 in the states that took it.
                let fin = matches!(
                    state,
                    State::CloseWait | State::Closing | State::LastAck | State::TimeWait
                );
                if state != State::Closed {
                    peer.sent(setup.irs, true, fin, 0);
                    peer.offer_window(setup.iss.wrapping_add(1), u64::from(setup.peer_window));
                }
                Connection::in_state(now, state, &ep)
            }
        };
        Runner {
            conn,
            now,
            peer,
            app: AppModel {
                irs: setup.irs,
                ..AppModel::default()
            },
            coverage,
            trace: record.then(Vec::new),
            our_ws: None,
            our_edge: None,
            our_tsval: 0,
            buffers,
            step: 0,
            sent: 0,
            reset_sent: false,
        }
    }

    fn note(&mut self, text: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            t.push(Line::Note(self.now, text()));
        }
    }

    fn fail(&self, reason: String) -> Failure {
        Failure {
            reason,
            step: self.step,
        }
    }

    /// Runs the conversation's steps, stopping at the first oracle that fails.
    pub fn run(&mut self, conv: &Conversation) -> Result<(), Failure> {
        self.settle(Event::Timeout, self.conn.state(), 0)?;
        for (i, step) in conv.steps.iter().enumerate() {
            self.step = i;
            self.apply(step)?;
        }
        Ok(())
    }

    /// One step: the event, then the transmit queue, then every oracle.
    pub fn apply(&mut self, step: &Step) -> Result<(), Failure> {
        let before = self.conn.state();
        let sent = self.sent;
        self.reset_sent = false;
        let event = match *step {
            Step::Segment(s) => {
                self.peer_segment(&s);
                Event::of_flags(s.flags)
            }
            Step::Send(n) => {
                let first = self
                    .conn
                    .details()
                    .iss
                    .wrapping_add(1)
                    .wrapping_add(self.app.written as u32);
                let data: Vec<u8> = (0..u32::from(n))
                    .map(|i| our_byte(first.wrapping_add(i)))
                    .collect();
                let r = self.conn.send(&data);
                if let Ok(k) = r {
                    self.app.written += k as u64;
                }
                self.note(|| format!("app: send({n}) -> {r:?}"));
                Event::Send
            }
            Step::Recv(n) => {
                self.recv(usize::from(n))?;
                Event::Recv
            }
            Step::Shutdown => {
                self.conn.shutdown();
                self.note(|| "app: shutdown()".into());
                Event::Close
            }
            Step::Close => {
                let r = self.conn.close();
                self.note(|| format!("app: close() -> {r:?}"));
                Event::Close
            }
            Step::Abort => {
                self.conn.abort();
                self.note(|| "app: abort()".into());
                Event::Abort
            }
            Step::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.note(|| format!("clock +{ms} ms"));
                self.conn.handle_timeout(self.now);
                Event::Timeout
            }
            Step::NextTimer => {
                self.next_timer(before)?;
                Event::Timeout
            }
        };
        self.settle(event, before, sent)
    }

    /// Takes what the connection sends, checks it, and checks the transition and the
    /// invariants.
    fn settle(&mut self, event: Event, before: State, sent: u64) -> Result<(), Failure> {
        self.drain()?;
        // A closed connection is gone: it answers nothing and retransmits nothing (the
        // reset an ABORT sends leaves as it closes, from the state before).
        if before == State::Closed && self.sent != sent {
            return Err(self.fail(format!("a CLOSED connection sent a segment on {event}")));
        }
        let after = self.conn.state();
        let t = Transition {
            from: before,
            event,
            to: after,
        };
        if after != before {
            self.note(|| format!("state: {t}"));
        }
        if after == State::Listen && before != State::Listen {
            // A reset sent a passive open back to LISTEN (RFC 9293 3.10.7.4): the next
            // SYN starts a new incarnation in other sequence numbers, so what the oracles
            // knew of this one (the windows either side offered, our options, the peer's
            // segments) goes; only where the peer's sequence numbers are stays.
            self.our_edge = None;
            self.our_ws = None;
            self.peer = PeerModel::new(self.peer.next);
        }
        // RFC 9293 figure 5, note 3: a connection may send a RST from any state, and
        // is CLOSED then (data arriving after the application closed, RFC 9293
        // 3.10.7.4 and RFC 1122 4.2.2.13).
        let aborted = after == State::Closed && self.reset_sent;
        if !is_legal(t) && !aborted {
            return Err(self.fail(format!("illegal transition {t}")));
        }
        self.coverage.record(before, event, after);
        oracle::check_invariants(&self.conn, &self.peer, self.buffers).map_err(|r| self.fail(r))
    }

    /// Everything the connection wants to send now, each checked.
    fn drain(&mut self) -> Result<(), Failure> {
        for _ in 0..10_000 {
            let Some(seg) = self.conn.poll_transmit(self.now) else {
                return Ok(());
            };
            self.sent += 1;
            self.reset_sent |= seg.repr.flags.has(Flags::RST);
            let mut data = vec![0; seg.data_len];
            self.conn.read_payload(&seg, &mut data);
            if seg.repr.flags.has(Flags::SYN) && seg.repr.options.window_scale.is_some() {
                self.our_ws = seg.repr.options.window_scale;
            }
            if let Some((val, _)) = seg.repr.options.timestamps {
                self.our_tsval = val;
            }
            if let Some(t) = &mut self.trace {
                t.push(Line::Segment(
                    self.now,
                    Dir::UsToPeer,
                    seg.repr,
                    data.clone(),
                ));
            }
            let d = self.conn.details();
            oracle::check_sent(
                &seg.repr,
                &data,
                &d,
                self.conn.state(),
                &self.peer,
                &self.app,
                self.shift(),
            )
            .map_err(|r| self.fail(r))?;
            // Our shift applies when both SYNs offered scaling (RFC 7323 2.2).
            let our_shift = self.our_ws.filter(|_| self.peer.ws.is_some()).unwrap_or(0);
            oracle::check_window_kept(&seg.repr, our_shift, &mut self.our_edge)
                .map_err(|r| self.fail(r))?;
        }
        Err(self.fail("poll_transmit never returned None".into()))
    }

    /// The shift the peer's windows are scaled by, if both SYNs offered scaling (RFC
    /// 7323 2.2); the largest the peer offered, so the window oracle never under-counts.
    fn shift(&self) -> u8 {
        match self.peer.ws {
            Some(s) if self.our_ws.is_some() => s.min(14),
            _ => 0,
        }
    }

    /// Builds the peer's segment from the connection's state and delivers it.
    fn peer_segment(&mut self, s: &PeerSegment) {
        let d = self.conn.details();
        let state = self.conn.state();
        let rcv_nxt = if matches!(state, State::Listen | State::SynSent | State::Closed) {
            self.peer.next
        } else {
            d.rcv_nxt
        };
        let seq = s.seq.resolve(rcv_nxt, self.peer.next);
        let ack = s.ack.resolve(d.snd_una, d.snd_max);
        let (repr, data) = s.build(seq, ack, d.snd_una, d.mss as u32, self.our_tsval);
        let flags = repr.flags;
        let syn = flags.has(Flags::SYN);
        // The window edge this segment offers, if the connection may take it: an ACK of
        // something between SND.UNA and SND.MAX, or a SYN's window (never scaled).
        if syn && !flags.has(Flags::ACK) {
            self.peer
                .offer_window(d.iss.wrapping_add(1), u64::from(s.window));
        } else if flags.has(Flags::ACK) && !flags.has(Flags::RST) {
            let shift = if syn {
                0
            } else {
                self.shift().max(self.peer.ws.unwrap_or(0).min(14))
            };
            let acceptable =
                crate::peer::dist(ack, d.snd_una) >= 0 && crate::peer::dist(d.snd_max, ack) >= 0;
            if acceptable || syn {
                self.peer.offer_window(ack, u64::from(s.window) << shift);
            }
        }
        if syn {
            if let Some(ws) = repr.options.window_scale {
                self.peer.ws = Some(self.peer.ws.map_or(ws, |w| w.max(ws)));
            }
        }
        if !flags.has(Flags::RST) {
            self.peer
                .sent(seq, syn, flags.has(Flags::FIN), u32::from(s.len));
        }
        if let Some(t) = &mut self.trace {
            t.push(Line::Segment(self.now, Dir::PeerToUs, repr, data.clone()));
        }
        let arrival = self.conn.handle_segment(self.now, &repr, &data);
        if arrival.challenge_ack {
            self.conn.grant_challenge_ack();
        }
    }

    fn recv(&mut self, n: usize) -> Result<(), Failure> {
        let mut buf = vec![0; n];
        let d = self.conn.details();
        if d.irs != self.app.irs {
            if self.app.delivered > 0 {
                return Err(self.fail(format!(
                    "IRS changed from {} to {} after data was delivered",
                    self.app.irs, d.irs
                )));
            }
            self.app.irs = d.irs;
        }
        let r = self.conn.recv(&mut buf);
        self.note(|| format!("app: recv({n}) -> {r:?}"));
        match r {
            // An empty buffer reads nothing, and says nothing about end of stream.
            _ if n == 0 => {}
            Ok(Some(0)) => {
                oracle::check_eof(self.conn.state(), &self.peer, &self.app)
                    .map_err(|r| self.fail(r))?;
                if matches!(
                    self.conn.state(),
                    State::CloseWait | State::LastAck | State::Closing | State::TimeWait
                ) {
                    self.app.eof = true;
                }
            }
            Ok(Some(k)) => {
                oracle::check_delivered(&buf[..k], &self.peer, &self.app)
                    .map_err(|r| self.fail(r))?;
                self.app.delivered += k as u64;
            }
            Ok(None) | Err(_) => {}
        }
        Ok(())
    }

    /// Moves the clock to the next deadline and runs it; a deadline that does not move
    /// on after many runs is a stuck timer.
    fn next_timer(&mut self, _before: State) -> Result<(), Failure> {
        let Some(at) = self.conn.poll_timeout() else {
            self.note(|| "no timer armed".into());
            return Ok(());
        };
        let mut last = at;
        let mut same = 0;
        self.now = self.now.max(at);
        self.note(|| format!("clock to the next deadline, {} us", at.total_micros()));
        self.conn.handle_timeout(self.now);
        while let Some(next) = self.conn.poll_timeout() {
            if next > self.now {
                break;
            }
            // Due again at once: run it (what takes its segments first is `drain`).
            self.drain()?;
            self.conn.handle_timeout(self.now);
            same += u32::from(next == last);
            last = next;
            if same > SAME_DEADLINE_LIMIT {
                return Err(self.fail(format!(
                    "the timer due at {} us never moves on",
                    next.total_micros()
                )));
            }
        }
        Ok(())
    }
}

/// Runs `conv` once without a trace: what the fuzz target calls.
pub fn run(conv: &Conversation) -> Result<Coverage, Failure> {
    let mut r = Runner::new(&conv.setup, false);
    r.run(conv)?;
    Ok(r.coverage)
}

/// Runs `conv` with a trace: what the replay command calls.
pub fn run_traced(conv: &Conversation) -> (Vec<Line>, Coverage, Result<(), Failure>) {
    let mut r = Runner::new(&conv.setup, true);
    let result = r.run(conv);
    (r.trace.take().unwrap_or_default(), r.coverage, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversation::{AckAt, OptionBits, SeqAt};

    fn seg(flags: u8, seq: SeqAt) -> Step {
        Step::Segment(PeerSegment {
            flags,
            seq,
            ack: AckAt::SndMaxPlus(0),
            window: 65535,
            options: OptionBits::default(),
            option_value: 0,
            len: 0,
        })
    }

    /// Found by `tcp_conversation` once a reset returned a passive open to LISTEN: the
    /// window oracle still held the right edge of the first incarnation, and the second
    /// one's (in the new IRS's numbers) looked like a window that shrank.
    #[test]
    fn a_second_incarnation_after_a_reset_to_listen_is_judged_afresh() {
        let conv = Conversation {
            setup: Setup {
                state: State::Listen,
                iss: 5000,
                irs: 0x4000_0000,
                peer_window: 65535,
                peer_mss: 1460,
                recv_buffer: 3,
                send_buffer: 3,
            },
            steps: vec![
                seg(0x02, SeqAt::RcvNxtPlus(0)), // [S] seq 0x40000000
                seg(0x10, SeqAt::Raw(1000)),     // out of window: our ACK's edge is noted
                seg(0x04, SeqAt::RcvNxtPlus(0)), // [R] at RCV.NXT: back to LISTEN
                seg(0x02, SeqAt::Raw(0)),        // [S] seq 0: a new incarnation
                seg(0x10, SeqAt::Raw(1000)),     // out of window: answered with an ACK
            ],
        };
        let mut r = Runner::new(&conv.setup, false);
        r.run(&conv).unwrap_or_else(|f| panic!("{f}"));
        assert_eq!(r.conn.state(), State::SynReceived);
        assert!(r
            .coverage
            .reached((State::SynReceived, Event::RcvRst, State::Listen)));
    }
}
