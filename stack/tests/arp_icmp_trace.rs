//! The stack against a scripted peer, one frame at a time.

mod util;

use netstack_core::wire::{ArpOperation, EtherType, IcmpRepr, MacAddr};
use netstack_core::{RxDrop, TxDrop};
use util::*;

#[test]
fn answers_who_has_for_our_address() {
    let mut s = stack();
    // peer > broadcast: ARP, Request who-has 10.0.0.2 tell 10.0.0.1
    s.receive(at(0), &who_has_us());
    // us > peer: ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02
    let (eth, reply) = as_arp(&expect_one(&mut s));
    assert_eq!((eth.src, eth.dst), (US_MAC, PEER_MAC));
    assert_eq!(reply.operation, ArpOperation::Reply);
    assert_eq!((reply.sender_mac, reply.sender_ip), (US_MAC, US_IP));
    assert_eq!((reply.target_mac, reply.target_ip), (PEER_MAC, PEER_IP));
    // RFC 826: we are the target, so the requester is now in our cache.
    let entries = s.arp_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!((entries[0].ip, entries[0].mac), (PEER_IP, Some(PEER_MAC)));
}

#[test]
fn ignores_who_has_for_other_addresses() {
    let mut s = stack();
    let other = arp(
        ArpOperation::Request,
        (PEER_MAC, PEER_IP),
        (MacAddr::ZERO, "10.0.0.9".parse().unwrap()),
        MacAddr::BROADCAST,
    );
    s.receive(at(0), &other);
    expect_nothing(&mut s);
    assert_eq!(s.counters().rx_dropped(RxDrop::ArpNotForUs), 1);
    assert!(
        s.arp_entries().is_empty(),
        "learned from a request not for us"
    );
}

#[test]
fn refuses_to_learn_our_own_address_or_broadcast_senders() {
    let mut s = stack();
    let conflict = arp(
        ArpOperation::Reply,
        (PEER_MAC, US_IP),
        (US_MAC, US_IP),
        US_MAC,
    );
    s.receive(at(0), &conflict);
    let bcast_sender = arp(
        ArpOperation::Request,
        (MacAddr::BROADCAST, PEER_IP),
        (MacAddr::ZERO, US_IP),
        MacAddr::BROADCAST,
    );
    s.receive(at(0), &bcast_sender);
    expect_nothing(&mut s);
    assert_eq!(s.counters().rx_dropped(RxDrop::ArpBadSender), 2);
}

#[test]
fn answers_an_rfc5227_probe_without_learning() {
    let mut s = stack();
    let probe = arp(
        ArpOperation::Request,
        (PEER_MAC, "0.0.0.0".parse().unwrap()),
        (MacAddr::ZERO, US_IP),
        MacAddr::BROADCAST,
    );
    s.receive(at(0), &probe);
    let (_, reply) = as_arp(&expect_one(&mut s));
    assert_eq!(reply.operation, ArpOperation::Reply);
    assert!(s.arp_entries().is_empty());
}

#[test]
fn echo_request_gets_a_byte_identical_echo_reply() {
    let mut s = stack();
    s.receive(at(0), &who_has_us());
    sent(&mut s);
    let data: Vec<u8> = (0..56u8).collect();
    // peer > us: ICMP echo request, id 7, seq 1, length 64
    s.receive(at(1), &echo_request(US_IP, US_MAC, 7, 1, &data));
    // us > peer: ICMP echo reply, id 7, seq 1, length 64
    let (eth, ip, msg, echoed) = as_icmp(&expect_one(&mut s));
    assert_eq!((eth.src, eth.dst), (US_MAC, PEER_MAC));
    assert_eq!((ip.src, ip.dst, ip.ttl), (US_IP, PEER_IP, 64));
    assert_eq!(msg, IcmpRepr::EchoReply { ident: 7, seq: 1 });
    assert_eq!(echoed, data);
    assert_eq!(s.counters().icmp_echo_replies_sent, 1);
}

#[test]
fn largest_unfragmented_echo_is_answered() {
    let mut s = stack();
    s.receive(at(0), &who_has_us());
    sent(&mut s);
    let data = vec![0xa5; 1472];
    s.receive(at(1), &echo_request(US_IP, US_MAC, 1, 1, &data));
    let f = expect_one(&mut s);
    assert_eq!(f.len(), 14 + 1500);
    assert_eq!(as_icmp(&f).3, data);
}

