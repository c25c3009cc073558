//! Round-trip time measurement and the retransmission timeout (RFC 6298).
//!
//! Two small pieces that the sender combines:
//!
//! - [`RttSampler`] decides *which* round trips are measured: one segment at a time, and
//!   never one that was retransmitted (Karn's algorithm, RFC 6298 3).
//! - [`RttEstimator`] turns those measurements into SRTT, RTTVAR and the RTO
//!   (RFC 6298 2) and applies the exponential backoff of RFC 6298 (5.5) when the
//!   retransmission timer expires.
//!
//! How the sender drives them (RFC 6298 5 for the timer itself):
//!
//! ```text
//! send new data (beyond anything sent before) ending at END:
//!     sampler.start(END, now)
//! an ACK advances SND.UNA to ACK:
//!     if let Some(r) = sampler.on_ack(ACK, now) { estimator.sample(r) }
//!     restart the retransmission timer for estimator.rto()       (5.3)
//! the retransmission timer expires:
//!     sampler.on_retransmit(); estimator.backoff()                (5.5)
//!     retransmit SND.UNA; restart the timer for estimator.rto()   (5.4, 5.6)
//! any other retransmission (fast retransmit, go-back-N resends):
//!     sampler.on_retransmit()
//! ```
//!
//! Nothing here reads a clock: times are arguments and all arithmetic saturates, so no
//! input (however absurd) panics.

use crate::time::{Duration, Instant};
use crate::wire::seq::Seq;

/// RFC 6298 (2.2), (2.3): RTO = SRTT + max(G, K*RTTVAR) with K = 4.
const K: u64 = 4;

/// RFC 6298 (2.2), (2.3): the clock granularity G. Our clock counts microseconds, but a
/// floor of 1 ms under the variance term keeps a path with perfectly steady samples
/// from getting an RTO equal to SRTT, which would fire on the slightest jitter.
const CLOCK_GRANULARITY: Duration = Duration::from_millis(1);

/// Bounds and starting value of the retransmission timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoConfig {
    /// RTO before the first RTT sample: 1 s, RFC 6298 (2.1). Also the base that SYN
    /// retransmissions back off from.
    pub initial: Duration,
    /// Floor under the computed RTO (before backoff doubles it): 200 ms.
    ///
    /// RFC 6298 (2.4) says 1 s, a value chosen for the coarse clocks of its day; the RFC
    /// itself notes that a lower minimum trades spurious retransmissions for faster
    /// recovery. Linux uses 200 ms (`TCP_RTO_MIN`) and FreeBSD 30 ms. The floor must
    /// stay above the peer's delayed-ACK timer (RFC 9293 3.8.6.3 caps it at 500 ms;
    /// Linux uses 40-200 ms), or a lone segment that waits for a delayed ACK is
    /// retransmitted needlessly; 200 ms matches the Linux peers we mostly talk to.
    pub min: Duration,
    /// Ceiling on the RTO, backoff included: 120 s like Linux (`TCP_RTO_MAX`).
    /// RFC 6298 (2.5) allows any maximum of at least 60 s.
    pub max: Duration,
}

impl Default for RtoConfig {
    fn default() -> Self {
        RtoConfig {
            initial: Duration::from_secs(1),
            min: Duration::from_millis(200),
            max: Duration::from_secs(120),
        }
    }
}

/// The RFC 6298 estimator: smoothed RTT, RTT variance, and the current (backed-off) RTO.
///
/// One per connection. Feed it samples from an [`RttSampler`] with [`sample`], read the
/// timeout to arm with [`rto`], and call [`backoff`] each time the retransmission timer
/// expires.
///
/// [`sample`]: RttEstimator::sample
/// [`rto`]: RttEstimator::rto
/// [`backoff`]: RttEstimator::backoff
#[derive(Clone, Debug)]
pub struct RttEstimator {
    config: RtoConfig,
    /// SRTT; `None` until the first sample.
    srtt: Option<Duration>,
    /// RTTVAR; zero until the first sample.
    rttvar: Duration,
    /// Consecutive timer expirations since the last valid sample.
    backoffs: u32,
}

