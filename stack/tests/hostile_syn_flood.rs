//! A SYN flood of 100,000 SYNs from random addresses and ports while a legitimate client
//! keeps connecting to the echo service: the SYN queue stays at its bound, SYN cookies
//! answer the rest, the client is served throughout, and once the flood is over every
//! half-open connection expires.

mod hostile_util;

use hostile_util::*;
use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::TcpRepr;
use netstack_core::{Duration, TcpState};
use std::net::Ipv4Addr;

const FLOOD: usize = 100_000;

/// A SYN to the echo port from a made-up source: on our link half the time (the server
/// must ARP for it), from anywhere the other half (routed to the gateway).
fn forged_syn(dice: &mut Dice) -> Vec<u8> {
    let src = if dice.next() % 2 == 0 {
        dice.neighbour()
    } else {
        let a = Ipv4Addr::from(dice.next() as u32);
        if a.is_multicast() || a.is_broadcast() || a.is_unspecified() || a.octets()[0] == 10 {
            dice.neighbour()
        } else {
            a
        }
    };
    let repr = TcpRepr {
        src_port: 1024 + (dice.next() % 64000) as u16,
        dst_port: ECHO,
        seq: Seq(dice.next() as u32),
        flags: Flags::SYN,
        window: 29200,
        options: Options {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((dice.next() as u32, 0)),
            ..Options::default()
        },
        ..TcpRepr::default()
    };
    tcp_frame(dice.mac(), src, &repr, &[])
}

#[test]
fn a_syn_flood_of_100k_leaves_memory_bounded_and_the_client_served() {
    let seed = 0x5eed_0001;
    println!("seed {seed:#x}");
    let mut dice = Dice(seed);
    let mut net = Net::new(server_config());
    let backlog = net.server.config().tcp.syn_backlog;
    net.flood(200, (0..FLOOD).map(move |_| forged_syn(&mut dice)));
    let mut served = 0;
    while net.flooding() {
        net.assert_served(&format!("{} forged SYNs", net.flooded));
        served += 1;
        let half_open = net.server_sockets_in(TcpState::SynReceived);
        assert!(
            half_open <= backlog,
            "SYN queue past its bound: {half_open}"
        );
    }
    let c = net.server.counters();
    println!(
        "flood of {FLOOD}: client served {served} times during it; peak server sockets {}, \
         SYN cookies sent {}, accepted {}, ARP entries {}, frames to forged sources {}, \
         tx drops {:?}, peak RSS of the test process {} KiB",
        net.peak_sockets,
        c.tcp_syn_cookies_sent,
        c.tcp_syn_cookies_accepted,
        net.server.arp_entries().len(),
        net.stray,
        c.tx_drops().collect::<Vec<_>>(),
        peak_rss_kib(),
    );
    assert!(served >= 10, "served only {served} times");
    // The SYN queue, plus the listener, plus the client's own connections.
    assert!(net.peak_sockets <= backlog + 8, "{}", net.peak_sockets);
    // Nearly every SYN past the queue's bound was answered with a cookie (a few forged
    // ones hit a 4-tuple already half-open, and count as its retransmitted SYN).
    assert!(c.tcp_syn_cookies_sent as usize >= FLOOD - backlog - FLOOD / 100);
    assert!(c.tcp_syn_cookies_accepted as usize >= served - 1);
    assert!(net.server.arp_entries().len() <= netstack_core::arp::CACHE_SIZE);
    // Over: the half-open connections give up after their SYN,ACK retries (about two
    // minutes, as Linux's tcp_synack_retries), and only the listener is left.
    net.run_for(Duration::from_secs(300));
    assert_eq!(net.server_sockets_in(TcpState::SynReceived), 0);
    assert_eq!(
        net.server.socket_count(),
        1,
        "{:?}",
        net.server.tcp().sockets()
    );
    net.assert_served("the flood ended");
}
