//! One TCP endpoint with nothing around it: a [`Connection`] holds the transmission
//! control block of RFC 9293 3.3.1 (SND.UNA, SND.NXT, SND.WND, RCV.NXT, ...) and its
//! buffers and timers, and needs no stack, IP or Ethernet to run.
//!
//! Its work is split by job: arrival in `input.rs` (RFC 9293 3.10.7), sending and timers
//! in `output.rs` (3.8, RFC 6298, RFC 1122 4.2.3), the user calls in `user.rs` (3.10.1-
//! 3.10.6), TIME-WAIT in `time_wait.rs`. This file holds the state, the constructors,
//! and the small rules everything shares.
//!
//! # Driving a connection
//!
//! A connection is sans-IO like the stack: segments and time go in, segments and a
//! deadline come out.
//!
//! | the caller says | call |
//! |---|---|
//! | "this segment arrived at `now`" | [`Connection::handle_segment`] |
//! | "it is `now`; run whatever timers are due" | [`Connection::handle_timeout`] |
//! | "what do you want to send?" (call until `None`) | [`Connection::poll_transmit`] |
//! | "when must I call you next?" | [`Connection::poll_timeout`] |
//! | the application sends, receives, closes | [`send`](Connection::send), [`recv`](Connection::recv), [`shutdown`](Connection::shutdown), [`close`](Connection::close), [`abort`](Connection::abort) |
//!
//! Call `poll_transmit` until it returns `None` after every other call: what a call
//! decided to send waits there, and the deadline is only right once it has been taken.
//!
//! ```
//! use netstack_core::tcp::{Connection, State, TcpConfig};
//! use netstack_core::tcp::seq::Seq;
//! use netstack_core::wire::tcp::{Flags, TcpRepr};
//! use netstack_core::Instant;
//!
//! let (us, peer) = ("10.0.0.2:80".parse().unwrap(), "10.0.0.1:40000".parse().unwrap());
//! let t0 = Instant::ZERO;
//! // LISTEN for the peer, with our initial sequence number 5000 and an MSS of 1460.
//! let mut c = Connection::listen(TcpConfig::default(), us, peer, Seq(5000), 1460, t0);
//!
//! // peer > us: [S] seq 1000
//! let syn = TcpRepr { src_port: 40000, dst_port: 80, seq: Seq(1000), flags: Flags::SYN,
//!                     window: 65535, ..TcpRepr::default() };
//! c.handle_segment(t0, &syn, &[]);
//! // us > peer: [S.] seq 5000 ack 1001
//! let synack = c.poll_transmit(t0).unwrap();
//! assert_eq!((synack.repr.flags, synack.repr.seq, synack.repr.ack),
//!            (Flags::SYN | Flags::ACK, Seq(5000), Seq(1001)));
//! assert!(c.poll_transmit(t0).is_none());
//! assert_eq!(c.state(), State::SynReceived);
//!
//! // peer > us: [P.] seq 1001 ack 5001, "hello": the handshake's ACK, with data.
//! let data = TcpRepr { seq: Seq(1001), ack: Seq(5001), flags: Flags::ACK | Flags::PSH,
//!                      ..syn };
//! c.handle_segment(t0, &data, b"hello");
//! assert_eq!(c.state(), State::Established);
//! let mut buf = [0; 16];
//! assert_eq!(c.recv(&mut buf), Ok(Some(5)));
//! assert_eq!(&buf[..5], b"hello");
//!
//! // We answer; the segment carries our data and acknowledges theirs.
//! c.send(b"hi").unwrap();
//! let reply = c.poll_transmit(t0).unwrap();
//! assert_eq!((reply.repr.seq, reply.repr.ack, reply.data_len), (Seq(5001), Seq(1006), 2));
//! let mut out = [0; 2];
//! c.read_payload(&reply, &mut out);
//! assert_eq!(&out, b"hi");
//! // The retransmission timer now runs: this is when to call handle_timeout.
//! assert!(c.poll_timeout().is_some());
//! ```

use core::net::SocketAddrV4;

use log::debug;

