//! UDP between a kernel socket and a netstack socket: the kernel sends a datagram to
//! netstack's echo port, the test reads it from netstack's socket and sends it back.
//!
//! ```text
//!   kernel 10.0.0.1:* (std UdpSocket)  <-- TAP or veth -->  netstack 10.0.0.2:7 (stack UDP socket)
//! ```

mod common;

use std::net::{SocketAddrV4, UdpSocket};

use common::netstack::Netstack;
use common::{echo_payload, in_netns, tap_lab, veth_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack_drivers::AfPacketDevice;

/// Sizes that cover one small datagram, one that just fills a 1500-byte frame, one
/// fragmented into six, and the largest UDP over IPv4 allows (65535 - 20 - 8).
const SIZES: [usize; 4] = [10, 1472, 8000, 65507];

/// The kernel sends each of `sizes` to 10.0.0.2:7; netstack's socket receives it whole
/// from the kernel's address and sends it back; the kernel receives it whole.
#[track_caller]
fn echo_over_udp(net: &Netstack, sizes: &[usize]) {
    let echo = net
        .with_stack(|stack, _| stack.udp().bind(SocketAddrV4::new(STACK_IP, 7)))
        .unwrap_or_else(|e| panic!("bind 10.0.0.2:7: {e:?}"));
    let kernel = UdpSocket::bind((HOST_IP, 0)).expect("bind a kernel UDP socket on 10.0.0.1");
    kernel.set_read_timeout(Some(TIMEOUT)).expect("SO_RCVTIMEO");
    let kernel_addr = match kernel.local_addr().expect("local address") {
        std::net::SocketAddr::V4(a) => a,
        other => panic!("an IPv4 socket has address {other}"),
    };

    for (seq, &len) in (1..).zip(sizes) {
        let data = echo_payload(len, seq);
        kernel
            .send_to(&data, (STACK_IP, 7))
            .unwrap_or_else(|e| panic!("kernel send of {len} bytes: {e}"));
        let (got, from) = net.wait_for(&format!("a {len}-byte datagram on port 7"), |stack| {
            let mut buf = vec![0; 65536];
            let (n, from) = stack
                .udp()
                .recv_from(echo, &mut buf)
                .expect("recv on port 7")?;
            buf.truncate(n);
            Some((buf, from))
        });
        assert_eq!(from, kernel_addr, "datagram from the wrong address");
        assert!(
            got == data,
            "{len}-byte datagram arrived altered ({} bytes)",
            got.len()
        );

        net.with_stack(|stack, now| stack.udp().send_to(now, echo, &got, from))
            .unwrap_or_else(|e| panic!("netstack send of {len} bytes: {e:?}"));
        let mut buf = vec![0; 65536];
        let (n, from) = kernel.recv_from(&mut buf).unwrap_or_else(|e| {
            panic!("the kernel got no {len}-byte echo: {e}\n{}", net.describe())
        });
        assert_eq!(from, (STACK_IP, 7).into(), "echo from the wrong address");
        assert!(
            buf[..n] == data[..],
            "{len}-byte echo arrived altered ({n} bytes)"
        );
    }
    net.with_stack(|stack, _| stack.udp().close(echo))
        .expect("close port 7");
}

#[test]
fn kernel_and_netstack_exchange_udp_over_tap() {
    in_netns("kernel_and_netstack_exchange_udp_over_tap", || {
        let net = Netstack::start(tap_lab());
        echo_over_udp(&net, &SIZES);
        let c = net.with_stack(|stack, _| stack.counters().clone());
        assert_eq!(
            (
                c.udp_datagrams_received,
                c.udp_datagrams_sent,
                c.rx_dropped_total()
            ),
            (4, 4, 0),
            "{}",
            net.describe()
        );
    });
}

/// The same over veth and AF_PACKET. The kernel hands a veth peer UDP datagrams with
/// checksum offload still pending (CHECKSUM_PARTIAL: only the pseudo-header sum in the
/// checksum field); the driver learns this from PACKET_AUXDATA and completes the checksum
/// as a NIC would. Offload stays on here on purpose: turning it off would hide the case.
#[test]
fn kernel_and_netstack_exchange_udp_over_veth() {
    in_netns("kernel_and_netstack_exchange_udp_over_veth", || {
        veth_lab();
        let net = Netstack::start(AfPacketDevice::open("veth0").expect("open veth0"));
        echo_over_udp(&net, &SIZES[..3]);
    });
}
