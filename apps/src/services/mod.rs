//! The services `netstack serve` runs. The event loop's own thread serves all of their
//! connections, in the round their frames arrive (each service is a runtime `Task`):
//! the TCP services are small state machines on the event-driven [`server`] (readiness
//! events from the runtime's `Poll`), UDP echo answers from a `Poll` of its own. (The blocking `std::net`-shaped facade in `crate::net` stays for simple
//! programs, such as the `echo` and `http-get` commands.)

pub mod chargen;
pub mod http;
pub mod server;
pub mod tcp_echo;
pub mod udp_echo;

use std::io;
use std::thread::JoinHandle;

use crate::runtime::Handle;

/// A running service: its name for the banner, and its thread if it has one.
pub struct Service {
    /// What the banner says, e.g. "udp echo on port 7".
    pub name: String,
    /// The service's thread, which ends when the runtime stops; `None` for a service
    /// the event loop runs itself (a [`Task`](crate::runtime::Task)).
    pub thread: Option<JoinHandle<()>>,
}

/// Starts every service on `net`.
pub fn start_all(net: &Handle) -> io::Result<Vec<Service>> {
    Ok(vec![
        tcp_echo::start_echo(net, tcp_echo::ECHO_PORT)?,
        udp_echo::start(net, udp_echo::PORT)?,
        tcp_echo::start_discard(net, tcp_echo::DISCARD_PORT)?,
        chargen::start(net, chargen::PORT)?,
        http::start(net, http::PORT)?,
    ])
}
