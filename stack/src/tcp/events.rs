//! Per-connection events for logs, plots and teaching: what happened to a connection
//! (a state change, a segment sent, an ACK that moved SND.UNA, a loss, a timeout, a new
//! cwnd), each with the connection's variables at that moment.
//!
//! The TCP layer records them into an [`EventLog`], a bounded queue that is off until
//! the caller enables it ([`Stack::enable_tcp_events`](crate::Stack::enable_tcp_events))
//! and that the caller drains ([`Stack::drain_tcp_events`](crate::Stack::drain_tcp_events))
//! as often as it likes, say once per event-loop round. When the queue is full, new
//! events are dropped and counted, never blocking or growing: the stack stays sans-IO
//! and bounded.
//!
//! A connection does not report its events itself. The layer compares the connection
//! with what it last saw of it (`Observed`) each time it has run the connection (a
//! segment, a timer, a user call), and records each segment it emits (`lifecycle.rs`).
//! So an event's time is the time of the call that caused it. This file knows nothing
//! of `Connection`: it is below it.

use std::collections::VecDeque;

use core::net::SocketAddrV4;

use super::state::State;
use crate::time::Instant;
use crate::wire::tcp::Flags;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// The connection moved from state `from` to its current state (RFC 9293 3.3.2).
    State {
        /// The state it left.
        from: State,
    },
    /// A segment was handed to IP.
    Sent {
        /// Its sequence number.
        seq: u32,
        /// Bytes of data it carries.
        len: usize,
        /// Its flags.
        flags: Flags,
        /// Its acknowledgment number (meaningful when `flags` has ACK).
        ack: u32,
    },
    /// An ACK moved SND.UNA forward by `acked` bytes (sequence space).
    Acked {
        /// How far SND.UNA moved.
        acked: usize,
    },
    /// Three duplicate ACKs or the SACK scoreboard found a loss: fast retransmit, and
    /// fast recovery began (RFC 5681 3.2, RFC 6582, RFC 6675).
    RecoveryEntered,
    /// An ACK covering the recovery point ended fast recovery.
    RecoveryExited,
    /// The retransmission timer expired (RFC 6298 5.4-5.6).
    Rto,
    /// The congestion controller changed cwnd or ssthresh.
    Cwnd,
}

impl EventKind {
    /// The event's name in logs: `state`, `sent`, `ack`, `recovery`, `recovery-end`,
    /// `rto`, `cwnd`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::State { .. } => "state",
            EventKind::Sent { .. } => "sent",
            EventKind::Acked { .. } => "ack",
            EventKind::RecoveryEntered => "recovery",
            EventKind::RecoveryExited => "recovery-end",
            EventKind::Rto => "rto",
            EventKind::Cwnd => "cwnd",
        }
    }
}

/// One event, with the connection's variables right after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnEvent {
    /// When: the `now` of the stack call that caused it.
    pub at: Instant,
    /// Our address and port.
    pub local: SocketAddrV4,
    /// The peer's address and port.
    pub remote: SocketAddrV4,
    /// What happened.
    pub kind: EventKind,
    /// The connection's state.
    pub state: State,
    /// SND.UNA.
    pub snd_una: u32,
    /// SND.NXT.
    pub snd_nxt: u32,
    /// Congestion window, bytes.
    pub cwnd: usize,
    /// Slow start threshold, bytes (`usize::MAX` before the first loss).
    pub ssthresh: usize,
    /// Smoothed round-trip time, microseconds, once measured.
    pub srtt_us: Option<u64>,
    /// The retransmission timeout, milliseconds.
    pub rto_ms: u64,
    /// SND.WND, the window the peer offers.
    pub peer_window: usize,
    /// Bytes sent and not acknowledged (SND.MAX - SND.UNA; SACKed bytes included).
    pub in_flight: usize,
    /// A retransmission: for `Sent`, the segment repeats data sent before; for the
    /// other kinds, the connection is in loss recovery.
    pub retransmit: bool,
    /// Bytes the peer has SACKed above SND.UNA.
    pub sacked: usize,
}

/// What the layer last saw of a connection, to find what changed since.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Observed {
    /// `None` until the connection is first observed: it then reports its first state.
    pub state: Option<State>,
    pub snd_una: u32,
    pub cwnd: usize,
    pub ssthresh: usize,
    pub in_recovery: bool,
    pub timeouts: u64,
}

/// The bounded queue of [`ConnEvent`]s. Off (capacity 0) until enabled.
#[derive(Debug, Default)]
pub struct EventLog {
    queue: VecDeque<ConnEvent>,
    capacity: usize,
    dropped: u64,
}

impl EventLog {
    /// Starts recording, keeping at most `capacity` events until they are drained
    /// (0 turns recording off and discards what is queued).
    pub fn enable(&mut self, capacity: usize) {
        self.capacity = capacity;
        if capacity == 0 {
            self.queue = VecDeque::new();
        } else {
            self.queue.truncate(capacity);
        }
    }

    /// True when events are being recorded.
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Events lost because the queue was full when they happened.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Hands every queued event to `each`, oldest first, and returns how many there were.
    pub fn drain(&mut self, mut each: impl FnMut(&ConnEvent)) -> usize {
        let n = self.queue.len();
        for event in self.queue.drain(..) {
            each(&event);
        }
        n
    }

    fn push(&mut self, event: ConnEvent) {
        if self.queue.len() >= self.capacity {
            self.dropped += 1;
        } else {
            self.queue.push_back(event);
        }
    }

    /// Records what changed between `seen` (what was last observed of a connection)
    /// and `now_seen`; `make` builds an event with the connection's variables.
    /// `passive`: the connection was opened from LISTEN.
    pub(crate) fn record_changes(
        &mut self,
        seen: Observed,
        now_seen: Observed,
        passive: bool,
        make: impl Fn(EventKind) -> ConnEvent,
    ) {
        if !self.is_enabled() || now_seen == seen {
            return;
        }
        let mut record = |kind| self.push(make(kind));
        // A timeout or a loss first: it explains the cwnd change that follows.
        if now_seen.timeouts > seen.timeouts {
            record(EventKind::Rto);
        }
        if now_seen.in_recovery && !seen.in_recovery {
            record(EventKind::RecoveryEntered);
        }
        if seen.state.is_some() && now_seen.snd_una != seen.snd_una {
            let acked = now_seen.snd_una.wrapping_sub(seen.snd_una) as usize;
            // Only forward moves are acknowledgments.
            if acked < 1 << 31 {
                record(EventKind::Acked { acked });
            }
        }
        if !now_seen.in_recovery && seen.in_recovery {
            record(EventKind::RecoveryExited);
        }
        if (now_seen.cwnd, now_seen.ssthresh) != (seen.cwnd, seen.ssthresh) {
            record(EventKind::Cwnd);
        }
        let Some(state) = now_seen.state else { return };
        match seen.state {
            Some(from) if from != state => record(EventKind::State { from }),
            // First sight: say where it started (SYN-SENT, SYN-RECEIVED), as a change
            // from CLOSED (active open) or LISTEN (passive).
            None => {
                let from = if passive {
                    State::Listen
                } else {
                    State::Closed
                };
                if from != state {
                    record(EventKind::State { from });
                }
            }
            _ => {}
        }
    }

    /// Records a sent segment, `event` (of kind [`EventKind::Sent`]).
    pub(crate) fn record(&mut self, event: ConnEvent) {
        if self.is_enabled() {
            self.push(event);
        }
    }
}
