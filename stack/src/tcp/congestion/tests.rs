//! NewReno window arithmetic, round by round. MSS is 1000 bytes so the numbers read
//! easily; the initial window is then 10 segments.

use super::*;

const MSS: usize = 1000;
const NOW: Instant = Instant::ZERO;

/// Acknowledges one round trip's worth of data (the cwnd at the start of the round) in
/// ACKs of `per_ack` bytes each, the last one possibly shorter.
#[track_caller]
fn ack_round(cc: &mut dyn CongestionControl, per_ack: usize) {
    let mut left = cc.cwnd();
    while left > 0 {
        let n = left.min(per_ack);
        cc.on_ack(NOW, n, MSS);
        left -= n;
    }
}

/// A controller whose ssthresh is `ssthresh` and cwnd one MSS, as after a timeout with
/// 2 * `ssthresh` bytes in flight.
fn after_rto(ssthresh: usize) -> NewReno {
    let mut cc = NewReno::new(MSS);
    cc.on_rto(2 * ssthresh, MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, ssthresh));
    cc
}

#[test]
fn initial_window_is_iw10_rfc6928() {
    assert_eq!(initial_window(1460), 14_600);
    assert_eq!(initial_window(1000), 10_000);
    assert_eq!(initial_window(536), 5_360);
    assert_eq!(initial_window(4000), 14_600, "14600 bytes, not 10 segments");
    assert_eq!(initial_window(9000), 18_000, "never below 2 segments");
    assert_eq!(initial_window(0), 0);
    assert_eq!(initial_window(usize::MAX), usize::MAX);
}

#[test]
fn starts_with_iw_and_infinite_ssthresh() {
    let cc = NewReno::new(MSS);
    assert_eq!(cc.name(), "newreno");
    assert_eq!(cc.cwnd(), 10 * MSS);
    assert_eq!(cc.ssthresh(), usize::MAX);
}

#[test]
fn slow_start_doubles_per_rtt_with_an_ack_per_segment() {
    let mut cc = NewReno::new(MSS);
    for expected in [20, 40, 80, 160, 320] {
        ack_round(&mut cc, MSS);
        assert_eq!(cc.cwnd(), expected * MSS);
    }
}

#[test]
fn slow_start_doubles_per_rtt_with_delayed_acks() {
    // RFC 3465's L = 2*SMSS lets an ACK for two segments grow cwnd by two segments.
    let mut cc = NewReno::new(MSS);
    for expected in [20, 40, 80] {
        ack_round(&mut cc, 2 * MSS);
        assert_eq!(cc.cwnd(), expected * MSS);
    }
}

#[test]
fn slow_start_growth_per_ack_is_limited_to_two_segments() {
    let mut cc = NewReno::new(MSS);
    cc.on_ack(NOW, 8 * MSS, MSS); // a stretch ACK
    assert_eq!(cc.cwnd(), 12 * MSS);
    cc.on_ack(NOW, 300, MSS); // a small segment grows cwnd by its size only
    assert_eq!(cc.cwnd(), 12 * MSS + 300);
}

#[test]
fn slow_start_stops_at_ssthresh_then_congestion_avoidance() {
    let mut cc = after_rto(10 * MSS);
    for expected in [2, 4, 8] {
        ack_round(&mut cc, MSS);
        assert_eq!(cc.cwnd(), expected * MSS);
    }
    // The next round would double to 16 segments; slow start ends at ssthresh (10),
    // and the 6 segments acknowledged beyond it count towards congestion avoidance.
    ack_round(&mut cc, MSS);
    assert_eq!(cc.cwnd(), 10 * MSS);
    // 4 more segments complete the first window of 10: one SMSS more.
    for _ in 0..3 {
        cc.on_ack(NOW, MSS, MSS);
    }
    assert_eq!(cc.cwnd(), 10 * MSS);
    cc.on_ack(NOW, MSS, MSS);
    assert_eq!(cc.cwnd(), 11 * MSS);
}

#[test]
fn slow_start_overshoot_within_one_ack_carries_over() {
    let mut cc = after_rto(10 * MSS);
    ack_round(&mut cc, MSS); // 2
    ack_round(&mut cc, MSS); // 4
    ack_round(&mut cc, MSS); // 8
    cc.on_ack(NOW, MSS, MSS); // 9
    cc.on_ack(NOW, 2 * MSS, MSS); // would be 11: 10, with 1 segment carried over
    assert_eq!(cc.cwnd(), 10 * MSS);
    cc.on_ack(NOW, 9 * MSS, MSS); // 1 + 9 = a full window of 10
    assert_eq!(cc.cwnd(), 11 * MSS);
}

