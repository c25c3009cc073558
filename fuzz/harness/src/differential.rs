//! The `differential` target: one fuzzed peer holds the same conversation with our TCP
//! (a stand-alone `Connection`) and with smoltcp's, each segment built from what *that*
//! side has said (their ISNs differ), and the two are compared after every step: their
//! states, and the bytes each delivered to its application. A divergence fails, unless
//! [`allowed`] names it as one RFC 9293 permits; then the run stops there, since the two
//! conversations have parted.
//!
//! Only LISTEN and SYN-SENT starts are compared (smoltcp cannot be built mid-
//! conversation): any other `Setup::state` starts in LISTEN.

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, State, TcpConfig};
use netstack_core::wire::tcp::{Flags, TcpRepr};
use netstack_core::{Duration, Instant};

use crate::conversation::{AckAt, Conversation, PeerSegment, SeqAt, Step, BUFFERS};
use crate::peer::{dist, our_byte, peer_byte};
use crate::run::OUR_MSS;
use crate::smol::{self, SmolConn};
use crate::trace::{Dir, Line, PEER, US};
use crate::transitions::Event;

/// What the peer knows of one side, from what that side sent.
#[derive(Clone, Debug, Default)]
struct View {
    /// Their ISS, once their SYN was seen.
    iss: Option<u32>,
    /// One past the highest sequence number they sent.
    max: u32,
    /// The last acknowledgment they sent.
    ack: Option<u32>,
    /// What the peer last acknowledged of theirs.
    acked: u32,
    /// The peer's next sequence number towards them.
    next: u32,
    /// Where the peer's first FIN towards them was.
    fin: Option<u32>,
    /// Bytes of our stream their application wrote.
    written: u64,
    /// Bytes their application received.
    delivered: Vec<u8>,
}

impl View {
    fn saw(&mut self, r: &TcpRepr, len: usize) {
        let syn = r.flags.has(Flags::SYN);
        if syn && self.iss != Some(r.seq.0) {
            // A new ISS (the first SYN, or a new connection): start over from it.
            self.iss = Some(r.seq.0);
            self.acked = r.seq.0;
            self.max = r.seq.0;
        }
        let end = r
            .seq
            .0
            .wrapping_add((len + usize::from(syn) + usize::from(r.flags.has(Flags::FIN))) as u32);
        if dist(end, self.max) > 0 {
            self.max = end;
        }
        if r.flags.has(Flags::ACK) && !r.flags.has(Flags::RST) {
            self.ack = Some(r.ack.0);
        }
    }

    /// Progress relative to the initial sequence numbers: equal for two sides that
    /// have taken and sent the same.
    /// Includes the peer's own next sequence number: segments placed relative to
    /// what each side acknowledged (which ACK timing changes) make the two
    /// conversations differ from then on.
    fn progress(&self, irs: u32) -> (Option<i64>, Option<i64>, i64) {
        (
            self.ack.map(|a| dist(a, irs)),
            self.iss.map(|i| dist(self.max, i)),
            dist(self.next, irs),
        )
    }
}

/// The two sides and the peer's view of each.
struct Differential {
    ours: Connection,
    smol: SmolConn,
    views: [View; 2],
    now: Instant,
    irs: u32,
    /// The newest TSval the peer sent.
    tsval: Option<u32>,
    /// Why the two conversations parted at an earlier step, if they did.
    parted: Option<&'static str>,
    /// Ours sent a RST during the current step.
    ours_reset: bool,
    /// smoltcp delivered a byte the peer did not send at that offset (its bug).
    smol_wrong: Option<usize>,
    trace: Option<Vec<Line>>,
}

