//! Exercise 2, graded: one test per check of the RTO suite, against your estimator with
//! `--features student`, else the stack's.

use netstack_labs::grade;
use netstack_labs::rto::{self, suite::SUITE};

fn check(name: &str) {
    if let Err(why) = grade::run_one(SUITE, name, &rto::under_test) {
        panic!("{why}");
    }
}

macro_rules! checks {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { check(stringify!($name)); })*
        /// Every check of the suite has its test above.
        #[test]
        fn every_check_is_a_test() {
            let tests = [$(stringify!($name)),*];
            for c in SUITE {
                assert!(tests.contains(&c.name), "no test for {}", c.name);
            }
        }
    };
}

checks!(
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
);

/// CI's guard that the exercise is an exercise: the stub as handed out fails the suite.
#[cfg(not(feature = "student"))]
#[test]
fn the_untouched_stub_fails_the_suite() {
    let failed = grade::failures(SUITE, &rto::student);
    assert!(
        failed.len() >= SUITE.len() / 2,
        "the stub passes too much: {failed:?}"
    );
}