impl RttEstimator {
    /// An estimator with no samples yet, whose RTO is `config.initial` (RFC 6298 (2.1)).
    pub fn new(config: RtoConfig) -> Self {
        RttEstimator {
            config,
            srtt: None,
            rttvar: Duration::ZERO,
            backoffs: 0,
        }
    }

    /// Folds in one RTT measurement `rtt`, taken per Karn's algorithm (use
    /// [`RttSampler`]), and clears the backoff: a valid sample from a segment that was
    /// not retransmitted is what ends backoff (RFC 6298 5, Karn's algorithm).
    ///
    /// Call it after the arrival of the ACK that produced the sample, then restart the
    /// retransmission timer with [`rto`](Self::rto) if it is running.
    pub fn sample(&mut self, rtt: Duration) {
        let r = u128::from(rtt.total_micros());
        match self.srtt {
            None => {
                // RFC 6298 (2.2): SRTT <- R, RTTVAR <- R/2.
                self.srtt = Some(rtt);
                self.rttvar = Duration::from_micros(rtt.total_micros() / 2);
            }
            Some(srtt) => {
                let srtt = u128::from(srtt.total_micros());
                let rttvar = u128::from(self.rttvar.total_micros());
                // RFC 6298 (2.3): RTTVAR <- (1 - beta) * RTTVAR + beta * |SRTT - R'|,
                // beta = 1/4, using SRTT from before this sample ...
                let rttvar = (3 * rttvar + srtt.abs_diff(r)) / 4;
                // ... then SRTT <- (1 - alpha) * SRTT + alpha * R', alpha = 1/8.
                let srtt = (7 * srtt + r) / 8;
                // Both are weighted means of u64 values, so they fit back into a u64.
                self.rttvar = Duration::from_micros(saturate(rttvar));
                self.srtt = Some(Duration::from_micros(saturate(srtt)));
            }
        }
        self.backoffs = 0;
    }

    /// RFC 6298 (5.7): when the SYN (or SYN-ACK) had to be retransmitted and no RTT
    /// sample exists, the RTO once data transmission begins is 3 seconds, not 1, and the
    /// handshake's backoff is forgotten. Call when the connection becomes established.
    pub fn after_syn_timeout(&mut self) {
        if self.srtt.is_none() {
            self.config.initial = self
                .config
                .initial
                .max(Duration::from_secs(3))
                .min(self.config.max);
        }
        self.backoffs = 0;
    }

    /// The retransmission timeout to arm the timer with now: the RFC 6298 RTO, raised
    /// to the configured minimum, doubled once per [`backoff`](Self::backoff), and capped
    /// at the configured maximum.
    pub fn rto(&self) -> Duration {
        let base = match self.srtt {
            // RFC 6298 (2.1): until a sample is made, RTO <- 1 s (configurable).
            None => self.config.initial,
            // RFC 6298 (2.2), (2.3): RTO <- SRTT + max(G, K*RTTVAR).
            Some(srtt) => srtt + CLOCK_GRANULARITY.max(self.rttvar.saturating_mul(K)),
        };
        // RFC 6298 (2.4): if the computed RTO is below the minimum, round it up.
        let base = base.max(self.config.min);
        // RFC 6298 (5.5): each expiry doubles the RTO ...
        let factor = 1u64.checked_shl(self.backoffs).unwrap_or(u64::MAX);
        // ... up to the maximum of (2.5). `min`/`max` rather than `clamp`, which would
        // panic on a configuration whose minimum exceeds its maximum.
        base.saturating_mul(factor).min(self.config.max)
    }

    /// Backs the timer off after the retransmission timer expired: the next [`rto`] is
    /// twice the current one, up to the maximum (RFC 6298 (5.5)).
    ///
    /// Call it once per expiry, before re-arming the timer. The RTO stays backed off
    /// until [`sample`] takes a new measurement.
    ///
    /// [`rto`]: Self::rto
    /// [`sample`]: Self::sample
    pub fn backoff(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// How many times the timer has expired since the last valid sample, for retry
    /// limits (RFC 9293 3.8.3's R1/R2 thresholds, Linux's `tcp_retries2`). It keeps
    /// counting after the RTO has reached its maximum.
    pub fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// SRTT, the smoothed round-trip time; `None` before the first sample.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// RTTVAR, the round-trip time variation; zero before the first sample.
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }
}

