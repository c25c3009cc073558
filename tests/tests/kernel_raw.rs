//! netstack's `RawSocket` beside a Linux raw socket, across a TAP in a private
//! namespace: each side's raw socket should receive what the other side's receives.
//!
//! ```text
//!   kernel 10.0.0.1 (socket(AF_INET, SOCK_RAW, p))  <-- tap0 -->  netstack 10.0.0.2 (RawSocket::new(p))
//! ```

mod common;

use std::io::{ErrorKind, Read as _};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant as StdInstant};

use common::netstack::Netstack;
use common::pinger::echo_request;
use common::{in_netns, internet_checksum, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::net::RawSocket;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// An experimental protocol number (RFC 3692), which neither stack speaks.
const EXPERIMENTAL: u8 = 253;

fn kernel_raw(protocol: u8) -> Socket {
    let s = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(i32::from(protocol))),
    )
    .unwrap_or_else(|e| panic!("cannot open a kernel raw socket: {e}"));
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    s
}

/// The next datagram the kernel socket reads for which `want` holds.
#[track_caller]
fn kernel_recv(s: &Socket, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let deadline = StdInstant::now() + TIMEOUT;
    let mut buf = [0u8; 65536];
    while StdInstant::now() < deadline {
        match (&*s).read(&mut buf) {
            Ok(n) if want(&buf[..n]) => return buf[..n].to_vec(),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("kernel raw socket: {e}"),
        }
    }
    panic!("the kernel raw socket received nothing wanted within {TIMEOUT:?}");
}

/// The next datagram our socket reads for which `want` holds.
#[track_caller]
fn our_recv(s: &RawSocket, net: &Netstack, want: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0u8; 65536];
    loop {
        let (n, _) = s
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("our raw socket: {e}\n{}", net.describe()));
        if want(&buf[..n]) {
            return buf[..n].to_vec();
        }
    }
}

fn icmp_type(d: &[u8]) -> u8 {
    d[usize::from(d[0] & 0x0f) * 4]
}

/// Checks the IPv4 header a raw socket handed over, as Linux hands it: version 4, the
/// total length in network order equal to what was read, a checksum that verifies.
#[track_caller]
fn assert_linux_shaped(who: &str, d: &[u8], src: Ipv4Addr, protocol: u8) {
    assert_eq!(d[0] >> 4, 4, "{who}: not an IPv4 header first");
    let ihl = usize::from(d[0] & 0x0f) * 4;
    assert_eq!(
        usize::from(u16::from_be_bytes([d[2], d[3]])),
        d.len(),
        "{who}: total length"
    );
    assert_eq!(internet_checksum(&d[..ihl]), 0, "{who}: header checksum");
    assert_eq!(d[9], protocol, "{who}: protocol");
    assert_eq!(
        Ipv4Addr::new(d[12], d[13], d[14], d[15]),
        src,
        "{who}: source"
    );
}

/// Each side pings the other from an ICMP raw socket. Both raw sockets see the request
/// that came in (which their stack answers) and the reply to their own request, IPv4
/// header included, shaped alike.
#[test]
fn icmp_raw_sockets_see_what_linux_raw_sockets_see() {
    in_netns("icmp_raw_sockets_see_what_linux_raw_sockets_see", || {
        let net = Netstack::start(tap_lab());
        let kernel = kernel_raw(1);
        let ours = RawSocket::new(net.handle(), 1).unwrap();
        let data = b"raw sockets, both sides";

        // kernel > us: echo request; our stack answers, our raw socket has a copy.
        let to_us = SockAddr::from(SocketAddrV4::new(STACK_IP, 0));
        kernel
            .send_to(&echo_request(0x1111, 1, data), &to_us)
            .unwrap();
        let ours_got_request = our_recv(&ours, &net, |d| icmp_type(d) == 8);
        let kernel_got_reply = kernel_recv(&kernel, |d| icmp_type(d) == 0);

        // us > kernel: echo request; the kernel answers, its raw socket has a copy.
        ours.send_to(&echo_request(0x2222, 1, data), HOST_IP)
            .unwrap();
        let kernel_got_request = kernel_recv(&kernel, |d| icmp_type(d) == 8);
        let ours_got_reply = our_recv(&ours, &net, |d| icmp_type(d) == 0);

        for (who, d, src) in [
            (
                "our copy of the kernel's request",
                &ours_got_request,
                HOST_IP,
            ),
            ("our reply from the kernel", &ours_got_reply, HOST_IP),
            (
                "the kernel's copy of our request",
                &kernel_got_request,
                STACK_IP,
            ),
            ("the kernel's reply from us", &kernel_got_reply, STACK_IP),
        ] {
            assert_linux_shaped(who, d, src, 1);
            assert_eq!(d.len(), 20 + 8 + data.len(), "{who}: length");
            assert_eq!(&d[28..], data, "{who}: data");
        }
    });
}

/// A protocol neither stack speaks: with IP_HDRINCL each side sends a header with the
/// length, identification and checksum left zero; each fills them in as Linux does
/// (the identification only without DF), and the other side's raw socket receives the
/// same datagram apart from the identification.
#[test]
fn hdrincl_datagrams_are_completed_alike() {
    in_netns("hdrincl_datagrams_are_completed_alike", || {
        let net = Netstack::start(tap_lab());
        let kernel = kernel_raw(EXPERIMENTAL);
        kernel.set_header_included_v4(true).unwrap();
        let ours = RawSocket::new(net.handle(), EXPERIMENTAL).unwrap();
        ours.set_header_included(true).unwrap();
        let header = |src: Ipv4Addr, dst: Ipv4Addr| {
            let mut d = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 9, EXPERIMENTAL, 0, 0];
            d.extend_from_slice(&src.octets());
            d.extend_from_slice(&dst.octets());
            d.extend_from_slice(b"experimental payload");
            d
        };

        let to_us = SockAddr::from(SocketAddrV4::new(STACK_IP, 0));
        // Once with DF (0x40): Linux leaves a zero identification alone, the datagram is
        // atomic (RFC 6864); once without: it picks one.
        for flags in [0x40, 0x00] {
            let (mut to_kernel, mut to_ours) =
                (header(STACK_IP, HOST_IP), header(HOST_IP, STACK_IP));
            to_kernel[6] = flags;
            to_ours[6] = flags;
            ours.send_to(&to_kernel, HOST_IP).unwrap();
            let kernel_got = kernel_recv(&kernel, |_| true);
            kernel.send_to(&to_ours, &to_us).unwrap();
            let ours_got = our_recv(&ours, &net, |_| true);

            assert_linux_shaped("the kernel received", &kernel_got, STACK_IP, EXPERIMENTAL);
            assert_linux_shaped("we received", &ours_got, HOST_IP, EXPERIMENTAL);
            for (who, d) in [("kernel", &kernel_got), ("ours", &ours_got)] {
                let ident_zero = d[4..6] == [0, 0];
                assert_eq!(
                    ident_zero,
                    flags == 0x40,
                    "{who}: identification, flags {flags:#x}"
                );
                assert_eq!(d[8], 9, "{who}: the caller's TTL kept");
            }
            // The same bytes but the identification, checksum and addresses.
            let strip = |d: &[u8]| [&d[..4], &d[6..10], &d[20..]].concat();
            assert_eq!(strip(&kernel_got), strip(&ours_got));
        }
        // Neither stack answered with protocol unreachable: a raw socket took it.
        assert_eq!(net.with_stack(|s, _| s.counters().icmp_errors_sent), 0);
    });
}