#[test]
fn echo_to_an_unknown_sender_waits_for_arp_then_goes() {
    let mut s = stack();
    // No ARP from the peer first: we must resolve it before replying.
    s.receive(at(0), &echo_request(US_IP, US_MAC, 7, 1, b"hello"));
    let (eth, req) = as_arp(&expect_one(&mut s));
    assert_eq!(eth.dst, MacAddr::BROADCAST);
    assert_eq!(
        (req.operation, req.target_ip),
        (ArpOperation::Request, PEER_IP)
    );
    // peer > us: ARP, Reply 10.0.0.1 is-at ...
    s.receive(
        at(2),
        &arp(
            ArpOperation::Reply,
            (PEER_MAC, PEER_IP),
            (US_MAC, US_IP),
            US_MAC,
        ),
    );
    let (_, _, msg, data) = as_icmp(&expect_one(&mut s));
    assert_eq!(msg, IcmpRepr::EchoReply { ident: 7, seq: 1 });
    assert_eq!(data, b"hello");
}

#[test]
fn unanswered_arp_is_retried_each_second_then_abandoned() {
    let mut s = stack();
    s.receive(at(0), &echo_request(US_IP, US_MAC, 7, 1, b"x"));
    as_arp(&expect_one(&mut s));
    assert_eq!(s.poll_timeout(), Some(at(1000)));
    s.handle_timeout(at(999));
    expect_nothing(&mut s);
    s.handle_timeout(at(1000));
    as_arp(&expect_one(&mut s));
    s.handle_timeout(at(2000));
    as_arp(&expect_one(&mut s));
    s.handle_timeout(at(3000));
    expect_nothing(&mut s);
    assert_eq!(s.counters().arp_requests_sent, 3);
    assert_eq!(s.counters().tx_dropped(TxDrop::ArpUnresolved), 1);
}

#[test]
fn broadcast_echo_is_ignored_as_linux_does() {
    let mut s = stack();
    s.receive(
        at(0),
        &echo_request(
            "10.0.0.255".parse().unwrap(),
            MacAddr::BROADCAST,
            1,
            1,
            b"x",
        ),
    );
    s.receive(
        at(0),
        &echo_request(
            "255.255.255.255".parse().unwrap(),
            MacAddr::BROADCAST,
            1,
            2,
            b"x",
        ),
    );
    expect_nothing(&mut s);
    assert_eq!(s.counters().rx_dropped(RxDrop::IcmpBroadcastEcho), 2);
}

#[test]
fn frames_for_other_hosts_are_dropped_and_counted() {
    let mut s = stack();
    // Unicast to another MAC.
    s.receive(
        at(0),
        &echo_request(US_IP, MacAddr([2, 0, 0, 0, 0, 9]), 1, 1, b"x"),
    );
    // Right MAC, wrong IP.
    s.receive(
        at(0),
        &echo_request("10.0.0.9".parse().unwrap(), US_MAC, 1, 1, b"x"),
    );
    // Unicast IP in a link broadcast (RFC 1122 3.3.6).
    s.receive(at(0), &echo_request(US_IP, MacAddr::BROADCAST, 1, 1, b"x"));
    // IPv6.
    s.receive(
        at(0),
        &frame(PEER_MAC, US_MAC, EtherType::Other(0x86dd), &[0x60; 40]),
    );
    expect_nothing(&mut s);
    let c = s.counters();
    assert_eq!(c.rx_dropped(RxDrop::EthernetNotForUs), 1);
    assert_eq!(c.rx_dropped(RxDrop::Ipv4NotForUs), 2);
    assert_eq!(c.rx_dropped(RxDrop::EthernetUnknownType), 1);
    assert_eq!(c.rx_frames, c.rx_accepted + c.rx_dropped_total());
}

#[test]
fn corrupt_checksums_are_dropped_silently() {
    let mut s = stack();
    let mut bad_ip = echo_request(US_IP, US_MAC, 1, 1, b"x");
    bad_ip[14 + 8] ^= 0xff; // TTL flipped: header checksum fails
    s.receive(at(0), &bad_ip);
    let mut bad_icmp = echo_request(US_IP, US_MAC, 1, 1, b"payload");
    let last = bad_icmp.len() - 1;
    bad_icmp[last] ^= 0xff;
    s.receive(at(0), &bad_icmp);
    expect_nothing(&mut s);
    assert_eq!(s.counters().rx_dropped(RxDrop::Ipv4BadChecksum), 1);
    assert_eq!(s.counters().rx_dropped(RxDrop::IcmpBadChecksum), 1);
}

