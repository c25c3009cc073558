//! Exercise 1, graded: one test per check of the congestion-control suite, against
//! your controller with `--features student`, else the stack's NewReno.

#[macro_use]
mod common;

use netstack_core::Duration;
use netstack_labs::congestion::{self, suite::SUITE};
use netstack_labs::link::{self, Link};

graded! {
    suite: SUITE,
    under_test: congestion::under_test,
    checks: [
        initial_window,
        ssthresh_starts_arbitrarily_high,
        slow_start_grows_by_acked_bytes,
        slow_start_growth_per_ack_is_limited,
        slow_start_doubles_per_round_trip,
        congestion_avoidance_one_smss_per_window,
        fast_recovery_halves_the_flight,
        ssthresh_is_at_least_two_segments,
        duplicate_acks_inflate,
        partial_ack_deflates,
        full_ack_ends_recovery,
        sack_recovery_sets_cwnd_to_ssthresh,
        timeout_collapses_to_one_segment,
        slow_start_after_timeout_stops_at_ssthresh,
        never_panics,
    ],
}

/// The payoff: a real connection with your controller moves 1 MB through a lossy
/// link, no slower than twice the stack's own NewReno.
#[test]
fn end_to_end_a_lossy_transfer_completes_in_good_time() {
    let link = Link {
        delay: Duration::from_millis(10),
        loss_every: 50,
    };
    let reference = link::transfer(1 << 20, link, Some(congestion::reference(1460)))
        .expect("reference finishes");
    let got = link::transfer(1 << 20, link, Some(congestion::under_test(1460)))
        .unwrap_or_else(|| panic!("the transfer did not finish in 10 simulated minutes"));
    assert!(
        got.elapsed.total_micros() <= 2 * reference.elapsed.total_micros(),
        "1 MB took {} ms with this controller, {} ms with the reference",
        got.elapsed.total_millis(),
        reference.elapsed.total_millis()
    );
}

/// CI's guard that the exercise is an exercise: the controller stub as handed out
/// (`congestion::student`) fails the suite.
#[cfg(not(feature = "student"))]
#[test]
fn the_untouched_stub_fails_the_suite() {
    common::assert_most_fail(SUITE, &congestion::student);
}
