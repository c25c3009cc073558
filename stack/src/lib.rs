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
//!
//! A driver loop therefore reads: wait for a frame or for `poll_timeout()`; call
//! `receive` for each frame read, then `handle_timeout(now)`; then `transmit` and hand
//! every frame to the device. Calling `handle_timeout` early or often is harmless.
//!
//! Randomness comes from the `seed` given to [`Stack::new`], so a run is replayed exactly
//! from its seed and its input.
//!
//! Layers, in the order a frame meets them: [`wire`] (parsing and emitting headers),
//! `ethernet` dispatch in [`Stack::receive`], [`arp`], `ipv4`, `icmp`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod arp;
pub mod config;
pub mod counters;
pub mod icmp;
mod iface;
pub mod ipv4;
pub mod rng;
pub mod socket;
pub mod tcp;
pub mod time;
mod tx;
pub mod udp;
pub mod wire;

pub use config::{ArpConfig, Config, ConfigError};
pub use counters::{Counters, RxDrop, TxDrop};
pub use icmp::errors::SoftError;
pub use icmp::{EchoReply, PingError};
pub use iface::{SendError, Stack};
pub use ipv4::reassembly::ReassemblyConfig;
pub use socket::SocketHandle;
pub use tcp::{State as TcpState, TcpConfig, TcpError, TcpSocketInfo};
pub use time::{Duration, Instant};
pub use udp::{UdpError, UdpSocketInfo};
pub use wire::MacAddr;
