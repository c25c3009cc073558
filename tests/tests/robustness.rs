//! The kernel's side of the TAP link sends netstack junk; netstack drops each piece,
//! counts it under the right reason, and keeps answering pings.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0)  <-- TAP -->  netstack 10.0.0.2
//!     raw ICMP socket, UDP socket, raw IP socket: junk the kernel builds the IP header of
//!     AF_PACKET socket on tap0: junk down to the Ethernet header
//! ```

mod common;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use common::netstack::Netstack;
use common::pinger::{echo_request, KernelPinger};
use common::{
    echo_payload, in_netns, internet_checksum, kernel_mac, tap_lab, HOST_IP, STACK_IP, STACK_MAC,
};
use netstack_core::{MacAddr, RxDrop};
use netstack_drivers::{AfPacketDevice, Device};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_ARP: u16 = 0x0806;

#[test]
fn junk_from_the_kernel_is_counted_and_pings_still_work() {
    in_netns(
        "junk_from_the_kernel_is_counted_and_pings_still_work",
        || {
            let tap = tap_lab();
            let tap_mac = kernel_mac("tap0");
            let net = Netstack::start(tap);
            let pinger = KernelPinger::open();

            // A normal ping first, so ARP is settled on both sides and the junk below reaches
            // netstack in the order it is sent (nothing waits behind ARP).
            pinger.ping(STACK_IP, 1, &echo_payload(56, 1), || net.describe());
            let before = net.with_stack(|stack, _| stack.counters().clone());

            // Each piece of junk, and the counter it must land in.
            let mut expected: BTreeMap<&str, u64> = BTreeMap::new();
            let mut expect = |reason: RxDrop| *expected.entry(reason.as_str()).or_default() += 1;

            // --- From the kernel's sockets: the kernel builds a valid IPv4 header. ---

            // An echo request whose ICMP checksum is off by one: silently discarded
            // (RFC 1122 3.2.2), no reply. Seq 2 must never be answered.
            let mut bad = echo_request(pinger.ident(), 2, &echo_payload(56, 2));
            bad[2] ^= 0x01;
            pinger.send_icmp(STACK_IP, &bad);
            expect(RxDrop::IcmpBadChecksum);

            // Four bytes are not an ICMP header.
            pinger.send_icmp(STACK_IP, &[8, 0, 0xf7, 0xff]);
            expect(RxDrop::IcmpMalformed);

            // A timestamp request (type 13), which netstack does not answer.
            let mut timestamp = vec![13, 0, 0, 0, 0, 1, 0, 1];
            timestamp.extend_from_slice(&[0; 12]);
            let sum = internet_checksum(&timestamp);
            timestamp[2..4].copy_from_slice(&sum.to_be_bytes());
            pinger.send_icmp(STACK_IP, &timestamp);
            expect(RxDrop::IcmpUnhandledType);

            // A ping to the subnet's broadcast address: ignored, as Linux ignores it.
            let broadcast = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4))
                .expect("raw ICMP socket");
            broadcast.set_broadcast(true).expect("SO_BROADCAST");
            let to = SockAddr::from(SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 255), 0));
            let echo = echo_request(pinger.ident(), 3, &echo_payload(56, 3));
            broadcast.send_to(&echo, &to).expect("send broadcast echo");
            expect(RxDrop::IcmpBroadcastEcho);

            // IP protocol 253 (RFC 3692, for experiments): a protocol netstack does not speak.
            let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(253)))
                .expect("raw IP socket");
            let to = SockAddr::from(SocketAddrV4::new(STACK_IP, 0));
            raw.send_to(b"experimental", &to)
                .expect("send protocol 253");
            expect(RxDrop::Ipv4UnknownProtocol);

            // UDP to a port nobody listens on: dropped and answered with port unreachable,
            // which the kernel reports on the connected socket as "connection refused".
            let udp = UdpSocket::bind((HOST_IP, 0)).expect("bind a UDP socket on 10.0.0.1");
            udp.connect((STACK_IP, 9))
                .expect("connect UDP to 10.0.0.2:9");
            udp.set_read_timeout(Some(Duration::from_millis(100)))
                .expect("SO_RCVTIMEO");
            udp.send(b"discard me").expect("send UDP");
            expect(RxDrop::UdpNoSocket);

            // --- Through an AF_PACKET socket on tap0: whole Ethernet frames, any bytes. ---
            let mut wire = AfPacketDevice::open("tap0").expect("packet socket on tap0");
            let mut inject = |frame: Vec<u8>, reason: RxDrop| {
                wire.send(&frame)
                    .unwrap_or_else(|e| panic!("inject {reason}: {e}"));
                expect(reason);
            };
            let good_echo = ipv4(HOST_IP, STACK_IP, 1, &echo_request(0x7777, 1, b"junk"));

            // A frame for another station on the link.
            let other = MacAddr([0x02, 0, 0, 0, 0, 0x99]);
            inject(
                eth(other, tap_mac, ETHERTYPE_IPV4, &good_echo),
                RxDrop::EthernetNotForUs,
            );
            // An EtherType netstack does not speak (0x88b5, IEEE local experimental).
            inject(
                eth(STACK_MAC, tap_mac, 0x88b5, b"hello"),
                RxDrop::EthernetUnknownType,
            );
            // ARP with operation 9.
            let mut arp_op9 = arp(1, tap_mac, HOST_IP, MacAddr::ZERO, STACK_IP);
            arp_op9[7] = 9;
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_ARP, &arp_op9),
                RxDrop::ArpUnsupported,
            );
            // ARP claiming 7-byte hardware addresses, which its 28 bytes cannot hold.
            let mut arp_hlen7 = arp(1, tap_mac, HOST_IP, MacAddr::ZERO, STACK_IP);
            arp_hlen7[4] = 7;
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_ARP, &arp_hlen7),
                RxDrop::ArpMalformed,
            );
            // An IPv4 EtherType carrying a version 6 header.
            let mut v6 = good_echo.clone();
            v6[0] = 0x65;
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_IPV4, &v6),
                RxDrop::Ipv4BadVersion,
            );
            // A header checksum that does not verify.
            let mut bad_sum = good_echo.clone();
            bad_sum[10] ^= 0xff;
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_IPV4, &bad_sum),
                RxDrop::Ipv4BadChecksum,
            );
            // A total length of 1000 bytes in a frame far shorter.
            let mut long = good_echo.clone();
            long[2..4].copy_from_slice(&1000u16.to_be_bytes());
            fix_ip_checksum(&mut long);
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_IPV4, &long),
                RxDrop::Ipv4Malformed,
            );
            // An IHL of 4 (16 bytes of header, below the minimum 20).
            let mut short_ihl = good_echo.clone();
            short_ihl[0] = 0x44;
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_IPV4, &short_ihl),
                RxDrop::Ipv4Malformed,
            );
            // From the limited broadcast address: no host has it (RFC 1122 3.2.1.3).
            let from_broadcast = ipv4(Ipv4Addr::BROADCAST, STACK_IP, 1, &echo_request(1, 1, b""));
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_IPV4, &from_broadcast),
                RxDrop::Ipv4BadSource,
            );
            // For another address on the subnet: a host does not forward.
            let elsewhere = ipv4(
                HOST_IP,
                Ipv4Addr::new(10, 0, 0, 3),
                1,
                &echo_request(1, 1, b""),
            );
            inject(
                eth(STACK_MAC, tap_mac, ETHERTYPE_IPV4, &elsewhere),
                RxDrop::Ipv4NotForUs,
            );

            // A normal ping is still answered. Replies come back in order, so had netstack
            // answered the broken seq 2 or the broadcast seq 3, `ping` would see that reply
            // first and fail.
            pinger.ping(STACK_IP, 4, &echo_payload(56, 4), || net.describe());
            assert_eq!(
                udp.recv(&mut [0; 64]).map_err(|e| e.kind()),
                Err(ErrorKind::ConnectionRefused),
                "the kernel got no port unreachable for its UDP datagram"
            );

            // Every piece of junk was counted once under its reason, and nothing else was
            // dropped; every frame was either accepted or dropped.
            let dropped_since = |stack: &mut netstack_core::Stack| -> BTreeMap<&'static str, u64> {
                let now = stack.counters();
                RxDrop::ALL
                    .iter()
                    .map(|&r| (r.as_str(), now.rx_dropped(r) - before.rx_dropped(r)))
                    .filter(|&(_, n)| n > 0)
                    .collect()
            };
            // The last reply proves netstack has read everything sent before it; the wait is
            // only a guard.
            let dropped =
                net.wait_for("the junk to be counted", |stack| Some(dropped_since(stack)));
            assert_eq!(dropped, expected, "\n{}", net.describe());
            let c = net.with_stack(|stack, _| stack.counters().clone());
            assert_eq!(c.rx_frames, c.rx_accepted + c.rx_dropped_total());
            assert_eq!(c.icmp_echo_replies_sent, 2, "only seq 1 and 4 answered");
        },
    );
}