#[test]
fn a_fragmented_echo_request_is_reassembled_and_answered_in_fragments() {
    let mut s = stack_knowing_peer();
    // ping -s 3000: three fragments in, three fragments out.
    let data: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    for f in fragment(&echo_request(US_IP, US_MAC, 5, 1, &data), 1480) {
        s.receive(at(1), &f);
    }
    let frames = sent(&mut s);
    assert_eq!(frames.len(), 3);
    let mut whole = vec![];
    for f in &frames {
        whole.extend_from_slice(&as_ipv4(f).1);
    }
    let (msg, echoed) = IcmpRepr::parse(&whole).expect("reply reassembles, checksum valid");
    assert_eq!(msg, IcmpRepr::EchoReply { ident: 5, seq: 1 });
    assert_eq!(echoed, &data[..]);
}

#[test]
fn ping_resolves_the_gateway_for_off_link_hosts() {
    let mut s = stack();
    s.ping().open(9).unwrap();
    s.ping()
        .send_request(at(0), "192.0.2.1".parse().unwrap(), 9, 1, b"abc")
        .unwrap();
    let (_, req) = as_arp(&expect_one(&mut s));
    assert_eq!(
        req.target_ip, PEER_IP,
        "should ARP for the gateway 10.0.0.1"
    );
}

#[test]
fn ping_api_sends_requests_and_collects_replies() {
    let mut s = stack();
    s.receive(at(0), &who_has_us());
    sent(&mut s);
    s.ping().open(9).unwrap();
    assert!(s.ping().open(9).is_err(), "an identifier is opened once");
    s.ping()
        .send_request(at(10), PEER_IP, 9, 1, b"abc")
        .unwrap();
    let (_, ip, msg, data) = as_icmp(&expect_one(&mut s));
    assert_eq!((ip.src, ip.dst), (US_IP, PEER_IP));
    assert_eq!(msg, IcmpRepr::EchoRequest { ident: 9, seq: 1 });
    assert_eq!(data, b"abc");
    // peer > us: ICMP echo reply, id 9, seq 1
    let reply = icmp(IcmpRepr::EchoReply { ident: 9, seq: 1 }, b"abc");
    let f = frame(
        PEER_MAC,
        US_MAC,
        EtherType::Ipv4,
        &ipv4(PEER_IP, US_IP, 1, &reply),
    );
    s.receive(at(11), &f);
    let got = s.ping().poll_reply(9).expect("reply delivered");
    assert_eq!(
        (got.from, got.seq, got.ttl, got.received_at),
        (PEER_IP, 1, 64, at(11))
    );
    assert_eq!(got.payload, b"abc");
    // A reply for an identifier nobody opened is dropped.
    let stray = icmp(IcmpRepr::EchoReply { ident: 10, seq: 1 }, b"abc");
    s.receive(
        at(12),
        &frame(
            PEER_MAC,
            US_MAC,
            EtherType::Ipv4,
            &ipv4(PEER_IP, US_IP, 1, &stray),
        ),
    );
    assert_eq!(s.counters().rx_dropped(RxDrop::IcmpUnsolicitedReply), 1);
}

#[test]
fn sends_nothing_unroutable() {
    let mut s = netstack_core::Stack::new(
        netstack_core::Config {
            gateway: None,
            ..netstack_core::Config::default()
        },
        1,
    )
    .unwrap();
    assert!(s
        .ping()
        .send_request(at(0), "192.0.2.1".parse().unwrap(), 1, 1, b"")
        .is_err());
    assert!(s
        .ping()
        .send_request(at(0), "224.0.0.1".parse().unwrap(), 1, 1, b"")
        .is_err());
    assert!(s.ping().send_request(at(0), US_IP, 1, 1, b"").is_err());
    assert!(
        s.ping()
            .send_request(at(0), PEER_IP, 1, 1, &vec![0; 65508])
            .is_err(),
        "over 65535 bytes"
    );
    expect_nothing(&mut s);
}
