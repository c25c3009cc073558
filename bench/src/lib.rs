//! Benchmark programs for `scripts/bench.sh`: what netstack is measured with, and against.
//!
//! - `inmem` ([`bulk`]): one bulk transfer between two stacks of one kind (netstack or
//!   smoltcp) on a simulated in-memory link with a virtual clock, optional seeded loss,
//!   delay and rate. Prints wall-clock and virtual-clock goodput and checks every byte.
//! - `smol-tap` ([`smol_tap`]): smoltcp on a TAP device with the services the harness
//!   measures (chargen, discard, echo, HTTP `/bytes/N`), so the kernel-facing rows compare
//!   netstack with smoltcp under the same clients.
//!
//! A benchmark is never a test: nothing here asserts a number.

pub mod bulk;
pub mod host;
pub mod netstack_host;
pub mod pattern;
pub mod smol_host;
pub mod smol_tap;
pub mod wire;