/// What [`allowed`] needs to know of the step that made the two sides part.
#[derive(Clone, Copy, Debug)]
struct Facts {
    /// The kind of event.
    event: Event,
    /// The segment's control bits (0 for other steps).
    flags: u8,
    /// Its sequence or acknowledgment number was raw (absolute).
    raw: bool,
    /// Both sides had taken and sent the same before the step.
    same_progress: bool,
    /// Its FIN lay past the window we offered.
    fin_outside: bool,
    /// Its FIN lay before data the peer had already sent, or apart from its first FIN.
    fin_behind: bool,
    /// It carried data past the peer's own first FIN.
    data_past_fin: bool,
    /// It acknowledged what we never sent (beyond SND.NXT).
    ack_ahead: bool,
    /// It acknowledged less than SND.UNA.
    ack_behind: bool,
    /// It carried a TSval older than one the peer sent before (RFC 7323 PAWS).
    paws: bool,
    /// Ours answered it with a RST.
    ours_reset: bool,
}

/// Why the two sides may treat this step's segment differently, whatever their states:
/// each entry names the rule one side follows and the other does not. Once a step was
/// handled differently, the conversations have parted inside even where their states
/// still agree, so every later divergence is allowed with the same reason.
fn handled_differently(f: Facts) -> Option<&'static str> {
    let flags = f.flags;
    let (syn, fin, rst, ack) = (
        flags & 0x02 != 0,
        flags & 0x01 != 0,
        flags & 0x04 != 0,
        flags & 0x10 != 0,
    );
    let rules: [(bool, &'static str); 10] = [
        (
            f.raw,
            "a segment with a raw (absolute) sequence or acknowledgment number: the two \
             sides' ISSs differ, so it is a different segment to each",
        ),
        (
            f.event == Event::Timeout,
            "timers are each stack's own: RTO bounds (RFC 6298 2.4), retry limits (RFC 1122 \
             4.2.3.5; smoltcp has none by default), TIME-WAIT length (ours 2*MSL = 60 s, \
             smoltcp 10 s), delayed ACKs (ours 40 ms, smoltcp 10 ms)",
        ),
        (
            f.paws,
            "PAWS (RFC 7323 5): ours negotiated timestamps and drops a segment whose TSval \
             is older than TS.Recent; smoltcp does not do timestamps",
        ),
        (
            fin && f.fin_behind,
            "a FIN before data the peer already sent, or apart from its first FIN (the \
             peer contradicts itself about where its stream ends): RFC 9293 does not say \
             which wins",
        ),
        (
            f.data_past_fin,
            "data past the peer's own FIN (the peer contradicts itself about where its \
             stream ends): RFC 9293 3.10.7.4 (seventh) ignores text once the FIN is taken \
             (ours); smoltcp's sequence space moves on differently",
        ),
        (
            ack && f.ack_behind,
            "an old ACK (below SND.UNA, within MAX.SND.WND): RFC 9293 3.10.7.4 and RFC \
             5961 5.2 ignore the ACK field and process the rest of the segment (ours); \
             smoltcp drops the whole segment",
        ),
        (
            ack && f.ack_ahead,
            "an ACK of data not yet sent: RFC 9293 3.10.7.4 (fifth, ESTABLISHED) says send \
             an ACK and drop the segment, FIN and data with it (ours); smoltcp takes it",
        ),
        (
            fin && f.fin_outside,
            "a FIN beyond our receive window: RFC 9293 3.10.7.4 trims a segment to the \
             window, FIN included, and refuses a bare FIN at zero window (SEG.LEN 1, \
             RCV.WND 0) until the application reads (ours); smoltcp takes such a FIN \
             (Linux too, for a bare FIN at zero window)",
        ),
        (
            rst && (syn || fin),
            "RST with SYN or FIN: RFC 9293 3.10.7 checks the RST bit before SYN and FIN \
             (ours does, and resets); smoltcp drops these combinations as bogus",
        ),
        (
            syn && fin,
            "a SYN with FIN: RFC 9293 3.10.7.2 takes the SYN and queues the rest (ours); \
             smoltcp, like Linux, drops SYN+FIN as bogus",
        ),
    ];
    rules
        .into_iter()
        .find(|(applies, _)| *applies)
        .map(|(_, why)| why)
}

