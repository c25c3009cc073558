//! The services `netstack serve` runs. Each has one thread that serves all of its
//! connections: the TCP services are small state machines on the event-driven
//! [`server`] (readiness events from the runtime's `Poll`), UDP echo waits on a `Poll`
//! of its own. (The blocking `std::net`-shaped facade in `crate::net` stays for simple
//! programs, such as the `echo` and `http-get` commands.)

pub mod chargen;
pub mod http;
pub mod server;
pub mod tcp_echo;
pub mod udp_echo;

use std::io;
use std::thread::JoinHandle;

use crate::runtime::Handle;

/// A running service: its name for the banner, and its thread.
pub struct Service {
    /// What the banner says, e.g. "udp echo on port 7".
    pub name: String,
    /// The service's thread; it ends when the runtime stops.
    pub thread: JoinHandle<()>,
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
