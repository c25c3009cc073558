//! netstack attached to one end of a veth pair through an AF_PACKET socket, the kernel
//! on the other end.
//!
//! ```text
//!   kernel 10.0.0.1/24 (veth1)  <-- veth -->  (veth0, no address)  AF_PACKET  netstack 10.0.0.2
//! ```
//!
//! netstack's MAC (02:00:00:00:00:02) is not veth0's own, so frames for it reach veth0
//! as "other host"; the driver makes veth0 promiscuous to read them. Every scenario runs
//! with batching on (a TPACKET_V3 receive ring, one `sendmmsg` per round, up to 64 frames
//! read per wake-up) and off (one system call and one frame at a time).

mod common;

use std::io::{self, Write};
use std::net::SocketAddrV4;
use std::thread;
use std::time::Instant as StdInstant;

use common::kernel_peer::*;
use common::netstack::Netstack;
use common::pinger::KernelPinger;
use common::{
    echo_payload, in_netns, ip, kernel_mac, random_bytes, veth_lab, HOST_IP, STACK_IP, STACK_MAC,
    TIMEOUT,
};
use netstack::net::TcpStream;
use netstack_core::Config;
use netstack_drivers::{AfPacketDevice, Batch, Device, Sent};

/// Size of each bulk transfer.
const BULK: usize = 5 * 1024 * 1024;

/// netstack on veth0, batching as asked in the driver and in the event loop.
#[track_caller]
fn start(batch: Batch) -> Netstack {
    let device = AfPacketDevice::open_with("veth0", batch).expect("open veth0");
    Netstack::start_batched(device, Config::default(), batch)
}

#[test]
fn kernel_and_netstack_ping_each_other_over_veth() {
    in_netns("kernel_and_netstack_ping_each_other_over_veth", || {
        ping_each_other(Batch::On)
    });
}

#[test]
fn kernel_and_netstack_ping_each_other_over_veth_unbatched() {
    in_netns(
        "kernel_and_netstack_ping_each_other_over_veth_unbatched",
        || ping_each_other(Batch::Off),
    );
}

fn ping_each_other(batch: Batch) {
    veth_lab();
    let veth1_mac = kernel_mac("veth1");
    let veth0_mac = kernel_mac("veth0");
    assert_ne!(veth0_mac, STACK_MAC);
    let net = start(batch);

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
    let (c, entries) = net.with_stack(|stack, _| (stack.counters().clone(), stack.arp_entries()));
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
}

/// 5 MB from our client through a kernel echo server and back, then 5 MB from a kernel
/// sender to our client, byte for byte, with batching on and then off. The kernel's TCP
/// hands veth its own GSO segments of up to 64 KB, not cut at the MTU, and a packet
/// socket passes them on as they are: the stack receives them whole (frames average
/// more than a full Ethernet frame, none cut short).
#[test]
fn bulk_both_ways_over_veth_with_batching_on_and_off() {
    in_netns("bulk_both_ways_over_veth_with_batching_on_and_off", || {
        veth_lab();
        for batch in [Batch::On, Batch::Off] {
            let what = format!("batch {batch:?}");
            let net = start(batch);

            let (server, addr) = kernel_echo_server();
            let data = random_bytes(BULK, 7);
            let stream = our_connect(&net, addr, &what);
            let echoed = echo_through(&stream, &data, &what, &net);
            server.join().unwrap().expect("the kernel echo server");
            assert_same_bytes(&echoed, &data, &what, &net);
            drop(stream);

            let (listener, addr) = kernel_listener();
            let data = random_bytes(BULK, 8);
            let server = {
                let data = data.clone();
                thread::spawn(move || -> io::Result<()> {
                    let mut stream = kernel_accept(&listener);
                    stream.write_all(&data)
                })
            };
            let stream = our_connect(&net, addr, &what);
            let got = read_all(&stream)
                .unwrap_or_else(|e| panic!("{what}: our read: {e}\n{}", net.describe()));
            server.join().unwrap().expect("the kernel sender");
            assert_same_bytes(&got, &data, &what, &net);
            drop(stream);

            let c = net.with_stack(|s, _| s.counters());
            let drops = net.handle().link_drops();
            let full_frame = 1514;
            assert!(
                c.rx_bytes > c.rx_frames * full_frame && drops.rx_truncated == 0,
                "{what}: the kernel's GSO segments should arrive whole: {} bytes in {} frames \
                 received, {} cut short\n{}",
                c.rx_bytes,
                c.rx_frames,
                drops.rx_truncated,
                net.describe()
            );
            net.stop();
        }
    });
}

