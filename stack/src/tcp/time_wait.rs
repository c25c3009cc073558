//! TIME-WAIT (RFC 9293 3.3.2, 3.10.7.4), all of it: after both FINs, a connection waits
//! 2*MSL so stray segments of this incarnation die out and a lost final ACK can be
//! repeated.
//!
//! A connection spends TIME-WAIT in one of two forms:
//! * as a [`Connection`], while an application still holds it (or a stand-alone user
//!   drives it): `Connection::enter_time_wait` starts the 2*MSL timer, a retransmitted
//!   FIN restarts it (`Connection::restart_time_wait`);
//! * once nobody holds it, as a `TimeWait` entry without buffers in the TCP layer's
//!   `TimeWaits` table: all that remains is to acknowledge a retransmitted FIN, to
//!   answer a new SYN (RFC 6191's rule without timestamps), and to keep the 4-tuple from
//!   reuse until the wait is over.

use core::net::SocketAddrV4;
use std::collections::HashMap;

use super::binds::{Binds, Holder};
use super::connection::Connection;
use super::state::State;
use super::timer::Timer;
use crate::deadlines::Deadlines;
use crate::time::{Duration, Instant};
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, TcpRepr};

/// A connection in TIME-WAIT, without buffers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimeWait {
    pub snd_nxt: Seq,
    pub rcv_nxt: Seq,
    pub until: Instant,
    /// The connection had SO_REUSEADDR: a socket that sets it may bind the port.
    pub reuse: bool,
}

/// What to do with a segment that matched a [`TimeWait`] entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// An acceptable new SYN: the entry is gone; hand the segment to a listener.
    Reopen,
    /// Nothing to say.
    Drop,
    /// Send this ACK (it tells a confused peer where we are).
    Ack(TcpRepr),
}

/// A TIME-WAIT entry's key: (local, remote).
type Key = (SocketAddrV4, SocketAddrV4);

/// Buffer-less TIME-WAIT entries by (local, remote), with their expiry times in order, so
/// neither a lookup nor the next expiry costs more than O(log n), however many there are.
#[derive(Debug, Default)]
pub(crate) struct TimeWaits {
    entries: HashMap<Key, TimeWait>,
    expiry: Deadlines<Key>,
    /// The ports the entries hold, for binding.
    pub binds: Binds,
}

impl TimeWaits {
    /// Keeps what is left of a connection that finished in TIME-WAIT with nobody holding
    /// it, until its 2*MSL timer (or `now` + 2*MSL if none ran).
    pub fn insert(&mut self, now: Instant, conn: &Connection) {
        let until = conn
            .timers
            .get(Timer::Close)
            .unwrap_or(now + conn.config.msl.saturating_mul(2));
        let entry = TimeWait {
            snd_nxt: conn.snd_nxt,
            rcv_nxt: conn.rcv_nxt,
            until,
            reuse: conn.reuse_addr,
        };
        let key = (conn.local, conn.remote);
        self.remove(key);
        self.binds.hold(key.0.port(), holder(entry.reuse));
        self.entries.insert(key, entry);
        self.expiry.set(key, Some(until));
    }

    /// True while (local, remote) waits out TIME-WAIT here.
    pub fn contains(&self, local: SocketAddrV4, remote: SocketAddrV4) -> bool {
        self.entries.contains_key(&(local, remote))
    }

    /// A segment for (local, remote), if an entry waits there. `msl` is the MSL a
    /// retransmitted FIN restarts the wait with.
    pub fn on_segment(
        &mut self,
        now: Instant,
        msl: Duration,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        seg: &TcpRepr,
        data_len: usize,
    ) -> Option<Verdict> {
        let key = (local, remote);
        let tw = self.entries.get_mut(&key)?;
        if seg.flags.has(Flags::SYN) && !seg.flags.has(Flags::ACK) && seg.seq.gt(tw.rcv_nxt) {
            self.remove(key);
            return Some(Verdict::Reopen);
        }
        if seg.flags.has(Flags::RST) {
            if seg.seq == tw.rcv_nxt {
                self.remove(key);
            }
            return Some(Verdict::Drop);
        }
        // RFC 9293 3.10.7.4 with the receive window closed (RCV.WND = 0): only an empty
        // segment at RCV.NXT is acceptable, and that bare ACK needs no answer (Linux's
        // tcp_timewait_state_process is silent too); answering it would have two
        // TIME-WAITs trade ACKs for as long as they live.
        if seg.segment_len(data_len) == 0 && seg.seq == tw.rcv_nxt {
            return Some(Verdict::Drop);
        }
        // Anything else is unacceptable and gets an ACK; a retransmitted FIN also
        // restarts the 2*MSL wait.
        let ack = TcpRepr {
            src_port: local.port(),
            dst_port: remote.port(),
            seq: tw.snd_nxt,
            ack: tw.rcv_nxt,
            flags: Flags::ACK,
            window: 0,
            ..TcpRepr::default()
        };
        if seg.flags.has(Flags::FIN) {
            tw.until = now + msl.saturating_mul(2);
            self.expiry.set(key, Some(tw.until));
        }
        Some(Verdict::Ack(ack))
    }

    fn remove(&mut self, key: Key) {
        self.expiry.set(key, None);
        self.forget(key);
    }

    fn forget(&mut self, key: Key) {
        if let Some(tw) = self.entries.remove(&key) {
            self.binds.release(key.0.port(), holder(tw.reuse));
        }
    }

    /// Forgets the entries whose wait is over at `now`.
    pub fn expire(&mut self, now: Instant) {
        while let Some(key) = self.expiry.pop_due(now) {
            self.forget(key);
        }
    }

    /// When the next entry expires.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.expiry.next()
    }

    /// Every 4-tuple waiting, for display.
    pub fn keys(&self) -> Vec<(SocketAddrV4, SocketAddrV4)> {
        self.entries.keys().copied().collect()
    }
}

/// How a TIME-WAIT entry holds its port.
fn holder(reuse: bool) -> Holder {
    Holder {
        reuse,
        listening: false,
    }
}

impl Connection {
    /// Enters TIME-WAIT (both FINs are in) and starts its 2*MSL timer.
    pub(crate) fn enter_time_wait(&mut self, now: Instant) {
        self.timers.stop(Timer::Retransmit);
        self.timers.stop(Timer::Persist);
        self.timers.stop(Timer::Keepalive);
        self.set_state(State::TimeWait);
        self.restart_time_wait(now);
    }

    /// The peer retransmitted its FIN (our ACK was lost): wait 2*MSL from now.
    pub(crate) fn restart_time_wait(&mut self, now: Instant) {
        let wait = self.config.msl.saturating_mul(2);
        self.timers.set(Timer::Close, now + wait);
    }
}
