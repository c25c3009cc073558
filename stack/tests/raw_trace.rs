//! Raw IP sockets against a scripted peer: what a socket receives (a copy of each
//! datagram of its protocol, IPv4 header first, alongside the stack's own handling),
//! the bind/connect filters, sending with and without a caller-built header, and the
//! bounds.

mod util;

use netstack_core::wire::ipv4::protocol;
use netstack_core::wire::{ipv4, EtherType, IcmpRepr};
use netstack_core::{RawError, RxDrop};
use util::*;

const IPPROTO_OSPF: u8 = 89;

/// An IPv4 frame from the peer to us.
fn datagram_from_peer(proto: u8, body: &[u8]) -> Vec<u8> {
    frame(
        PEER_MAC,
        US_MAC,
        EtherType::Ipv4,
        &ipv4(PEER_IP, US_IP, proto, body),
    )
}

#[test]
fn icmp_socket_sees_the_echo_request_the_stack_answers() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(protocol::ICMP).unwrap();
    // peer > us: ICMP echo request id 7 seq 1 "ping"
    let request = echo_request(US_IP, US_MAC, 7, 1, b"ping");
    s.receive(at(1), &request);
    // us > peer: ICMP echo reply id 7 seq 1: the stack still answers ...
    let (_, _, msg, _) = as_icmp(&expect_one(&mut s));
    assert_eq!(msg, IcmpRepr::EchoReply { ident: 7, seq: 1 });
    // ... and the raw socket has the whole datagram, from its IPv4 header on (raw(7)).
    let d = s.raw().recv(h).unwrap().expect("a copy");
    assert_eq!(d.from, PEER_IP);
    assert_eq!(d.data, request[14..].to_vec());
    assert_eq!(s.raw().recv(h), Ok(None));
    assert_eq!(s.counters().raw_datagrams_delivered, 1);
}

#[test]
fn echo_reply_for_a_raw_pinger_is_not_unsolicited() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(protocol::ICMP).unwrap();
    // us > peer: echo request built by the caller, as ping(8) does
    let req = icmp(IcmpRepr::EchoRequest { ident: 9, seq: 3 }, b"abc");
    assert_eq!(s.raw().send_to(at(1), h, &req, PEER_IP), Ok(req.len()));
    let (_, ip, msg, data) = as_icmp(&expect_one(&mut s));
    assert_eq!(
        (ip.src, ip.dst, ip.protocol),
        (US_IP, PEER_IP, protocol::ICMP)
    );
    assert_eq!(
        (msg, &data[..]),
        (IcmpRepr::EchoRequest { ident: 9, seq: 3 }, &b"abc"[..])
    );
    // peer > us: echo reply id 9 seq 3
    let reply = icmp(IcmpRepr::EchoReply { ident: 9, seq: 3 }, b"abc");
    s.receive(at(2), &datagram_from_peer(protocol::ICMP, &reply));
    expect_nothing(&mut s);
    assert_eq!(s.raw().recv(h).unwrap().unwrap().data[20..], reply[..]);
    assert_eq!(s.counters().rx_dropped(RxDrop::IcmpUnsolicitedReply), 0);
    assert_eq!(
        s.counters().icmp_echo_replies_received,
        1,
        "a reply, received"
    );
    // Without the socket, the same reply is unsolicited.
    s.raw().close(h).unwrap();
    s.receive(at(3), &datagram_from_peer(protocol::ICMP, &reply));
    assert_eq!(s.counters().rx_dropped(RxDrop::IcmpUnsolicitedReply), 1);
}

#[test]
fn unknown_protocol_goes_to_its_raw_socket_without_protocol_unreachable() {
    let mut s = stack_knowing_peer();
    let udp = s.raw().open(protocol::UDP).unwrap();
    let ospf = s.raw().open(IPPROTO_OSPF).unwrap();
    // peer > us: proto 89 "hello"
    s.receive(at(1), &datagram_from_peer(IPPROTO_OSPF, b"hello"));
    expect_nothing(&mut s);
    assert_eq!(&s.raw().recv(ospf).unwrap().unwrap().data[20..], b"hello");
    assert_eq!(s.raw().recv(udp), Ok(None), "demux is by protocol number");
    // With no socket for it, RFC 1122 3.2.2.1's protocol unreachable comes back.
    s.raw().close(ospf).unwrap();
    s.receive(at(2), &datagram_from_peer(IPPROTO_OSPF, b"hello"));
    expect_protocol_unreachable(&mut s);
}

#[test]
fn every_socket_of_the_protocol_gets_its_own_copy_filtered_by_bind_and_connect() {
    let mut s = stack_knowing_peer();
    let any = s.raw().open(IPPROTO_OSPF).unwrap();
    let bound = s.raw().open(IPPROTO_OSPF).unwrap();
    let elsewhere = s.raw().open(IPPROTO_OSPF).unwrap();
    s.raw().bind(bound, US_IP).unwrap();
    s.raw()
        .connect(elsewhere, "10.0.0.77".parse().unwrap())
        .unwrap();
    assert_eq!(
        s.raw().bind(any, "10.0.0.9".parse().unwrap()),
        Err(RawError::AddrNotAvailable)
    );
    s.receive(at(1), &datagram_from_peer(IPPROTO_OSPF, b"x"));
    assert!(s.raw().recv(any).unwrap().is_some());
    assert!(s.raw().recv(bound).unwrap().is_some());
    assert_eq!(
        s.raw().recv(elsewhere),
        Ok(None),
        "connected to someone else"
    );
    assert_eq!(s.counters().raw_datagrams_delivered, 2);
}

