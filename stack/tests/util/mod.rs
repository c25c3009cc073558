//! Test helpers: build frames as a peer on the link would, feed them to a stack, and
//! expect exactly the frames it answers with. Each helper is `#[track_caller]` so a
//! failure points at the line of the trace that broke.
#![allow(dead_code)]

pub mod conn;
pub mod tcp;

use std::net::Ipv4Addr;

use netstack_core::wire::{
    ethernet, ipv4, ArpOperation, ArpRepr, EtherType, EthernetRepr, IcmpRepr, Ipv4Repr, MacAddr,
};
use netstack_core::{Config, Instant, Stack};

/// The stack under test: 10.0.0.2, 02:00:00:00:00:02 (the project's convention).
pub const US_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const US_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
/// The peer playing the kernel: 10.0.0.1.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const PEER_MAC: MacAddr = MacAddr([0x22, 0x12, 0x0f, 0x58, 0x80, 0xdb]);

pub fn stack() -> Stack {
    Stack::new(Config::default(), 1).expect("default config is valid")
}

/// Host B of the two-stack tests: 10.0.0.3, 02:00:00:00:00:03, otherwise the defaults
/// (host A is `Config::default()`, 10.0.0.2).
pub fn config_b() -> Config {
    Config {
        addr: Ipv4Addr::new(10, 0, 0, 3),
        mac: MacAddr([2, 0, 0, 0, 0, 3]),
        ..Config::default()
    }
}

/// Hosts A and B ([`config_b`]) with seeds 1 and 2: the two ends of a virtual wire.
pub fn two_stacks() -> (Stack, Stack) {
    let a = Stack::new(Config::default(), 1).expect("default config is valid");
    let b = Stack::new(config_b(), 2).expect("host B's config is valid");
    (a, b)
}

/// Moves `now` on to the earlier of the two stacks' next timers (if any, and never
/// back), then runs both stacks' timers due by then.
pub fn run_next_timer(now: &mut Instant, a: &mut Stack, b: &mut Stack) {
    let next = [a.poll_timeout(), b.poll_timeout()]
        .into_iter()
        .flatten()
        .min();
    if let Some(t) = next {
        *now = (*now).max(t);
    }
    a.handle_timeout(*now);
    b.handle_timeout(*now);
}

pub fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// An Ethernet frame around `payload`.
pub fn frame(src: MacAddr, dst: MacAddr, ethertype: EtherType, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0; ethernet::HEADER_LEN];
    EthernetRepr {
        dst,
        src,
        ethertype,
    }
    .emit(&mut f);
    f.extend_from_slice(payload);
    f
}

/// An ARP frame from the peer.
pub fn arp(
    op: ArpOperation,
    sender: (MacAddr, Ipv4Addr),
    target: (MacAddr, Ipv4Addr),
    eth_dst: MacAddr,
) -> Vec<u8> {
    let mut p = vec![0; 28];
    ArpRepr {
        operation: op,
        sender_mac: sender.0,
        sender_ip: sender.1,
        target_mac: target.0,
        target_ip: target.1,
    }
    .emit(&mut p);
    frame(sender.0, eth_dst, EtherType::Arp, &p)
}

/// "Who has 10.0.0.2? Tell 10.0.0.1", broadcast by the peer.
pub fn who_has_us() -> Vec<u8> {
    arp(
        ArpOperation::Request,
        (PEER_MAC, PEER_IP),
        (MacAddr::ZERO, US_IP),
        MacAddr::BROADCAST,
    )
}

/// An IPv4 datagram from `src` to `dst` carrying `body` with protocol `proto`.
pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, body: &[u8]) -> Vec<u8> {
    let mut d = vec![0; ipv4::HEADER_LEN];
    Ipv4Repr {
        src,
        dst,
        protocol: proto,
        ttl: 64,
        ident: 0x1234,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        payload_len: body.len(),
    }
    .emit(&mut d);
    d.extend_from_slice(body);
    d
}

pub fn icmp(msg: IcmpRepr, data: &[u8]) -> Vec<u8> {
    let mut b = vec![0; 8 + data.len()];
    msg.emit(data, &mut b);
    b
}

/// An echo request from the peer to `dst`, in a frame to `eth_dst`.
pub fn echo_request(dst: Ipv4Addr, eth_dst: MacAddr, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let body = icmp(IcmpRepr::EchoRequest { ident, seq }, data);
    frame(
        PEER_MAC,
        eth_dst,
        EtherType::Ipv4,
        &ipv4(PEER_IP, dst, ipv4::protocol::ICMP, &body),
    )
}

/// Everything the stack wants to send now.
pub fn sent(stack: &mut Stack) -> Vec<Vec<u8>> {
    let mut out = vec![];
    stack.transmit(|f| out.push(f.to_vec()));
    out
}

