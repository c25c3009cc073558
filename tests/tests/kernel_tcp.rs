//! netstack's TCP against the Linux kernel's, over a TAP in a private namespace: bulk
//! transfers both ways, many connections at once, refusals, the reset for a closed port,
//! orderly and abortive closes.
//!
//! ```text
//!   kernel 10.0.0.1 (std::net, raw TCP socket)  <-- tap0 -->  netstack 10.0.0.2 (netstack::net)
//! ```
//!
//! The kernel's side is plain `std::net`; ours is the `netstack::net` facade (or the echo
//! service `netstack serve` runs). Every wait is bounded by [`TIMEOUT`]; no test sleeps.

mod common;

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4, TcpStream as KernelStream};
use std::sync::Barrier;
use std::thread;
use std::time::Instant as StdInstant;

use common::kernel_peer::*;
use common::netstack::Netstack;
use common::random_bytes;
use common::{in_netns, internet_checksum, tap_lab, tap_lab_with, HOST_IP, STACK_IP, TIMEOUT};
use etherparse::{Ipv4Slice, TcpSlice};
use netstack::net::{TcpListener, TcpStream};
use netstack::services::tcp_echo::start_echo;
use netstack_core::TcpState;
use netstack_drivers::Offload;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// Size of each bulk transfer.
const BULK: usize = 5 * 1024 * 1024;

/// Fails the test unless `got` is `want`, naming the first differing byte instead of
/// printing megabytes.
#[track_caller]
fn assert_same_bytes(got: &[u8], want: &[u8], what: &str, net: &Netstack) {
    if got != want {
        let first = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at byte {first:?}\n{}",
            got.len(),
            want.len(),
            context(net)
        );
    }
}

