//! CUBIC (RFC 9438): after a loss the window grows as a cubic function of the time since
//! the loss, flat around the window where the loss happened (W_max) and fast away from
//! it, so a long fat path refills quickly and a contended one probes gently. Below a
//! Reno-friendly estimate it grows as Reno would, so it never does worse than Reno.
//!
//! Sizes are bytes at the trait's boundary; the RFC's formulas count segments, so they
//! are computed in segments of the current SMSS and converted back.
//!
//! Loss recovery itself (the duplicate-ACK inflation, partial and full ACKs) is the
//! sender's NewReno or SACK recovery; CUBIC sets the reduction (beta = 0.7, RFC 9438 4.6)
//! and the growth between losses.

use super::{cwnd_after_recovery, deflate_on_partial_ack, initial_window, CongestionControl};
use crate::time::{Duration, Instant};

/// RFC 9438 4.1: C, the scaling constant, in segments per second cubed.
const C: f64 = 0.4;
/// RFC 9438 4.6: beta_cubic, the multiplicative decrease factor.
const BETA: f64 = 0.7;
/// RFC 9438 4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta), Reno-friendly growth per RTT.
const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);
/// RFC 3465 (2.2): during slow start one ACK grows cwnd by at most 2*SMSS.
const ABC_LIMIT_SEGMENTS: usize = 2;

/// One congestion-avoidance epoch: the time since the last reduction drives the curve.
#[derive(Clone, Copy, Debug)]
struct Epoch {
    /// When the epoch began (the first ACK in congestion avoidance after a reduction).
    start: Instant,
    /// K (RFC 9438 Eq. 2): seconds until the curve is back at W_max.
    k: f64,
    /// W_est (RFC 9438 4.3): the window Reno would have now, in segments.
    w_est: f64,
}

/// CUBIC congestion control. See the [module docs](self).
#[derive(Clone, Debug)]
pub struct Cubic {
    /// cwnd, bytes.
    cwnd: usize,
    /// ssthresh, bytes; `usize::MAX` until the first loss.
    ssthresh: usize,
    /// W_max (RFC 9438 4.6), segments: the window just before the last reduction.
    w_max: f64,
    /// The current epoch, from the first ACK after a reduction.
    epoch: Option<Epoch>,
    /// The latest smoothed RTT sample: the curve is aimed one RTT ahead (RFC 9438 4.4).
    rtt: Duration,
    /// Congestion-avoidance growth not yet whole bytes, carried between ACKs.
    credit: f64,
}

impl Cubic {
    /// A fresh connection's controller: cwnd is the initial window for an SMSS of `mss`
    /// (RFC 6928) and ssthresh "arbitrarily high" (RFC 5681 3.1).
    pub fn new(mss: usize) -> Self {
        Cubic {
            cwnd: initial_window(mss),
            ssthresh: usize::MAX,
            w_max: 0.0,
            epoch: None,
            rtt: Duration::ZERO,
            credit: 0.0,
        }
    }

    /// W_cubic(t) (RFC 9438 Eq. 1), segments, `t` seconds into the epoch.
    fn w_cubic(&self, k: f64, t: f64) -> f64 {
        C * (t - k).powi(3) + self.w_max
    }

    /// RFC 9438 4.6 and 4.7: the reduction on a congestion event. Remembers W_max (lowered
    /// further if the window had not regained the previous W_max: fast convergence),
    /// sets ssthresh to beta times the flight, and ends the epoch.
    fn reduce(&mut self, flight_size: usize, mss: usize) {
        let mss_f = mss.max(1) as f64;
        let cwnd = self.cwnd as f64 / mss_f;
        self.w_max = if cwnd < self.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        let reduced = (flight_size as f64 * BETA) as usize;
        self.ssthresh = reduced.max(mss.saturating_mul(2));
        self.epoch = None;
        self.credit = 0.0;
    }

