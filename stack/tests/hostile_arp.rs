//! An ARP flood from 10,000 distinct senders, each asking for our address (so RFC 826's
//! merge step adds each to the cache): the cache stays at its bound, the neighbour we
//! talk to is never the one evicted, and the echo service goes on without a single new
//! ARP exchange with the client.

mod hostile_util;

use std::net::Ipv4Addr;

use hostile_util::*;
use netstack_core::arp::CACHE_SIZE;
use netstack_core::wire::{ArpOperation, ArpRepr, EtherType, EthernetRepr, MacAddr};

const SENDERS: u32 = 10_000;

/// "Who has 10.0.0.2? Tell `sender`", broadcast from `mac`.
fn who_has_server(sender: Ipv4Addr, mac: MacAddr, op: ArpOperation) -> Vec<u8> {
    let mut f = vec![0; 14 + 28];
    EthernetRepr {
        dst: MacAddr::BROADCAST,
        src: mac,
        ethertype: EtherType::Arp,
    }
    .emit(&mut f[..14]);
    ArpRepr {
        operation: op,
        sender_mac: mac,
        sender_ip: sender,
        target_mac: MacAddr::ZERO,
        target_ip: SERVER_IP,
    }
    .emit(&mut f[14..]);
    f
}

#[test]
fn an_arp_flood_from_10k_senders_never_evicts_the_neighbour_we_talk_to() {
    let seed = 0xa4_0001;
    println!("seed {seed:#x}");
    let mut dice = Dice(seed);
    // The server's prefix is a /16 here, so 10,000 distinct senders fit on its link.
    let mut cfg = server_config();
    cfg.prefix_len = 16;
    let mut net = Net::new(cfg);
    net.assert_served("nothing yet");
    let requests_before =
        net.client.counters().arp_requests_sent + net.server.counters().arp_requests_sent;
    let frames = (0..SENDERS).map(move |i| {
        let sender = Ipv4Addr::from(0x0a00_0000 + 0x100 + i);
        let op = if i % 2 == 0 {
            ArpOperation::Request
        } else {
            ArpOperation::Reply
        };
        who_has_server(sender, dice.mac(), op)
    });
    net.flood(50, frames);
    let mut echoes = 0;
    let mut peak = 0;
    while net.flooding() {
        net.assert_served("an ARP flood");
        echoes += 1;
        peak = peak.max(net.server.arp_entries().len());
        let client = net
            .server
            .arp_entries()
            .into_iter()
            .find(|e| e.ip == CLIENT_IP);
        assert!(
            client.is_some(),
            "the client's entry was evicted after {}",
            net.flooded
        );
    }
    let c = net.server.counters();
    let requests_after = net.client.counters().arp_requests_sent + c.arp_requests_sent;
    println!(
        "ARP flood from {SENDERS} senders: {echoes} echo sessions during it; ARP cache peak \
         {peak} (bound {CACHE_SIZE}), replies sent {}, new ARP requests between client and \
         server {}, peak RSS of the test process {} KiB",
        c.arp_replies_sent,
        requests_after - requests_before,
        peak_rss_kib()
    );
    assert!(echoes >= 10);
    assert!(peak <= CACHE_SIZE);
    assert_eq!(
        requests_after, requests_before,
        "the client had to be resolved again"
    );
}