use super::config::TcpConfig;
use super::congestion::CongestionControl;
use super::error::TcpError;
use super::events::{ConnEvent, EventKind, Observed};
use super::options::{self, Negotiated, Timestamps};
use super::recv_buffer::RecvBuffer;
use super::rtt::{RtoConfig, RttEstimator, RttSampler};
use super::sack::{SackReport, Scoreboard};
use super::segment::Segment;
use super::send_buffer::SendBuffer;
use super::state::State;
use super::timer::{Timer, Timers};
use crate::socket::SocketHandle;
use crate::time::Instant;
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, Options, TcpRepr};

/// The MSS assumed when the peer sends none (RFC 9293 3.7.1).
pub const DEFAULT_MSS: usize = 536;
/// The largest window field: without window scaling (RFC 7323), the largest window.
pub const MAX_WINDOW: usize = 65535;
/// Segments held for sending besides those `poll_transmit` builds on the spot: a reset
/// and the two timer probes (zero window, keep-alive), at most.
const PENDING: usize = 4;

/// Per-connection counters, for the status page and for teaching.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnCounters {
    /// Segments retransmitted (timeouts and fast retransmits).
    pub retransmits: u64,
    /// Fast retransmits (three duplicate ACKs).
    pub fast_retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Duplicate ACKs received.
    pub dup_acks: u64,
    /// Segments that arrived out of order.
    pub out_of_order: u64,
    /// Segments received.
    pub segments_in: u64,
    /// Segments sent.
    pub segments_out: u64,
}

/// What [`Connection::handle_segment`] tells its caller besides the segments it will
/// send.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Arrival {
    /// SYN-RECEIVED became ESTABLISHED: a passive open completed (a listener hands the
    /// connection to its accept queue now).
    pub established: bool,
    /// RFC 5961 asks for a challenge ACK. RFC 5961 7 limits those across all
    /// connections of a host, so the connection leaves it to the caller: call
    /// [`Connection::grant_challenge_ack`] if the limit allows.
    pub challenge_ack: bool,
}

/// The numbers that put a connection in a synchronized state without a handshake, for
/// [`Connection::in_state`]: a connection as it would be after its SYNs were exchanged.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// Tunables (buffers, timers, retries, congestion control).
    pub config: TcpConfig,
    /// Our address and port.
    pub local: SocketAddrV4,
    /// The peer's address and port.
    pub remote: SocketAddrV4,
    /// Our initial send sequence number, ISS.
    pub iss: Seq,
    /// The peer's initial sequence number, IRS.
    pub irs: Seq,
    /// The peer's window, SND.WND.
    pub snd_wnd: usize,
    /// The MSS we announce (our MTU less 40).
    pub our_mss: usize,
    /// The MSS the peer announced, if it did (RFC 9293 3.7.1: 536 when absent).
    pub peer_mss: Option<u16>,
    /// The window scale shift the peer announced, if it did (RFC 7323 2).
    pub peer_window_scale: Option<u8>,
    /// The peer's TSval on its SYN, if it sent timestamps (RFC 7323 3).
    pub peer_timestamp: Option<u32>,
    /// The peer announced SACK permitted (RFC 2018).
    pub peer_sack_permitted: bool,
}

/// One TCP connection. See the [module docs](self) for how to drive it.
#[derive(Debug)]
pub struct Connection {
    /// Our address and port.
    pub(crate) local: SocketAddrV4,
    /// The peer's address and port.
    pub(crate) remote: SocketAddrV4,
    /// Where we are in RFC 9293's state diagram (3.3.2).
    pub(crate) state: State,
    /// The tunables this connection runs with.
    pub(crate) config: TcpConfig,

    // Send sequence variables (RFC 9293 3.3.1).
    /// ISS: our initial send sequence number.
    pub(crate) iss: Seq,
    /// SND.UNA: the oldest sequence number not yet acknowledged.
    pub(crate) snd_una: Seq,
    /// SND.NXT: the next sequence number to send (rewound to SND.UNA by a timeout).
    pub(crate) snd_nxt: Seq,
    /// The highest SND.NXT so far (retransmission rewinds SND.NXT, never this).
    pub(crate) snd_max: Seq,
    /// SND.WND: the window the peer last offered.
    pub(crate) snd_wnd: usize,
    /// The largest window the peer has offered, for the sender's SWS rule and RFC 5961
    /// 5.2's MAX.SND.WND.
    pub(crate) max_snd_wnd: usize,
    /// SND.WL1: the sequence number of the segment that last updated SND.WND.
    pub(crate) snd_wl1: Seq,
    /// SND.WL2: the acknowledgment number of the segment that last updated SND.WND.
    pub(crate) snd_wl2: Seq,
    /// Our SYN has been acknowledged (SND.UNA is past ISS).
    pub(crate) syn_acked: bool,

