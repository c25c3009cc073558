//! # netstack's sans-IO core
//!
//! A [`Stack`] is one IPv4 host on one Ethernet link. It performs no I/O, reads no clock
//! and spawns no thread: the caller feeds it what happened and asks it what to do.
//!
//! | the caller says | call |
//! |---|---|
//! | "this frame arrived at `now`" | [`Stack::receive`] |
//! | "it is `now`; run whatever timers are due" | [`Stack::handle_timeout`] |
//! | "give me the frames to put on the wire" | [`Stack::transmit`] |
//! | "when must I call you next, if nothing arrives?" | [`Stack::poll_timeout`] |
//! | "open, use and close sockets" | [`Stack::tcp`], [`Stack::udp`], [`Stack::ping`] |
//!
//! A driver loop therefore reads: wait for a frame or for `poll_timeout()`; call
//! `receive` for each frame read, then `handle_timeout(now)`; then `transmit` and hand
//! every frame to the device. Calling `handle_timeout` early or often is harmless.
//!
//! Randomness comes from the `seed` given to [`Stack::new`], so a run is replayed exactly
//! from its seed and its input.
//!
//! ## The layers
//!
//! Each protocol layer is a type that owns its state; a layer only ever imports the
//! ones below it. From the bottom:
//!
//! - [`wire`]: parsing and emitting every header (checked views; never panics);
//!   [`time`], [`rng`], [`config`], [`counters`]: the ground everything stands on;
//! - [`arp`] (the neighbour cache), [`socket`] (handles, tables, demultiplexing, ports):
//!   data structures that know no protocol above them;
//! - [`outbound`]: the one way out. Routing, the IPv4 header and fragmentation, ICMP
//!   errors, ARP resolution, Ethernet framing and the transmit queue. Every layer
//!   above is handed `&mut Outbound` to send;
//! - [`ipv4`]: input checks and reassembly; [`icmp`]: echo, ping, received errors;
//! - [`udp`] and [`tcp`]: sockets. [`tcp::Connection`] is one TCP endpoint that runs on
//!   its own, without a stack;
//! - `stack`: the [`Stack`] that composes them and routes a frame down the chain.
//!
//! ARCHITECTURE.md at the repository's root follows a SYN from the TAP device to
//! `accept()`, naming every function on the way.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp;
pub mod coalesce;
pub mod config;
pub mod counters;
pub mod deadlines;
pub mod icmp;
pub mod ipv4;
pub mod outbound;
pub mod raw;
pub mod rng;
pub mod socket;
mod stack;
pub mod tcp;
pub mod time;
pub mod udp;
pub mod wire;

pub use config::{ArpConfig, Config, ConfigError};
pub use counters::{Counters, RxDrop, TxDrop};
pub use icmp::errors::SoftError;
pub use icmp::ping::{Ping, PingError};
pub use icmp::EchoReply;
pub use ipv4::reassembly::ReassemblyConfig;
pub use outbound::SendError;
pub use raw::api::RawSockets;
pub use raw::{RawDatagram, RawError};
pub use socket::SocketHandle;
pub use stack::{Received, Stack};
pub use tcp::{State as TcpState, TcpConfig, TcpError, TcpSocketInfo, TcpSockets};
pub use time::{Duration, Instant};
pub use udp::api::UdpSockets;
pub use udp::{UdpError, UdpSocketInfo};
pub use wire::MacAddr;