/// A kernel connection to `addr` with read and write timeouts of [`TIMEOUT`].
#[track_caller]
fn kernel_connect(addr: SocketAddrV4, net: &Netstack) -> KernelStream {
    let stream = KernelStream::connect_timeout(&addr.into(), TIMEOUT)
        .unwrap_or_else(|e| panic!("kernel connect to {addr}: {e}\n{}", context(net)));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// Our connection to `addr`, with read and write timeouts of [`TIMEOUT`].
#[track_caller]
fn our_connect(net: &Netstack, addr: SocketAddrV4) -> TcpStream {
    let stream = TcpStream::connect_timeout(net.handle(), &addr.into(), TIMEOUT)
        .unwrap_or_else(|e| panic!("our connect to {addr}: {e}\n{}", context(net)));
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
}

/// A kernel client sends 5 MB to our echo service while a second thread reads the echo,
/// then half-closes; the echo ends with our FIN and is the same 5 MB.
#[test]
fn a_kernel_client_gets_5_mb_back_from_our_echo() {
    in_netns("a_kernel_client_gets_5_mb_back_from_our_echo", || {
        let net = Netstack::start(tap_lab());
        let _echo = start_echo(net.handle(), 7).expect("echo service on port 7");
        let data = random_bytes(BULK, 1);
        let started = StdInstant::now();
        let stream = kernel_connect(SocketAddrV4::new(STACK_IP, 7), &net);
        let reader = {
            let stream = stream.try_clone().unwrap();
            thread::spawn(move || read_all(stream))
        };
        (&stream)
            .write_all(&data)
            .unwrap_or_else(|e| panic!("kernel write: {e}\n{}", context(&net)));
        stream.shutdown(Shutdown::Write).unwrap();
        let echoed = reader
            .join()
            .unwrap()
            .unwrap_or_else(|e| panic!("kernel read: {e}\n{}", context(&net)));
        assert_same_bytes(&echoed, &data, "the echo", &net);
        eprintln!("5 MB echoed in {:?}", started.elapsed());
    });
}

/// Our client sends 5 MB to a kernel echo server and reads it back concurrently; then a
/// kernel server that sends 5 MB and closes is read to end of stream.
#[test]
fn our_client_moves_5_mb_each_way_with_kernel_servers() {
    in_netns("our_client_moves_5_mb_each_way_with_kernel_servers", || {
        let net = Netstack::start(tap_lab());

        // A kernel echo server: copy until end of stream, then close our way too.
        let (server, addr) = kernel_echo_server();
        let data = random_bytes(BULK, 2);
        let stream = our_connect(&net, addr);
        let echoed = echo_through(&stream, &data, "the kernel's echo", &net);
        let copied = server.join().unwrap().expect("the kernel echo server");
        assert_eq!(copied, BULK as u64, "the kernel echo server's byte count");
        assert_same_bytes(&echoed, &data, "the kernel's echo", &net);
        drop(stream);

        // A kernel server that sends 5 MB and closes.
        let (listener, addr) = kernel_listener();
        let data = random_bytes(BULK, 3);
        let server = {
            let data = data.clone();
            thread::spawn(move || -> io::Result<()> {
                let mut stream = kernel_accept(&listener);
                stream.write_all(&data)?;
                Ok(()) // dropping the stream closes it: FIN after the data
            })
        };
        let stream = our_connect(&net, addr);
        let got = read_all(&stream).unwrap_or_else(|e| panic!("our read: {e}\n{}", context(&net)));
        server.join().unwrap().expect("the kernel sender");
        assert_same_bytes(&got, &data, "the kernel's 5 MB", &net);
    });
}

/// TAP offloads (issue 13) on and off: our 5 MB echo through a kernel echo server and
/// 5 MB from a kernel sender arrive whole either way. With offloads on, the stack hands
/// the TAP TCP segments of several MSS (TSO: more segments sent than frames) and the
/// kernel hands the stack segments longer than the MTU (GRO: received frames average
/// more than a full Ethernet frame); with them off, neither happens.
#[test]
fn bulk_both_ways_with_tap_offloads_on_and_off() {
    in_netns("bulk_both_ways_with_tap_offloads_on_and_off", || {
        for offload in [Offload::On, Offload::Off] {
            let what = format!("offloads {offload:?}");
            let net = Netstack::start(tap_lab_with(offload));
            let (server, addr) = kernel_echo_server();
            let data = random_bytes(BULK, 5);
            let stream = our_connect(&net, addr);
            let echoed = echo_through(&stream, &data, &what, &net);
            server.join().unwrap().expect("the kernel echo server");
            assert_same_bytes(&echoed, &data, &what, &net);
            drop(stream);

            let (listener, addr) = kernel_listener();
            let data = random_bytes(BULK, 6);
            let server = {
                let data = data.clone();
                thread::spawn(move || -> io::Result<()> {
                    let mut stream = kernel_accept(&listener);
                    stream.write_all(&data)
                })
            };
            let stream = our_connect(&net, addr);
            let got = read_all(&stream)
                .unwrap_or_else(|e| panic!("{what}: our read: {e}\n{}", context(&net)));
            server.join().unwrap().expect("the kernel sender");
            assert_same_bytes(&got, &data, &what, &net);

            let c = net.with_stack(|s, _| s.counters());
            let full_frame = 1514;
            let (tso, gro) = (
                c.tcp_segments_sent > c.tx_frames,
                c.rx_bytes > c.rx_frames * full_frame,
            );
            let on = offload == Offload::On;
            assert_eq!(
                (tso, gro),
                (on, on),
                "{what}: TSO and GRO seen? {} segments in {} frames sent, {} bytes in {} frames received\n{}",
                c.tcp_segments_sent,
                c.tx_frames,
                c.rx_bytes,
                c.rx_frames,
                context(&net)
            );
            drop(stream);
            net.stop();
        }
    });
}

/// RFC 7323 and RFC 2018 against the kernel, which offers window scaling, timestamps and
/// SACK: with each of ours alone, all off and all on, our client's 5 MB echo through a
/// kernel echo server arrives whole, and the connection uses exactly what both offered.
#[test]
fn each_tcp_option_on_and_off_against_the_kernel() {
    in_netns("each_tcp_option_on_and_off_against_the_kernel", || {
        let options = [
            (false, false, false),
            (true, false, false),
            (false, true, false),
            (false, false, true),
            (true, true, true),
        ];
        for (window_scaling, timestamps, sack) in options {
            let what = format!("ws {window_scaling}, ts {timestamps}, sack {sack}");
            let mut config = netstack_core::Config::default();
            config.tcp.window_scaling = window_scaling;
            config.tcp.timestamps = timestamps;
            config.tcp.sack = sack;
            let net = Netstack::start_with(tap_lab(), config);
            let (server, addr) = kernel_echo_server();
            let stream = our_connect(&net, addr);
            let details = net.with_stack(|s, _| {
                let rows = s.tcp().sockets();
                rows.iter()
                    .find(|r| r.remote == addr)
                    .and_then(|r| r.details)
            });
            let d = details.unwrap_or_else(|| panic!("{what}: no connection\n{}", context(&net)));
            assert_eq!(d.snd_wscale.is_some(), window_scaling, "{what}: {d:?}");
            assert_eq!(d.timestamps, timestamps, "{what}: {d:?}");
            assert_eq!(d.sack, sack, "{what}: {d:?}");
            let data = random_bytes(BULK, 4);
            let echoed = echo_through(&stream, &data, &what, &net);
            server.join().unwrap().expect("the kernel echo server");
            assert_same_bytes(&echoed, &data, &what, &net);
            drop(stream);
            net.stop();
        }
    });
}

/// 200 kernel connections to our echo service, all open at the same time, each sending a
/// distinct 10 KB message and reading it back, then closing.
#[test]
fn two_hundred_concurrent_kernel_connections_to_our_echo() {
    const CONNECTIONS: usize = 200;
    const MESSAGE: usize = 10 * 1024;
    in_netns(
        "two_hundred_concurrent_kernel_connections_to_our_echo",
        || {
            let net = Netstack::start(tap_lab());
            let _echo = start_echo(net.handle(), 7).expect("echo service on port 7");
            let echo_addr = SocketAddrV4::new(STACK_IP, 7);
            // Every client connects, then waits (`connected`) until the test has counted the
            // open connections, then talks (`go`).
            let connected = Barrier::new(CONNECTIONS + 1);
            let go = Barrier::new(CONNECTIONS + 1);
            let (open, results) = thread::scope(|scope| {
                let clients: Vec<_> = (0..CONNECTIONS)
                    .map(|i| {
                        let (connected, go) = (&connected, &go);
                        thread::Builder::new()
                            .name(format!("client-{i}"))
                            .stack_size(256 * 1024)
                            .spawn_scoped(scope, move || -> Result<(), String> {
                                let stream =
                                    KernelStream::connect_timeout(&echo_addr.into(), TIMEOUT);
                                connected.wait();
                                go.wait();
                                let mut stream = stream.map_err(|e| format!("connect: {e}"))?;
                                echo_one(&mut stream, &random_bytes(MESSAGE, 1000 + i as u64))
                            })
                            .expect("spawn a client thread")
                    })
                    .collect();
                connected.wait();
                // Connections the stack holds on port 7 (accepted or still queued).
                let deadline = StdInstant::now() + TIMEOUT;
                let open = net.handle().wait_until(Some(deadline), |stack| {
                    let n = stack
                        .tcp()
                        .sockets()
                        .iter()
                        .filter(|r| r.local.port() == 7 && r.state == TcpState::Established)
                        .count();
                    (n == CONNECTIONS).then_some(n)
                });
                go.wait();
                let results: Vec<_> = clients.into_iter().map(|c| c.join().unwrap()).collect();
                (open, results)
            });
            let failures: Vec<String> = results
                .iter()
                .enumerate()
                .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("client {i}: {e}")))
                .collect();
            assert!(
                failures.is_empty(),
                "{} of {CONNECTIONS} connections failed:\n{}\n{}",
                failures.len(),
                failures
                    .iter()
                    .take(20)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n"),
                context(&net)
            );
            assert_eq!(
                open,
                Some(CONNECTIONS),
                "not all connections were ESTABLISHED at once\n{}",
                context(&net)
            );
        },
    );
}