#[test]
fn congestion_avoidance_adds_one_segment_per_window_acked() {
    let mut cc = after_rto(10 * MSS);
    while cc.cwnd() < cc.ssthresh() {
        ack_round(&mut cc, MSS);
    }
    let start = cc.cwnd();
    for round in 1..=20 {
        ack_round(&mut cc, MSS);
        let grew = cc.cwnd() - start;
        // Exactly one segment per round, give or take the carry-over from slow start.
        assert!(
            grew == round * MSS || grew == (round + 1) * MSS,
            "round {round}: cwnd {} from {start}",
            cc.cwnd()
        );
    }
    // With delayed ACKs (and odd-sized segments) the rate is the same per byte.
    let before = cc.cwnd();
    ack_round(&mut cc, 2 * MSS);
    ack_round(&mut cc, 1234);
    assert_eq!(cc.cwnd(), before + 2 * MSS);
}

#[test]
fn congestion_avoidance_stretch_ack_earns_several_increments() {
    let mut cc = after_rto(4 * MSS);
    while cc.cwnd() < cc.ssthresh() {
        ack_round(&mut cc, MSS);
    }
    let w = cc.cwnd();
    cc.on_ack(NOW, 3 * w, MSS);
    assert_eq!(cc.cwnd(), w + 3 * MSS);
}

#[test]
fn fast_recovery_numbers_rfc5681_and_rfc6582() {
    let mut cc = NewReno::new(MSS);
    // Third duplicate ACK with 20 segments in flight.
    cc.on_enter_recovery(20 * MSS, MSS);
    assert_eq!(cc.ssthresh(), 10 * MSS, "FlightSize / 2");
    assert_eq!(cc.cwnd(), 13 * MSS, "ssthresh + 3*SMSS");
    // Each further duplicate ACK inflates by one segment.
    for _ in 0..4 {
        cc.on_dup_ack_in_recovery(MSS);
    }
    assert_eq!(cc.cwnd(), 17 * MSS);
    // Partial ACK of 3 segments: deflate by 3, add back 1.
    cc.on_partial_ack(3 * MSS, MSS);
    assert_eq!(cc.cwnd(), 15 * MSS);
    // Partial ACK of less than a segment: deflate only.
    cc.on_partial_ack(500, MSS);
    assert_eq!(cc.cwnd(), 15 * MSS - 500);
    // Full ACK with 5 segments still out: min(ssthresh, 5 + 1 segments).
    cc.on_exit_recovery(5 * MSS, MSS);
    assert_eq!(cc.cwnd(), 6 * MSS);
    assert_eq!(cc.ssthresh(), 10 * MSS);
    // Below ssthresh again, so the next ACKs slow-start back up to it.
    cc.on_ack(NOW, MSS, MSS);
    assert_eq!(cc.cwnd(), 7 * MSS);
}