#[test]
fn reassembled_datagram_arrives_whole_with_a_rebuilt_header() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(IPPROTO_OSPF).unwrap();
    let body: Vec<u8> = (0..100u8).collect();
    for f in fragment(&datagram_from_peer(IPPROTO_OSPF, &body), 48) {
        s.receive(at(1), &f);
    }
    let d = s.raw().recv(h).unwrap().expect("the whole datagram");
    assert_eq!(&d.data[20..], &body[..]);
    let (ip, _) = netstack_core::wire::Ipv4Repr::parse(&d.data).unwrap();
    assert!(!ip.is_fragment());
    assert_eq!(usize::from(u16::from_be_bytes([d.data[2], d.data[3]])), 120);
}

#[test]
fn hdrincl_send_fills_length_checksum_ident_and_source_like_linux() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(255).unwrap();
    assert_eq!(
        s.raw().hdrincl(h),
        Ok(true),
        "IPPROTO_RAW implies IP_HDRINCL"
    );
    let mut d = ipv4(
        "0.0.0.0".parse().unwrap(),
        PEER_IP,
        IPPROTO_OSPF,
        b"built by hand",
    );
    d[2..4].copy_from_slice(&[0, 0]); // total length: filled in
    d[4..6].copy_from_slice(&[0, 0]); // identification: filled in (DF clear) ...
    d[6] = 0;
    d[8] = 3; // TTL: kept
    d[10..12].copy_from_slice(&[0xde, 0xad]); // checksum: recomputed
    assert_eq!(s.raw().send_to(at(1), h, &d, PEER_IP), Ok(d.len()));
    let (ip, body) = as_ipv4(&expect_one(&mut s));
    assert_eq!(
        (ip.src, ip.dst, ip.ttl, ip.protocol),
        (US_IP, PEER_IP, 3, IPPROTO_OSPF)
    );
    assert_ne!(ip.ident, 0);
    assert_eq!(body, b"built by hand");
    // ... but with DF a zero identification stays (Linux; RFC 6864 4.1 atomic datagrams).
    d[6] = 0x40;
    s.raw().send_to(at(2), h, &d, PEER_IP).unwrap();
    let (ip, _) = as_ipv4(&expect_one(&mut s));
    assert_eq!((ip.ident, ip.dont_frag), (0, true));
    assert_eq!(s.counters().raw_datagrams_sent, 2);
}

#[test]
fn hdrincl_refuses_bad_headers_and_oversized_datagrams() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(IPPROTO_OSPF).unwrap();
    s.raw().set_hdrincl(h, true).unwrap();
    let good = ipv4(US_IP, PEER_IP, IPPROTO_OSPF, b"data");
    let mut v6 = good.clone();
    v6[0] = 0x65;
    let mut long_ihl = good.clone();
    long_ihl[0] = 0x4f; // 60-byte header in a 24-byte datagram
    for bad in [&good[..10], &v6[..], &long_ihl[..]] {
        assert_eq!(
            s.raw().send_to(at(1), h, bad, PEER_IP),
            Err(RawError::BadHeader)
        );
    }
    // IP_HDRINCL datagrams are never fragmented: over the MTU is EMSGSIZE.
    let big = ipv4(US_IP, PEER_IP, IPPROTO_OSPF, &[0; 1481]);
    assert_eq!(
        s.raw().send_to(at(1), h, &big, PEER_IP),
        Err(RawError::TooBig)
    );
    expect_nothing(&mut s);
    assert_eq!(s.counters().raw_bad_headers, 3);
}

#[test]
fn without_hdrincl_the_stack_builds_the_header_with_the_socket_ttl_and_fragments() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(IPPROTO_OSPF).unwrap();
    s.raw().set_ttl(h, Some(5)).unwrap();
    s.raw().send_to(at(1), h, b"small", PEER_IP).unwrap();
    let (ip, body) = as_ipv4(&expect_one(&mut s));
    assert_eq!(
        (ip.ttl, ip.protocol, &body[..]),
        (5, IPPROTO_OSPF, &b"small"[..])
    );
    s.raw().send_to(at(2), h, &[7; 3000], PEER_IP).unwrap();
    assert_eq!(sent(&mut s).len(), 3, "3000 bytes leave in three fragments");
    assert_eq!(s.raw().send(at(3), h, b"x"), Err(RawError::NotConnected));
    assert_eq!(s.raw().open(0), Err(RawError::BadProtocol));
}

#[test]
fn a_full_queue_drops_copies_and_counts_them_while_the_stack_still_answers() {
    let mut s = stack_knowing_peer();
    let h = s.raw().open(protocol::ICMP).unwrap();
    let limit = s.config().udp_recv_buffer;
    let data = vec![0u8; 1000];
    let fits = limit / (20 + 8 + 1000 + 64);
    for seq in 0..(fits + 5) as u16 {
        s.receive(at(1), &echo_request(US_IP, US_MAC, 1, seq, &data));
    }
    assert_eq!(sent(&mut s).len(), fits + 5, "every request answered");
    let c = s.counters();
    assert_eq!(c.raw_datagrams_delivered, fits as u64);
    assert_eq!(c.raw_queue_full, 5);
    let mut n = 0;
    while s.raw().recv(h).unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, fits);
    assert_eq!(ipv4::HEADER_LEN, 20);
}
