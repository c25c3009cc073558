//! UDP sockets against a scripted peer: binding, echo, ICMP errors, broadcast, bounds,
//! and fragmentation both ways.

mod util;

use std::net::SocketAddrV4;

use netstack_core::wire::{ipv4, IcmpRepr, MacAddr, UdpRepr};
use netstack_core::{RxDrop, TxDrop, UdpError};
use util::*;

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

#[test]
fn binding_rules() {
    let mut s = stack();
    let a = s.udp().bind(sa("0.0.0.0:7")).unwrap();
    assert_eq!(s.udp().bind(sa("10.0.0.2:7")), Err(UdpError::AddrInUse));
    assert_eq!(
        s.udp().bind(sa("10.0.0.9:8")),
        Err(UdpError::AddrNotAvailable)
    );
    let e = s.udp().bind(sa("0.0.0.0:0")).unwrap();
    let port = s.udp().local_addr(e).unwrap().port();
    assert!((49152..=65535).contains(&port), "ephemeral port {port}");
    s.udp().close(a).unwrap();
    // The handle is stale now, even once the slot is reused.
    let b = s.udp().bind(sa("0.0.0.0:7")).unwrap();
    assert_eq!(s.udp().local_addr(a), Err(UdpError::InvalidHandle));
    assert_eq!(s.udp().close(a), Err(UdpError::InvalidHandle));
    assert!(s.udp().local_addr(b).is_ok());
}

#[test]
fn datagram_in_datagram_back_out() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:7")).unwrap();
    // peer:40000 > us:7 UDP "hi\n"
    s.receive(at(1), &udp_from_peer(US_IP, US_MAC, 40000, 7, b"hi\n"));
    let mut buf = [0u8; 64];
    let (n, from) = s.udp().recv_from(h, &mut buf).unwrap().unwrap();
    assert_eq!((&buf[..n], from), (&b"hi\n"[..], sa("10.0.0.1:40000")));
    assert_eq!(s.udp().recv_from(h, &mut buf), Ok(None));
    // us:7 > peer:40000 UDP "hi\n"
    s.udp().send_to(at(2), h, b"hi\n", from).unwrap();
    let (ip, body) = as_ipv4(&expect_one(&mut s));
    let (udp, data) = UdpRepr::parse(ip.src, ip.dst, &body).expect("checksum verifies");
    assert_eq!((ip.src, ip.dst), (US_IP, PEER_IP));
    assert_eq!((udp.src_port, udp.dst_port, data), (7, 40000, &b"hi\n"[..]));
}

#[test]
fn closed_port_gets_port_unreachable_quoting_the_datagram() {
    let mut s = stack_knowing_peer();
    let datagram = udp_from_peer(US_IP, US_MAC, 40000, 9999, b"anyone?");
    s.receive(at(1), &datagram);
    // us > peer: ICMP 10.0.0.2 udp port 9999 unreachable
    let (_, ip, msg, quote) = as_icmp(&expect_one(&mut s));
    assert_eq!(ip.dst, PEER_IP);
    assert_eq!(
        msg,
        IcmpRepr::DestUnreachable {
            code: 3,
            next_hop_mtu: 0
        }
    );
    // RFC 792: the original IP header and (at least) the first 8 data bytes.
    assert_eq!(
        quote,
        datagram[14..].to_vec(),
        "the whole small datagram is quoted"
    );
    assert_eq!(s.counters().rx_dropped(RxDrop::UdpNoSocket), 1);
}

#[test]
fn port_unreachable_is_rate_limited_like_linux() {
    let mut s = stack_knowing_peer();
    for _ in 0..20 {
        s.receive(at(1000), &udp_from_peer(US_IP, US_MAC, 40000, 9999, b"x"));
    }
    assert_eq!(sent(&mut s).len(), 6, "a burst of six");
    s.receive(at(1500), &udp_from_peer(US_IP, US_MAC, 40000, 9999, b"x"));
    expect_nothing(&mut s);
    s.receive(at(2000), &udp_from_peer(US_IP, US_MAC, 40000, 9999, b"x"));
    assert_eq!(sent(&mut s).len(), 1, "then one per second");
    assert_eq!(s.counters().tx_dropped(TxDrop::IcmpRateLimited), 15);
}

#[test]
fn no_port_unreachable_for_broadcasts() {
    let mut s = stack_knowing_peer();
    s.receive(
        at(1),
        &udp_from_peer(
            "10.0.0.255".parse().unwrap(),
            MacAddr::BROADCAST,
            40000,
            9999,
            b"x",
        ),
    );
    expect_nothing(&mut s);
}

