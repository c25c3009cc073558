//! netstack's `UdpSocket` facade against kernel sockets, and a fragment flood sent by the
//! kernel, over a TAP in a private namespace.
//!
//! ```text
//!   kernel 10.0.0.1 (std::net::UdpSocket, raw IP socket)  <-- tap0 -->  netstack 10.0.0.2 (netstack::net::UdpSocket)
//! ```

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket as KernelUdp};
use std::thread;

use common::netstack::Netstack;
use common::pinger::KernelPinger;
use common::{echo_payload, in_netns, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::net::UdpSocket;

/// Our socket sends 8, 1472 and 8000 bytes (the last in six fragments) to a kernel UDP
/// echo server and gets each back whole.
#[test]
fn our_udp_socket_to_a_kernel_echo_server() {
    in_netns("our_udp_socket_to_a_kernel_echo_server", || {
        let net = Netstack::start(tap_lab());
        let server = KernelUdp::bind((HOST_IP, 7)).expect("kernel echo server on 10.0.0.1:7");
        server.set_read_timeout(Some(TIMEOUT)).unwrap();
        let echo = thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            for _ in 0..3 {
                let (n, from) = server
                    .recv_from(&mut buf)
                    .expect("the kernel server got a datagram");
                server.send_to(&buf[..n], from).unwrap();
            }
        });
        let ours = UdpSocket::bind(net.handle(), "0.0.0.0:0").unwrap();
        ours.connect((HOST_IP, 7)).unwrap();
        ours.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut buf = vec![0u8; 65536];
        for (seq, len) in [8usize, 1472, 8000].into_iter().enumerate() {
            let data = echo_payload(len, seq as u16);
            ours.send(&data).unwrap();
            let n = ours
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("{len} B: no echo: {e}\n{}", net.describe()));
            assert_eq!(&buf[..n], &data[..], "{len} B came back altered");
        }
        echo.join().unwrap();
    });
}

/// A connected socket that sends to a port nobody listens on hears connection refused,
/// from the kernel's ICMP port unreachable, on its next call, as on Linux. And the other
/// way round: a kernel socket sending to a closed netstack port is refused too.
#[test]
fn closed_ports_refuse_both_ways() {
    in_netns("closed_ports_refuse_both_ways", || {
        let net = Netstack::start(tap_lab());
        let ours = UdpSocket::bind(net.handle(), "0.0.0.0:0").unwrap();
        ours.connect((HOST_IP, 9)).unwrap();
        ours.set_read_timeout(Some(TIMEOUT)).unwrap();
        ours.send(b"is anyone there?").unwrap();
        let err = ours
            .recv(&mut [0u8; 64])
            .expect_err("nobody listens on 10.0.0.1:9");
        assert_eq!(
            err.kind(),
            ErrorKind::ConnectionRefused,
            "{err}\n{}",
            net.describe()
        );

        let kernel = KernelUdp::bind((HOST_IP, 0)).unwrap();
        kernel.connect((STACK_IP, 9)).unwrap();
        kernel.set_read_timeout(Some(TIMEOUT)).unwrap();
        kernel.send(b"is anyone there?").unwrap();
        let err = kernel
            .recv(&mut [0u8; 64])
            .expect_err("nobody listens on 10.0.0.2:9");
        assert_eq!(
            err.kind(),
            ErrorKind::ConnectionRefused,
            "{err}\n{}",
            net.describe()
        );
        let sent = net.with_stack(|s, _| s.counters().icmp_errors_sent);
        assert_eq!(sent, 1, "one port unreachable from netstack");
    });
}

/// The kernel sends 10,000 first fragments of datagrams whose other fragments never come.
/// Reassembly memory stays within its bounds throughout, and a ping is still answered.
#[test]
fn a_fragment_flood_from_the_kernel_leaves_ping_working() {
    in_netns(
        "a_fragment_flood_from_the_kernel_leaves_ping_working",
        || {
            let net = Netstack::start(tap_lab());
            let pinger = KernelPinger::open();
            // One ping first so both sides have resolved each other.
            pinger.ping(STACK_IP, 1, &echo_payload(56, 1), || net.describe());
            let bounds = net.with_stack(|s, _| s.config().reassembly.clone());
            let raw = socket2::Socket::new(
                socket2::Domain::IPV4,
                socket2::Type::RAW,
                Some(socket2::Protocol::from(libc::IPPROTO_RAW)),
            )
            .expect("raw IP socket (IP_HDRINCL)");
            let dst: SocketAddr = (STACK_IP, 0).into();
            let mut worst = (0, 0);
            let start = net.with_stack(|s, _| s.counters().rx_frames);
            // In batches smaller than the TAP's 1000-frame queue, each read by the stack before
            // the next, so all 10,000 arrive instead of overflowing the kernel's queue.
            for batch in 0..20u16 {
                for i in 0..500u16 {
                    raw.send_to(&first_fragment(batch * 500 + i), &dst.into())
                        .expect("send a fragment");
                }
                let want = start + u64::from(batch + 1) * 500;
                let usage = net.wait_for("the stack to read the batch", |s| {
                    (s.counters().rx_frames >= want).then(|| s.reassembly_usage())
                });
                worst = (worst.0.max(usage.0), worst.1.max(usage.1));
            }
            let usage = net.with_stack(|s, _| s.reassembly_usage());
            worst = (worst.0.max(usage.0), worst.1.max(usage.1));
            assert!(
                worst.0 <= bounds.max_datagrams && worst.1 <= bounds.max_bytes,
                "reassembly held {} datagrams / {} bytes, bounds {} / {}",
                worst.0,
                worst.1,
                bounds.max_datagrams,
                bounds.max_bytes
            );
            let reply = pinger.ping(STACK_IP, 2, &echo_payload(56, 2), || net.describe());
            assert_eq!(reply.from, STACK_IP);
            // Every incomplete datagram beyond the bound pushed an older one out.
            let abandoned = net.with_stack(|s, _| s.counters().ipv4_reassembly_failed);
            assert!(
                abandoned >= 10_000 - bounds.max_datagrams as u64,
                "{abandoned} abandoned\n{}",
                net.describe()
            );
        },
    );
}

/// The first 1480 bytes of a 3000-byte UDP datagram from 10.0.0.1 to 10.0.0.2:7, as a
/// fragment with MF set. The kernel fills in the header checksum (IP_HDRINCL).
fn first_fragment(ident: u16) -> Vec<u8> {
    let mut d = vec![0u8; 20 + 1480];
    d[0] = 0x45;
    d[2..4].copy_from_slice(&1500u16.to_be_bytes());
    d[4..6].copy_from_slice(&ident.to_be_bytes());
    d[6] = 0x20; // MF, offset 0
    d[8] = 64;
    d[9] = 17;
    d[12..16].copy_from_slice(&HOST_IP.octets());
    d[16..20].copy_from_slice(&STACK_IP.octets());
    // UDP header for the whole datagram: 40000 -> 7, length 3000, no checksum.
    d[20..22].copy_from_slice(&40000u16.to_be_bytes());
    d[22..24].copy_from_slice(&7u16.to_be_bytes());
    d[24..26].copy_from_slice(&3000u16.to_be_bytes());
    d
}
