//! # netstack's applications
//!
//! - [`runtime`]: the event loop that drives a sans-IO [`stack::Stack`] over a
//!   [`drivers::Device`] on its own thread, and the [`runtime::Handle`] other threads use
//!   to reach the stack (the base of the BSD-style socket facade to come);
//! - [`ping`]: a ping session with iputils' output, over a handle;
//! - [`cli`] and [`commands`]: the `netstack` binary (`serve`, `ping`, `demo`).
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod ping;
pub mod runtime;
pub mod seed;
pub mod signals;
