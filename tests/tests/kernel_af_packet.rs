//! netstack attached to one end of a veth pair through an AF_PACKET socket, the kernel
//! on the other end.
//!
//! ```text
//!   kernel 10.0.0.1/24 (veth1)  <-- veth -->  (veth0, no address)  AF_PACKET  netstack 10.0.0.2
//! ```
//!
//! netstack's MAC (02:00:00:00:00:02) is not veth0's own, so frames for it reach veth0
//! as "other host"; the driver makes veth0 promiscuous to read them.

mod common;

use common::netstack::Netstack;
use common::pinger::KernelPinger;
use common::{echo_payload, in_netns, ip, kernel_mac, veth_lab, HOST_IP, STACK_IP, STACK_MAC};
use netstack_drivers::AfPacketDevice;

#[test]
fn kernel_and_netstack_ping_each_other_over_veth() {
    in_netns("kernel_and_netstack_ping_each_other_over_veth", || {
        veth_lab();
        let veth1_mac = kernel_mac("veth1");
        let veth0_mac = kernel_mac("veth0");
        assert_ne!(veth0_mac, STACK_MAC);
        let net = Netstack::start(AfPacketDevice::open("veth0").expect("open veth0"));

        // The kernel pings netstack: ARP for 10.0.0.2 out of veth1, netstack answers with
        // its own MAC (not veth0's), then ten 56-byte echoes, each answered.
        let pinger = KernelPinger::open();
        for seq in 1..=10 {
            let payload = echo_payload(56, seq);
            pinger.ping(STACK_IP, seq, &payload, || net.describe());
        }
        let neighbours = ip(&["neigh", "show", "dev", "veth1"]);
        assert!(
            neighbours
                .lines()
                .any(|l| l.starts_with(&format!("{STACK_IP} lladdr {STACK_MAC}"))),
            "the kernel should reach netstack at its own MAC, not veth0's {veth0_mac}:\n\
             {neighbours}"
        );

        // netstack pings the kernel three times; it already knows 10.0.0.1 from the
        // kernel's ARP request.
        net.ping(HOST_IP, 3, 56);
        let (c, entries) =
            net.with_stack(|stack, _| (stack.counters().clone(), stack.arp_entries()));
        assert!(
            entries
                .iter()
                .any(|e| e.ip == HOST_IP && e.mac == Some(veth1_mac)),
            "netstack did not learn {HOST_IP} -> {veth1_mac}: {entries:?}"
        );
        assert_eq!(
            (c.icmp_echo_replies_sent, c.icmp_echo_replies_received),
            (10, 3),
            "{}",
            net.describe()
        );
        // Every frame netstack read was for it: its own transmissions are not read back
        // (they would be dropped as addressed to another MAC), and veth1 sent nothing
        // else.
        assert_eq!(c.rx_dropped_total(), 0, "{}", net.describe());
    });
}
