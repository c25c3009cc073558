//! netstack and the Linux kernel ping each other over a TAP device.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0)  <-- TAP -->  netstack 10.0.0.2, 02:00:00:00:00:02
//! ```

mod common;

use std::process::Command;

use common::netstack::Netstack;
use common::pinger::KernelPinger;
use common::{
    echo_payload, have_tool, in_netns, ip, kernel_mac, tap_lab, HOST_IP, STACK_IP, STACK_MAC,
};
use netstack_core::arp::EntryState;

#[test]
fn kernel_pings_netstack_with_small_and_full_size_echoes() {
    in_netns(
        "kernel_pings_netstack_with_small_and_full_size_echoes",
        || {
            let net = Netstack::start(tap_lab());
            let pinger = KernelPinger::open();

            // The kernel's first echo request waits for ARP: the kernel broadcasts "who has
            // 10.0.0.2? tell 10.0.0.1", netstack answers "10.0.0.2 is at 02:00:00:00:00:02"
            // (learning 10.0.0.1, since it is the target), then the request goes out.
            // 20 echoes of 56 bytes (ping's default), then 20 of 1472 bytes, the most that
            // fits a 1500-byte MTU unfragmented (1472 + 8 ICMP + 20 IP).
            let mut seq = 0;
            for (payload_len, count) in [(56, 20), (1472, 20)] {
                for _ in 0..count {
                    seq += 1;
                    let payload = echo_payload(payload_len, seq);
                    let reply = pinger.ping(STACK_IP, seq, &payload, || net.describe());
                    assert_eq!(reply.ttl, 64, "netstack originates with TTL 64, as Linux");
                }
            }
            let answered = net.with_stack(|stack, _| stack.counters().icmp_echo_replies_sent);
            assert_eq!(answered, 40, "{}", net.describe());

            // Both sides learned each other from that one exchange.
            let neighbours = ip(&["neigh", "show", "dev", "tap0"]);
            assert!(
                neighbours
                    .lines()
                    .any(|l| l.starts_with(&format!("{STACK_IP} lladdr {STACK_MAC}"))),
                "the kernel has no ARP entry for netstack:\n{neighbours}"
            );
            let tap_mac = kernel_mac("tap0");
            let entries = net.with_stack(|stack, _| stack.arp_entries());
            let kernel_entry = entries.iter().find(|e| e.ip == HOST_IP);
            assert!(
                kernel_entry
                    .is_some_and(|e| e.mac == Some(tap_mac) && e.state == EntryState::Reachable),
                "netstack has no reachable entry {HOST_IP} -> {tap_mac}: {entries:?}"
            );

            // The system's ping agrees.
            if have_tool(
                "kernel_pings_netstack_with_small_and_full_size_echoes",
                "ping",
            ) {
                let out = Command::new("ping")
                    .args(["-c", "3", "-W", "5", &STACK_IP.to_string()])
                    .output()
                    .expect("run ping");
                assert!(
                    out.status.success(),
                    "`ping -c 3 {STACK_IP}` failed ({}):\n{}{}",
                    out.status,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        },
    );
}

#[test]
fn netstack_pings_kernel() {
    in_netns("netstack_pings_kernel", || {
        let net = Netstack::start(tap_lab());
        let tap_mac = kernel_mac("tap0");

        // netstack's first request waits behind its ARP request ("who has 10.0.0.1?");
        // the kernel's reply releases it. The kernel answers each echo request.
        let replies = net.ping(HOST_IP, 3, 56);
        for reply in &replies {
            assert_eq!(reply.ttl, 64, "the kernel's replies come with TTL 64");
        }
        let c = net.with_stack(|stack, _| stack.counters().clone());
        assert_eq!(
            (
                c.icmp_echo_requests_sent,
                c.icmp_echo_replies_received,
                c.arp_requests_sent
            ),
            (3, 3, 1),
            "{}",
            net.describe()
        );

        // netstack learned the kernel from the ARP reply, and the kernel learned
        // netstack from the ARP request (it was the target).
        let entries = net.with_stack(|stack, _| stack.arp_entries());
        assert!(
            entries
                .iter()
                .any(|e| e.ip == HOST_IP && e.mac == Some(tap_mac)),
            "netstack did not learn {HOST_IP} -> {tap_mac}: {entries:?}"
        );
        let neighbours = ip(&["neigh", "show", "dev", "tap0"]);
        assert!(
            neighbours
                .lines()
                .any(|l| l.starts_with(&format!("{STACK_IP} lladdr {STACK_MAC}"))),
            "the kernel has no ARP entry for netstack:\n{neighbours}"
        );
    });
}

#[test]
fn echoes_larger_than_the_mtu_are_fragmented_and_reassembled_both_ways() {
    in_netns(
        "echoes_larger_than_the_mtu_are_fragmented_and_reassembled_both_ways",
        || {
            let net = Netstack::start(tap_lab());
            let pinger = KernelPinger::open();

            // The kernel fragments each request to fit tap0's 1500-byte MTU; netstack
            // reassembles it, and fragments its reply, which the kernel reassembles.
            // 1473 bytes of data is one byte too many for a single frame; 65507 is the
            // most an IPv4 datagram can carry (65535 - 20 of IP header - 8 of ICMP).
            let sizes = [1473, 4000, 65535 - 20 - 8];
            for (seq, len) in (1..).zip(sizes) {
                pinger.ping(STACK_IP, seq, &echo_payload(len, seq), || net.describe());
            }
            let c = net.with_stack(|stack, _| stack.counters().clone());
            assert_eq!(
                (
                    c.ipv4_reassembled,
                    c.ipv4_fragmented,
                    c.icmp_echo_replies_sent
                ),
                (3, 3, 3),
                "{}",
                net.describe()
            );

            // netstack's 4000-byte request leaves in three fragments; the kernel
            // reassembles it and fragments its reply.
            net.ping(HOST_IP, 1, 4000);
            let c = net.with_stack(|stack, _| stack.counters().clone());
            assert_eq!(
                (c.ipv4_reassembled, c.ipv4_fragmented),
                (4, 4),
                "{}",
                net.describe()
            );
        },
    );
}
