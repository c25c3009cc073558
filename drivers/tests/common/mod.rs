//! Helpers shared by the tests that talk to the kernel inside a private namespace.

use std::process::Command;
use std::time::{Duration, Instant};

use netstack_drivers::Device;

/// How long to wait for the kernel to do something: generous, never a timing assertion
/// (on a loaded machine a fresh veth can take seconds to carry its first frames).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// netstack's side of the link in these tests.
pub const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
pub const OUR_IP: [u8; 4] = [10, 0, 0, 2];
/// The kernel's side.
pub const KERNEL_IP: [u8; 4] = [10, 0, 0, 1];

/// Runs `ip <args>` (in the calling thread's namespace) and insists it succeeds.
pub fn ip(args: &str) {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("cannot run `ip`");
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The output of `ip <args>`.
pub fn ip_output(args: &str) -> String {
    let out = Command::new("ip")
        .args(args.split_whitespace())
        .output()
        .expect("cannot run `ip`");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads frames from `dev`, waiting with poll, until one satisfies `wanted`; panics
/// after [`PATIENCE`] with a summary of everything seen.
pub fn recv_until<D: Device>(dev: &mut D, mut wanted: impl FnMut(&[u8]) -> bool) -> Vec<u8> {
    let deadline = Instant::now() + PATIENCE;
    let mut seen = Vec::new();
    let mut buf = vec![0u8; dev.mtu() + netstack_drivers::ETHERNET_OVERHEAD];
    loop {
        while let Some(len) = dev.recv(&mut buf).expect("recv") {
            let frame = &buf[..len];
            if wanted(frame) {
                return frame.to_vec();
            }
            seen.push(netstack_core::wire::describe::describe(frame));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "wanted frame never came; saw {seen:#?}");
        netstack_drivers::wait_readable(&[dev.as_raw_fd()], Some(left)).expect("poll");
    }
}

/// Whether `frame` is an ARP request from the kernel asking for `target`.
pub fn is_arp_request_for(frame: &[u8], target: [u8; 4]) -> bool {
    frame.len() >= 42
        && frame[12..14] == [0x08, 0x06]
        && frame[20..22] == [0, 1]
        && frame[38..42] == target
}

/// Whether `frame` is an IPv4 UDP datagram to `dst_ip` sent to `dst_mac`.
pub fn is_udp_to(frame: &[u8], dst_mac: [u8; 6], dst_ip: [u8; 4]) -> bool {
    frame.len() >= 34
        && frame[..6] == dst_mac
        && frame[12..14] == [0x08, 0x00]
        && frame[23] == 17
        && frame[30..34] == dst_ip
}

/// An ARP reply "OUR_IP is-at OUR_MAC" answering `request`.
pub fn arp_reply_to(request: &[u8]) -> Vec<u8> {
    let their_mac = &request[22..28];
    let their_ip = &request[28..32];
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(their_mac);
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&[0x08, 0x06]);
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 2]);
    f.extend_from_slice(&OUR_MAC);
    f.extend_from_slice(&OUR_IP);
    f.extend_from_slice(their_mac);
    f.extend_from_slice(their_ip);
    f
}

/// Makes the kernel ARP for OUR_IP: a UDP datagram to the discard port, which it must
/// resolve first. The socket belongs to the calling thread's namespace.
pub fn trigger_arp() -> std::net::UdpSocket {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
    let [a, b, c, d] = OUR_IP;
    socket
        .send_to(b"hello", (std::net::Ipv4Addr::new(a, b, c, d), 9))
        .expect("send_to");
    socket
}
