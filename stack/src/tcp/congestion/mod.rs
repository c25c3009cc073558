//! Congestion control behind a trait, so the sender does not care which algorithm runs.
//!
//! The split of work follows RFC 5681 and RFC 6582 (NewReno):
//!
//! - The **sender** owns the bookkeeping that depends on sequence numbers: counting
//!   duplicate ACKs, the NewReno `recover` point, deciding whether an ACK is new, partial
//!   or full, measuring FlightSize (SND.NXT - SND.UNA), and retransmitting.
//! - The **controller** ([`CongestionControl`]) owns the window arithmetic: cwnd and
//!   ssthresh, in bytes. It is told what happened through the hooks below and never sees
//!   a segment.
//!
//! The sender drives the hooks like this (SMSS is the sender's current effective MSS,
//! passed to every hook so path MTU changes take effect):
//!
//! ```text
//! ACK advances SND.UNA by `acked` bytes:
//!     in fast recovery, ACK covers `recover`    (full ACK, RFC 6582 3.2 step 6):
//!         leave recovery; cc.on_exit_recovery(SND.NXT - SND.UNA after the ACK, SMSS)
//!     in fast recovery, ACK below `recover`     (partial ACK, RFC 6582 3.2 step 5):
//!         retransmit the first unacknowledged segment; cc.on_partial_ack(acked, SMSS)
//!     otherwise:
//!         cc.on_ack(now, acked, SMSS)
//!     reset the duplicate-ACK count
//! duplicate ACK (RFC 5681 2's definition):
//!     in fast recovery:                         cc.on_dup_ack_in_recovery(SMSS)
//!     third one, and ACK - 1 is beyond `recover` (RFC 6582 3.2 step 2):
//!         recover = highest sequence number sent
//!         cc.on_enter_recovery(SND.NXT - SND.UNA, SMSS); fast-retransmit SND.UNA
//! SACK-based recovery instead (RFC 6675), when the peer sends SACK blocks:
//!     cc.on_sack_recovery(flight, SMSS) when a loss is found; cwnd = ssthresh, and the
//!     sender keeps pipe (RFC 6675 SetPipe) below cwnd; cc.on_exit_recovery at the end
//! retransmission timer expires:
//!     cc.on_rto(SND.NXT - SND.UNA before rewinding, SMSS), unless SND.UNA has not moved
//!     since the previous expiry (RFC 5681 3.1 holds ssthresh for a segment that
//!     already timed out; cwnd is still one SMSS then); leave fast recovery;
//!     recover = highest sequence number sent (RFC 6582 4)
//! about to send after sending nothing for longer than one RTO:
//!     cc.on_idle_restart(now, rto, SMSS)                          (RFC 5681 4.1)
//! every RTT sample taken (Karn's algorithm, see `tcp::rtt`):
//!     cc.on_rtt_sample(now, rtt)
//! ```
//!
//! The sender may send while FlightSize < cwnd (and within the peer's window). The
//! implementations are [`NewReno`] and [`Cubic`] (RFC 9438), which needs the time in
//! [`on_ack`], an RTT from [`on_rtt_sample`], and its own reduction factor in
//! [`on_enter_recovery`] and [`on_rto`].
//!
//! [`on_ack`]: CongestionControl::on_ack
//! [`on_rtt_sample`]: CongestionControl::on_rtt_sample
//! [`on_enter_recovery`]: CongestionControl::on_enter_recovery
//! [`on_rto`]: CongestionControl::on_rto

pub mod cubic;
pub mod newreno;

pub use cubic::Cubic;
pub use newreno::NewReno;

/// The congestion control algorithms to choose from, per connection
/// ([`TcpConfig::congestion`](crate::TcpConfig::congestion)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// NewReno: RFC 5681 with RFC 6582's fast recovery and RFC 3465 byte counting.
    NewReno,
    /// CUBIC (RFC 9438), the default, as in Linux since 2.6.19.
    #[default]
    Cubic,
}

impl Algorithm {
    /// A controller of this algorithm for a connection whose SMSS is `mss` so far.
    pub fn build(self, mss: usize) -> Box<dyn CongestionControl> {
        match self {
            Algorithm::NewReno => Box::new(NewReno::new(mss)),
            Algorithm::Cubic => Box::new(Cubic::new(mss)),
        }
    }

    /// The algorithm's name, as `ss -i` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::NewReno => "newreno",
            Algorithm::Cubic => "cubic",
        }
    }

    /// The algorithm named `name` ("reno", "newreno" or "cubic"), as `--cc` takes it.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "reno" | "newreno" => Some(Algorithm::NewReno),
            "cubic" => Some(Algorithm::Cubic),
            _ => None,
        }
    }
}

use crate::time::{Duration, Instant};

/// A congestion control algorithm: the cwnd and ssthresh arithmetic of one connection.
///
/// Sizes are bytes. `mss` is SMSS, the sender's effective maximum segment size.
/// Implementations must not panic on any input and saturate instead of overflowing.
/// The module documentation shows when the sender calls each hook.
pub trait CongestionControl: core::fmt::Debug + Send {
    /// A short lowercase name for logs and statistics ("newreno").
    fn name(&self) -> &'static str;

    /// The congestion window, cwnd, in bytes: the sender keeps FlightSize below it.
    fn cwnd(&self) -> usize;

