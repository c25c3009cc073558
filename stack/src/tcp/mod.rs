//! TCP (RFC 9293), one job per file.
//!
//! One connection, which runs on its own (no stack, IP or Ethernet needed):
//! - [`connection`]: the [`Connection`] type, its state variables in RFC 9293's names,
//!   its constructors (any state), and how to drive it;
//! - `input`: RFC 9293 3.10.7's arrival rules with RFC 5961's checks;
//! - `output`: what to send now (Nagle, silly window avoidance, FIN) and the timers;
//! - `user`: the user calls (send, receive, shutdown, close, abort);
//! - [`time_wait`]-related rules, with the stack's buffer-less TIME-WAIT table;
//! - [`options`]: what the SYNs agreed (window scaling, timestamps, SACK) and the
//!   timestamp rules (RFC 7323);
//! - [`recv_buffer`] and [`send_buffer`]: the byte rings, with out-of-order reassembly;
//! - [`invariants`]: what must hold between any two events, checked after each in
//!   debug builds;
//! - [`rtt`]: RFC 6298's RTO with Karn's rule; [`congestion`]: RFC 5681/6582 NewReno
//!   behind a trait; [`timer`]: the connection's timers in one table.
//!
//! The stack's TCP layer, which hosts many connections:
//! - `layer`: its state (sockets, ports, ISNs, the challenge-ACK budget) and timers;
//! - `demux`: from an arriving segment to its connection, listener, TIME-WAIT entry or a
//!   reset; ICMP errors (RFC 5927);
//! - `listen`: listeners, their SYN and accept queues, `accept`; `listen_cookie`: SYN
//!   cookies once a SYN queue is full;
//! - `lifecycle`: connect, running a connection's output, freeing it;
//! - [`events`]: the bounded log of per-connection events (state, segments, ACKs,
//!   losses, cwnd) that logs and plots are made from;
//! - [`isn`]: RFC 6528 initial sequence numbers; [`syncookie`]: RFC 4987 SYN cookies;
//! - [`api`]: the calls applications make, as a [`TcpSockets`] view;
//!   [`socket_options`]: what a socket is given before it connects or listens.
//!
//! Sequence numbers ([`seq`]) live with the wire format, which needs them too.

pub mod api;
mod binds;
pub mod buffer_pool;
pub mod config;
pub mod congestion;
pub mod connection;
mod demux;
pub mod error;
pub mod events;
mod input;
pub mod invariants;
pub mod isn;
pub(crate) mod layer;
mod lifecycle;
mod listen;
mod listen_cookie;
mod listener;
pub mod options;
mod output;
pub mod recv_buffer;
mod ring;
pub mod rtt;
pub mod sack;
mod segment;
pub mod send_buffer;
pub mod socket_options;
pub mod state;
pub mod syncookie;
pub mod time_wait;
pub mod timer;
mod user;

pub use crate::wire::seq;
pub use api::{TcpSocketInfo, TcpSockets};
pub use config::TcpConfig;
pub use congestion::Algorithm;
pub use connection::{Arrival, ConnCounters, Connection, Details, Endpoint};
pub use error::TcpError;
pub use events::{ConnEvent, EventKind, EventLog};
pub use segment::Segment;
pub use socket_options::SocketOptions;
pub use state::State;
pub use user::Close;