/// An Ethernet frame.
fn eth(dst: MacAddr, src: MacAddr, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst.0);
    f.extend_from_slice(&src.0);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An Ethernet/IPv4 ARP packet (28 bytes).
fn arp(op: u16, sha: MacAddr, spa: Ipv4Addr, tha: MacAddr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut p = vec![0, 1, 0x08, 0x00, 6, 4];
    p.extend_from_slice(&op.to_be_bytes());
    p.extend_from_slice(&sha.0);
    p.extend_from_slice(&spa.octets());
    p.extend_from_slice(&tha.0);
    p.extend_from_slice(&tpa.octets());
    p
}

/// An IPv4 datagram (20-byte header, TTL 64, DF clear) with a correct header checksum.
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).expect("small test datagram");
    let mut d = vec![0x45, 0];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[0x12, 0x34, 0, 0, 64, protocol, 0, 0]);
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    fix_ip_checksum(&mut d);
    d.extend_from_slice(payload);
    d
}

/// Recomputes the checksum of the 20-byte IPv4 header at the start of `datagram`.
fn fix_ip_checksum(datagram: &mut [u8]) {
    datagram[10..12].copy_from_slice(&[0, 0]);
    let sum = internet_checksum(&datagram[..20]);
    datagram[10..12].copy_from_slice(&sum.to_be_bytes());
}