    /// The slow start threshold, ssthresh, in bytes; `usize::MAX` means "not yet set"
    /// (RFC 5681 3.1's "arbitrarily high" initial value).
    fn ssthresh(&self) -> usize;

    /// The handshake has fixed SMSS at `mss` (the peer's MSS option, within ours), and
    /// no data has been sent yet: start from the initial window for it (RFC 6928).
    fn init(&mut self, mss: usize);

    /// An ACK acknowledged `acked` bytes of new data outside fast recovery: grow cwnd
    /// by slow start below ssthresh, by congestion avoidance above it (RFC 5681 3.1).
    ///
    /// Not called for partial or full ACKs during fast recovery (those have their own
    /// hooks) nor for duplicate ACKs.
    fn on_ack(&mut self, now: Instant, acked: usize, mss: usize);

    /// The third duplicate ACK started fast retransmit / fast recovery: reduce ssthresh
    /// and set cwnd for recovery (RFC 5681 3.2 steps 2 and 3). `flight_size` is the data
    /// outstanding (SND.NXT - SND.UNA) when the third duplicate ACK arrived.
    fn on_enter_recovery(&mut self, flight_size: usize, mss: usize);

    /// SACK-based loss recovery began (RFC 6675 5, step 4.2): reduce ssthresh as for
    /// fast recovery and set cwnd = ssthresh. The sender counts what is in the network
    /// itself (RFC 6675's pipe), so nothing inflates cwnd: `on_dup_ack_in_recovery` and
    /// `on_partial_ack` are not called in this recovery; `on_exit_recovery` is.
    fn on_sack_recovery(&mut self, flight_size: usize, mss: usize);

    /// Another duplicate ACK arrived during fast recovery: a segment left the network,
    /// so inflate cwnd (RFC 5681 3.2 step 4).
    fn on_dup_ack_in_recovery(&mut self, mss: usize);

    /// A partial ACK (below `recover`) acknowledged `acked` new bytes during fast
    /// recovery: deflate cwnd (RFC 6582 3.2 step 5). The sender retransmits the next
    /// unacknowledged segment and stays in recovery.
    fn on_partial_ack(&mut self, acked: usize, mss: usize);

    /// A full ACK (covering `recover`) ended fast recovery: deflate cwnd (RFC 6582 3.2
    /// step 6). `flight_size` is the data still outstanding after this ACK.
    fn on_exit_recovery(&mut self, flight_size: usize, mss: usize);

    /// The retransmission timer expired: reduce ssthresh and collapse cwnd to the loss
    /// window (RFC 5681 3.1, equation 4). `flight_size` is the data that was outstanding
    /// when the timer fired. Also ends any fast recovery.
    fn on_rto(&mut self, flight_size: usize, mss: usize);

    /// The connection is about to send after being idle (nothing sent) for longer than
    /// `rto`: restart from a smaller window rather than burst a stale cwnd into the
    /// network (RFC 5681 4.1). The default does nothing.
    fn on_idle_restart(&mut self, now: Instant, rto: Duration, mss: usize) {
        let _ = (now, rto, mss);
    }

    /// A valid RTT sample `rtt` was taken at `now` (see `tcp::rtt::RttSampler`).
    /// NewReno ignores it; delay-aware algorithms (CUBIC's W_cubic(t + RTT), HyStart)
    /// need it. The default does nothing.
    fn on_rtt_sample(&mut self, now: Instant, rtt: Duration) {
        let _ = (now, rtt);
    }
}

/// RFC 6582 3.2 step 5: cwnd after a partial acknowledgment of `acked` bytes during
/// NewReno fast recovery: deflated by the new data acknowledged, plus one SMSS if at
/// least one was. The floor of one SMSS is not in the RFC: recovery starts at three
/// segments above ssthresh and partial ACKs cover at most the flight, so it only keeps a
/// confused caller from stalling the connection with a zero window.
pub(crate) fn deflate_on_partial_ack(cwnd: usize, acked: usize, mss: usize) -> usize {
    let mut cwnd = cwnd.saturating_sub(acked);
    if acked >= mss {
        cwnd = cwnd.saturating_add(mss);
    }
    cwnd.max(mss)
}

/// RFC 6582 3.2 step 6, option (1): cwnd when a full acknowledgment ends recovery,
/// min(ssthresh, max(FlightSize, SMSS) + SMSS), which avoids a burst when little data is
/// left outstanding.
pub(crate) fn cwnd_after_recovery(ssthresh: usize, flight_size: usize, mss: usize) -> usize {
    ssthresh.min(flight_size.max(mss).saturating_add(mss))
}

/// Bytes below which RFC 6928's initial window never goes (for MSS values of 1460 and
/// less, ten segments fit).
const IW_BYTES: usize = 14_600;

/// The initial congestion window, IW, for an SMSS of `mss`:
/// min(10*MSS, max(2*MSS, 14600)) (RFC 6928 2, the "IW10" Linux uses since 2.6.39).
/// Also the restart window after idle (RFC 5681 4.1).
pub fn initial_window(mss: usize) -> usize {
    mss.saturating_mul(10)
        .min(mss.saturating_mul(2).max(IW_BYTES))
}

#[cfg(test)]
mod tests;