#[test]
fn connected_socket_reports_refused_once_after_port_unreachable() {
    let mut s = stack_knowing_peer();
    let h = s.udp().open().unwrap();
    s.udp().connect(h, sa("10.0.0.1:9999")).unwrap();
    s.udp().send(at(1), h, b"hello?").unwrap();
    let sent_frame = expect_one(&mut s);
    // peer > us: ICMP port unreachable quoting our datagram
    let quote = &sent_frame[14..14 + 28];
    let body = icmp(
        IcmpRepr::DestUnreachable {
            code: 3,
            next_hop_mtu: 0,
        },
        quote,
    );
    s.receive(
        at(2),
        &frame(
            PEER_MAC,
            US_MAC,
            netstack_core::wire::EtherType::Ipv4,
            &ipv4(PEER_IP, US_IP, 1, &body),
        ),
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        s.udp().recv_from(h, &mut buf),
        Err(UdpError::ConnectionRefused)
    );
    assert_eq!(s.udp().recv_from(h, &mut buf), Ok(None), "reported once");
    assert_eq!(s.counters().icmp_errors_delivered, 1);
    // The same error pending at a send is reported by the send, as on Linux.
    s.receive(
        at(3),
        &frame(
            PEER_MAC,
            US_MAC,
            netstack_core::wire::EtherType::Ipv4,
            &ipv4(PEER_IP, US_IP, 1, &body),
        ),
    );
    assert_eq!(
        s.udp().send(at(3), h, b"again"),
        Err(UdpError::ConnectionRefused)
    );
}

#[test]
fn icmp_errors_for_unconnected_or_foreign_datagrams_are_ignored() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:5000")).unwrap();
    s.udp()
        .send_to(at(1), h, b"x", sa("10.0.0.1:9999"))
        .unwrap();
    let sent_frame = expect_one(&mut s);
    let body = icmp(
        IcmpRepr::DestUnreachable {
            code: 3,
            next_hop_mtu: 0,
        },
        &sent_frame[14..14 + 28],
    );
    s.receive(
        at(2),
        &frame(
            PEER_MAC,
            US_MAC,
            netstack_core::wire::EtherType::Ipv4,
            &ipv4(PEER_IP, US_IP, 1, &body),
        ),
    );
    let mut buf = [0u8; 4];
    assert_eq!(
        s.udp().recv_from(h, &mut buf),
        Ok(None),
        "unconnected sockets see no ICMP errors"
    );
    assert_eq!(s.counters().rx_dropped(RxDrop::IcmpErrorUnmatched), 1);
}

#[test]
fn connected_socket_hears_only_its_peer() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:5000")).unwrap();
    s.udp().connect(h, sa("10.0.0.1:6000")).unwrap();
    s.receive(
        at(1),
        &udp_from_peer(US_IP, US_MAC, 6001, 5000, b"stranger"),
    );
    // Nobody else may use the port, so the stranger gets port unreachable.
    let (_, _, msg, _) = as_icmp(&expect_one(&mut s));
    assert_eq!(
        msg,
        IcmpRepr::DestUnreachable {
            code: 3,
            next_hop_mtu: 0
        }
    );
    s.receive(at(2), &udp_from_peer(US_IP, US_MAC, 6000, 5000, b"peer"));
    let mut buf = [0u8; 16];
    let (n, _) = s.udp().recv_from(h, &mut buf).unwrap().unwrap();
    assert_eq!(&buf[..n], b"peer");
    assert_eq!(s.udp().local_addr(h).unwrap(), sa("10.0.0.2:5000"));
    assert_eq!(s.udp().peer_addr(h).unwrap(), Some(sa("10.0.0.1:6000")));
}

#[test]
fn broadcast_only_when_asked_for() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:67")).unwrap();
    let bcast = udp_from_peer(
        "255.255.255.255".parse().unwrap(),
        MacAddr::BROADCAST,
        68,
        67,
        b"discover",
    );
    s.receive(at(1), &bcast);
    assert_eq!(s.counters().rx_dropped(RxDrop::UdpBroadcastNotWanted), 1);
    assert_eq!(
        s.udp().send_to(at(1), h, b"x", sa("10.0.0.255:68")),
        Err(UdpError::BroadcastNotEnabled)
    );
    s.udp().set_broadcast(h, true).unwrap();
    s.receive(at(2), &bcast);
    let mut buf = [0u8; 16];
    assert!(s.udp().recv_from(h, &mut buf).unwrap().is_some());
    s.udp()
        .send_to(at(3), h, b"offer", sa("10.0.0.255:68"))
        .unwrap();
    let f = expect_one(&mut s);
    assert_eq!(
        netstack_core::wire::EthernetRepr::parse(&f).unwrap().0.dst,
        MacAddr::BROADCAST
    );
}

#[test]
fn receive_buffer_is_bounded_and_overflow_counted() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:7")).unwrap();
    let limit = s.config().udp_recv_buffer;
    let n = limit / (1000 + 64) + 10;
    for i in 0..n {
        s.receive(
            at(i as u64),
            &udp_from_peer(US_IP, US_MAC, 40000, 7, &[0u8; 1000]),
        );
    }
    assert_eq!(s.counters().rx_dropped(RxDrop::UdpRecvBufferFull), 10);
    let mut buf = [0u8; 4];
    // Reading frees room; a short buffer truncates the datagram, as recv(2) does.
    assert_eq!(s.udp().recv_from(h, &mut buf).unwrap().unwrap().0, 4);
    s.receive(
        at(n as u64),
        &udp_from_peer(US_IP, US_MAC, 40000, 7, &[0u8; 1000]),
    );
    assert_eq!(s.counters().rx_dropped(RxDrop::UdpRecvBufferFull), 10);
}

