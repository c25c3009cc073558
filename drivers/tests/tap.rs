//! TapDevice against the real kernel, inside a private network namespace.

mod common;

use common::*;
use netstack_drivers::{netns, Device, TapDevice};

#[test]
fn tap_exchanges_frames_with_the_kernel() {
    if !netns::require_root_or_skip("tap_exchanges_frames_with_the_kernel") {
        return;
    }
    netns::in_new_netns(|| {
        let mut tap = TapDevice::open("tap0").expect("open tap0");
        assert_eq!(tap.name(), "tap0");
        assert_eq!(tap.mtu(), 1500);

        // Nothing waits yet, and reading does not block.
        let mut buf = [0u8; 1518];
        assert_eq!(tap.recv(&mut buf).unwrap(), None);

        ip("addr add 10.0.0.1/24 dev tap0");
        ip("link set tap0 up");
        let _socket = trigger_arp();
        let request = recv_until(&mut tap, |f| is_arp_request_for(f, OUR_IP));
        assert_eq!(request[28..32], KERNEL_IP);

        // Our answer reaches the kernel: it learns our MAC and sends the datagram.
        tap.send(&arp_reply_to(&request)).unwrap();
        recv_until(&mut tap, |f| is_udp_to(f, OUR_MAC, OUR_IP));
        let neighbours = ip_output("neigh show dev tap0");
        assert!(neighbours.contains("02:00:00:00:00:02"), "{neighbours}");
        assert_eq!(tap.drops(), netstack_drivers::LinkDrops::default());
    })
    .expect("new netns");
}

#[test]
fn tap_open_errors_say_what_is_wrong() {
    if !netns::require_root_or_skip("tap_open_errors_say_what_is_wrong") {
        return;
    }
    netns::in_new_netns(|| {
        let _first = TapDevice::open("tap0").expect("open tap0");
        let e = TapDevice::open("tap0").unwrap_err();
        assert!(netstack_drivers::is_busy(&e), "{e:?}");
        assert!(e.to_string().contains("tap0"), "{e}");
        assert!(!netstack_drivers::is_permission_problem(&e));

        // Every namespace has a loopback interface, which is not a TAP.
        let e = TapDevice::open("lo").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e:?}");
        assert!(e.to_string().contains("not a TAP"), "{e}");

        let e = TapDevice::open("a-name-too-long-for-linux").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    })
    .expect("new netns");
}

#[test]
fn a_kernel_chosen_name_is_reported() {
    if !netns::require_root_or_skip("a_kernel_chosen_name_is_reported") {
        return;
    }
    netns::in_new_netns(|| {
        let tap = TapDevice::open("nstest%d").expect("open");
        assert_eq!(tap.name(), "nstest0");
    })
    .expect("new netns");
}

#[test]
fn sending_on_a_down_tap_drops_and_counts() {
    if !netns::require_root_or_skip("sending_on_a_down_tap_drops_and_counts") {
        return;
    }
    netns::in_new_netns(|| {
        let mut tap = TapDevice::open("tap0").expect("open tap0");
        let frame = arp_reply_to(&[0u8; 42]);
        // The interface was never set up: the kernel refuses the write (EIO), which a
        // real link would show as a lost frame.
        tap.send(&frame).unwrap();
        tap.send(&frame).unwrap();
        assert_eq!(tap.drops().tx_link_down, 2);
    })
    .expect("new netns");
}
