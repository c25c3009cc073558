//! # netstack's applications
//!
//! - [`runtime`]: the event loop that drives a sans-IO [`netstack_core::Stack`] over a
//!   [`netstack_drivers::Device`] on its own thread, and the [`runtime::Handle`] other threads use
//!   to reach the stack;
//! - [`net`]: the BSD-style socket facade shaped like `std::net` (`UdpSocket`);
//! - [`ping`]: a ping session with iputils' output, over a handle;
//! - [`http_client`]: an HTTP/1.1 GET client over the facade's `TcpStream`;
//! - [`cli`] and [`commands`]: the `netstack` binary (`serve`, `ping`, `echo`,
//!   `http-get`, `demo`).
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod gateway;
pub mod http_client;
pub mod net;
pub mod ping;
pub mod runtime;
pub mod seed;
pub mod services;
pub mod signals;
pub mod tcp_log;
pub mod usage_error;
