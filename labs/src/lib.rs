//! netstack's graded exercises, in the spirit of Stanford's CS144: you write one
//! component of a real TCP behind the trait the stack uses, and a provided test suite
//! grades it, the same suite the stack's own implementation passes.
//!
//! | exercise | you write | in | the reference |
//! |---|---|---|---|
//! | 1 | a NewReno congestion controller (RFC 5681, 6582, 3465, 6928) | `src/congestion/student.rs` | `netstack_core::tcp::congestion::NewReno` |
//! | 2 | an RTO estimator (RFC 6298) | `src/rto/student.rs` | `netstack_core::tcp::rtt::RttEstimator` |
//!
//! Grade your work with `cargo test -p netstack-labs --features student`; each check of
//! a suite is one test, named after the rule it checks, and a failure says what was
//! expected. Without `--features student` (as `cargo test --workspace` and CI run them)
//! the suites grade the references, and check that the untouched stubs fail.
//! `cargo bench -p netstack-labs` (with `--features student` for yours) moves 1 MB
//! between two real TCP connections on a simulated lossy link with each controller and
//! prints how long it took on the simulated clock.
//!
//! docs/labs/exercises.md walks through both.

pub mod congestion;
pub mod grade;
pub mod link;
pub mod rto;