/// Why a divergence is allowed, if it is: each entry is a difference RFC 9293 (or RFC
/// 1122) leaves to the implementation, or a known deviation of one side, named as such.
fn allowed(f: Facts, ours: State, theirs: State) -> Option<&'static str> {
    use State as S;
    if let Some(why) = handled_differently(f) {
        return Some(why);
    }
    if !f.same_progress {
        return Some(
            "the two sides had already taken or sent different amounts: windows, silly \
             window avoidance, Nagle and the congestion window are each stack's choice \
             (RFC 9293 3.8.6, RFC 5681)",
        );
    }
    let (event, flags) = (f.event, f.flags);
    let fin = flags & 0x01 != 0;
    if f.ours_reset && ours == S::Closed {
        return Some(
            "ours resets a connection whose application closed when more data arrives \
             (RFC 9293 3.10.7.4, RFC 1122 4.2.2.13: nobody will read it); smoltcp takes \
             the data",
        );
    }
    let took_fin = |s: State| matches!(s, S::CloseWait | S::Closing | S::LastAck | S::TimeWait);
    let segment = matches!(
        event,
        Event::RcvAck | Event::RcvFin | Event::RcvSyn | Event::RcvSynAck
    );
    match (event, ours, theirs) {
        _ if segment && !fin && took_fin(ours) && !took_fin(theirs) => Some(
            "a FIN that waited behind a hole: ours keeps it with the out-of-order data \
             and takes it when the hole fills (RFC 9293 3.10.7.4 processes segments in \
             sequence order); smoltcp keeps out-of-order data but drops its FIN",
        ),
        (Event::RcvSyn, S::SynReceived, S::SynSent) => Some(
            "smoltcp does not do simultaneous open (a SYN in SYN-SENT); RFC 9293 3.5 \
             (figure 8) asks for it, and ours does",
        ),
        (Event::RcvRst, o, S::Closed | S::Listen) if o != S::Closed => Some(
            "RFC 5961 3.2: a reset in the window but not at RCV.NXT gets a challenge ACK \
             (ours, in every state but SYN-SENT, as 3.2 says); smoltcp accepts it in \
             SYN-RECEIVED",
        ),
        (Event::Send, S::SynSent, S::Listen) => Some(
            "SEND in LISTEN: ours turns the passive open active and sends its SYN (RFC 9293 \
             3.10.2, the foreign socket being specified); smoltcp's send refuses in LISTEN, \
             which 3.10.2 also allows when no foreign socket is given",
        ),
        (Event::Close, S::Closed, _) => Some(
            "our close() with unread data resets the connection (RFC 1122 4.2.2.13); \
             smoltcp's close() is always a FIN",
        ),
        _ => None,
    }
}

impl Differential {
    fn new(conv: &Conversation, record: bool) -> Differential {
        let s = &conv.setup;
        let buffers = (
            BUFFERS[usize::from(s.recv_buffer)],
            BUFFERS[usize::from(s.send_buffer)],
        );
        let config = TcpConfig {
            recv_buffer: buffers.0,
            send_buffer: buffers.1,
            ..TcpConfig::default()
        };
        let listen = s.state != State::SynSent;
        let (local, remote) = (
            std::net::SocketAddrV4::new(US.0, US.1),
            std::net::SocketAddrV4::new(PEER.0, PEER.1),
        );
        let ours = if listen {
            Connection::listen(config, local, remote, Seq(s.iss), OUR_MSS, Instant::ZERO)
        } else {
            Connection::connect(config, local, remote, Seq(s.iss), OUR_MSS, Instant::ZERO)
        };
        let view = View {
            next: s.irs,
            ..View::default()
        };
        Differential {
            ours,
            smol: SmolConn::new(listen, buffers),
            views: [view.clone(), view],
            now: Instant::ZERO,
            irs: s.irs,
            tsval: None,
            parted: None,
            ours_reset: false,
            smol_wrong: None,
            trace: record.then(Vec::new),
        }
    }

    fn states(&mut self) -> (State, State) {
        (self.ours.state(), smol::state(self.smol.socket().state()))
    }

    fn note(&mut self, text: String) {
        if let Some(t) = &mut self.trace {
            t.push(Line::Note(self.now, text));
        }
    }