    // Receive sequence variables.
    /// IRS: the peer's initial sequence number.
    pub(crate) irs: Seq,
    /// RCV.NXT: the next sequence number we expect.
    pub(crate) rcv_nxt: Seq,
    /// The right edge of the window we last advertised (RCV.NXT + RCV.WND then).
    pub(crate) rcv_adv: Seq,

    /// Data the application queued: sent but unacknowledged, then unsent.
    pub(crate) send: SendBuffer,
    /// Data received: in order (readable) and out of order (waiting for a hole).
    pub(crate) recv: RecvBuffer,
    /// The application shut down its sending side: a FIN follows the queued data.
    pub(crate) fin_queued: bool,
    /// Our FIN has been acknowledged.
    pub(crate) fin_acked: bool,
    /// Where the peer's FIN sits, once seen (it may wait behind a hole).
    pub(crate) peer_fin: Option<Seq>,

    /// SMSS: the most data we put in one segment, the peer's MSS within our own.
    pub(crate) mss: usize,
    /// The MSS we announce: our MTU less 40.
    pub(crate) our_mss: usize,
    /// The window scale shift we announce in our SYN (RFC 7323 2.2), if we offer one.
    pub(crate) our_shift: u8,
    /// What the SYN exchange agreed: window shifts, timestamps, SACK.
    pub(crate) negotiated: Negotiated,
    /// TS.Recent and friends, when both ends use timestamps (RFC 7323 4.3).
    pub(crate) ts: Option<Timestamps>,
    /// The blocks we report to the peer, when SACK is on (RFC 2018).
    pub(crate) sack_report: SackReport,
    /// What the peer has SACKed, when SACK is on (RFC 6675).
    pub(crate) scoreboard: Scoreboard,

    /// Retransmission, persist, delayed-ACK, keep-alive and close deadlines.
    pub(crate) timers: Timers,
    /// SRTT, RTTVAR and RTO (RFC 6298).
    pub(crate) rtt: RttEstimator,
    /// The segment being timed for the next RTT sample (Karn's algorithm).
    pub(crate) sampler: RttSampler,
    /// Consecutive retransmission timeouts without progress.
    pub(crate) retries: u32,
    /// cwnd and ssthresh, by the algorithm [`TcpConfig::congestion`] chose.
    pub(crate) cc: Box<dyn CongestionControl>,
    /// Duplicate ACKs in a row (RFC 5681 2).
    pub(crate) dup_acks: u32,
    /// The largest flight since SND.UNA last passed `max_flight_until` (SND.NXT when it
    /// was set): whether cwnd limited the sender is judged on it, as Linux's
    /// `max_packets_out` and `cwnd_usage_seq`, not on the flight an ACK finds. A batch
    /// of ACKs processed before anything is sent (`Tcp::hold_output`) shrinks the flight
    /// ACK by ACK, yet the sender was limited by cwnd all along.
    pub(crate) max_flight: usize,
    pub(crate) max_flight_until: Seq,
    /// NewReno's "recover" (RFC 6582 3.2): the highest sequence sent when fast recovery
    /// last began, or when the retransmission timer last fired. Kept after recovery ends,
    /// so stale duplicate ACKs cannot start a second recovery (step 2).
    pub(crate) recover: Seq,
    /// In fast recovery until an ACK covers `recover`.
    pub(crate) in_recovery: bool,
    /// Recovering from a retransmission timeout with SACK: lost holes are resent one by
    /// one as in SACK recovery, in slow start, until SND.UNA reaches `recover`.
    pub(crate) rto_recovery: bool,
    /// When we last sent new data, for the restart window after idle (RFC 5681 4.1).
    pub(crate) last_send: Instant,
    /// Zero-window probes sent without the window opening: the persist timer's backoff.
    pub(crate) persist_backoff: u32,
    /// Zero-window probes sent since the peer last acknowledged anything. A peer that
    /// answers keeps a closed window open for ever (RFC 1122 4.2.2.17); one that stops
    /// answering is gone after `data_retries` probes (Linux's tcp_probe_timer).
    pub(crate) probes_unanswered: u32,
    /// The persist timer fired on a small open window: send despite the SWS rule once.
    pub(crate) force_send: bool,
    /// Retransmit the segment at SND.UNA now (fast retransmit, or a NewReno partial ACK)
    /// without rewinding SND.NXT.
    pub(crate) retransmit_first: bool,