/// The driver alone: frames of many sizes cross the link in order both ways, sent from
/// a batch on `flush` and read from the ring, and a frame sent with `send` leaves after
/// the batch before it.
#[test]
fn frames_cross_the_ring_and_the_send_batch_in_order() {
    in_netns("frames_cross_the_ring_and_the_send_batch_in_order", || {
        veth_lab();
        let mut ours = AfPacketDevice::open("veth0").expect("open veth0");
        assert!(ours.max_frame_len() > 65535, "{}", ours.max_frame_len());
        // A packet socket on the kernel's end is the other host, one frame at a time.
        let mut theirs = AfPacketDevice::open_with("veth1", Batch::Off).expect("open veth1");
        let sizes: Vec<usize> = (0..20).map(|i| 60 + i * 70).collect();

        for (i, &len) in sizes.iter().enumerate() {
            assert_eq!(ours.try_send(&test_frame(i, len)).unwrap(), Sent::Taken);
        }
        ours.send(&test_frame(99, 100)).unwrap(); // after the batch
        ours.flush().unwrap();
        for (i, &len) in sizes.iter().enumerate() {
            assert_eq!(
                next_test_frame(&mut theirs),
                test_frame(i, len),
                "frame {i} sent"
            );
        }
        assert_eq!(next_test_frame(&mut theirs), test_frame(99, 100));

        for (i, &len) in sizes.iter().enumerate() {
            theirs.send(&test_frame(i, len)).unwrap();
        }
        for (i, &len) in sizes.iter().enumerate() {
            assert_eq!(
                next_test_frame(&mut ours),
                test_frame(i, len),
                "frame {i} received"
            );
        }
        assert_eq!(ours.drops(), theirs.drops());
        assert_eq!(ours.drops(), Default::default());
    });
}

/// Frame `i` of `len` bytes between two made-up MACs, with the local experimental
/// EtherType, so no protocol of the kernel's takes it.
fn test_frame(i: usize, len: usize) -> Vec<u8> {
    let mut f = vec![i as u8; len];
    f[..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x09]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 0x08]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f
}

/// The next test frame `dev` receives (other frames are skipped), within [`TIMEOUT`].
#[track_caller]
fn next_test_frame(dev: &mut AfPacketDevice) -> Vec<u8> {
    let deadline = StdInstant::now() + TIMEOUT;
    let mut buf = vec![0; dev.max_frame_len()];
    loop {
        if let Some(len) = dev.recv(&mut buf).expect("recv") {
            if buf[12..14] == [0x88, 0xb5] {
                return buf[..len].to_vec();
            }
            continue;
        }
        let left = deadline.saturating_duration_since(StdInstant::now());
        assert!(!left.is_zero(), "no frame within {TIMEOUT:?}");
        netstack_drivers::wait_readable(&[dev.as_raw_fd()], Some(left)).expect("poll");
    }
}

/// Fails the test unless `got` is `want`, naming the first differing byte.
#[track_caller]
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str, net: &Netstack) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at byte {first:?}\n{}",
            got.len(),
            want.len(),
            net.describe()
        );
    }
}

#[track_caller]
fn our_connect(net: &Netstack, addr: SocketAddrV4, what: &str) -> TcpStream {
    let stream = TcpStream::connect_timeout(net.handle(), &addr.into(), TIMEOUT)
        .unwrap_or_else(|e| panic!("{what}: our connect to {addr}: {e}\n{}", net.describe()));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}