#[test]
fn exit_recovery_is_capped_by_ssthresh_and_floored_at_two_segments() {
    let mut cc = NewReno::new(MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    cc.on_exit_recovery(15 * MSS, MSS);
    assert_eq!(cc.cwnd(), 10 * MSS, "ssthresh caps a large flight");

    let mut cc = NewReno::new(MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    cc.on_exit_recovery(0, MSS);
    assert_eq!(cc.cwnd(), 2 * MSS, "max(FlightSize, SMSS) + SMSS");
}

#[test]
fn ssthresh_never_below_two_segments() {
    let mut cc = NewReno::new(MSS);
    cc.on_enter_recovery(MSS, MSS);
    assert_eq!(cc.ssthresh(), 2 * MSS);
    assert_eq!(cc.cwnd(), 5 * MSS);

    let mut cc = NewReno::new(MSS);
    cc.on_rto(0, MSS);
    assert_eq!(cc.ssthresh(), 2 * MSS);
    assert_eq!(cc.cwnd(), MSS);
}

#[test]
fn rto_collapses_to_one_segment_and_halves_ssthresh() {
    let mut cc = NewReno::new(MSS);
    ack_round(&mut cc, MSS); // 20 segments
    cc.on_rto(30 * MSS, MSS);
    assert_eq!(cc.cwnd(), MSS, "loss window");
    assert_eq!(cc.ssthresh(), 15 * MSS);
    // Slow start from one segment: 1, 2, 4, 8, then 15 (ssthresh).
    for expected in [2, 4, 8, 15] {
        ack_round(&mut cc, MSS);
        assert_eq!(cc.cwnd(), expected * MSS);
    }
}

#[test]
fn rto_during_recovery_ends_it() {
    let mut cc = NewReno::new(MSS);
    cc.on_enter_recovery(20 * MSS, MSS);
    cc.on_dup_ack_in_recovery(MSS);
    cc.on_rto(20 * MSS, MSS);
    assert_eq!((cc.cwnd(), cc.ssthresh()), (MSS, 10 * MSS));
}

#[test]
fn idle_restart_shrinks_to_the_initial_window_only() {
    let rto = Duration::from_secs(1);
    let mut cc = NewReno::new(MSS);
    ack_round(&mut cc, MSS);
    ack_round(&mut cc, MSS);
    assert_eq!(cc.cwnd(), 40 * MSS);
    cc.on_idle_restart(NOW, rto, MSS);
    assert_eq!(cc.cwnd(), 10 * MSS);
    assert_eq!(cc.ssthresh(), usize::MAX, "ssthresh is kept");

    let mut cc = after_rto(8 * MSS);
    cc.on_idle_restart(NOW, rto, MSS);
    assert_eq!(cc.cwnd(), MSS, "a window below IW is not raised");
}

#[test]
fn usable_as_a_trait_object() {
    let mut cc: Box<dyn CongestionControl> = Box::new(NewReno::new(MSS));
    cc.on_rtt_sample(NOW, Duration::from_millis(20));
    cc.on_ack(NOW, MSS, MSS);
    assert_eq!(cc.cwnd(), 11 * MSS);
    assert!(format!("{cc:?}").contains("NewReno"));
}

#[test]
fn huge_and_degenerate_values_saturate_without_panicking() {
    let big = usize::MAX;
    let mut cc = NewReno::new(big);
    assert_eq!(cc.cwnd(), big);
    cc.on_ack(NOW, big, big);
    cc.on_ack(NOW, big, big);
    assert_eq!(cc.cwnd(), big);
    cc.on_enter_recovery(big, big);
    assert_eq!(cc.ssthresh(), big);
    for _ in 0..3 {
        cc.on_dup_ack_in_recovery(big);
    }
    cc.on_partial_ack(big, big);
    cc.on_partial_ack(0, big);
    cc.on_exit_recovery(big, big);
    cc.on_rto(big, big);
    cc.on_idle_restart(NOW, Duration::from_micros(u64::MAX), big);
    cc.on_ack(Instant::from_micros(u64::MAX), big, big);

    // Congestion avoidance at an enormous window.
    let mut cc = NewReno::new(MSS);
    cc.on_rto(big, MSS);
    assert_eq!(cc.ssthresh(), big / 2);
    for _ in 0..4 {
        cc.on_ack(NOW, big, MSS);
    }
    assert!(cc.cwnd() > MSS);

    // A zero MSS (a caller bug) must not divide by zero or loop.
    let mut cc = NewReno::new(0);
    assert_eq!(cc.cwnd(), 0);
    cc.on_ack(NOW, 1000, 0);
    cc.on_rto(0, 0);
    cc.on_ack(NOW, 1000, 0);
    cc.on_enter_recovery(0, 0);
    cc.on_partial_ack(5, 0);
    cc.on_exit_recovery(0, 0);
    assert_eq!(cc.cwnd(), 0);
}

#[test]
fn partial_ack_larger_than_cwnd_leaves_one_segment() {
    let mut cc = NewReno::new(MSS);
    cc.on_enter_recovery(4 * MSS, MSS); // ssthresh 2, cwnd 5 segments
    cc.on_partial_ack(50 * MSS, MSS);
    assert_eq!(cc.cwnd(), MSS);
    cc.on_partial_ack(300, MSS);
    assert_eq!(cc.cwnd(), MSS, "floor, not zero");
}

// CUBIC (RFC 9438), checked against its formulas.

/// One round trip at `t` seconds: a cwnd's worth of ACKs of one MSS each.
fn cubic_round(cc: &mut Cubic, t: f64) {
    let now = Instant::ZERO + crate::time::Duration::from_micros((t * 1e6) as u64);
    let mut left = cc.cwnd();
    while left > 0 {
        let n = left.min(MSS);
        cc.on_ack(now, n, MSS);
        left -= n;
    }
}

/// A CUBIC controller that just recovered from a loss at a window of `w_max` segments,
/// with round trips of `rtt` seconds.
fn cubic_after_loss(w_max: usize, rtt: f64) -> Cubic {
    let mut cc = Cubic::new(MSS);
    cc.on_rtt_sample(NOW, crate::time::Duration::from_micros((rtt * 1e6) as u64));
    // Grow to w_max in slow start, then lose.
    while cc.cwnd() < w_max * MSS {
        cc.on_ack(NOW, MSS, MSS);
    }
    cc.on_enter_recovery(w_max * MSS, MSS);
    cc.on_exit_recovery(w_max * MSS, MSS);
    cc
}

#[test]
fn cubic_reduces_by_beta_and_converges_fast_after_a_second_loss() {
    let mut cc = Cubic::new(MSS);
    assert_eq!(
        (cc.name(), cc.cwnd(), cc.ssthresh()),
        ("cubic", 10 * MSS, usize::MAX)
    );
    while cc.cwnd() < 100 * MSS {
        cc.on_ack(NOW, MSS, MSS);
    }
    // RFC 9438 4.6: ssthresh = 0.7 * flight; fast recovery inflates by 3 segments.
    cc.on_enter_recovery(100 * MSS, MSS);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (70 * MSS, 73 * MSS));
    cc.on_exit_recovery(100 * MSS, MSS);
    assert_eq!(cc.cwnd(), 70 * MSS);
    // A second loss below W_max = 100: RFC 9438 4.7 fast convergence lowers W_max to
    // 70 * (1 + 0.7) / 2 = 59.5 segments; ssthresh is still 0.7 of the flight.
    cc.on_rto(70 * MSS, MSS);
    assert_eq!((cc.ssthresh(), cc.cwnd()), (49 * MSS, MSS));
}

#[test]
fn cubic_follows_its_curve_back_to_w_max_in_k_seconds() {
    // W_max 100 segments, cwnd 70 after the loss: K = cbrt((100 - 70) / 0.4) = 4.217 s.
    let rtt = 0.1;
    let mut cc = cubic_after_loss(100, rtt);
    let k = (30.0f64 / 0.4).cbrt();
    let mut t = 0.0;
    while t < 8.0 {
        cubic_round(&mut cc, t);
        t += rtt;
        // After the round at t the window has reached W_cubic(t + RTT) (RFC 9438 4.4),
        // within the rounding of whole bytes and the compounding of per-ACK steps.
        let want = 0.4 * (t - k).powi(3) + 100.0;
        let got = cc.cwnd() as f64 / MSS as f64;
        assert!(
            (got - want).abs() <= 0.05 * want + 1.0,
            "t = {t:.1} s: cwnd {got:.1} segments, W_cubic(t + RTT) = {want:.1}"
        );
    }
    // Concave then convex: flat near W_max at K, then accelerating past it (W_cubic(8 s)
    // is 121.7 segments).
    assert!(
        cc.cwnd() > 115 * MSS,
        "past the plateau the curve accelerates"
    );
}

#[test]
fn cubic_grows_as_reno_when_reno_would_be_faster() {
    // A small window on a short path: W_max 10, cwnd 7, RTT 10 ms. W_cubic barely moves
    // in a second (K = 1.96 s), while Reno's estimate W_est gains alpha = 3 * 0.3 / 1.7
    // = 0.53 segments per round trip (RFC 9438 4.3): after 100 round trips, 7 + 52.9.
    let rtt = 0.01;
    let mut cc = cubic_after_loss(10, rtt);
    for round in 0..100 {
        cubic_round(&mut cc, f64::from(round) * rtt);
    }
    let got = cc.cwnd() as f64 / MSS as f64;
    let w_est = 7.0 + 100.0 * 3.0 * 0.3 / 1.7;
    assert!((got - w_est).abs() < 2.0, "cwnd {got:.1}, W_est {w_est:.1}");
}