#[track_caller]
pub fn expect_nothing(stack: &mut Stack) {
    let out = sent(stack);
    assert!(
        out.is_empty(),
        "expected silence, stack sent {:?}",
        out.iter()
            .map(|f| netstack_core::wire::describe::describe(f))
            .collect::<Vec<_>>()
    );
}

#[track_caller]
pub fn expect_one(stack: &mut Stack) -> Vec<u8> {
    let mut out = sent(stack);
    assert_eq!(
        out.len(),
        1,
        "expected one frame, got {:?}",
        out.iter()
            .map(|f| netstack_core::wire::describe::describe(f))
            .collect::<Vec<_>>()
    );
    out.remove(0)
}

/// Parses a frame the stack sent as an ARP packet.
#[track_caller]
pub fn as_arp(f: &[u8]) -> (EthernetRepr, ArpRepr) {
    let (eth, payload) = EthernetRepr::parse(f).expect("ethernet");
    assert_eq!(
        eth.ethertype,
        EtherType::Arp,
        "not ARP: {}",
        netstack_core::wire::describe::describe(f)
    );
    (eth, ArpRepr::parse(payload).expect("arp"))
}

/// Parses a frame the stack sent as ICMP over IPv4, checking every checksum.
#[track_caller]
pub fn as_icmp(f: &[u8]) -> (EthernetRepr, Ipv4Repr, IcmpRepr, Vec<u8>) {
    let (eth, payload) = EthernetRepr::parse(f).expect("ethernet");
    assert_eq!(eth.ethertype, EtherType::Ipv4);
    let (ip, body) = Ipv4Repr::parse(payload).expect("ipv4 (checksum verified)");
    assert_eq!(ip.protocol, ipv4::protocol::ICMP);
    let (msg, data) = IcmpRepr::parse(body).expect("icmp (checksum verified)");
    (eth, ip, msg, data.to_vec())
}

/// Expects one frame: an ICMP protocol unreachable (RFC 792, code 2).
#[track_caller]
pub fn expect_protocol_unreachable(stack: &mut Stack) {
    let (_, _, msg, _) = as_icmp(&expect_one(stack));
    assert_eq!(
        msg,
        IcmpRepr::DestUnreachable {
            code: 2,
            next_hop_mtu: 0
        }
    );
}

/// A UDP datagram from the peer (`src_port`) to `dst`:`dst_port`, framed to `eth_dst`.
pub fn udp_from_peer(
    dst: Ipv4Addr,
    eth_dst: MacAddr,
    src_port: u16,
    dst_port: u16,
    data: &[u8],
) -> Vec<u8> {
    let mut body = vec![0; 8 + data.len()];
    netstack_core::wire::UdpRepr { src_port, dst_port }.emit(PEER_IP, dst, data, &mut body);
    frame(
        PEER_MAC,
        eth_dst,
        EtherType::Ipv4,
        &ipv4(PEER_IP, dst, ipv4::protocol::UDP, &body),
    )
}

/// Splits an IPv4 frame's datagram into fragments carrying at most `chunk` bytes each
/// (a multiple of 8), in order.
pub fn fragment(f: &[u8], chunk: usize) -> Vec<Vec<u8>> {
    let (eth, payload) = EthernetRepr::parse(f).unwrap();
    let (ip, body) = Ipv4Repr::parse(payload).unwrap();
    let mut out = vec![];
    let mut off = 0;
    while off < body.len() {
        let len = chunk.min(body.len() - off);
        let mut d = vec![0; ipv4::HEADER_LEN];
        Ipv4Repr {
            frag_offset: off as u16,
            more_frags: off + len < body.len(),
            dont_frag: false,
            payload_len: len,
            ..ip
        }
        .emit(&mut d);
        d.extend_from_slice(&body[off..off + len]);
        out.push(frame(eth.src, eth.dst, EtherType::Ipv4, &d));
        off += len;
    }
    out
}

/// Parses a frame the stack sent as IPv4, checking the header checksum.
#[track_caller]
pub fn as_ipv4(f: &[u8]) -> (Ipv4Repr, Vec<u8>) {
    let (eth, payload) = EthernetRepr::parse(f).expect("ethernet");
    assert_eq!(
        eth.ethertype,
        EtherType::Ipv4,
        "not IPv4: {}",
        netstack_core::wire::describe::describe(f)
    );
    let (ip, body) = Ipv4Repr::parse(payload).expect("ipv4");
    (ip, body.to_vec())
}

/// A stack that already knows the peer's MAC (the peer ARPed for us).
pub fn stack_knowing_peer() -> Stack {
    let mut s = stack();
    s.receive(at(0), &who_has_us());
    sent(&mut s);
    s
}