    /// The peer's segment for side `i`, from that side's view.
    fn segment(&self, i: usize, s: &PeerSegment) -> (TcpRepr, Vec<u8>) {
        let v = &self.views[i];
        let rcv_nxt = v.ack.unwrap_or(v.next);
        let seq = s.seq.resolve(rcv_nxt, v.next);
        let ack = s.ack.resolve(v.acked, v.max);
        s.build(seq, ack, v.acked, 536, 0)
    }

    fn peer_sent(&mut self, i: usize, r: &TcpRepr, len: usize) {
        let v = &mut self.views[i];
        if r.flags.has(Flags::RST) {
            return;
        }
        let syn = r.flags.has(Flags::SYN);
        let end = r
            .seq
            .0
            .wrapping_add((len + usize::from(syn) + usize::from(r.flags.has(Flags::FIN))) as u32);
        if dist(end, v.next) > 0 {
            v.next = end;
        }
        if r.flags.has(Flags::FIN) && v.fin.is_none() {
            v.fin = Some(end.wrapping_sub(1));
        }
        if r.flags.has(Flags::ACK) && dist(r.ack.0, v.acked) > 0 && dist(v.max, r.ack.0) >= 0 {
            v.acked = r.ack.0;
        }
    }

    /// Takes what both sides send.
    fn drain(&mut self) {
        let mut ours = vec![];
        while let Some(seg) = self.ours.poll_transmit(self.now) {
            let mut data = vec![0; seg.data_len];
            self.ours.read_payload(&seg, &mut data);
            ours.push((seg.repr, data));
            if ours.len() > 10_000 {
                break;
            }
        }
        let theirs = self.smol.take_sent(self.now);
        self.ours_reset |= ours.iter().any(|(r, _)| r.flags.has(Flags::RST));
        for (i, segs) in [(0, ours), (1, theirs)] {
            for (r, data) in segs {
                self.views[i].saw(&r, data.len());
                if let Some(t) = &mut self.trace {
                    let who = if i == 0 { "ours" } else { "smoltcp" };
                    t.push(Line::Note(
                        self.now,
                        format!(
                            "{who:>7} > peer {}",
                            crate::trace::describe_tcp(&r, data.len())
                        ),
                    ));
                    if i == 0 {
                        t.push(Line::Segment(self.now, Dir::UsToPeer, r, data));
                    }
                }
            }
        }
    }