    /// TCP_NODELAY: Nagle's algorithm is off.
    pub(crate) nodelay: bool,
    /// SO_KEEPALIVE: probe an idle connection (RFC 1122 4.2.3.6).
    pub(crate) keepalive: bool,
    /// IP_TTL for this connection's segments; `None` is the stack's default.
    pub(crate) ttl: Option<u8>,
    /// Keep-alive probes sent without an answer.
    pub(crate) keepalive_probes: u32,
    /// When a segment last arrived, for keep-alive.
    pub(crate) last_heard: Instant,

    /// Send an ACK with the next segment, or alone, now.
    pub(crate) ack_now: bool,
    /// When we last answered an unacceptable segment without data (rate-limited).
    pub(crate) last_oow_ack: Option<Instant>,
    /// In-order segments received since we last sent an ACK.
    pub(crate) unacked_segments: u32,

    /// Why the connection failed, reported once to the application.
    pub(crate) error: Option<TcpError>,
    /// The application closed its side: nobody will read, so the connection finishes
    /// alone (and the FIN-WAIT-2 limit applies, as Linux's tcp_fin_timeout).
    pub(crate) orphaned: bool,
    /// SO_REUSEADDR was set on the socket (or its listener): how it holds its port.
    pub(crate) reuse_addr: bool,
    /// Opened passively (from LISTEN): a reset in SYN-RECEIVED returns it to where it
    /// came from quietly instead of refusing a connect (RFC 9293 3.10.7.4, second).
    pub(crate) passive: bool,
    /// The stack reclaims this connection's quiet buffers into its pool (see
    /// `buffer_pool.rs`); a stand-alone connection frees them itself instead.
    pub(crate) pooled: bool,
    /// The listener this passive connection will be accepted from (the stack's
    /// bookkeeping; a stand-alone connection has none).
    pub(crate) parent: Option<SocketHandle>,
    /// Segments decided outside `poll_transmit` (a reset, a probe), sent first.
    pub(crate) pending: heapless::Vec<Segment, PENDING>,
    /// Counters for display.
    pub(crate) counters: ConnCounters,
    /// What the stack's event log last saw of this connection (see `events.rs`).
    pub(crate) observed: Observed,
}

impl Connection {
    /// The common constructor: a connection in `state` with ISS `iss`, nothing received.
    fn new(
        config: TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        state: State,
        iss: Seq,
        our_mss: usize,
        now: Instant,
    ) -> Connection {
        let mss = DEFAULT_MSS.min(our_mss);
        Connection {
            local,
            remote,
            state,
            iss,
            snd_una: iss,
            snd_nxt: iss,
            snd_max: iss,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: Seq(0),
            snd_wl2: Seq(0),
            syn_acked: false,
            irs: Seq(0),
            rcv_nxt: Seq(0),
            rcv_adv: Seq(0),
            send: SendBuffer::new(config.send_buffer),
            recv: RecvBuffer::new(config.recv_buffer),
            fin_queued: false,
            fin_acked: false,
            peer_fin: None,
            mss,
            our_mss,
            our_shift: options::shift_for(config.recv_buffer),
            negotiated: Negotiated::default(),
            ts: None,
            sack_report: SackReport::default(),
            scoreboard: Scoreboard::default(),
            timers: Timers::default(),
            rtt: RttEstimator::new(RtoConfig::default()),
            sampler: RttSampler::default(),
            retries: 0,
            cc: config.congestion.build(mss),
            dup_acks: 0,
            max_flight: 0,
            max_flight_until: iss,
            // RFC 6582 3.2 step 1: recover starts at the initial send sequence number.
            recover: iss,
            in_recovery: false,
            rto_recovery: false,
            last_send: now,
            persist_backoff: 0,
            probes_unanswered: 0,
            force_send: false,
            retransmit_first: false,
            nodelay: false,
            keepalive: false,
            ttl: None,
            keepalive_probes: 0,
            last_heard: now,
            ack_now: false,
            last_oow_ack: None,
            unacked_segments: 0,
            error: None,
            orphaned: false,
            reuse_addr: false,
            passive: false,
            pooled: false,
            parent: None,
            pending: heapless::Vec::new(),
            counters: ConnCounters::default(),
            observed: Observed::default(),
            config,
        }
    }

