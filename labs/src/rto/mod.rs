//! Exercise 2: the retransmission timeout (RFC 6298).
//!
//! Write [`student::StudentRto`], an [`RtoEstimator`]: from round-trip samples (the
//! sender takes them by Karn's algorithm, and never from a retransmitted segment), keep
//! the smoothed round-trip time SRTT and its variation RTTVAR, and give the timeout:
//!
//! - (2.1) before any sample, RTO = the configured initial value (1 s);
//! - (2.2) the first sample R: SRTT = R, RTTVAR = R/2;
//! - (2.3) each later sample R': RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R'| (with the old
//!   SRTT), then SRTT = 7/8 SRTT + 1/8 R'; RTO = SRTT + max(G, 4 RTTVAR), where G, the
//!   clock granularity, is 1 ms here;
//! - (2.4) an RTO below the configured minimum is raised to it; (2.5) one above the
//!   maximum is lowered to it;
//! - (5.5) each expiry of the timer doubles the RTO (`backoff`), up to the maximum; the
//!   next valid sample ends the backoff.
//!
//! Work in microseconds with integers, as the reference does; rounding down is fine.
//! [`suite::SUITE`] grades it; `tests/rto.rs` runs one test per check.

pub mod student;
pub mod suite;

pub use netstack_core::tcp::rtt::{RtoConfig, RttEstimator};
pub use netstack_core::Duration;

/// What the sender needs from an RTO estimator (the stack's is [`RttEstimator`]).
pub trait RtoEstimator {
    /// Folds in one round-trip sample.
    fn sample(&mut self, rtt: Duration);
    /// The timeout to arm the retransmission timer with now.
    fn rto(&self) -> Duration;
    /// The timer expired: back off (RFC 6298 5.5).
    fn backoff(&mut self);
    /// SRTT, once there is a sample.
    fn srtt(&self) -> Option<Duration>;
    /// RTTVAR (zero before the first sample).
    fn rttvar(&self) -> Duration;
}

/// Makes an estimator with a configuration.
pub type Make = dyn Fn(RtoConfig) -> Box<dyn RtoEstimator>;

impl RtoEstimator for RttEstimator {
    fn sample(&mut self, rtt: Duration) {
        RttEstimator::sample(self, rtt);
    }
    fn rto(&self) -> Duration {
        RttEstimator::rto(self)
    }
    fn backoff(&mut self) {
        RttEstimator::backoff(self);
    }
    fn srtt(&self) -> Option<Duration> {
        RttEstimator::srtt(self)
    }
    fn rttvar(&self) -> Duration {
        RttEstimator::rttvar(self)
    }
}

/// The stack's own estimator, which passes the suite.
pub fn reference(config: RtoConfig) -> Box<dyn RtoEstimator> {
    Box::new(RttEstimator::new(config))
}

/// Your estimator.
pub fn student(config: RtoConfig) -> Box<dyn RtoEstimator> {
    Box::new(student::StudentRto::new(config))
}

/// What the graded tests run: yours with `--features student`, else the reference.
pub fn under_test(config: RtoConfig) -> Box<dyn RtoEstimator> {
    if cfg!(feature = "student") {
        student(config)
    } else {
        reference(config)
    }
}
