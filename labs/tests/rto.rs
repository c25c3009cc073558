//! Exercise 2, graded: one test per check of the RTO suite, against your estimator with
//! `--features student`, else the stack's.

#[macro_use]
mod common;

use netstack_labs::rto::{self, suite::SUITE};

graded! {
    suite: SUITE,
    under_test: rto::under_test,
    checks: [
        initial_rto_before_any_sample,
        first_sample_sets_srtt_and_rttvar,
        later_samples_are_smoothed,
        rto_is_raised_to_the_minimum,
        rto_is_capped_at_the_maximum,
        steady_samples_leave_the_granularity,
        each_timeout_doubles_the_rto,
        backoff_stops_at_the_maximum,
        a_new_sample_ends_the_backoff,
        never_panics,
    ],
}

/// CI's guard that the exercise is an exercise: the estimator stub as handed out
/// (`rto::student`) fails the suite.
#[cfg(not(feature = "student"))]
#[test]
fn the_untouched_stub_fails_the_suite() {
    common::assert_most_fail(SUITE, &rto::student);
}