    /// An active open (RFC 9293 3.10.1): SYN-SENT, with the SYN waiting in
    /// [`poll_transmit`](Connection::poll_transmit). `our_mss` is the MSS we announce.
    pub fn connect(
        config: TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: Seq,
        our_mss: usize,
        now: Instant,
    ) -> Connection {
        Connection::new(config, local, remote, State::SynSent, iss, our_mss, now)
    }

    /// A passive open for one peer (RFC 9293 3.10.1, with the foreign socket given):
    /// LISTEN, answering that peer's SYN with ISS `iss`.
    pub fn listen(
        config: TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        iss: Seq,
        our_mss: usize,
        now: Instant,
    ) -> Connection {
        let mut c = Connection::new(config, local, remote, State::Listen, iss, our_mss, now);
        c.passive = true;
        c
    }

    /// A connection already in `state`, as if its handshake (and, for the closing
    /// states, its FINs) had been exchanged with the numbers in `ep`, nothing else sent
    /// or received: for tests, fuzzers and labs that start mid-conversation.
    ///
    /// LISTEN and SYN-SENT are [`listen`](Connection::listen) and
    /// [`connect`](Connection::connect); SYN-RECEIVED has taken the peer's SYN and
    /// waits to send its SYN,ACK; ESTABLISHED has SND.UNA = SND.NXT = ISS + 1 and
    /// RCV.NXT = IRS + 1; FIN-WAIT-1, CLOSING and LAST-ACK have sent our FIN (not yet
    /// acknowledged); FIN-WAIT-2 and TIME-WAIT have had it acknowledged; CLOSE-WAIT,
    /// CLOSING, LAST-ACK and TIME-WAIT have taken the peer's FIN at IRS + 1.
    pub fn in_state(now: Instant, state: State, ep: &Endpoint) -> Connection {
        let cfg = ep.config.clone();
        let (local, remote, iss, our_mss) = (ep.local, ep.remote, ep.iss, ep.our_mss);
        let syn = TcpRepr {
            src_port: remote.port(),
            dst_port: local.port(),
            seq: ep.irs,
            flags: Flags::SYN,
            window: ep.snd_wnd.min(MAX_WINDOW) as u16,
            options: Options {
                mss: ep.peer_mss,
                window_scale: ep.peer_window_scale,
                sack_permitted: ep.peer_sack_permitted,
                timestamps: ep.peer_timestamp.map(|val| (val, 0)),
                ..Options::default()
            },
            ..TcpRepr::default()
        };
        match state {
            State::Listen => return Connection::listen(cfg, local, remote, iss, our_mss, now),
            State::SynSent => return Connection::connect(cfg, local, remote, iss, our_mss, now),
            State::Closed => return Connection::new(cfg, local, remote, state, iss, our_mss, now),
            State::SynReceived => {
                let mut c = Connection::listen(cfg, local, remote, iss, our_mss, now);
                c.take_syn(now, &syn);
                c.set_state(State::SynReceived);
                return c;
            }
            _ => {}
        }
        let mut c = Connection::new(cfg, local, remote, state, iss, our_mss, now);
        c.take_syn(now, &syn);
        c.snd_wnd = ep.snd_wnd;
        c.max_snd_wnd = ep.snd_wnd;
        c.syn_acked = true;
        c.snd_una = iss + 1;
        c.snd_nxt = iss + 1;
        c.snd_max = iss + 1;
        c.snd_wl1 = ep.irs + 1;
        c.snd_wl2 = iss + 1;
        let our_fin_sent = matches!(
            state,
            State::FinWait1 | State::FinWait2 | State::Closing | State::LastAck | State::TimeWait
        );
        let our_fin_acked = matches!(state, State::FinWait2 | State::TimeWait);
        let peer_fin_taken = matches!(
            state,
            State::CloseWait | State::Closing | State::LastAck | State::TimeWait
        );
        if our_fin_sent {
            c.fin_queued = true;
            c.snd_nxt = iss + 2;
            c.snd_max = iss + 2;
            if our_fin_acked {
                c.fin_acked = true;
                c.snd_una = iss + 2;
            } else {
                c.timers.set(Timer::Retransmit, now + c.rtt.rto());
            }
        }
        if peer_fin_taken {
            c.peer_fin = Some(ep.irs + 1);
            c.rcv_nxt = ep.irs + 2;
        }
        c.rcv_adv = c.rcv_nxt + c.advertised_window();
        if state == State::TimeWait {
            c.enter_time_wait(now);
        }
        c
    }

