//! smoltcp on a TAP device, serving what `scripts/bench.sh` measures: chargen-like
//! sending (port 19), discard (9), echo (7) and HTTP `GET /bytes/N` with keep-alive (80);
//! ICMP echo is answered by smoltcp's interface itself.
//!
//! smoltcp has no listen backlog: a listening socket becomes the connection. So each
//! port has a pool of sockets, each listening again once its connection is closed, and
//! a port takes as many connections at once as its pool has sockets.

mod http;
mod services;

use std::io;
use std::os::fd::AsRawFd;

use smoltcp::iface::{Config as SmolConfig, Interface, SocketSet};
use smoltcp::phy::{wait, Medium, TunTapInterface};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr};

use crate::smol_host::best_socket;
pub use services::Service;
use services::Slot;

/// How the server is set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// The TAP device, which must exist.
    pub iface: String,
    /// Our address and prefix.
    pub addr: IpCidr,
    /// Our MAC address.
    pub mac: EthernetAddress,
    /// Send and receive buffer of the chargen and discard sockets (the bulk ones).
    pub bulk_buffer: usize,
    /// Send and receive buffer of the echo and HTTP sockets.
    pub small_buffer: usize,
    /// Sockets per bulk port (chargen, discard).
    pub bulk_pool: usize,
    /// Sockets per echo and HTTP port.
    pub small_pool: usize,
}

/// Serves until killed; returns only if the device fails.
pub fn serve(opts: &Options) -> io::Result<()> {
    let mut device = TunTapInterface::new(&opts.iface, Medium::Ethernet)?;
    let fd = device.as_raw_fd();
    let config = SmolConfig::new(HardwareAddress::Ethernet(opts.mac));
    let mut iface = Interface::new(config, &mut device, Instant::now());
    iface.update_ip_addrs(|addrs| {
        // Invariant: a new interface has room for at least one address.
        addrs.push(opts.addr).expect("room for one address");
    });
    let mut sockets = SocketSet::new(vec![]);
    let mut slots = Vec::new();
    for service in Service::ALL {
        let (pool, buffer) = match service {
            Service::Chargen | Service::Discard => (opts.bulk_pool, opts.bulk_buffer),
            Service::Echo | Service::Http => (opts.small_pool, opts.small_buffer),
        };
        for _ in 0..pool {
            let handle = sockets.add(best_socket(buffer));
            slots.push(Slot::new(service, handle));
        }
    }
    eprintln!(
        "smol-tap: {} on {}: chargen 19, discard 9, echo 7, http 80 ({} sockets)",
        opts.addr,
        opts.iface,
        slots.len()
    );
    let mut scratch = vec![0u8; 64 * 1024];
    loop {
        let now = Instant::now();
        iface.poll(now, &mut device, &mut sockets);
        let mut moved = 0;
        for slot in &mut slots {
            moved += slot.serve(sockets.get_mut(slot.handle), &mut scratch);
        }
        if moved == 0 {
            wait(fd, iface.poll_delay(Instant::now(), &sockets))?;
        }
    }
}