    /// Congestion avoidance (RFC 9438 4.2-4.5) for `acked` bytes at `now`.
    fn avoid(&mut self, now: Instant, acked: usize, mss: usize) {
        let mss_f = mss.max(1) as f64;
        let cwnd = self.cwnd as f64 / mss_f;
        let epoch = match self.epoch {
            Some(epoch) => epoch,
            None => {
                // RFC 9438 4.2: a new epoch. From W_max or above, the curve starts at its
                // plateau (K = 0, W_max = cwnd); below it, K says when it gets back.
                let k = if self.w_max <= cwnd {
                    self.w_max = cwnd;
                    0.0
                } else {
                    ((self.w_max - cwnd) / C).cbrt()
                };
                Epoch {
                    start: now,
                    k,
                    w_est: cwnd,
                }
            }
        };
        let t = now.saturating_since(epoch.start).total_micros() as f64 / 1e6;
        let segments = acked as f64 / mss_f;
        // RFC 9438 4.3: Reno-friendly W_est grows by alpha per cwnd acknowledged.
        let w_est = epoch.w_est + ALPHA * segments / cwnd.max(1.0);
        self.epoch = Some(Epoch { w_est, ..epoch });
        let rtt = self.rtt.total_micros() as f64 / 1e6;
        let grown = if self.w_cubic(epoch.k, t) < w_est {
            // The Reno-friendly region: grow as Reno would.
            w_est.max(cwnd)
        } else {
            // RFC 9438 4.4, 4.5: aim at W_cubic one RTT ahead, within [cwnd, 1.5 cwnd],
            // spreading the step over the ACKs of one window.
            let target = self.w_cubic(epoch.k, t + rtt).clamp(cwnd, 1.5 * cwnd);
            cwnd + (target - cwnd) / cwnd.max(1.0) * segments
        };
        self.credit += (grown - cwnd) * mss_f;
        let whole = self.credit.max(0.0).floor();
        self.credit -= whole;
        self.cwnd = self.cwnd.saturating_add(whole as usize);
    }
}

impl CongestionControl for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    fn cwnd(&self) -> usize {
        self.cwnd
    }

    fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    fn init(&mut self, mss: usize) {
        self.cwnd = initial_window(mss);
        self.credit = 0.0;
    }

    fn on_ack(&mut self, now: Instant, acked: usize, mss: usize) {
        if self.cwnd < self.ssthresh {
            // RFC 9438 4.10: slow start as RFC 5681, with RFC 3465 byte counting.
            let increase = acked.min(mss.saturating_mul(ABC_LIMIT_SEGMENTS));
            self.cwnd = self
                .cwnd
                .saturating_add(increase)
                .min(self.ssthresh.max(self.cwnd));
            return;
        }
        self.avoid(now, acked, mss);
    }

    fn on_enter_recovery(&mut self, flight_size: usize, mss: usize) {
        self.reduce(flight_size, mss);
        // RFC 5681 3.2 step 3, as the sender's recovery expects: cwnd = ssthresh + 3*SMSS.
        self.cwnd = self.ssthresh.saturating_add(mss.saturating_mul(3));
    }

    fn on_sack_recovery(&mut self, flight_size: usize, mss: usize) {
        // RFC 9438 4.6 with RFC 6675 5 step 4.2: cwnd = ssthresh = beta * flight.
        self.reduce(flight_size, mss);
        self.cwnd = self.ssthresh;
    }

    fn on_dup_ack_in_recovery(&mut self, mss: usize) {
        self.cwnd = self.cwnd.saturating_add(mss);
    }

    fn on_partial_ack(&mut self, acked: usize, mss: usize) {
        self.cwnd = deflate_on_partial_ack(self.cwnd, acked, mss);
    }

    fn on_exit_recovery(&mut self, flight_size: usize, mss: usize) {
        self.cwnd = cwnd_after_recovery(self.ssthresh, flight_size, mss);
        // The epoch starts with the next ACK.
        self.epoch = None;
    }

    fn on_rto(&mut self, flight_size: usize, mss: usize) {
        // RFC 9438 4.8: the reduction of a congestion event, and cwnd = LW = 1 SMSS.
        self.reduce(flight_size, mss);
        self.cwnd = mss;
    }

    fn on_idle_restart(&mut self, _now: Instant, _rto: Duration, mss: usize) {
        // RFC 5681 4.1 restart window; the curve restarts from here (as Linux does, so
        // the idle time is not counted as time spent probing).
        self.cwnd = self.cwnd.min(initial_window(mss));
        self.epoch = None;
    }

    fn on_rtt_sample(&mut self, _now: Instant, rtt: Duration) {
        // A smoothed RTT (RFC 9438 4.4 aims one RTT ahead), with RFC 6298's gain of 1/8.
        self.rtt = if self.rtt == Duration::ZERO {
            rtt
        } else {
            Duration::from_micros((self.rtt.total_micros() * 7 + rtt.total_micros()) / 8)
        };
    }
}