    /// A passive open reset in SYN-RECEIVED goes back to LISTEN (RFC 9293 3.10.7.4,
    /// second) as it was made: everything the peer's SYN taught is forgotten, and the
    /// next SYN starts afresh. What the application set (Nagle, keep-alive) and the
    /// stack's bookkeeping stay; a congestion controller chosen with
    /// [`set_congestion_control`](Connection::set_congestion_control) is the config's
    /// again. (In the stack a listener's child that comes back is freed: the listener
    /// itself is what stays in LISTEN.)
    pub(crate) fn return_to_listen(&mut self, now: Instant) {
        let mut fresh = Connection::listen(
            self.config.clone(),
            self.local,
            self.remote,
            self.iss,
            self.our_mss,
            now,
        );
        fresh.parent = self.parent;
        fresh.orphaned = self.orphaned;
        fresh.nodelay = self.nodelay;
        fresh.keepalive = self.keepalive;
        fresh.ttl = self.ttl;
        fresh.counters = self.counters;
        debug!(
            "tcp {} -> {}: {} -> {} (reset)",
            self.local,
            self.remote,
            self.state,
            State::Listen
        );
        *self = fresh;
    }

    /// RFC 9293 3.10.7.2 and 3.10.7.3: take the peer's SYN (IRS, RCV.NXT, its window,
    /// MSS and options), whichever side opened.
    pub(crate) fn take_syn(&mut self, now: Instant, seg: &TcpRepr) {
        self.irs = seg.seq;
        self.rcv_nxt = seg.seq + 1;
        self.rcv_adv = self.rcv_nxt;
        self.snd_wnd = usize::from(seg.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        self.snd_wl2 = seg.ack;
        // RFC 9293 3.7.1: the peer's MSS, 536 when absent, within ours.
        let peer = seg.options.mss.map_or(DEFAULT_MSS, usize::from);
        self.mss = peer.clamp(64, self.our_mss);
        // RFC 6928: the initial window follows from the MSS just agreed.
        self.cc.init(self.mss);
        // RFC 7323 2.2, 3.2; RFC 2018 2: what both SYNs offered is what we use.
        self.negotiated = Negotiated::agree(&self.config, self.our_shift, &seg.options);
        self.ts = match seg.options.timestamps {
            Some((val, _)) if self.negotiated.timestamps => {
                Some(Timestamps::new(self.ts_offset(), val, now, self.rcv_nxt))
            }
            _ => None,
        };
    }

    /// Our timestamp clock's offset for this connection (RFC 7323 5.4, 7.1): derived from
    /// the ISS, which is itself keyed and secret (RFC 6528), so neither reveals uptime.
    pub(crate) fn ts_offset(&self) -> u32 {
        self.iss.0.wrapping_mul(0x9E37_79B9).rotate_left(13)
    }

    /// The most data in one segment: SMSS less the options every segment carries
    /// (RFC 9293 3.7.1: the MSS counts data and TCP options beyond the fixed header;
    /// timestamps take 12 bytes with their padding, as Linux's 1448 on Ethernet).
    pub(crate) fn send_mss(&self) -> usize {
        let options = if self.ts.is_some() { 12 } else { 0 };
        self.mss.saturating_sub(options).max(1)
    }

    /// The largest window we may advertise: 65535 scaled by our shift once agreed.
    pub(crate) fn max_window(&self) -> usize {
        MAX_WINDOW << self.negotiated.rcv_shift
    }

    /// Moves to `to`, logging the transition with the 4-tuple.
    pub(crate) fn set_state(&mut self, to: State) {
        if self.state != to {
            debug!(
                "tcp {} -> {}: {} -> {}",
                self.local, self.remote, self.state, to
            );
            self.state = to;
        }
    }

    /// The window we offer now: free receive space, within 16 bits, rounded per the
    /// receiver's silly window rule (RFC 1122 4.2.3.3): the right edge moves only by at
    /// least min(half the buffer, one MSS), and never moves left (RFC 9293 3.8.6.2.2).
    pub(crate) fn advertised_window(&self) -> usize {
        let max = self.max_window();
        let free = self.recv.window().min(max);
        let offered = self.rcv_wnd();
        let threshold = (self.recv.capacity() / 2).min(self.our_mss);
        if free >= offered + threshold || free == self.recv.capacity().min(max) {
            free
        } else {
            offered.min(max)
        }
    }

    /// RCV.WND as last advertised: from RCV.NXT to the right edge we offered.
    pub(crate) fn rcv_wnd(&self) -> usize {
        if self.rcv_adv.gt(self.rcv_nxt) {
            self.rcv_adv - self.rcv_nxt
        } else {
            0
        }
    }

    /// The sequence number of our FIN (valid once queued and the SYN is acknowledged).
    pub(crate) fn fin_seq(&self) -> Seq {
        self.snd_una + self.send.len()
    }

    /// True when our FIN has been sent (and not rewound for retransmission).
    pub(crate) fn fin_sent(&self) -> bool {
        self.fin_queued && self.syn_acked && self.snd_nxt.gt(self.fin_seq())
    }

    /// Sequence space between SND.UNA and SND.NXT: what the send window is charged with.
    pub(crate) fn flight_size(&self) -> usize {
        self.snd_nxt - self.snd_una
    }

    /// RFC 5681's FlightSize: everything sent and not acknowledged, even while a
    /// retransmission timeout has rewound SND.NXT.
    pub(crate) fn outstanding(&self) -> usize {
        self.snd_max - self.snd_una
    }

    /// Records a failure for the application and closes.
    pub(crate) fn fail(&mut self, error: TcpError) {
        debug!("tcp {} -> {}: {error}", self.local, self.remote);
        self.error = Some(error);
        self.timers.clear();
        self.set_state(State::Closed);
    }

    /// Holds a segment for the next [`poll_transmit`](Connection::poll_transmit).
    pub(crate) fn push_pending(&mut self, seg: Segment) {
        // At most a reset and two probes wait at once; were it ever more, dropping one
        // is what a lost segment does, and TCP recovers from that.
        let _ = self.pending.push(seg);
    }

    /// Replaces the congestion controller (before any data is sent, to choose one per
    /// connection; [`TcpConfig::congestion`] chooses the default).
    pub fn set_congestion_control(&mut self, cc: Box<dyn CongestionControl>) {
        self.cc = cc;
        self.cc.init(self.mss);
    }

    /// The state (RFC 9293 3.3.2).
    pub fn state(&self) -> State {
        self.state
    }

    /// Our address and port.
    pub fn local(&self) -> SocketAddrV4 {
        self.local
    }

    /// The peer's address and port.
    pub fn remote(&self) -> SocketAddrV4 {
        self.remote
    }

    /// Bytes of memory the send and receive buffers hold now (0 when quiet).
    pub fn buffer_memory(&self) -> usize {
        self.send.allocated() + self.recv.allocated()
    }

    /// Per-connection counters.
    pub fn counters(&self) -> ConnCounters {
        self.counters
    }

    /// What the event log compares between two runs of the connection.
    pub(crate) fn observation(&self) -> Observed {
        Observed {
            state: Some(self.state),
            snd_una: self.snd_una.0,
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            in_recovery: self.in_recovery,
            timeouts: self.counters.timeouts,
        }
    }

    /// An event of `kind` at `now` with the connection's variables as they are.
    /// `retransmit` defaults to "in loss recovery" for kinds other than a segment.
    pub(crate) fn event(&self, now: Instant, kind: EventKind, retransmit: bool) -> ConnEvent {
        ConnEvent {
            at: now,
            local: self.local,
            remote: self.remote,
            kind,
            state: self.state,
            snd_una: self.snd_una.0,
            snd_nxt: self.snd_nxt.0,
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            srtt_us: self.rtt.srtt().map(|d| d.total_micros()),
            rto_ms: self.rtt.rto().total_millis(),
            peer_window: self.snd_wnd,
            in_flight: self.outstanding(),
            retransmit,
            sacked: self.scoreboard.sacked_bytes(),
        }
    }

    /// The sequence variables and congestion state, for display and for oracles.
    pub fn details(&self) -> Details {
        Details {
            iss: self.iss.0,
            irs: self.irs.0,
            snd_una: self.snd_una.0,
            snd_nxt: self.snd_nxt.0,
            snd_max: self.snd_max.0,
            snd_wnd: self.snd_wnd,
            rcv_nxt: self.rcv_nxt.0,
            rcv_wnd: self.rcv_wnd(),
            congestion: self.cc.name(),
            cwnd: self.cc.cwnd(),
            ssthresh: self.cc.ssthresh(),
            snd_wscale: self
                .negotiated
                .window_scaling
                .then_some(self.negotiated.snd_shift),
            rcv_wscale: self
                .negotiated
                .window_scaling
                .then_some(self.negotiated.rcv_shift),
            timestamps: self.ts.is_some(),
            sack: self.negotiated.sack,
            sacked: self.scoreboard.sacked_bytes(),
            mss: self.mss,
            rto_ms: self.rtt.rto().total_millis(),
            srtt_us: self.rtt.srtt().map(|d| d.total_micros()),
            next_timer_us: self.timers.next().map(|i| i.total_micros()),
            send_queue: self.send.len(),
            recv_queue: self.recv.readable(),
            buffer_memory: self.buffer_memory(),
        }
    }
}

/// A connection's variables at one moment, as `ss -i` shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Details {
    /// ISS.
    pub iss: u32,
    /// IRS (0 before the peer's SYN).
    pub irs: u32,
    /// SND.UNA.
    pub snd_una: u32,
    /// SND.NXT.
    pub snd_nxt: u32,
    /// Highest SND.NXT so far.
    pub snd_max: u32,
    /// SND.WND, the peer's window.
    pub snd_wnd: usize,
    /// RCV.NXT.
    pub rcv_nxt: u32,
    /// RCV.WND as last advertised.
    pub rcv_wnd: usize,
    /// The congestion control algorithm ("cubic", "newreno").
    pub congestion: &'static str,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow start threshold, bytes (`usize::MAX` before the first loss).
    pub ssthresh: usize,
    /// Send MSS.
    pub mss: usize,
    /// The peer's window scale shift, when both sides scale (RFC 7323).
    pub snd_wscale: Option<u8>,
    /// Our window scale shift, when both sides scale.
    pub rcv_wscale: Option<u8>,
    /// Both sides send timestamps (RFC 7323).
    pub timestamps: bool,
    /// Both sides may send SACK blocks (RFC 2018).
    pub sack: bool,
    /// Bytes the peer has SACKed above SND.UNA.
    pub sacked: usize,
    /// Current retransmission timeout, milliseconds.
    pub rto_ms: u64,
    /// Smoothed round-trip time, microseconds.
    pub srtt_us: Option<u64>,
    /// The earliest armed timer, as a deadline in microseconds.
    pub next_timer_us: Option<u64>,
    /// Bytes queued to send (unsent and unacknowledged).
    pub send_queue: usize,
    /// Bytes received and not read yet.
    pub recv_queue: usize,
    /// Bytes of memory the send and receive buffers hold (0 when quiet).
    pub buffer_memory: usize,
}
