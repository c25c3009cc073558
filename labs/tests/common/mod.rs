//! What the graded test files share: the macro that turns a suite into tests, and the
//! check that a stub as handed out fails it.

#[cfg(not(feature = "student"))]
use netstack_labs::grade::{self, Check};

/// One `#[test]` per check named, graded with `under_test`, and a test that every check
/// of `suite` has one.
macro_rules! graded {
    (
        suite: $suite:path,
        under_test: $under_test:path,
        checks: [$($name:ident),* $(,)?] $(,)?
    ) => {
        $(
            #[test]
            fn $name() {
                let graded = netstack_labs::grade::run_one($suite, stringify!($name), &$under_test);
                if let Err(why) = graded {
                    panic!("{why}");
                }
            }
        )*

        /// Every check of the suite has its test above.
        #[test]
        fn every_check_is_a_test() {
            let tests = [$(stringify!($name)),*];
            for c in $suite {
                assert!(tests.contains(&c.name), "no test for {}", c.name);
            }
        }
    };
}

/// Fails unless `stub` fails at least half of `suite`: the exercise is still an exercise.
#[cfg(not(feature = "student"))]
#[track_caller]
pub fn assert_most_fail<T: ?Sized>(suite: &[Check<T>], stub: &T) {
    let failed = grade::failures(suite, stub);
    assert!(
        failed.len() >= suite.len() / 2,
        "the stub passes too much: {failed:?}"
    );
}
