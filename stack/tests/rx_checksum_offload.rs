//! Receive checksum offload: a frame handed to `Stack::receive_batch` as a `Received`
//! with `checksum_valid` (the link vouched for it: a TAP's virtio-net `NEEDS_CSUM` or
//! `DATA_VALID`) is not summed again, whatever its checksum field holds; any other frame
//! still has every checksum verified.

mod util;

use std::net::SocketAddrV4;

use netstack_core::{Received, RxDrop};
use util::tcp::*;

/// `frame` with its TCP or UDP checksum field replaced by a partial sum, as the kernel
/// hands over a frame it left for the "NIC" to finish: here simply zeroed, then 0x1234.
fn partial(mut frame: Vec<u8>, field: usize) -> Vec<u8> {
    let at = 14 + 20 + field;
    frame[at..at + 2].copy_from_slice(&[0x12, 0x34]);
    frame
}

#[test]
fn a_tcp_segment_the_link_vouched_for_is_taken_without_summing() {
    let mut c = established();
    // peer > us: [.] seq 1001:2001, its checksum field a partial sum (NEEDS_CSUM)
    let f = partial(segment_frame(&c.tmpl(), &bytes(0, 1000)), 16);
    let now = c.at(10);
    let vouched = Received {
        at: now,
        frame: &f,
        checksum_valid: true,
    };
    c.s.receive_batch([vouched]);
    assert_eq!(c.read_all(c.at(11)), bytes(0, 1000));

    // The same bytes from a link that says nothing: a bad checksum, dropped.
    let mut d = established();
    d.s.receive_batch([(now, &f[..])]);
    assert_eq!(d.s.counters().rx_dropped(RxDrop::TcpBadChecksum), 1);
    assert_eq!(d.read_all(d.at(11)), b"");
}

#[test]
fn vouched_segments_are_joined_too() {
    let mut c = established();
    let frames: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let repr = netstack_core::wire::TcpRepr {
                seq: c.irs + 1 + 1460 * i,
                ..c.tmpl()
            };
            partial(segment_frame(&repr, &bytes(1460 * i, 1460)), 16)
        })
        .collect();
    let now = c.at(10);
    c.s.receive_batch(frames.iter().map(|f| Received {
        at: now,
        frame: f,
        checksum_valid: true,
    }));
    assert_eq!(c.s.counters().rx_coalesced, 3);
    assert_eq!(c.read_all(c.at(11)), bytes(0, 4 * 1460));
}

#[test]
fn a_udp_datagram_the_link_vouched_for_is_taken_without_summing() {
    let mut s = util::stack_knowing_peer();
    let sock = s.udp().bind(SocketAddrV4::new(util::US_IP, 7)).unwrap();
    let f = partial(
        util::udp_from_peer(util::US_IP, util::US_MAC, 5000, 7, b"hello"),
        6,
    );
    let now = util::at(1);
    s.receive_batch([(now, &f[..])]);
    assert_eq!(
        s.counters().rx_dropped(RxDrop::UdpBadChecksum),
        1,
        "not vouched: summed"
    );
    s.receive_batch([Received {
        at: now,
        frame: &f,
        checksum_valid: true,
    }]);
    let mut buf = [0; 16];
    let (n, from) = s
        .udp()
        .recv_from(sock, &mut buf)
        .unwrap()
        .expect("delivered");
    assert_eq!((&buf[..n], from.port()), (&b"hello"[..], 5000));
}