    fn step(&mut self, step: &Step) -> Result<Event, String> {
        self.ours_reset = false;
        let event = match *step {
            Step::Segment(s) => {
                for i in 0..2 {
                    let (repr, data) = self.segment(i, &s);
                    self.peer_sent(i, &repr, data.len());
                    if let Some(t) = &mut self.trace {
                        let who = if i == 0 { "ours" } else { "smoltcp" };
                        t.push(Line::Note(
                            self.now,
                            format!(
                                "peer > {who:<7} {}",
                                crate::trace::describe_tcp(&repr, data.len())
                            ),
                        ));
                        if i == 0 {
                            t.push(Line::Segment(self.now, Dir::PeerToUs, repr, data.clone()));
                        }
                    }
                    if i == 0 {
                        if self
                            .ours
                            .handle_segment(self.now, &repr, &data)
                            .challenge_ack
                        {
                            self.ours.grant_challenge_ack();
                        }
                    } else {
                        self.smol.deliver(self.now, &repr, &data);
                    }
                }
                Event::of_flags(s.flags)
            }
            Step::Send(n) => {
                for i in 0..2 {
                    let first = self.views[i].iss.unwrap_or(0).wrapping_add(1);
                    let from = self.views[i].written;
                    let data: Vec<u8> = (0..u64::from(n))
                        .map(|k| our_byte(first.wrapping_add((from + k) as u32)))
                        .collect();
                    let k = if i == 0 {
                        self.ours.send(&data).unwrap_or(0)
                    } else {
                        self.smol.socket().send_slice(&data).unwrap_or(0)
                    };
                    self.views[i].written += k as u64;
                }
                self.smol.poll(self.now);
                Event::Send
            }
            Step::Recv(n) => {
                let mut buf = vec![0; usize::from(n)];
                if let Ok(Some(k)) = self.ours.recv(&mut buf) {
                    self.views[0].delivered.extend_from_slice(&buf[..k]);
                }
                if let Ok(k) = self.smol.socket().recv_slice(&mut buf) {
                    self.views[1].delivered.extend_from_slice(&buf[..k]);
                }
                self.smol.poll(self.now);
                // Each side's bytes against the peer's stream (from our IRS: the same SYN
                // reached both), then against each other.
                let first = self.ours.details().irs.wrapping_add(1);
                let wrong = |got: &[u8]| {
                    got.iter()
                        .enumerate()
                        .find(|&(k, &b)| b != peer_byte(first.wrapping_add(k as u32)))
                        .map(|(k, _)| k)
                };
                if let Some(k) = wrong(&self.views[0].delivered) {
                    return Err(format!(
                        "ours delivered byte {k}, which the peer did not send there"
                    ));
                }
                if let Some(k) = wrong(&self.views[1].delivered) {
                    self.smol_wrong = Some(k);
                    return Ok(Event::Recv);
                }
                let (a, b) = (&self.views[0].delivered, &self.views[1].delivered);
                let common = a.len().min(b.len());
                if a[..common] != b[..common] {
                    let at = (0..common).find(|&k| a[k] != b[k]).unwrap_or(0);
                    return Err(format!(
                        "delivered data differs at byte {at}: ours {:#x}, smoltcp {:#x}",
                        a[at], b[at]
                    ));
                }
                Event::Recv
            }
            Step::Shutdown => {
                self.ours.shutdown();
                self.smol.socket().close();
                self.smol.poll(self.now);
                Event::Close
            }
            Step::Close => {
                let _ = self.ours.close();
                self.smol.socket().close();
                self.smol.poll(self.now);
                Event::Close
            }
            Step::Abort => {
                self.ours.abort();
                self.smol.socket().abort();
                self.smol.poll(self.now);
                Event::Abort
            }
            Step::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.ours.handle_timeout(self.now);
                self.smol.poll(self.now);
                Event::Timeout
            }
            Step::NextTimer => {
                let next = [self.ours.poll_timeout(), self.smol.poll_at(self.now)]
                    .into_iter()
                    .flatten()
                    .min();
                if let Some(t) = next {
                    self.now = self.now.max(t);
                }
                self.ours.handle_timeout(self.now);
                self.smol.poll(self.now);
                Event::Timeout
            }
        };
        self.drain();
        Ok(event)
    }

    fn run(&mut self, conv: &Conversation) -> Result<(), String> {
        self.smol.poll(self.now);
        self.drain();
        for (n, step) in conv.steps.iter().enumerate() {
            let progress_before = (
                self.views[0].progress(self.irs),
                self.views[1].progress(self.irs),
            );
            // Whether a FIN in this step lies past the window we offered, and whether
            // its ACK is of something we never sent.
            let d = self.ours.details();
            let window = d.rcv_wnd;
            let fin_behind = match step {
                Step::Segment(s) if s.flags & 0x01 != 0 => {
                    let (r, data) = self.segment(0, s);
                    let fin = r
                        .seq
                        .0
                        .wrapping_add(u32::from(r.flags.has(Flags::SYN)) + data.len() as u32);
                    let elsewhere = self.views[0].fin.is_some_and(|first| first != fin);
                    dist(fin, self.views[0].next) < 0 || elsewhere
                }
                _ => false,
            };
            let data_past_fin = match step {
                Step::Segment(s) if s.len > 0 => {
                    let (r, data) = self.segment(0, s);
                    let end = r.seq.0.wrapping_add(data.len() as u32);
                    self.views[0].fin.is_some_and(|first| dist(end, first) > 0)
                }
                _ => false,
            };
            // PAWS: a TSval older than the newest the peer sent before (ours may have
            // taken that one as TS.Recent).
            let paws = match step {
                Step::Segment(s) => match self.segment(0, s).0.options.timestamps {
                    Some((val, _)) => {
                        let old = self.tsval.is_some_and(|newest| dist(val, newest) < 0);
                        if self.tsval.is_none_or(|newest| dist(val, newest) > 0) {
                            self.tsval = Some(val);
                        }
                        old
                    }
                    None => false,
                },
                _ => false,
            };
            let (ack_ahead, ack_behind) = match step {
                Step::Segment(s) => {
                    let ack = self.segment(0, s).0.ack.0;
                    (dist(ack, d.snd_nxt) > 0, dist(ack, d.snd_una) < 0)
                }
                _ => (false, false),
            };
            let fin_outside = match step {
                Step::Segment(s) => usize::from(s.len) + 1 > window,
                _ => false,
            };
            let event = self.step(step).map_err(|e| format!("step {n}: {e}"))?;
            if let Some(k) = self.smol_wrong {
                self.note(format!(
                    "smoltcp delivered byte {k}, which the peer did not send there (a smoltcp \
                     bug; ours delivered the right bytes); the run stops"
                ));
                return Ok(());
            }
            if self.smol.runaway() {
                self.note(format!(
                    "smoltcp's poll would loop for ever here (it sent in each of {} rounds); \
                     the run stops",
                    crate::smol::EGRESS_ROUNDS
                ));
                return Ok(());
            }
            let (ours, theirs) = self.states();
            let facts = Facts {
                event,
                flags: if let Step::Segment(s) = step {
                    s.flags
                } else {
                    0
                },
                raw: matches!(step, Step::Segment(s)
                    if matches!(s.seq, SeqAt::Raw(_)) || matches!(s.ack, AckAt::Raw(_))),
                same_progress: progress_before.0 == progress_before.1,
                fin_outside,
                fin_behind,
                data_past_fin,
                ack_ahead,
                ack_behind,
                paws,
                ours_reset: self.ours_reset,
            };
            if ours == theirs {
                if let Some(why) = handled_differently(facts) {
                    self.parted.get_or_insert(why);
                }
                continue;
            }
            if let Some(why) = self.parted {
                self.note(format!(
                    "allowed divergence after {event}: ours {ours}, smoltcp {theirs}: an \
                     earlier step was handled differently: {why}"
                ));
                return Ok(());
            }
            match allowed(facts, ours, theirs) {
                Some(why) => {
                    self.note(format!(
                        "allowed divergence after {event}: ours {ours}, smoltcp {theirs}: {why}"
                    ));
                    return Ok(());
                }
                None => {
                    return Err(format!(
                        "step {n}: after {event}, ours is {ours} and smoltcp {theirs}"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Runs `conv` against both stacks: what the fuzz target calls.
pub fn run(conv: &Conversation) -> Result<(), String> {
    Differential::new(conv, false).run(conv)
}

/// Runs `conv` with a trace (our side's segments go to the pcap).
pub fn run_traced(conv: &Conversation) -> (Vec<Line>, Result<(), String>) {
    let mut d = Differential::new(conv, true);
    let r = d.run(conv);
    (d.trace.take().unwrap_or_default(), r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handshake_and_close_seeds_agree_with_smoltcp() {
        for (name, conv) in crate::seeds::conversations() {
            if !matches!(conv.setup.state, State::Listen | State::SynSent) {
                continue;
            }
            let (lines, r) = run_traced(&conv);
            assert_eq!(r, Ok(()), "seed {name}:\n{}", crate::trace::render(&lines));
        }
    }

    #[test]
    fn a_different_state_is_reported() {
        let plain = |event, flags| Facts {
            event,
            flags,
            raw: false,
            same_progress: true,
            fin_outside: false,
            fin_behind: false,
            data_past_fin: false,
            ack_ahead: false,
            ack_behind: false,
            paws: false,
            ours_reset: false,
        };
        let ack = plain(Event::RcvAck, 0x10);
        assert_eq!(allowed(ack, State::Established, State::SynReceived), None);
        assert!(allowed(plain(Event::Timeout, 0), State::Closed, State::TimeWait).is_some());
        let old_ack = Facts {
            ack_behind: true,
            ..ack
        };
        assert!(allowed(old_ack, State::TimeWait, State::FinWait2).is_some());
    }
}
