//! Tasks: work the event loop does itself, on its own thread, in the same round as the
//! frames that caused it.
//!
//! A service on a thread of its own pays two thread hand-offs per exchange: the loop
//! wakes the service's thread when a request arrives, and the service wakes the loop to
//! send the answer. A [`Task`] instead gets a turn in every round, between receiving the
//! batch and transmitting, with the stack already locked: a request that arrives in a
//! round is answered in that round, as in smoltcp's single-loop design. The services
//! of `netstack serve` run this way (see `services/server.rs`).
//!
//! A task must not block, and must not call [`Handle::with_stack`](super::Handle) or
//! wait on the stack (the loop holds the lock while the task runs): it does the work that
//! is ready and returns.

use std::time::Instant as StdInstant;

use netstack_core::Stack;

/// Work run by the event loop in every round, on its own thread, between receiving a
/// batch and transmitting; the services of `netstack serve` run this way.
pub trait Task: Send {
    /// Does whatever is ready now, on the locked stack: events queued for the task's
    /// [`Poll`](super::Poll) (take them with a zero timeout), deadlines that passed.
    fn turn(&mut self, stack: &mut Stack, now: netstack_core::Instant);

    /// When the task next needs a turn even if no event comes, if ever.
    fn deadline(&self) -> Option<StdInstant>;
}
