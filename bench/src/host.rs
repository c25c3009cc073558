//! What the bulk simulation needs from one end of the link: a stack with one TCP
//! connection on it, driven sans-IO. [`crate::netstack_host`] and [`crate::smol_host`]
//! implement it, so both stacks run under the very same loop. Times are virtual
//! microseconds.

use std::net::Ipv4Addr;

/// The client's address (it connects and sends); its MAC ends in 2.
pub const CLIENT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// The server's address (it listens and receives); its MAC ends in 3.
pub const SERVER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
/// The server's port.
pub const PORT: u16 = 9;

/// One end of a bulk transfer.
pub trait Host {
    /// A frame arrived from the link at `now`.
    fn receive(&mut self, now: u64, frame: &[u8]);
    /// Runs what is due at `now` and hands every frame the stack sends to `emit`.
    fn poll(&mut self, now: u64, emit: &mut dyn FnMut(Vec<u8>));
    /// When the stack next wants [`Host::poll`] without new input, if ever.
    fn next_timer(&mut self, now: u64) -> Option<u64>;
    /// Whether the connection is established (for a server: accepted).
    fn connected(&mut self, now: u64) -> bool;
    /// Queues stream bytes for sending; returns how many fit.
    fn send(&mut self, now: u64, data: &[u8]) -> usize;
    /// Reads received stream bytes into `buf`; 0 when none are waiting.
    fn recv(&mut self, now: u64, buf: &mut [u8]) -> usize;
    /// The connection's retransmission counters as `key=value` pairs, if the stack
    /// counts them.
    fn counters(&mut self) -> Option<String>;
}

/// How both ends are built: the link's IP MTU and each socket's buffers.
#[derive(Clone, Copy, Debug)]
pub struct HostParams {
    /// IP MTU in bytes (the Ethernet frame is 14 more).
    pub mtu: usize,
    /// Send and receive buffer of each socket, in bytes.
    pub buffer: usize,
}
