//! The facade's readiness API ([`Selector`]) over sockets of every type at once, and
//! non-blocking mode on each, between two stacks on an in-memory link.

mod common;

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use netstack::net::{RawSocket, Selector, TcpListener, TcpStream, UdpSocket};
use netstack::runtime::{Events, Interest, Token};
use netstack_core::Config;

const GENEROUS: Duration = Duration::from_secs(20);

#[test]
fn one_selector_waits_on_a_listener_a_stream_a_udp_and_a_raw_socket() {
    let (a, b) = common::runtime_pair(Config::default(), common::host_b());
    let (a, b) = (a.handle(), b.handle());
    // B's sockets, all non-blocking, in one set.
    let listener = TcpListener::bind(&b, "0.0.0.0:80").unwrap();
    let udp = UdpSocket::bind(&b, "0.0.0.0:53").unwrap();
    let raw = RawSocket::new(&b, 253).unwrap();
    for nb in [
        listener.set_nonblocking(true),
        udp.set_nonblocking(true),
        raw.set_nonblocking(true),
    ] {
        nb.unwrap();
    }
    let mut buf = [0u8; 64];
    assert_eq!(listener.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    assert_eq!(
        udp.recv_from(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    assert_eq!(
        raw.recv_from(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );

    let selector = Selector::new(&b);
    selector
        .register(&listener, Token(0), Interest::READABLE)
        .unwrap();
    selector
        .register(&udp, Token(1), Interest::READABLE)
        .unwrap();
    selector
        .register(&raw, Token(2), Interest::READABLE)
        .unwrap();
    assert_eq!(
        selector
            .register(&udp, Token(9), Interest::READABLE)
            .unwrap_err()
            .kind(),
        ErrorKind::AlreadyExists
    );

    // A connects, sends a datagram and a raw datagram.
    let client = TcpStream::connect(&a, "10.0.0.3:80").unwrap();
    UdpSocket::bind(&a, "0.0.0.0:0")
        .unwrap()
        .send_to(b"query", "10.0.0.3:53")
        .unwrap();
    RawSocket::new(&a, 253)
        .unwrap()
        .send_to(b"raw", "10.0.0.3".parse().unwrap())
        .unwrap();

    let mut ready = HashSet::new();
    let mut events = Events::new();
    let deadline = Instant::now() + GENEROUS;
    while ready.len() < 3 {
        assert!(Instant::now() < deadline, "only {ready:?} became ready");
        selector.select(&mut events, Some(GENEROUS)).unwrap();
        ready.extend(events.iter().map(|e| e.token()));
    }
    let (stream, _) = listener.accept().unwrap();
    assert_eq!(udp.recv_from(&mut buf).unwrap().0, 5);
    let (n, _) = raw.recv_from(&mut buf).unwrap();
    assert_eq!(
        &buf[20..n],
        b"raw",
        "a raw socket reads the IPv4 header first"
    );

    // The accepted stream joins the set; A's data makes it readable.
    stream.set_nonblocking(true).unwrap();
    assert_eq!(
        (&stream).read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    selector
        .register(&stream, Token(3), Interest::READABLE)
        .unwrap();
    (&client).write_all(b"hello").unwrap();
    let deadline = Instant::now() + GENEROUS;
    loop {
        assert!(
            Instant::now() < deadline,
            "the stream never became readable"
        );
        selector.select(&mut events, Some(GENEROUS)).unwrap();
        if events.iter().any(|e| e.token() == Token(3)) {
            break;
        }
    }
    let mut peeked = [0u8; 5];
    assert_eq!(stream.peek(&mut peeked).unwrap(), 5);
    assert_eq!((&stream).read(&mut buf).unwrap(), 5);
    assert_eq!(&buf[..5], b"hello");
    assert_eq!(&peeked, b"hello");
    selector.deregister(&stream).unwrap();
}

#[test]
fn keepalive_and_linger_settings_read_back_and_refuse_nonsense() {
    let (a, b) = common::runtime_pair(Config::default(), common::host_b());
    let listener = TcpListener::bind(&b.handle(), "0.0.0.0:81").unwrap();
    let s = TcpStream::connect(&a.handle(), "10.0.0.3:81").unwrap();
    let _peer = listener.accept().unwrap();
    assert!(!s.keepalive().unwrap());
    s.set_keepalive(true).unwrap();
    assert!(s.keepalive().unwrap());
    let secs = Duration::from_secs;
    s.set_keepalive_params(secs(10), secs(2), 3).unwrap();
    assert_eq!(
        s.set_keepalive_params(Duration::ZERO, secs(2), 3)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(s.linger().unwrap(), None);
    s.set_linger(Some(secs(1))).unwrap();
    assert_eq!(s.linger().unwrap(), Some(secs(1)));
    // Everything is acknowledged already, so a lingering close returns at once.
    let started = Instant::now();
    drop(s);
    assert!(started.elapsed() < GENEROUS);
}
