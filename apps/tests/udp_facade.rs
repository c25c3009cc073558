//! The UdpSocket facade between two stacks on an in-memory link, each under its own
//! runtime: the calls an ordinary std::net program makes, and the errors it sees.

mod common;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use netstack::net::UdpSocket;
use netstack::runtime::Runtime;
use netstack_core::Config;

/// A (10.0.0.2) and B (10.0.0.3) on one cable.
fn pair() -> (Runtime, Runtime) {
    common::runtime_pair(Config::default(), common::host_b())
}

const GENEROUS: Option<Duration> = Some(Duration::from_secs(10));

#[test]
fn send_to_and_recv_from_both_ways_including_fragmented_sizes() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b.handle(), "0.0.0.0:7").unwrap();
    server.set_read_timeout(GENEROUS).unwrap();
    let client = UdpSocket::bind(&a.handle(), "0.0.0.0:0").unwrap();
    client.set_read_timeout(GENEROUS).unwrap();
    let server_addr: SocketAddr = "10.0.0.3:7".parse().unwrap();
    let mut buf = vec![0u8; 65536];
    for len in [0usize, 8, 1472, 8000, 65507] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        assert_eq!(client.send_to(&data, server_addr).unwrap(), len);
        let (n, from) = server.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &data[..], "{len} bytes to the server");
        assert_eq!(
            from,
            client
                .local_addr()
                .map(|a| SocketAddr::new("10.0.0.2".parse().unwrap(), a.port()))
                .unwrap()
        );
        server.send_to(&buf[..n], from).unwrap();
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&data[..], server_addr),
            "{len} bytes back"
        );
    }
}

#[test]
fn connected_socket_sees_connection_refused_from_a_closed_port() {
    let (a, _b) = pair();
    let s = UdpSocket::bind(&a.handle(), "0.0.0.0:0").unwrap();
    s.connect("10.0.0.3:9999").unwrap();
    assert_eq!(s.peer_addr().unwrap(), "10.0.0.3:9999".parse().unwrap());
    s.set_read_timeout(GENEROUS).unwrap();
    s.send(b"anyone?").unwrap();
    let err = s.recv(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
fn timeouts_nonblocking_and_argument_errors_use_std_kinds() {
    let (a, _b) = pair();
    let h = a.handle();
    let s = UdpSocket::bind(&h, "0.0.0.0:5000").unwrap();
    assert_eq!(
        UdpSocket::bind(&h, "0.0.0.0:5000").unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    assert_eq!(
        UdpSocket::bind(&h, "10.9.9.9:0").unwrap_err().kind(),
        ErrorKind::AddrNotAvailable
    );
    assert_eq!(
        UdpSocket::bind(&h, "[::]:0").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        s.set_read_timeout(Some(Duration::ZERO)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(
        s.recv_from(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    s.set_nonblocking(true).unwrap();
    assert_eq!(
        s.recv_from(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(s.send(b"x").unwrap_err().kind(), ErrorKind::NotConnected);
    assert_eq!(s.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
    assert_eq!(
        s.send_to(b"x", "10.0.0.255:9").unwrap_err().kind(),
        ErrorKind::PermissionDenied
    );
    s.set_broadcast(true).unwrap();
    assert!(s.broadcast().unwrap());
    s.send_to(b"x", "10.0.0.255:9").unwrap();
    assert_eq!(
        s.send_to(&vec![0; 65508], "10.0.0.3:9").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    // Dropping the socket frees its port.
    drop(s);
    UdpSocket::bind(&h, "0.0.0.0:5000").unwrap();
}

#[test]
fn one_socket_shared_by_threads() {
    let (a, b) = pair();
    let server = UdpSocket::bind(&b.handle(), "0.0.0.0:7").unwrap();
    server.set_read_timeout(GENEROUS).unwrap();
    let client = Arc::new(UdpSocket::bind(&a.handle(), "0.0.0.0:0").unwrap());
    let senders: Vec<_> = (0..4u8)
        .map(|t| {
            let c = Arc::clone(&client);
            thread::spawn(move || {
                for i in 0..25u8 {
                    c.send_to(&[t, i], "10.0.0.3:7").unwrap();
                }
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let mut seen = std::collections::HashSet::new();
    let mut buf = [0u8; 2];
    while seen.len() < 100 {
        let (n, _) = server.recv_from(&mut buf).unwrap();
        assert_eq!(n, 2);
        seen.insert(buf);
    }
}

#[test]
fn calls_after_the_runtime_stops_fail_cleanly() {
    let (a, _b) = pair();
    let s = UdpSocket::bind(&a.handle(), "0.0.0.0:0").unwrap();
    a.shutdown().unwrap();
    assert_eq!(
        s.send_to(b"x", "10.0.0.3:7").unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    s.set_read_timeout(GENEROUS).unwrap();
    assert_eq!(
        s.recv_from(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::NotConnected
    );
}
