//! YOUR RTO estimator (exercise 2). The module docs of `rto` list the rules of
//! RFC 6298 it must follow. Grade it with `cargo test -p netstack-labs --features student`.
//!
//! As handed out it always answers the initial RTO and learns nothing, so most of the
//! suite fails. Do not look at stack/src/tcp/rtt.rs until you pass!

use super::{Duration, RtoConfig, RtoEstimator};

/// RFC 6298, by you.
#[derive(Clone, Debug)]
pub struct StudentRto {
    config: RtoConfig,
    // Exercise: what else must you remember? (SRTT, RTTVAR, the backoff ...)
}

impl StudentRto {
    /// An estimator with no samples yet.
    pub fn new(config: RtoConfig) -> Self {
        StudentRto { config }
    }
}

impl RtoEstimator for StudentRto {
    fn sample(&mut self, rtt: Duration) {
        // Exercise: RFC 6298 (2.2) for the first sample, (2.3) for the others.
        let _ = rtt;
    }

    fn rto(&self) -> Duration {
        // Exercise: (2.1)-(2.5) and the backoff of (5.5).
        self.config.initial
    }

    fn backoff(&mut self) {
        // Exercise: (5.5).
    }

    fn srtt(&self) -> Option<Duration> {
        None
    }

    fn rttvar(&self) -> Duration {
        Duration::ZERO
    }
}