/// `x` as a u64, saturating (callers pass values that provably fit).
fn saturate(x: u128) -> u64 {
    u64::try_from(x).unwrap_or(u64::MAX)
}

/// Karn's algorithm (RFC 6298 3): times one segment at a time, and never one that was
/// retransmitted, since the ACK of a retransmitted segment does not say which copy it
/// acknowledges.
///
/// One per connection, next to the [`RttEstimator`] it feeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct RttSampler {
    /// The end (last byte + 1) of the timed segment and when it was sent.
    timing: Option<(Seq, Instant)>,
}

impl RttSampler {
    /// A sampler timing nothing.
    pub fn new() -> Self {
        RttSampler { timing: None }
    }

    /// Begins timing the segment just sent at `now` whose last byte + 1 (FIN and SYN
    /// count) is `end`, unless a segment is already being timed.
    ///
    /// Call it only for segments carrying new sequence space, never for a
    /// retransmission: after a go-back-N RTO, segments below the highest sequence number
    /// sent before are retransmissions too. A SYN or SYN-ACK sent once may be timed
    /// (`end` = ISS + 1).
    pub fn start(&mut self, end: Seq, now: Instant) {
        if self.timing.is_none() {
            self.timing = Some((end, now));
        }
    }

    /// Checks an ACK with acknowledgment number `ack` arriving at `now`. If it covers the
    /// timed segment, returns the round-trip time and stops timing; the caller passes the
    /// sample to [`RttEstimator::sample`].
    ///
    /// Call it for every acceptable ACK (one that advances SND.UNA); calling it for
    /// duplicates is harmless.
    pub fn on_ack(&mut self, ack: Seq, now: Instant) -> Option<Duration> {
        let (end, sent) = self.timing?;
        if ack.ge(end) {
            self.timing = None;
            Some(now - sent)
        } else {
            None
        }
    }

    /// Discards the running measurement (Karn's algorithm). Call it on every
    /// retransmission, whether by timeout or fast retransmit: an ACK that arrives after a
    /// retransmission filled a hole would otherwise yield an inflated sample, which is
    /// why BSD and Linux also stop timing on any retransmission.
    pub fn on_retransmit(&mut self) {
        self.timing = None;
    }