#[test]
fn large_datagrams_leave_in_fragments() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:7")).unwrap();
    let data: Vec<u8> = (0..8000u32).map(|i| (i % 251) as u8).collect();
    s.udp()
        .send_to(at(1), h, &data, sa("10.0.0.1:40000"))
        .unwrap();
    let frames = sent(&mut s);
    // 8008 bytes of UDP in 1480-byte pieces: 5 full fragments and one of 608.
    assert_eq!(frames.len(), 6);
    let mut whole = vec![];
    for (i, f) in frames.iter().enumerate() {
        assert!(f.len() <= 1514);
        let (ip, body) = as_ipv4(f);
        assert_eq!(ip.frag_offset as usize, i * 1480);
        assert_eq!(ip.more_frags, i < 5);
        assert_eq!(
            ip.ident,
            as_ipv4(&frames[0]).0.ident,
            "one identification for all"
        );
        whole.extend_from_slice(&body);
    }
    let (_, got) =
        UdpRepr::parse(US_IP, PEER_IP, &whole).expect("reassembles with a valid checksum");
    assert_eq!(got, &data[..]);
    assert_eq!(
        s.udp()
            .send_to(at(2), h, &vec![0; 65508], sa("10.0.0.1:40000")),
        Err(UdpError::TooBig)
    );
}

#[test]
fn fragmented_datagrams_arrive_whole_in_any_order() {
    let mut s = stack_knowing_peer();
    let h = s.udp().bind(sa("0.0.0.0:7")).unwrap();
    let data: Vec<u8> = (0..8000u32).map(|i| (i % 251) as u8).collect();
    let mut frags = fragment(&udp_from_peer(US_IP, US_MAC, 40000, 7, &data), 1480);
    frags.reverse();
    let dup = frags[2].clone();
    frags.insert(3, dup);
    for f in &frags {
        s.receive(at(1), f);
    }
    let mut buf = vec![0u8; 9000];
    let (n, _) = s
        .udp()
        .recv_from(h, &mut buf)
        .unwrap()
        .expect("reassembled");
    assert_eq!(&buf[..n], &data[..]);
    assert_eq!(s.counters().ipv4_reassembled, 1);
    assert_eq!(s.counters().rx_dropped(RxDrop::Ipv4FragmentDuplicate), 1);
    assert_eq!(s.reassembly_usage(), (0, 0));
}

#[test]
fn an_incomplete_datagram_times_out_with_time_exceeded() {
    let mut s = stack_knowing_peer();
    s.udp().bind(sa("0.0.0.0:7")).unwrap();
    let frags = fragment(&udp_from_peer(US_IP, US_MAC, 40000, 7, &[1u8; 3000]), 1480);
    s.receive(at(0), &frags[0]);
    s.receive(at(0), &frags[2]);
    assert_eq!(s.poll_timeout(), Some(at(30_000)));
    s.handle_timeout(at(30_000));
    let (_, _, msg, quote) = as_icmp(&expect_one(&mut s));
    assert_eq!(msg, IcmpRepr::TimeExceeded { code: 1 });
    assert_eq!(quote.len(), 28, "header plus the 8 bytes of the UDP header");
    assert_eq!(s.reassembly_usage(), (0, 0));
}

#[test]
fn a_fragment_flood_stays_bounded_and_ping_still_works() {
    let mut s = stack_knowing_peer();
    let bounds = s.config().reassembly.clone();
    for ident in 0..10_000u32 {
        // A first fragment of a datagram whose rest never comes.
        let mut f = fragment(&udp_from_peer(US_IP, US_MAC, 40000, 7, &[0u8; 3000]), 1480).remove(0);
        f[14 + 4..14 + 6].copy_from_slice(&(ident as u16).to_be_bytes());
        f[14 + 10] = 0;
        f[14 + 11] = 0;
        let c = netstack_core::wire::checksum::checksum(&f[14..34]);
        f[14 + 10..14 + 12].copy_from_slice(&c.to_be_bytes());
        s.receive(at(u64::from(ident)), &f);
        let (n, bytes) = s.reassembly_usage();
        assert!(n <= bounds.max_datagrams && bytes <= bounds.max_bytes);
    }
    s.receive(
        at(10_000),
        &echo_request(US_IP, US_MAC, 1, 1, b"still there?"),
    );
    let (_, _, msg, _) = as_icmp(&expect_one(&mut s));
    assert_eq!(msg, IcmpRepr::EchoReply { ident: 1, seq: 1 });
}

#[test]
fn unknown_protocols_get_protocol_unreachable() {
    let mut s = stack_knowing_peer();
    let f = frame(
        PEER_MAC,
        US_MAC,
        netstack_core::wire::EtherType::Ipv4,
        &ipv4(PEER_IP, US_IP, 47, b"GRE?"),
    );
    s.receive(at(1), &f);
    expect_protocol_unreachable(&mut s);
    let _ = ipv4::HEADER_LEN;
}
