//! Fragment floods and overlapping fragments (RFC 791 3.2, RFC 5722's rule applied to
//! IPv4): reassembly holds at most its configured datagrams and bytes whatever arrives,
//! an overlap never rewrites data already received, and legitimate fragmented traffic
//! (a 3000-byte ping, both ways in fragments) and the echo service go on during the
//! flood.

mod hostile_util;

use std::net::Ipv4Addr;

use hostile_util::*;
use netstack_core::wire::{ipv4, Ipv4Repr};
use netstack_core::{Duration, RxDrop};

/// One fragment from `src` with identification `ident`: `len` bytes at byte offset
/// `offset`, more to come if `more`.
fn fragment(
    src: Ipv4Addr,
    protocol: u8,
    ident: u16,
    offset: usize,
    more: bool,
    body: &[u8],
) -> Vec<u8> {
    let ip = Ipv4Repr {
        ident,
        more_frags: more,
        frag_offset: offset as u16,
        ..ip_header(src, protocol, body.len())
    };
    ip_frame(CLIENT_MAC, ip, body)
}

/// A fragment that starts a datagram which will never complete, or a piece of one that
/// overlaps another, or a tiny or oversized one: every sort of trouble.
fn hostile_fragment(dice: &mut Dice) -> Vec<Vec<u8>> {
    let src = dice.neighbour();
    let ident = dice.next() as u16;
    let proto = [
        ipv4::protocol::UDP,
        ipv4::protocol::TCP,
        ipv4::protocol::ICMP,
    ][(dice.next() % 3) as usize];
    let len = 8 * (1 + dice.next() % 180) as usize;
    let body = vec![0xa5; len];
    match dice.next() % 5 {
        // A first fragment whose rest never comes.
        0 => vec![fragment(src, proto, ident, 0, true, &body)],
        // A middle fragment, alone.
        1 => {
            let at = 8 * (1 + dice.next() % 8000) as usize;
            vec![fragment(src, proto, ident, at, true, &body)]
        }
        // Two fragments that overlap (a teardrop, or a header rewrite).
        2 => {
            let shift = 8 * (dice.next() % (len as u64 / 8)) as usize;
            vec![
                fragment(src, proto, ident, 0, true, &body),
                fragment(src, proto, ident, shift, false, &vec![0x5a; len]),
            ]
        }
        // One reaching past 65535 bytes.
        3 => vec![fragment(src, proto, ident, 65528, false, &body)],
        // A tiny one whose length is no multiple of 8, not the last.
        _ => vec![fragment(src, proto, ident, 8, true, &body[..3])],
    }
}

#[test]
fn a_fragment_flood_holds_reassembly_at_its_bounds() {
    let seed = 0xf7a6_0001;
    println!("seed {seed:#x}");
    let mut dice = Dice(seed);
    let mut net = Net::new(server_config());
    let bounds = net.server.config().reassembly.clone();
    let frames = std::iter::from_fn(move || Some(hostile_fragment(&mut dice))).flatten();
    let total = 100_000;
    net.flood(250, frames.take(total));
    net.client.ping().open(7).unwrap();
    let (mut pings, mut echoes, mut peak) = (0u16, 0, (0, 0));
    while net.flooding() {
        // A legitimate ping of 3000 bytes goes both ways in fragments ...
        let payload: Vec<u8> = (0..3000).map(|i| (i % 251) as u8).collect();
        net.client
            .ping()
            .send_request(net.now, SERVER_IP, 7, pings, &payload)
            .unwrap();
        net.step();
        let usage = net.server.reassembly_usage();
        peak = (peak.0.max(usage.0), peak.1.max(usage.1));
        let reply = net.client.ping().poll_reply(7);
        if let Some(r) = reply {
            assert_eq!(r.payload, payload, "a reply came back changed");
            pings += 1;
        }
        // ... and the echo service works.
        net.assert_served("fragments");
        echoes += 1;
        net.wait(net.now + Duration::from_millis(10));
    }
    let c = net.server.counters();
    println!(
        "{total} hostile fragments: {echoes} echo sessions and {pings} fragmented pings \
         answered during them; reassembly peak {} datagrams / {} bytes (bounds {} / {}); \
         reassembled {}, failed {}, overlaps {}, malformed {}; peak RSS of the test \
         process {} KiB",
        peak.0,
        peak.1,
        bounds.max_datagrams,
        bounds.max_bytes,
        c.ipv4_reassembled,
        c.ipv4_reassembly_failed,
        c.rx_dropped(RxDrop::Ipv4FragmentOverlap),
        c.rx_dropped(RxDrop::Ipv4FragmentMalformed),
        peak_rss_kib()
    );
    assert!(peak.0 <= bounds.max_datagrams && peak.1 <= bounds.max_bytes);
    assert!(echoes >= 10);
    // Most pings get through: a flood of 64-datagram churn can evict a ping's datagram
    // before its second fragment, which is what the bound is for.
    assert!(u32::from(pings) * 2 >= echoes, "{pings} of {echoes}");
    assert!(c.rx_dropped(RxDrop::Ipv4FragmentOverlap) > 0);
    // After the reassembly timeout nothing is held.
    net.run_for(Duration::from_secs(31));
    assert_eq!(net.server.reassembly_usage(), (0, 0));
}

#[test]
fn an_overlapping_fragment_never_rewrites_what_arrived() {
    // The classic filter bypass: a first fragment with a harmless UDP header, and a second
    // that overlaps it to rewrite the destination port. The datagram is discarded whole.
    let mut net = Net::new(server_config());
    let udp = net.server.udp().bind("0.0.0.0:9".parse().unwrap()).unwrap();
    let src = CLIENT_IP;
    let mut body = vec![0; 32];
    // UDP header: port 1234 -> 53 (nobody listens), length 32, no checksum.
    body[..8].copy_from_slice(&[0x04, 0xd2, 0, 53, 0, 32, 0, 0]);
    let first = fragment(src, ipv4::protocol::UDP, 77, 0, true, &body[..16]);
    // A second fragment at offset 0 again, a byte longer in its length field's eyes: the
    // same header with port 9 (our discard socket), and more to come.
    let mut rewrite = body.clone();
    rewrite[2..4].copy_from_slice(&9u16.to_be_bytes());
    let second = fragment(src, ipv4::protocol::UDP, 77, 0, true, &rewrite[..24]);
    net.inject(&first);
    net.inject(&second);
    // Even the right last fragment afterwards does not revive it.
    net.inject(&fragment(
        src,
        ipv4::protocol::UDP,
        77,
        16,
        false,
        &body[16..],
    ));
    net.step();
    let _ = udp;
    let c = net.server.counters();
    assert_eq!(c.ipv4_reassembled, 0);
    assert!(c.rx_dropped(RxDrop::Ipv4FragmentOverlap) >= 2);
    assert_eq!(c.udp_datagrams_received, 0);
    assert_eq!(c.rx_dropped(RxDrop::UdpNoSocket), 0);
}