    /// True while a segment is being timed.
    pub fn is_timing(&self) -> bool {
        self.timing.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn estimator() -> RttEstimator {
        RttEstimator::new(RtoConfig::default())
    }

    #[test]
    fn rto_is_one_second_before_any_sample() {
        let e = estimator();
        assert_eq!(e.rto(), Duration::from_secs(1));
        assert_eq!(e.srtt(), None);
        assert_eq!(e.rttvar(), Duration::ZERO);
    }

    #[test]
    fn first_sample_sets_srtt_and_half_variance() {
        let mut e = estimator();
        e.sample(ms(100));
        assert_eq!(e.srtt(), Some(ms(100)));
        assert_eq!(e.rttvar(), ms(50));
        // 100 + max(1, 4 * 50)
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn later_samples_follow_rfc6298_2_3() {
        let mut e = estimator();
        e.sample(ms(100));
        e.sample(ms(200));
        // RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5 ms (with the old SRTT)
        assert_eq!(e.rttvar(), Duration::from_micros(62_500));
        // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5 ms
        assert_eq!(e.srtt(), Some(Duration::from_micros(112_500)));
        assert_eq!(e.rto(), Duration::from_micros(112_500 + 250_000));
    }

    #[test]
    fn steady_samples_leave_srtt_plus_granularity() {
        let mut e = estimator();
        for _ in 0..200 {
            e.sample(ms(500));
        }
        assert_eq!(e.srtt(), Some(ms(500)));
        assert_eq!(e.rttvar(), Duration::ZERO);
        assert_eq!(e.rto(), ms(501), "G floors the variance term");
    }

    #[test]
    fn small_rto_is_raised_to_the_minimum_before_doubling() {
        let mut e = estimator();
        e.sample(ms(10)); // 10 + 20 = 30 ms, below 200 ms
        assert_eq!(e.rto(), ms(200));
        e.backoff();
        assert_eq!(e.rto(), ms(400));
        e.sample(Duration::ZERO);
        assert_eq!(e.rto(), ms(200));
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_keeps_counting() {
        let mut e = estimator();
        let mut expected = Duration::from_secs(1);
        for n in 1..=6 {
            e.backoff();
            expected = expected.saturating_mul(2);
            assert_eq!(e.rto(), expected);
            assert_eq!(e.backoffs(), n);
        }
        assert_eq!(e.rto(), Duration::from_secs(64));
        e.backoff();
        assert_eq!(e.rto(), Duration::from_secs(120), "capped, not 128 s");
        for _ in 0..100 {
            e.backoff();
        }
        assert_eq!(e.rto(), Duration::from_secs(120));
        assert_eq!(e.backoffs(), 107);
    }

    #[test]
    fn a_sample_ends_backoff() {
        let mut e = estimator();
        e.backoff();
        e.backoff();
        e.sample(ms(100));
        assert_eq!(e.backoffs(), 0);
        assert_eq!(e.rto(), ms(300));
    }

    #[test]
    fn absurd_inputs_do_not_panic() {
        let mut e = estimator();
        e.sample(Duration::from_micros(u64::MAX));
        e.sample(Duration::from_micros(u64::MAX));
        assert_eq!(e.rto(), Duration::from_secs(120));
        e.sample(Duration::ZERO);
        for _ in 0..70 {
            e.backoff();
        }
        assert_eq!(e.rto(), Duration::from_secs(120));

        let mut backwards = RttEstimator::new(RtoConfig {
            initial: ms(0),
            min: Duration::from_secs(10),
            max: Duration::from_secs(1),
        });
        assert_eq!(backwards.rto(), Duration::from_secs(1));
        backwards.sample(ms(5));
        backwards.backoff();
        assert_eq!(backwards.rto(), Duration::from_secs(1));
    }

    #[test]
    fn sampler_times_one_segment_at_a_time() {
        let mut s = RttSampler::new();
        let t0 = Instant::from_millis(1000);
        s.start(Seq(1100), t0);
        s.start(Seq(1200), t0 + ms(5)); // ignored: 1100 is being timed
        assert!(s.is_timing());
        assert_eq!(s.on_ack(Seq(1050), t0 + ms(30)), None, "partial cover");
        assert_eq!(s.on_ack(Seq(1200), t0 + ms(40)), Some(ms(40)));
        assert!(!s.is_timing());
        assert_eq!(s.on_ack(Seq(1300), t0 + ms(50)), None, "nothing timed");
        s.start(Seq(1300), t0 + ms(50));
        assert_eq!(s.on_ack(Seq(1300), t0 + ms(70)), Some(ms(20)));
    }

    #[test]
    fn sampler_discards_on_retransmit_karn() {
        let mut s = RttSampler::new();
        let t0 = Instant::from_millis(1);
        s.start(Seq(500), t0);
        s.on_retransmit();
        assert_eq!(s.on_ack(Seq(500), t0 + ms(900)), None);
        s.start(Seq(600), t0 + ms(1000));
        assert_eq!(s.on_ack(Seq(600), t0 + ms(1010)), Some(ms(10)));
    }

    #[test]
    fn sampler_works_across_the_wrap() {
        let mut s = RttSampler::new();
        let t0 = Instant::from_millis(7);
        s.start(Seq(u32::MAX - 10) + 100, t0); // wraps to 89
        assert_eq!(s.on_ack(Seq(u32::MAX), t0 + ms(1)), None);
        assert_eq!(s.on_ack(Seq(89), t0 + ms(2)), Some(ms(2)));
    }

    #[test]
    fn sampler_and_estimator_together() {
        let mut s = RttSampler::new();
        let mut e = estimator();
        let t0 = Instant::from_secs(3);
        s.start(Seq(1000), t0);
        if let Some(r) = s.on_ack(Seq(1000), t0 + ms(80)) {
            e.sample(r);
        }
        assert_eq!(e.srtt(), Some(ms(80)));
        // Timeout: back off and retransmit; the ACK of the retransmission is no sample.
        s.start(Seq(2000), t0 + ms(100));
        e.backoff();
        s.on_retransmit();
        assert_eq!(s.on_ack(Seq(2000), t0 + ms(700)), None);
        assert_eq!(e.backoffs(), 1);
        assert_eq!(e.rto(), ms(480)); // (80 + 160) * 2
    }
}