/// One echo round trip on `stream`: send `message`, read it back, half-close, and see
/// the server's end of stream.
fn echo_one(stream: &mut KernelStream, message: &[u8]) -> Result<(), String> {
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(message)
        .map_err(|e| format!("write: {e}"))?;
    let mut back = vec![0u8; message.len()];
    stream
        .read_exact(&mut back)
        .map_err(|e| format!("read: {e}"))?;
    if back != message {
        return Err(format!(
            "echo differs from byte {:?}",
            back.iter().zip(message).position(|(a, b)| a != b)
        ));
    }
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("shutdown: {e}"))?;
    match stream.read(&mut [0u8; 16]) {
        Ok(0) => Ok(()),
        Ok(n) => Err(format!("{n} bytes after the echo")),
        Err(e) => Err(format!("waiting for end of stream: {e}")),
    }
}

/// Connecting to a port nobody listens on is refused, by our stack and by the kernel.
#[test]
fn connecting_to_closed_ports_is_refused_both_ways() {
    in_netns("connecting_to_closed_ports_is_refused_both_ways", || {
        let net = Netstack::start(tap_lab());
        let err = KernelStream::connect_timeout(&(STACK_IP, 9999).into(), TIMEOUT)
            .expect_err("nobody listens on 10.0.0.2:9999");
        assert_eq!(
            err.kind(),
            ErrorKind::ConnectionRefused,
            "{err}\n{}",
            context(&net)
        );

        let (listener, closed) = kernel_listener();
        drop(listener); // the port is free, and nobody listens on it
        let err = TcpStream::connect_timeout(net.handle(), &closed.into(), TIMEOUT)
            .expect_err("nobody listens on the kernel's port");
        assert_eq!(
            err.kind(),
            ErrorKind::ConnectionRefused,
            "{err}\n{}",
            context(&net)
        );
        // The failed connection left nothing behind.
        let left = net.with_stack(|s, _| s.tcp().sockets());
        assert!(left.is_empty(), "sockets left: {left:?}");
    });
}

