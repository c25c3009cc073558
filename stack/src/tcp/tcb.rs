//! The transmission control block: one connection's state, named as RFC 9293 3.3.1 names
//! it (SND.UNA, SND.NXT, SND.WND, RCV.NXT, ...). Arrival processing is in `input.rs`,
//! sending in `output.rs`; this file holds the state and the small rules both share.

use core::net::SocketAddrV4;

use log::debug;

use super::config::TcpConfig;
use super::congestion::{newreno::NewReno, CongestionControl};
use super::error::TcpError;
use super::recv_buffer::RecvBuffer;
use super::rtt::{RtoConfig, RttEstimator, RttSampler};
use super::send_buffer::SendBuffer;
use super::seq::Seq;
use super::state::State;
use super::timer::Timers;
use crate::socket::SocketHandle;
use crate::time::Instant;

/// The MSS assumed when the peer sends none (RFC 9293 3.7.1).
pub const DEFAULT_MSS: usize = 536;
/// The largest window we can advertise without window scaling (RFC 7323 is for later).
pub const MAX_WINDOW: usize = 65535;

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
    /// Segments received and sent.
    pub segments_in: u64,
    /// Segments sent.
    pub segments_out: u64,
}

/// One connection.
#[derive(Debug)]
pub(crate) struct Tcb {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    pub state: State,

    // Send sequence variables (RFC 9293 3.3.1).
    pub iss: Seq,
    pub snd_una: Seq,
    pub snd_nxt: Seq,
    /// The highest SND.NXT so far (retransmission rewinds SND.NXT, never this).
    pub snd_max: Seq,
    pub snd_wnd: usize,
    /// The largest window the peer has offered, for the sender's SWS rule.
    pub max_snd_wnd: usize,
    pub snd_wl1: Seq,
    pub snd_wl2: Seq,
    pub syn_acked: bool,

    // Receive sequence variables.
    pub irs: Seq,
    pub rcv_nxt: Seq,
    /// The right edge of the window we last advertised (RCV.NXT + RCV.WND then).
    pub rcv_adv: Seq,

    pub send: SendBuffer,
    pub recv: RecvBuffer,
    /// The application shut down its sending side: a FIN follows the queued data.
    pub fin_queued: bool,
    pub fin_acked: bool,
    /// Where the peer's FIN sits, once seen (it may wait behind a hole).
    pub peer_fin: Option<Seq>,

    /// The most data we put in one segment: the peer's MSS, within our MTU.
    pub mss: usize,
    /// The MSS we announce: our MTU less 40.
    pub our_mss: usize,

    pub timers: Timers,
    pub rtt: RttEstimator,
    pub sampler: RttSampler,
    /// Consecutive retransmission timeouts without progress.
    pub retries: u32,
    pub cc: Box<dyn CongestionControl>,
    pub dup_acks: u32,
    /// NewReno's "recover" (RFC 6582 3.2): the highest sequence sent when fast recovery
    /// last began, or when the retransmission timer last fired. Kept after recovery ends,
    /// so stale duplicate ACKs cannot start a second recovery (step 2).
    pub recover: Seq,
    /// In fast recovery until an ACK covers `recover`.
    pub in_recovery: bool,
    /// When we last sent new data, for the restart window after idle (RFC 5681 4.1).
    pub last_send: Instant,
    pub persist_backoff: u32,
    /// The persist timer fired on a small open window: send despite the SWS rule once.
    pub force_send: bool,
    /// Retransmit the segment at SND.UNA now (fast retransmit, or a NewReno partial ACK)
    /// without rewinding SND.NXT.
    pub retransmit_first: bool,

    pub nodelay: bool,
    pub keepalive: bool,
    pub keepalive_probes: u32,
    pub last_heard: Instant,

    /// Send an ACK with the next segment, or alone, now.
    pub ack_now: bool,
    /// In-order segments received since we last sent an ACK.
    pub unacked_segments: u32,

    /// Why the connection failed, reported once to the application.
    pub error: Option<TcpError>,
    /// The application closed its handle; the stack finishes the connection alone.
    pub orphaned: bool,
    /// The listener this passive connection will be accepted from.
    pub parent: Option<SocketHandle>,
    pub counters: ConnCounters,
}

impl Tcb {
    /// A connection in `state` (SYN-SENT or SYN-RECEIVED) with initial sequence `iss`.
    pub fn new(
        cfg: &TcpConfig,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        state: State,
        iss: Seq,
        our_mss: usize,
        now: Instant,
    ) -> Tcb {
        Tcb {
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
            send: SendBuffer::new(cfg.send_buffer),
            recv: RecvBuffer::new(cfg.recv_buffer),
            fin_queued: false,
            fin_acked: false,
            peer_fin: None,
            mss: DEFAULT_MSS.min(our_mss),
            our_mss,
            timers: Timers::default(),
            rtt: RttEstimator::new(RtoConfig::default()),
            sampler: RttSampler::default(),
            retries: 0,
            cc: Box::new(NewReno::new(DEFAULT_MSS.min(our_mss))),
            dup_acks: 0,
            // RFC 6582 3.2 step 1: recover starts at the initial send sequence number.
            recover: iss,
            in_recovery: false,
            last_send: now,
            persist_backoff: 0,
            force_send: false,
            retransmit_first: false,
            nodelay: false,
            keepalive: false,
            keepalive_probes: 0,
            last_heard: now,
            ack_now: false,
            unacked_segments: 0,
            error: None,
            orphaned: false,
            parent: None,
            counters: ConnCounters::default(),
        }
    }

    /// Moves to `to`, logging the transition with the 4-tuple.
    pub fn set_state(&mut self, to: State) {
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
    pub fn advertised_window(&self) -> usize {
        let free = self.recv.window().min(MAX_WINDOW);
        let offered = self.rcv_adv - self.rcv_nxt;
        let offered = if self.rcv_adv.gt(self.rcv_nxt) {
            offered
        } else {
            0
        };
        let threshold = (self.recv.capacity() / 2).min(self.our_mss);
        if free >= offered + threshold || free == self.recv.capacity().min(MAX_WINDOW) {
            free
        } else {
            offered.min(MAX_WINDOW)
        }
    }

    /// The sequence number of our FIN (valid once queued and the SYN is acknowledged).
    pub fn fin_seq(&self) -> Seq {
        self.snd_una + self.send.len()
    }

    /// True when our FIN has been sent (and not rewound for retransmission).
    pub fn fin_sent(&self) -> bool {
        self.fin_queued && self.syn_acked && self.snd_nxt.gt(self.fin_seq())
    }

    /// Sequence space between SND.UNA and SND.NXT: what the send window is charged with.
    pub fn flight_size(&self) -> usize {
        self.snd_nxt - self.snd_una
    }

    /// RFC 5681's FlightSize: everything sent and not acknowledged, even while a
    /// retransmission timeout has rewound SND.NXT.
    pub fn outstanding(&self) -> usize {
        self.snd_max - self.snd_una
    }

    /// Records a failure for the application and closes.
    pub fn fail(&mut self, error: TcpError) {
        debug!("tcp {} -> {}: {error}", self.local, self.remote);
        self.error = Some(error);
        self.timers.clear();
        self.set_state(State::Closed);
    }
}
