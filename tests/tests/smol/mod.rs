//! A smoltcp interface wired to one of our stacks through in-memory queues, both on the
//! same virtual clock. smoltcp is our interop peer only, never our implementation.
#![allow(dead_code)]

use std::collections::VecDeque;

use netstack_core::{Config, Instant, MacAddr, Stack};
use smoltcp::iface::{Config as SmolConfig, Interface, SocketSet};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr};

/// smoltcp's side of the wire: frames it will read, frames it wrote.
#[derive(Default)]
pub struct Wire {
    pub to_smol: VecDeque<Vec<u8>>,
    pub from_smol: VecDeque<Vec<u8>>,
}

pub struct Rx(Vec<u8>);
pub struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut buf = vec![0; len];
        let r = f(&mut buf);
        self.0.push_back(buf);
        r
    }
}

impl phy::Device for Wire {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: SmolInstant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.to_smol.pop_front()?;
        Some((Rx(frame), Tx(&mut self.from_smol)))
    }

    fn transmit(&mut self, _: SmolInstant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.from_smol))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

pub const OURS: [u8; 4] = [10, 0, 0, 2];
pub const SMOL: [u8; 4] = [10, 0, 0, 3];

/// Our stack (10.0.0.2) and smoltcp (10.0.0.3) on one link.
pub struct Link {
    pub ours: Stack,
    pub smol: Interface,
    pub wire: Wire,
    pub sockets: SocketSet<'static>,
    pub now: Instant,
    /// Frames that crossed, both ways.
    pub frames: usize,
}

impl Link {
    pub fn new() -> Link {
        Link::with_config(Config::default())
    }

    /// A link whose netstack side runs with `config`.
    pub fn with_config(config: Config) -> Link {
        let ours = Stack::new(config, 7).unwrap();
        let mut wire = Wire::default();
        let smol_mac = EthernetAddress([2, 0, 0, 0, 0, 3]);
        let mut smol = Interface::new(
            SmolConfig::new(smol_mac.into()),
            &mut wire,
            SmolInstant::from_millis(0),
        );
        smol.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(
                    IpAddress::v4(SMOL[0], SMOL[1], SMOL[2], SMOL[3]),
                    24,
                ))
                .unwrap();
        });
        Link {
            ours,
            smol,
            wire,
            sockets: SocketSet::new(vec![]),
            now: Instant::ZERO,
            frames: 0,
        }
    }

    pub fn smol_mac() -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, 3])
    }

    fn smol_now(&self) -> SmolInstant {
        SmolInstant::from_micros(self.now.total_micros() as i64)
    }

    /// Moves frames both ways until both sides are quiet.
    pub fn drive(&mut self) {
        for _ in 0..100_000 {
            let now = self.smol_now();
            self.smol.poll(now, &mut self.wire, &mut self.sockets);
            self.ours.handle_timeout(self.now);
            let mut moved = 0;
            let wire = &mut self.wire;
            self.ours.transmit(|f| {
                wire.to_smol.push_back(f.to_vec());
                moved += 1;
            });
            while let Some(f) = self.wire.from_smol.pop_front() {
                self.ours.receive(self.now, &f);
                moved += 1;
            }
            self.frames += moved;
            if moved == 0 && self.wire.to_smol.is_empty() {
                return;
            }
        }
        panic!("the link never went quiet");
    }

    /// Advances the virtual clock by `ms` and drives.
    pub fn advance(&mut self, ms: u64) {
        self.now += netstack_core::Duration::from_millis(ms);
        self.drive();
    }

    /// How long until the earlier of the two sides' next timers, if either has one.
    pub fn next_timer(&mut self) -> Option<netstack_core::Duration> {
        let ours = self
            .ours
            .poll_timeout()
            .map(|at| at.saturating_since(self.now));
        let now = self.smol_now();
        let smol = self
            .smol
            .poll_delay(now, &self.sockets)
            .map(|d| netstack_core::Duration::from_micros(d.total_micros()));
        ours.into_iter()
            .chain(smol)
            .min_by_key(|d| d.total_micros())
    }

    /// Advances the virtual clock to the next timer of either side, by at least 1 ms and
    /// at most `max`, and drives. For when nothing moves. Returns the step.
    pub fn advance_to_next_timer(
        &mut self,
        max: netstack_core::Duration,
    ) -> netstack_core::Duration {
        let step = self
            .next_timer()
            .map_or(max.total_micros(), |d| d.total_micros())
            .clamp(1000, max.total_micros().max(1000));
        let step = netstack_core::Duration::from_micros(step);
        self.now += step;
        self.drive();
        step
    }
}