/// RFC 9293 3.10.7.1 as seen by a raw socket: a SYN to a closed port is answered with
/// <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>, and a bare ACK with <SEQ=SEG.ACK><CTL=RST>.
#[test]
fn segments_to_a_closed_port_are_answered_with_resets() {
    in_netns("segments_to_a_closed_port_are_answered_with_resets", || {
        let net = Netstack::start(tap_lab());
        // Protocol 6: we write the TCP header, the kernel adds the IP header. The socket
        // reads every TCP datagram the namespace receives, IP header first.
        let raw = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::TCP))
            .expect("raw TCP socket (CAP_NET_RAW)");
        raw.set_read_timeout(Some(std::time::Duration::from_millis(50)))
            .unwrap();
        let to = SockAddr::from(SocketAddrV4::new(STACK_IP, 0));

        let syn_seq = 0x1234_5678;
        raw.send_to(&tcp_segment(40000, 9999, syn_seq, 0, SYN), &to)
            .expect("send the SYN");
        let rst = expect_tcp(&raw, 9999, 40000, &net);
        assert_eq!(
            (rst.flags, rst.seq, rst.ack),
            (RST | ACK, 0, syn_seq.wrapping_add(1)),
            "the reset for a SYN: {rst:?}"
        );

        let ack = 0xdead_beef;
        raw.send_to(&tcp_segment(40001, 9999, 7, ack, ACK), &to)
            .expect("send the ACK");
        let rst = expect_tcp(&raw, 9999, 40001, &net);
        assert_eq!(
            (rst.flags, rst.seq),
            (RST, ack),
            "the reset for an ACK: {rst:?}"
        );
        let sent = net.with_stack(|s, _| s.counters().tcp_resets_sent);
        assert_eq!(sent, 2, "resets sent\n{}", context(&net));
    });
}

const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// A TCP header from 10.0.0.1 to 10.0.0.2, no options, with a correct checksum.
fn tcp_segment(src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: u8) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&src_port.to_be_bytes());
    h[2..4].copy_from_slice(&dst_port.to_be_bytes());
    h[4..8].copy_from_slice(&seq.to_be_bytes());
    h[8..12].copy_from_slice(&ack.to_be_bytes());
    h[12] = 5 << 4;
    h[13] = flags;
    h[14..16].copy_from_slice(&8192u16.to_be_bytes());
    let sum = internet_checksum(&with_pseudo_header(HOST_IP, STACK_IP, &h));
    h[16..18].copy_from_slice(&sum.to_be_bytes());
    h
}

