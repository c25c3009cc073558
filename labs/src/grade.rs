//! The grading machinery: a suite is a list of named checks, each a function that
//! returns `Err(what went wrong)`; a panic in the code under test counts as a failure.

use std::panic::{self, AssertUnwindSafe};

/// One check of a suite, over implementations made by `T`.
pub struct Check<T: ?Sized> {
    /// What the check is called: the rule it checks, in words (`slow_start_grows_by_acked_bytes`).
    pub name: &'static str,
    /// Where the rule is written (`RFC 5681 3.1`).
    pub rule: &'static str,
    /// The check.
    pub run: fn(&T) -> Result<(), String>,
}

/// Runs the check called `name` of `suite` against `make`: `Err` says why it failed.
///
/// # Panics
///
/// If the suite has no check of that name (a bug in the test file).
pub fn run_one<T: ?Sized>(suite: &[Check<T>], name: &str, make: &T) -> Result<(), String> {
    let check = suite
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check named {name}"));
    run(check, make)
}

/// Runs `check` against `make`, turning a panic into a failure.
pub fn run<T: ?Sized>(check: &Check<T>, make: &T) -> Result<(), String> {
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| (check.run)(make)));
    match outcome {
        Ok(result) => result.map_err(|why| format!("{} ({}): {why}", check.name, check.rule)),
        Err(_) => Err(format!("{} ({}): panicked", check.name, check.rule)),
    }
}

/// The names of the checks of `suite` that `make` fails.
pub fn failures<T: ?Sized>(suite: &[Check<T>], make: &T) -> Vec<String> {
    suite.iter().filter_map(|c| run(c, make).err()).collect()
}

/// `Err` with `what` unless `got == want`.
pub fn expect_eq<V: PartialEq + core::fmt::Debug>(
    what: &str,
    got: V,
    want: V,
) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}
