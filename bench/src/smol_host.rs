//! smoltcp as a [`Host`]: an `Interface` on an in-memory device with one TCP socket,
//! configured at its best: large buffers (so window scaling is on), CUBIC, 32
//! out-of-order ranges (a crate feature, see Cargo.toml), Nagle and a 10 ms delayed ACK
//! as it ships.

use std::collections::VecDeque;

use smoltcp::iface::{Config as SmolConfig, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::tcp::{self, CongestionControl, State};
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};

use crate::host::{Host, HostParams, CLIENT_ADDR, PORT, SERVER_ADDR};

/// The client's local port.
const CLIENT_PORT: u16 = 49152;

/// A smoltcp end of the link.
pub struct SmolHost {
    iface: Interface,
    device: Queues,
    sockets: SocketSet<'static>,
    socket: SocketHandle,
}

impl SmolHost {
    /// The client at 10.0.0.2, connecting to the server's port at once.
    pub fn client(params: HostParams) -> Result<SmolHost, String> {
        let mut host = SmolHost::new(params, true);
        let remote = IpEndpoint::new(IpAddress::Ipv4(SERVER_ADDR), PORT);
        let socket = host.sockets.get_mut::<tcp::Socket<'_>>(host.socket);
        socket
            .connect(host.iface.context(), remote, CLIENT_PORT)
            .map_err(|e| format!("smoltcp connect: {e}"))?;
        Ok(host)
    }

    /// The server at 10.0.0.3, listening on the port.
    pub fn server(params: HostParams) -> Result<SmolHost, String> {
        let mut host = SmolHost::new(params, false);
        let socket = host.sockets.get_mut::<tcp::Socket<'_>>(host.socket);
        socket
            .listen(PORT)
            .map_err(|e| format!("smoltcp listen: {e}"))?;
        Ok(host)
    }

    fn new(params: HostParams, client: bool) -> SmolHost {
        let (addr, last) = if client {
            (CLIENT_ADDR, 2)
        } else {
            (SERVER_ADDR, 3)
        };
        let mut device = Queues {
            mtu: params.mtu,
            ..Queues::default()
        };
        let mac = HardwareAddress::Ethernet(EthernetAddress([2, 0, 0, 0, 0, last]));
        let mut iface = Interface::new(SmolConfig::new(mac), &mut device, Instant::ZERO);
        iface.update_ip_addrs(|addrs| {
            // Invariant: a new interface has room for at least one address.
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(addr), 24))
                .expect("room for one address");
        });
        let mut sockets = SocketSet::new(vec![]);
        let socket = sockets.add(best_socket(params.buffer));
        SmolHost {
            iface,
            device,
            sockets,
            socket,
        }
    }

    fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(self.socket)
    }
}

/// A TCP socket with `buffer` bytes each way and CUBIC on.
pub fn best_socket(buffer: usize) -> tcp::Socket<'static> {
    let mut socket = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; buffer]),
        tcp::SocketBuffer::new(vec![0; buffer]),
    );
    socket.set_congestion_control(CongestionControl::Cubic);
    socket
}

fn instant(now: u64) -> Instant {
    Instant::from_micros(now as i64)
}

impl Host for SmolHost {
    fn receive(&mut self, _now: u64, frame: &[u8]) {
        self.device.rx.push_back(frame.to_vec());
    }

    fn poll(&mut self, now: u64, emit: &mut dyn FnMut(Vec<u8>)) {
        self.iface
            .poll(instant(now), &mut self.device, &mut self.sockets);
        self.device.tx.drain(..).for_each(emit);
    }

    fn next_timer(&mut self, now: u64) -> Option<u64> {
        let delay = self.iface.poll_delay(instant(now), &self.sockets)?;
        Some(now + delay.total_micros())
    }

    fn connected(&mut self, _now: u64) -> bool {
        !matches!(
            self.socket().state(),
            State::Closed | State::Listen | State::SynSent | State::SynReceived
        )
    }

    fn send(&mut self, _now: u64, data: &[u8]) -> usize {
        self.socket().send_slice(data).unwrap_or(0)
    }

    fn recv(&mut self, _now: u64, buf: &mut [u8]) -> usize {
        self.socket().recv_slice(buf).unwrap_or(0)
    }

    fn counters(&mut self) -> Option<String> {
        None
    }
}

/// The in-memory device: frames waiting for smoltcp, frames it sent.
// Like netstack-tests' `smol::Wire`, deliberately not shared: either crate depending on
// the other would merge their different smoltcp feature sets into the other's runs.
#[derive(Default)]
struct Queues {
    mtu: usize,
    rx: VecDeque<Vec<u8>>,
    tx: Vec<Vec<u8>>,
}

/// A received frame, handed to smoltcp.
pub struct Rx(Vec<u8>);
/// Room for one frame smoltcp sends.
pub struct Tx<'a>(&'a mut Vec<Vec<u8>>);

impl phy::RxToken for Rx {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        self.0.push(frame);
        r
    }
}

impl phy::Device for Queues {
    type RxToken<'a> = Rx;
    type TxToken<'a> = Tx<'a>;

    fn receive(&mut self, _: Instant) -> Option<(Rx, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((Rx(frame), Tx(&mut self.tx)))
    }

    fn transmit(&mut self, _: Instant) -> Option<Tx<'_>> {
        Some(Tx(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        // smoltcp counts the Ethernet header in the MTU of an Ethernet device.
        caps.max_transmission_unit = self.mtu + 14;
        caps
    }
}