/// The IPv4 pseudo-header (RFC 9293 3.1) followed by `segment`, for checksums.
fn with_pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> Vec<u8> {
    let mut d = Vec::with_capacity(12 + segment.len());
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    d.extend_from_slice(&[0, 6]);
    d.extend_from_slice(&(segment.len() as u16).to_be_bytes());
    d.extend_from_slice(segment);
    d
}

/// A TCP header as the kernel received it.
#[derive(Debug)]
struct Seen {
    flags: u8,
    seq: u32,
    ack: u32,
}

/// Waits for a TCP segment from 10.0.0.2:`src_port` to `dst_port` on `raw`, checks its
/// checksum, and returns its header fields.
#[track_caller]
fn expect_tcp(raw: &Socket, src_port: u16, dst_port: u16, net: &Netstack) -> Seen {
    let deadline = StdInstant::now() + TIMEOUT;
    let mut buf = [0u8; 65536];
    while StdInstant::now() < deadline {
        let len = match (&*raw).read(&mut buf) {
            Ok(len) => len,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                continue
            }
            Err(e) => panic!("reading the raw TCP socket: {e}"),
        };
        let ip = Ipv4Slice::from_slice(&buf[..len]).expect("the kernel hands us IPv4");
        let segment = ip.payload().payload;
        if ip.header().source_addr() != STACK_IP {
            continue;
        }
        let Ok(tcp) = TcpSlice::from_slice(segment) else {
            panic!("a malformed TCP segment from netstack: {segment:02x?}");
        };
        if (tcp.source_port(), tcp.destination_port()) != (src_port, dst_port) {
            continue;
        }
        assert_eq!(
            internet_checksum(&with_pseudo_header(STACK_IP, HOST_IP, segment)),
            0,
            "bad TCP checksum on {segment:02x?}"
        );
        assert!(tcp.payload().is_empty(), "a reset carries no data");
        return Seen {
            flags: segment[13] & 0x3f,
            seq: tcp.sequence_number(),
            ack: tcp.acknowledgment_number(),
        };
    }
    panic!(
        "nothing from 10.0.0.2:{src_port} to port {dst_port} within {TIMEOUT:?}\n{}",
        context(net)
    );
}

/// Orderly close (RFC 9293 3.6) both ways. The kernel closes first: we read end of
/// stream, close, and the connection is gone from our stack without TIME-WAIT. We close
/// first: the kernel reads end of stream, closes, and our stack holds the 4-tuple in
/// TIME-WAIT.
#[test]
fn orderly_close_either_side_first() {
    in_netns("orderly_close_either_side_first", || {
        let net = Netstack::start(tap_lab());

        // The kernel closes first.
        let ours = TcpListener::bind(net.handle(), "0.0.0.0:5000").unwrap();
        let kernel = kernel_connect(SocketAddrV4::new(STACK_IP, 5000), &net);
        let (server, peer) = ours.accept().unwrap();
        server.set_read_timeout(Some(TIMEOUT)).unwrap();
        assert_eq!(peer, kernel.local_addr().unwrap());
        exchange(&kernel, &server, &net);
        kernel.shutdown(Shutdown::Write).unwrap();
        let mut buf = [0u8; 16];
        let n = (&server)
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("our read: {e}\n{}", context(&net)));
        assert_eq!(n, 0, "end of stream after the kernel's FIN");
        let tuple = (v4(server.local_addr().unwrap()), v4(peer));
        assert_eq!(state_of(&net, tuple), Some(TcpState::CloseWait));
        drop(server);
        let n = (&kernel)
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("kernel read: {e}\n{}", context(&net)));
        assert_eq!(n, 0, "the kernel reads end of stream after our FIN");
        // LAST-ACK -> CLOSED when the kernel acknowledges our FIN; passive closers keep
        // no TIME-WAIT.
        net.wait_for("our passive close to finish", |s| {
            s.tcp()
                .sockets()
                .iter()
                .all(|r| (r.local, r.remote) != tuple)
                .then_some(())
        });
        let tw = net.with_stack(|s, _| s.tcp().time_wait());
        assert!(!tw.contains(&tuple), "a passive close in TIME-WAIT: {tw:?}");
        drop(kernel);

        // We close first.
        let (listener, addr) = kernel_listener();
        let client = our_connect(&net, addr);
        let kernel = kernel_accept(&listener);
        exchange(&kernel, &client, &net);
        let tuple = (v4(client.local_addr().unwrap()), addr);
        drop(client);
        let n = (&kernel)
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("kernel read: {e}\n{}", context(&net)));
        assert_eq!(n, 0, "the kernel reads end of stream after our FIN");
        net.wait_for("FIN-WAIT-2 after the kernel acknowledged our FIN", |s| {
            s.tcp()
                .sockets()
                .iter()
                .any(|r| (r.local, r.remote) == tuple && r.state == TcpState::FinWait2)
                .then_some(())
        });
        drop(kernel);
        net.wait_for("TIME-WAIT after the kernel's FIN", |s| {
            s.tcp().time_wait().contains(&tuple).then_some(())
        });
        let rows = net.with_stack(|s, _| s.tcp().sockets());
        assert!(
            rows.iter().all(|r| (r.local, r.remote) != tuple),
            "a TIME-WAIT entry keeps no socket: {rows:?}"
        );
    });
}

