//! YOUR congestion controller (exercise 1). Fill in every method; the module docs of
//! `congestion` list the rules, and `CongestionControl`'s docs say when each is called.
//! Grade it with `cargo test -p netstack-labs --features student`.
//!
//! As handed out it keeps cwnd where it starts and ignores every event, so most of the
//! suite fails. Do not look at stack/src/tcp/congestion/newreno.rs until you pass!

use netstack_core::tcp::congestion::CongestionControl;
use netstack_core::Instant;

/// NewReno, by you.
#[derive(Clone, Debug)]
pub struct StudentReno {
    /// cwnd, bytes.
    cwnd: usize,
    /// ssthresh, bytes; `usize::MAX` until the first loss (RFC 5681 3.1).
    ssthresh: usize,
}

impl StudentReno {
    /// A controller for a connection whose SMSS is `mss` so far.
    pub fn new(mss: usize) -> Self {
        // Exercise: the initial window of RFC 6928, not one segment.
        StudentReno {
            cwnd: mss,
            ssthresh: usize::MAX,
        }
    }
}

impl CongestionControl for StudentReno {
    fn name(&self) -> &'static str {
        "student-reno"
    }

    fn cwnd(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn init(&mut self, mss: usize) {
        // Exercise: RFC 6928's initial window for `mss`.
        let _ = mss;
    }

    fn on_ack(&mut self, now: Instant, acked: usize, mss: usize) {
        // Exercise: slow start below ssthresh (RFC 5681 3.1, RFC 3465 2.2's limit),
        // congestion avoidance above it.
        let _ = (now, acked, mss);
    }

    fn on_enter_recovery(&mut self, flight_size: usize, mss: usize) {
        // Exercise: RFC 5681 3.2 steps 2 and 3.
        let _ = (flight_size, mss);
    }

    fn on_sack_recovery(&mut self, flight_size: usize, mss: usize) {
        // Exercise: RFC 6675: ssthresh as for fast recovery, cwnd = ssthresh.
        let _ = (flight_size, mss);
    }

    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        // Exercise: RFC 5681 3.2 step 4.
        let _ = mss;
    }

    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        // Exercise: RFC 6582 3.2 step 5.
        let _ = (acked, mss);
    }

    fn on_exit_recovery(&mut self, flight_size: usize, mss: usize) {
        // Exercise: RFC 6582 3.2 step 6, option (1).
        let _ = (flight_size, mss);
    }

    fn on_rto(&mut self, flight_size: usize, mss: usize) {
        // Exercise: RFC 5681 3.1 equation 4, and the loss window.
        let _ = (flight_size, mss);
    }
}
