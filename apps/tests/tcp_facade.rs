//! The TcpListener/TcpStream facade between two stacks on an in-memory link, each under
//! its own runtime: what an ordinary std::net program does, and the errors it sees.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::thread;
use std::time::Duration;

use netstack::net::{TcpListener, TcpStream};
use netstack::runtime::Runtime;
use netstack_core::Config;

/// A (10.0.0.2) and B (10.0.0.3) on one cable.
fn pair() -> (Runtime, Runtime) {
    common::runtime_pair(Config::default(), common::host_b())
}

const GENEROUS: Option<Duration> = Some(Duration::from_secs(20));

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 13 % 251) as u8).collect()
}

#[test]
fn connect_accept_echo_a_megabyte_and_close() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b.handle(), "0.0.0.0:7").unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        "0.0.0.0:7".parse::<SocketAddr>().unwrap()
    );
    let server = thread::spawn(move || {
        let (mut s, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), Ipv4Addr::new(10, 0, 0, 2));
        s.set_read_timeout(GENEROUS).unwrap();
        let mut buf = vec![0u8; 65536];
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                s.shutdown(Shutdown::Write).unwrap();
                return;
            }
            s.write_all(&buf[..n]).unwrap();
        }
    });
    let client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    client.set_read_timeout(GENEROUS).unwrap();
    assert_eq!(
        client.peer_addr().unwrap(),
        "10.0.0.3:7".parse::<SocketAddr>().unwrap()
    );
    let data = pattern(1 << 20);
    let writer = client.try_clone().unwrap();
    let sent = data.clone();
    let w = thread::spawn(move || {
        (&writer).write_all(&sent).unwrap();
        writer.shutdown(Shutdown::Write).unwrap();
    });
    let mut back = Vec::new();
    (&client).read_to_end(&mut back).unwrap();
    w.join().unwrap();
    server.join().unwrap();
    assert!(
        back == data,
        "echo differs ({} of {} bytes)",
        back.len(),
        data.len()
    );
}

#[test]
fn refused_timeouts_and_argument_errors_use_std_kinds() {
    let (a, b) = pair();
    let h = a.handle();
    let err = TcpStream::connect(&h, "10.0.0.3:9").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    assert_eq!(
        TcpStream::connect(&h, "10.0.0.3:0").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let l = TcpListener::bind(&b.handle(), "0.0.0.0:80").unwrap();
    assert_eq!(
        TcpListener::bind(&b.handle(), "0.0.0.0:80")
            .unwrap_err()
            .kind(),
        ErrorKind::AddrInUse
    );
    l.set_nonblocking(true).unwrap();
    assert_eq!(l.accept().unwrap_err().kind(), ErrorKind::WouldBlock);
    let zero = "10.0.0.3:80".parse().unwrap();
    assert_eq!(
        TcpStream::connect_timeout(&h, &zero, Duration::ZERO)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidInput
    );
    let s = TcpStream::connect_timeout(&h, &zero, Duration::from_secs(20)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!(
        (&s).read(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    s.set_nonblocking(true).unwrap();
    assert_eq!(
        (&s).read(&mut [0u8; 4]).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    s.set_nodelay(true).unwrap();
    assert!(s.nodelay().unwrap());
    // Writing after our own shutdown is a broken pipe.
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(
        (&s).write(b"late").unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
}

#[test]
fn a_connection_to_an_unreachable_host_times_out_when_asked_to() {
    let (a, _b) = pair();
    // 10.0.0.9 does not exist: ARP goes unanswered and the SYN never leaves.
    let addr = "10.0.0.9:7".parse().unwrap();
    let err =
        TcpStream::connect_timeout(&a.handle(), &addr, Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
}

#[test]
fn the_peer_closing_with_unread_data_resets_our_reads() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b.handle(), "0.0.0.0:7").unwrap();
    let client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    let (server, _) = listener.accept().unwrap();
    (&client).write_all(b"you will not read this").unwrap();
    // Read one byte, so the rest is known to be in the server's buffer, then close with
    // it unread: RFC 1122 4.2.2.13 says reset, so the client learns data was lost.
    server.set_read_timeout(GENEROUS).unwrap();
    assert_eq!((&server).read(&mut [0u8; 1]).unwrap(), 1);
    drop(server);
    client.set_read_timeout(GENEROUS).unwrap();
    let err = (&client).read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
}
