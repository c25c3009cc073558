//! AfPacketDevice on one end of a veth pair, the kernel on the other, inside a private
//! network namespace.

mod common;

use common::*;
use netstack_drivers::{netns, AfPacketDevice, Device};

#[test]
fn af_packet_exchanges_frames_with_the_kernel_over_veth() {
    if !netns::require_root_or_skip("af_packet_exchanges_frames_with_the_kernel_over_veth") {
        return;
    }
    netns::in_new_netns(|| {
        veth_pair();
        let mut dev = AfPacketDevice::open("veth0").expect("open veth0");
        assert_eq!(dev.name(), "veth0");
        assert_eq!(dev.mtu(), 1500);

        let _socket = trigger_arp();
        let request = recv_until(&mut dev, |f| is_arp_request_for(f, OUR_IP));
        assert_eq!(request[28..32], KERNEL_IP);

        // The kernel learns our MAC (not veth0's) and sends the datagram to it: seeing
        // it proves both our transmit and promiscuous receive. Like any host, we answer
        // every request: if an answer is lost, the kernel asks again (3 times, 1 s
        // apart) and a later answer gets through.
        dev.send(&arp_reply_to(&request)).unwrap();
        let mut saw_own_frame = false;
        loop {
            let frame = recv_until(&mut dev, |f| {
                saw_own_frame |= f[6..12] == OUR_MAC;
                is_arp_request_for(f, OUR_IP) || is_udp_to(f, OUR_MAC, OUR_IP)
            });
            if !is_arp_request_for(&frame, OUR_IP) {
                break;
            }
            dev.send(&arp_reply_to(&frame)).unwrap();
        }
        assert!(!saw_own_frame, "our own transmission was read back");
        let neighbours = ip_output("neigh show dev veth1");
        assert!(neighbours.contains("02:00:00:00:00:02"), "{neighbours}");
    })
    .expect("new netns");
}

#[test]
fn af_packet_on_a_missing_interface_names_it() {
    if !netns::require_root_or_skip("af_packet_on_a_missing_interface_names_it") {
        return;
    }
    netns::in_new_netns(|| {
        let e = AfPacketDevice::open("veth9").unwrap_err();
        assert!(e.to_string().contains("veth9"), "{e}");
        assert!(e.to_string().contains("no such interface"), "{e}");
    })
    .expect("new netns");
}

#[test]
fn oversized_short_and_down_cases_behave_like_a_link() {
    if !netns::require_root_or_skip("oversized_short_and_down_cases_behave_like_a_link") {
        return;
    }
    netns::in_new_netns(|| {
        veth_pair();
        let mut dev = AfPacketDevice::open("veth0").expect("open veth0");

        // Longer than the link allows: refused, not silently dropped.
        let mut big = arp_reply_to(&[0u8; 42]);
        big.resize(1500 + 14 + 100, 0);
        let e = dev.send(&big).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EMSGSIZE), "{e:?}");

        // A buffer shorter than the frame: delivered cut, and counted.
        let _socket = trigger_arp();
        netstack_drivers::wait_readable(&[dev.as_raw_fd()], Some(PATIENCE)).unwrap();
        let mut small = [0u8; 20];
        assert_eq!(dev.recv(&mut small).unwrap(), Some(20));
        assert_eq!(dev.drops().rx_truncated, 1);

        // A down interface loses frames without an error.
        ip("link set veth0 down");
        dev.send(&arp_reply_to(&[0u8; 42])).unwrap();
        assert_eq!(dev.drops().tx_link_down, 1);
        let mut buf = [0u8; 1518];
        while dev.recv(&mut buf).unwrap().is_some() {}
    })
    .expect("new netns");
}

/// veth0 (ours, no address) and veth1 (the kernel's, 10.0.0.1/24), both up and ready to
/// carry frames.
fn veth_pair() {
    ip("link add veth0 type veth peer name veth1");
    ip("addr add 10.0.0.1/24 dev veth1");
    ip("link set veth0 up");
    ip("link set veth1 up");
    for ifname in ["veth0", "veth1"] {
        netns::wait_until_up(ifname, PATIENCE).unwrap();
    }
}