/// A short request and reply between a kernel stream and ours.
#[track_caller]
fn exchange(kernel: &KernelStream, ours: &TcpStream, net: &Netstack) {
    ours.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut buf = [0u8; 5];
    (&*kernel).write_all(b"hello").unwrap();
    (&*ours)
        .read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("our read: {e}\n{}", context(net)));
    assert_eq!(&buf, b"hello");
    (&*ours).write_all(b"world").unwrap();
    (&*kernel)
        .read_exact(&mut buf)
        .unwrap_or_else(|e| panic!("kernel read: {e}\n{}", context(net)));
    assert_eq!(&buf, b"world");
}

/// The state of our connection with 4-tuple `tuple`, if it is in the socket table.
fn state_of(net: &Netstack, tuple: (SocketAddrV4, SocketAddrV4)) -> Option<TcpState> {
    net.with_stack(|s, _| {
        s.tcp()
            .sockets()
            .into_iter()
            .find(|r| (r.local, r.remote) == tuple)
            .map(|r| r.state)
    })
}

/// RFC 1122 4.2.2.13: closing with received data unread resets the connection, so the
/// kernel's read fails with ECONNRESET; nothing is left in our stack, not even TIME-WAIT.
#[test]
fn closing_with_unread_data_resets_the_connection() {
    in_netns("closing_with_unread_data_resets_the_connection", || {
        let net = Netstack::start(tap_lab());
        let ours = TcpListener::bind(net.handle(), "0.0.0.0:5000").unwrap();
        let mut kernel = kernel_connect(SocketAddrV4::new(STACK_IP, 5000), &net);
        let (server, peer) = ours.accept().unwrap();
        let tuple = (v4(server.local_addr().unwrap()), v4(peer));
        let unread = b"you will never read this";
        kernel.write_all(unread).unwrap();
        net.wait_for("the kernel's data in our receive buffer", |s| {
            s.tcp()
                .sockets()
                .iter()
                .any(|r| (r.local, r.remote) == tuple && r.recv_queue == unread.len())
                .then_some(())
        });
        drop(server);
        let err = kernel
            .read(&mut [0u8; 16])
            .expect_err("our close with unread data resets");
        assert_eq!(
            err.kind(),
            ErrorKind::ConnectionReset,
            "{err}\n{}",
            context(&net)
        );
        let (rows, tw) = net.with_stack(|s, _| (s.tcp().sockets(), s.tcp().time_wait()));
        assert!(
            rows.iter().all(|r| (r.local, r.remote) != tuple) && !tw.contains(&tuple),
            "the reset connection lingers: {rows:?} {tw:?}"
        );
    });
}
