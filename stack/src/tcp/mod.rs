//! TCP (RFC 9293), one job per file, in the order a segment meets them:
//!
//! - [`seq`]: sequence numbers with wrap-around comparison (no total order).
//! - `host`: from an arriving segment to its connection, listener, TIME-WAIT entry or a
//!   reset; from a connection's decisions back to the wire; ICMP errors (RFC 5927).
//! - [`listen`]: a listener's SYN queue and accept queue.
//! - `input`: RFC 9293 3.10.7's arrival rules with RFC 5961's checks.
//! - `output`: what to send now (Nagle, silly window avoidance, FIN) and the timers.
//! - [`recv_buffer`] and [`send_buffer`]: the byte rings, with out-of-order reassembly.
//! - [`rtt`]: RFC 6298's RTO with Karn's rule; [`congestion`]: RFC 5681/6582 NewReno
//!   behind a trait.
//! - [`isn`]: RFC 6528 initial sequence numbers.
//! - `api`: the calls applications make.

mod api;
pub mod config;
pub mod congestion;
pub mod error;
pub(crate) mod host;
mod input;
pub mod isn;
pub mod listen;
mod output;
pub mod recv_buffer;
pub mod rtt;
pub mod send_buffer;
pub mod seq;
pub mod state;
pub(crate) mod tcb;
pub mod timer;

pub use api::{TcpDetails, TcpSocketInfo};
pub use config::TcpConfig;
pub use error::TcpError;
pub use state::State;
pub use tcb::ConnCounters;
