//! Exercise 1: a congestion controller.
//!
//! Write NewReno's window arithmetic in [`student::StudentReno`], behind the trait the
//! stack's sender drives, [`CongestionControl`] (its documentation says exactly when
//! the sender calls each hook). The sender does the bookkeeping (counting duplicate
//! ACKs, the recovery point, retransmitting); you own cwnd and ssthresh:
//!
//! - the initial window, RFC 6928 2: min(10*MSS, max(2*MSS, 14600));
//! - slow start, RFC 5681 3.1 with RFC 3465's byte counting: cwnd grows by the bytes
//!   each ACK acknowledges, at most 2*SMSS per ACK;
//! - congestion avoidance once cwnd >= ssthresh: one SMSS per cwnd of bytes acknowledged;
//! - fast retransmit and fast recovery, RFC 5681 3.2 and RFC 6582 3.2: ssthresh =
//!   max(FlightSize/2, 2*SMSS), cwnd = ssthresh + 3*SMSS, one SMSS more per duplicate
//!   ACK, a partial ACK deflates by what it acknowledged (plus one SMSS when that was at
//!   least one SMSS), a full ACK sets cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS);
//! - SACK recovery, RFC 6675: ssthresh as above, cwnd = ssthresh;
//! - a retransmission timeout, RFC 5681 3.1 equation 4: ssthresh as above, cwnd = 1 SMSS.
//!
//! [`suite::SUITE`] grades it; `tests/congestion.rs` runs one test per check.

pub mod student;
pub mod suite;

pub use netstack_core::tcp::congestion::CongestionControl;

/// Makes a controller for an SMSS.
pub type Make = dyn Fn(usize) -> Box<dyn CongestionControl>;

/// The stack's own NewReno, which passes the suite.
pub fn reference(mss: usize) -> Box<dyn CongestionControl> {
    Box::new(netstack_core::tcp::congestion::NewReno::new(mss))
}

/// Your controller.
pub fn student(mss: usize) -> Box<dyn CongestionControl> {
    Box::new(student::StudentReno::new(mss))
}

/// What the graded tests run: yours with `--features student`, else the reference.
pub fn under_test(mss: usize) -> Box<dyn CongestionControl> {
    if cfg!(feature = "student") {
        student(mss)
    } else {
        reference(mss)
    }
}
