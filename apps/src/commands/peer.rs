//! `--driver memory`: instead of a TAP, an in-memory cable to a second netstack in this
//! process, which plays the host's part at 10.0.0.1 (02:00:00:00:00:01) and runs the
//! services of `netstack serve` (echo 7, discard 9, chargen 19, HTTP 80). Every command
//! runs on it without root: `netstack --driver memory ping 10.0.0.1`, `... http-get
//! http://10.0.0.1/bytes/100000`. The peer uses the same `--cc`, `--no-sack` and
//! `--seed` (plus one) as the stack; its events go to the same `--tcp-log` and trace.
//! `--impair`, `--pcap` and `--trace` wrap our end of the cable, so they see both ways.

use std::io;
use std::net::Ipv4Addr;
use std::os::unix::io::RawFd;

use netstack_core::{Config, MacAddr, Stack};
use netstack_drivers::{Device, LinkDrops, MemoryDevice};

use crate::cli::NetOptions;
use crate::commands::setup;
use crate::error::CliError;
use crate::runtime::Runtime;
use crate::tcp_log::EventOutputs;

/// The peer's address: the host's, by the project's conventions.
pub const PEER_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// The peer's Ethernet address.
pub const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
/// The cable's MTU, Ethernet's.
const MTU: usize = 1500;

/// Our end of the cable; the peer's runtime lives as long as it does.
pub struct PeerLink {
    end: MemoryDevice,
    /// Stopped when the device is dropped, which is when our runtime stops.
    _peer: Runtime,
}

/// Builds the cable and starts the peer on the far end. Our stack must be on the
/// peer's prefix (the default 10.0.0.2/24 is).
pub fn open(net: &NetOptions, seed: u64, events: &EventOutputs) -> Result<PeerLink, CliError> {
    let (ours, theirs) = netstack_drivers::memory::link(MTU)
        .map_err(|e| CliError::failure(format!("cannot create the in-memory cable: {e}")))?;
    let ours_config = net.config();
    if !ours_config.on_link(PEER_ADDR) || ours_config.addr == PEER_ADDR {
        return Err(CliError::usage(format!(
            "--driver memory puts a peer at {PEER_ADDR}: --addr must be another address on its prefix, such as 10.0.0.2/24"
        )));
    }
    let mut config = Config {
        addr: PEER_ADDR,
        mac: PEER_MAC,
        prefix_len: 24,
        gateway: None,
        ..Config::default()
    };
    config.tcp = ours_config.tcp.clone();
    let stack = Stack::new(config, seed.wrapping_add(1))
        .map_err(|e| CliError::failure(format!("the in-memory peer: {e}")))?;
    let peer = setup::spawn(stack, Box::new(theirs))?;
    if let Some(sink) = events.sink() {
        peer.handle().set_event_sink(sink);
    }
    crate::services::start_all(&peer.handle())
        .map_err(|e| CliError::failure(format!("the in-memory peer's services: {e}")))?;
    Ok(PeerLink {
        end: ours,
        _peer: peer,
    })
}

impl Device for PeerLink {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        self.end.recv(buf)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.end.send(frame)
    }

    fn as_raw_fd(&self) -> RawFd {
        self.end.as_raw_fd()
    }

    fn mtu(&self) -> usize {
        self.end.mtu()
    }

    fn name(&self) -> &str {
        self.end.name()
    }

    fn drops(&self) -> LinkDrops {
        self.end.drops()
    }
}
