//! smoltcp's TCP, wrapped to look like one stand-alone connection for the
//! `differential` target: a smoltcp interface at our address (10.0.0.2, port 80) on an
//! in-memory wire, with one socket. smoltcp is a peer to compare with, never our code.

use std::collections::VecDeque;

use netstack_core::wire::ipv4::protocol;
use netstack_core::wire::{ArpOperation, ArpRepr, EtherType, EthernetRepr, Ipv4Repr, TcpRepr};
use netstack_core::Instant;
use smoltcp::iface::{
    Config as SmolConfig, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::Instant as SmolInstant;
use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr, IpEndpoint};

use crate::ingress::arp_request;
use crate::trace::{tcp_frame, Dir, PEER, PEER_MAC, US, US_MAC};

/// smoltcp's side of the wire.
#[derive(Default)]
struct Wire {
    to_smol: VecDeque<Vec<u8>>,
    from_smol: VecDeque<Vec<u8>>,
}

struct Rx(Vec<u8>);
struct Tx<'a>(&'a mut VecDeque<Vec<u8>>);

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

/// Ingress frames and egress rounds one poll runs at most.
pub const EGRESS_ROUNDS: usize = 256;

/// One smoltcp TCP socket on its own interface.
pub struct SmolConn {
    iface: Interface,
    wire: Wire,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    runaway: bool,
}

fn smol_now(t: Instant) -> SmolInstant {
    SmolInstant::from_micros(t.total_micros() as i64)
}

impl SmolConn {
    /// A socket listening on port 80 (`listen`) or connecting to the peer.
    pub fn new(listen: bool, buffers: (usize, usize)) -> SmolConn {
        let mut wire = Wire::default();
        let mut config = SmolConfig::new(EthernetAddress(US_MAC.0).into());
        config.random_seed = 1;
        let mut iface = Interface::new(config, &mut wire, SmolInstant::from_millis(0));
        iface.update_ip_addrs(|a| {
            let o = US.0.octets();
            let _ = a.push(IpCidr::new(IpAddress::v4(o[0], o[1], o[2], o[3]), 24));
        });
        let mut socket = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; buffers.0]),
            tcp::SocketBuffer::new(vec![0; buffers.1]),
        );
        if listen {
            let _ = socket.listen(US.1);
        } else {
            let o = PEER.0.octets();
            let remote = IpEndpoint::new(IpAddress::v4(o[0], o[1], o[2], o[3]), PEER.1);
            let _ = socket.connect(iface.context(), remote, US.1);
        }
        let mut sockets = SocketSet::new(vec![]);
        let handle = sockets.add(socket);
        let mut me = SmolConn {
            iface,
            wire,
            sockets,
            handle,
            runaway: false,
        };
        // Teach smoltcp the peer's MAC, as a real peer's ARP request would.
        me.wire.to_smol.push_back(arp_request());
        me
    }

    /// The socket.
    pub fn socket(&mut self) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket<'static>>(self.handle)
    }

    /// Delivers the peer's segment.
    pub fn deliver(&mut self, now: Instant, repr: &TcpRepr, data: &[u8]) {
        self.wire
            .to_smol
            .push_back(tcp_frame(Dir::PeerToUs, repr, data));
        self.poll(now);
    }

    /// Lets smoltcp run at `now`: what `Interface::poll` does, with each loop bounded.
    /// smoltcp's own `poll` repeats egress until a round sends nothing, and the
    /// differential target found inputs after which its socket sends in every round:
    /// the loop never ends and the frames it queues take gigabytes. [`EGRESS_ROUNDS`]
    /// is far more than one poll needs; [`SmolConn::runaway`] says when it was reached.
    pub fn poll(&mut self, now: Instant) {
        let t = smol_now(now);
        self.iface.poll_maintenance(t);
        for _ in 0..EGRESS_ROUNDS {
            let r = self
                .iface
                .poll_ingress_single(t, &mut self.wire, &mut self.sockets);
            if r == PollIngressSingleResult::None {
                break;
            }
        }
        for round in 0..=EGRESS_ROUNDS {
            if round == EGRESS_ROUNDS {
                self.runaway = true;
                break;
            }
            let r = self.iface.poll_egress(t, &mut self.wire, &mut self.sockets);
            if r == PollResult::None {
                break;
            }
        }
    }

    /// True once a poll reached [`EGRESS_ROUNDS`] (smoltcp would have looped on).
    pub fn runaway(&self) -> bool {
        self.runaway
    }

    /// When smoltcp wants to be polled next.
    pub fn poll_at(&mut self, now: Instant) -> Option<Instant> {
        self.iface
            .poll_at(smol_now(now), &self.sockets)
            .map(|t| Instant::from_micros(t.total_micros().max(0) as u64))
    }

    /// The TCP segments smoltcp sent; ARP requests are answered on the spot.
    pub fn take_sent(&mut self, now: Instant) -> Vec<(TcpRepr, Vec<u8>)> {
        let mut out = vec![];
        for _ in 0..16 {
            let mut again = false;
            while let Some(f) = self.wire.from_smol.pop_front() {
                let Ok((eth, payload)) = EthernetRepr::parse(&f) else {
                    continue;
                };
                if eth.ethertype == EtherType::Arp {
                    if ArpRepr::parse(payload).is_ok_and(|a| a.operation == ArpOperation::Request) {
                        self.wire.to_smol.push_back(arp_reply());
                        again = true;
                    }
                    continue;
                }
                let Ok((ip, seg)) = Ipv4Repr::parse(payload) else {
                    continue;
                };
                if ip.protocol != protocol::TCP {
                    continue;
                }
                if let Ok((repr, data)) = TcpRepr::parse(ip.src, ip.dst, seg) {
                    out.push((repr, data.to_vec()));
                }
            }
            if !again {
                break;
            }
            self.poll(now);
        }
        out
    }
}

/// The peer's answer to smoltcp's ARP request.
fn arp_reply() -> Vec<u8> {
    let mut f = vec![0; 14 + 28];
    EthernetRepr {
        dst: US_MAC,
        src: PEER_MAC,
        ethertype: EtherType::Arp,
    }
    .emit(&mut f);
    ArpRepr {
        operation: ArpOperation::Reply,
        sender_mac: PEER_MAC,
        sender_ip: PEER.0,
        target_mac: US_MAC,
        target_ip: US.0,
    }
    .emit(&mut f[14..]);
    f
}

/// smoltcp's state in RFC words.
pub fn state(s: tcp::State) -> netstack_core::tcp::State {
    use netstack_core::tcp::State as S;
    match s {
        tcp::State::Closed => S::Closed,
        tcp::State::Listen => S::Listen,
        tcp::State::SynSent => S::SynSent,
        tcp::State::SynReceived => S::SynReceived,
        tcp::State::Established => S::Established,
        tcp::State::FinWait1 => S::FinWait1,
        tcp::State::FinWait2 => S::FinWait2,
        tcp::State::CloseWait => S::CloseWait,
        tcp::State::Closing => S::Closing,
        tcp::State::LastAck => S::LastAck,
        tcp::State::TimeWait => S::TimeWait,
    }
}
