//! NewReno (RFC 5681 with RFC 6582's fast recovery), with RFC 3465 byte counting.
//!
//! The window arithmetic only; the sender keeps the duplicate-ACK count and the
//! `recover` point (see the [module docs](super)).

use super::{cwnd_after_recovery, deflate_on_partial_ack, initial_window, CongestionControl};
use crate::time::{Duration, Instant};

/// RFC 3465 (2.2): during slow start, one ACK may grow cwnd by at most L = 2*SMSS
/// bytes, however much it acknowledges (the RFC's recommended limit).
const ABC_LIMIT_SEGMENTS: usize = 2;

/// NewReno congestion control.
#[derive(Clone, Debug)]
pub struct NewReno {
    /// cwnd, bytes.
    cwnd: usize,
    /// ssthresh, bytes; `usize::MAX` until the first loss.
    ssthresh: usize,
    /// RFC 3465 (2.1): bytes acknowledged in congestion avoidance that have not yet
    /// earned a cwnd increase.
    bytes_acked: usize,
}

impl NewReno {
    /// A fresh connection's controller: cwnd is the initial window for an SMSS of `mss`
    /// (RFC 6928) and ssthresh is "arbitrarily high" (RFC 5681 3.1).
    pub fn new(mss: usize) -> Self {
        NewReno {
            cwnd: initial_window(mss),
            ssthresh: usize::MAX,
            bytes_acked: 0,
        }
    }

    /// ssthresh after a loss: RFC 5681 3.1 equation 4 (and 3.2 step 2),
    /// ssthresh = max(FlightSize / 2, 2*SMSS).
    fn reduced_ssthresh(flight_size: usize, mss: usize) -> usize {
        (flight_size / 2).max(mss.saturating_mul(2))
    }

    /// Congestion avoidance by byte counting (RFC 3465 2.1, the method RFC 5681 3.1
    /// recommends): one SMSS more each time a cwnd's worth of data has been acknowledged.
    fn congestion_avoidance(&mut self, acked: usize, mss: usize) {
        self.bytes_acked = self.bytes_acked.saturating_add(acked);
        // A zero cwnd can only come from mss == 0; `max(1)` keeps the division defined.
        let window = self.cwnd.max(1);
        if self.bytes_acked >= window {
            // One SMSS per full window acknowledged. A stretch ACK covering several
            // windows earns several increments at once, as Linux's
            // `tcp_cong_avoid_ai` does, so bytes_acked cannot grow without bound.
            let windows = self.bytes_acked / window;
            self.bytes_acked -= windows * window;
            self.cwnd = self.cwnd.saturating_add(windows.saturating_mul(mss));
        }
    }
}

impl CongestionControl for NewReno {
    fn name(&self) -> &'static str {
        "newreno"
    }

    fn cwnd(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn init(&mut self, mss: usize) {
        // RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)), for the SMSS now agreed.
        self.cwnd = initial_window(mss);
        self.bytes_acked = 0;
    }

    fn on_ack(&mut self, _now: Instant, acked: usize, mss: usize) {
        if self.cwnd < self.ssthresh {
            // RFC 5681 3.1: slow start while cwnd < ssthresh. Equation 2 with RFC 3465
            // byte counting: cwnd += min(N, L), L = 2*SMSS.
            let increase = acked.min(mss.saturating_mul(ABC_LIMIT_SEGMENTS));
            // Stop at ssthresh; what the ACK earned beyond it counts towards congestion
            // avoidance (as Linux's `tcp_slow_start` hands it on).
            let grown = self.cwnd.saturating_add(increase).min(self.ssthresh);
            let leftover = increase - (grown - self.cwnd);
            self.cwnd = grown;
            if leftover > 0 {
                self.congestion_avoidance(leftover, mss);
            }
        } else {
            // RFC 5681 3.1: congestion avoidance once cwnd >= ssthresh (equality may
            // use either; like Linux we leave slow start there).
            self.congestion_avoidance(acked, mss);
        }
    }

    fn on_enter_recovery(&mut self, flight_size: usize, mss: usize) {
        // RFC 5681 3.2 step 2: ssthresh = max(FlightSize / 2, 2*SMSS).
        self.ssthresh = Self::reduced_ssthresh(flight_size, mss);
        // Step 3: cwnd = ssthresh + 3*SMSS, for the three segments the duplicate ACKs
        // say have left the network.
        self.cwnd = self.ssthresh.saturating_add(mss.saturating_mul(3));
        self.bytes_acked = 0;
    }

    fn on_sack_recovery(&mut self, flight_size: usize, mss: usize) {
        // RFC 6675 5 step 4.2: ssthresh = cwnd = max(FlightSize / 2, 2*SMSS).
        self.ssthresh = Self::reduced_ssthresh(flight_size, mss);
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
    }

    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        // RFC 5681 3.2 step 4: each further duplicate ACK means one more segment left
        // the network; inflate cwnd by SMSS.
        self.cwnd = self.cwnd.saturating_add(mss);
    }

    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        self.cwnd = deflate_on_partial_ack(self.cwnd, acked, mss);
    }

    fn on_exit_recovery(&mut self, flight_size: usize, mss: usize) {
        self.cwnd = cwnd_after_recovery(self.ssthresh, flight_size, mss);
        self.bytes_acked = 0;
    }

    fn on_rto(&mut self, flight_size: usize, mss: usize) {
        // RFC 5681 3.1 equation 4: ssthresh = max(FlightSize / 2, 2*SMSS) ...
        self.ssthresh = Self::reduced_ssthresh(flight_size, mss);
        // ... and cwnd = LW, the loss window of one full-sized segment.
        self.cwnd = mss;
        self.bytes_acked = 0;
    }

    fn on_idle_restart(&mut self, _now: Instant, _rto: Duration, mss: usize) {
        // RFC 5681 4.1: after an idle period longer than an RTO, cwnd = RW, the restart
        // window min(IW, cwnd); ssthresh is kept, so slow start climbs back to it.
        self.cwnd = self.cwnd.min(initial_window(mss));
        self.bytes_acked = 0;
    }
}
