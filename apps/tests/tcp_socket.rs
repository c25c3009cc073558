//! `TcpSocket`, the socket before connect or listen, and the buffer and bind options
//! on it, between two stacks on an in-memory link (A 10.0.0.2, B 10.0.0.3): SO_RCVBUF
//! and SO_SNDBUF read back as Linux reports them and bound the window and the send
//! queue; SO_REUSEADDR decides whether a port in TIME-WAIT may be bound again; bind
//! before connect picks the local port.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use netstack::net::buffer_size::{Buffer, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF};
use netstack::net::{TcpListener, TcpSocket, TcpStream};
use netstack::runtime::{Handle, Runtime};
use netstack_core::{Config, Stack, TcpState};

fn pair() -> (Runtime, Runtime) {
    common::runtime_pair(Config::default(), common::host_b())
}

const GENEROUS: Duration = Duration::from_secs(20);

/// Waits (polling, for segments on the link, not a protocol timer) until `f` holds.
#[track_caller]
fn eventually(net: &Handle, what: &str, mut f: impl FnMut(&mut Stack) -> bool) {
    let deadline = Instant::now() + GENEROUS;
    while !net.with_stack(|s, _| f(s)) {
        assert!(Instant::now() < deadline, "{what}: not within {GENEROUS:?}");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn buffer_sizes_read_back_as_linux_reports_them() {
    let (a, b) = pair();
    let s = TcpSocket::new(&a.handle()).unwrap();
    // Nothing set: twice the stack's 4 MiB of data.
    assert_eq!(s.recv_buffer_size().unwrap(), 8 << 20);
    s.set_recv_buffer_size(65_536).unwrap();
    s.set_send_buffer_size(1).unwrap();
    assert_eq!(s.recv_buffer_size().unwrap(), 131_072, "doubled");
    assert_eq!(
        s.send_buffer_size().unwrap(),
        SOCK_MIN_SNDBUF,
        "the minimum"
    );
    let big = Buffer::Recv.reported(usize::MAX);
    assert_eq!(big, 2 * Buffer::Recv.max(), "net.core.rmem_max, doubled");

    let listener = TcpSocket::new(&b.handle()).unwrap();
    listener.set_recv_buffer_size(1).unwrap();
    listener.set_send_buffer_size(100_000).unwrap();
    listener.bind("0.0.0.0:7").unwrap();
    let listener = listener.listen(8).unwrap();
    assert_eq!(listener.recv_buffer_size().unwrap(), SOCK_MIN_RCVBUF);

    let stream = s.connect("10.0.0.3:7").unwrap();
    assert_eq!(stream.recv_buffer_size().unwrap(), 131_072);
    assert_eq!(stream.send_buffer_size().unwrap(), SOCK_MIN_SNDBUF);
    let (accepted, _) = listener.accept().unwrap();
    assert_eq!(
        (
            accepted.recv_buffer_size().unwrap(),
            accepted.send_buffer_size().unwrap()
        ),
        (SOCK_MIN_RCVBUF, 200_000),
        "inherited from the listener"
    );
    // Set on an open connection.
    stream.set_send_buffer_size(10_000).unwrap();
    assert_eq!(stream.send_buffer_size().unwrap(), 20_000);
}

/// The SO_RCVBUF set before connect is the window scale the SYN offers and bounds the
/// window B sees, and a megabyte still goes through the 8 KiB window whole.
#[test]
fn a_small_receive_buffer_bounds_the_window_the_peer_sees() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b.handle(), "0.0.0.0:9").unwrap();
    let s = TcpSocket::new(&a.handle()).unwrap();
    s.set_recv_buffer_size(8192).unwrap();
    let mut client = s.connect("10.0.0.3:9").unwrap();
    client.set_read_timeout(Some(GENEROUS)).unwrap();
    let data: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let sent = data.clone();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(&sent).unwrap();
    });
    let details = a.handle().with_stack(|s, _| {
        let rows = s.tcp().sockets();
        rows.iter().find_map(|r| r.details).expect("the connection")
    });
    assert_eq!(details.rcv_wscale, Some(0), "8 KiB needs no shift");
    let mut got = Vec::new();
    let mut buf = [0u8; 1000];
    let mut widest = 0;
    while got.len() < data.len() {
        let n = client.read(&mut buf).unwrap();
        assert!(n > 0, "early end of stream");
        got.extend_from_slice(&buf[..n]);
        let seen = b.handle().with_stack(|s, _| {
            let rows = s.tcp().sockets();
            let conn = rows.iter().find(|r| r.state != TcpState::Listen);
            conn.and_then(|r| r.details).map_or(0, |d| d.snd_wnd)
        });
        widest = widest.max(seen);
    }
    server.join().unwrap();
    assert!(got == data, "the bytes arrived in order");
    assert!(
        (1..=8192).contains(&widest),
        "B never saw a window over 8 KiB: {widest}"
    );
}

/// A non-blocking write takes what the send buffer holds, no more.
#[test]
fn a_small_send_buffer_bounds_what_a_write_takes() {
    let (a, b) = pair();
    let _listener = TcpListener::bind(&b.handle(), "0.0.0.0:9").unwrap();
    let s = TcpSocket::new(&a.handle()).unwrap();
    s.set_send_buffer_size(3000).unwrap();
    let client = s.connect("10.0.0.3:9").unwrap();
    client.set_nonblocking(true).unwrap();
    let n = (&client).write(&[7u8; 100_000]).unwrap();
    assert_eq!(n, 3000, "half of the 6000 reported: the bytes of data");
}

#[test]
fn binding_a_port_in_time_wait_takes_so_reuseaddr() {
    let (a, b) = pair();
    // B serves port 7 (TcpListener::bind sets SO_REUSEADDR, as std) and closes first.
    let listener = TcpListener::bind(&b.handle(), "0.0.0.0:7").unwrap();
    let mut client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    client.set_read_timeout(Some(GENEROUS)).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    drop(server_side);
    assert_eq!(client.read(&mut [0u8; 8]).unwrap(), 0, "B's FIN");
    drop(client);
    drop(listener);
    eventually(&b.handle(), "B in TIME-WAIT", |s| {
        s.tcp().time_wait().len() == 1 && s.tcp().sockets().is_empty()
    });

    let plain = TcpSocket::new(&b.handle()).unwrap();
    let e = plain.bind("0.0.0.0:7").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
    let again = TcpSocket::new(&b.handle()).unwrap();
    again.set_reuse_address(true).unwrap();
    again.bind("0.0.0.0:7").unwrap();
    let listener = again.listen(8).unwrap();
    // And a listening port is never shared.
    let third = TcpSocket::new(&b.handle()).unwrap();
    third.set_reuse_address(true).unwrap();
    assert_eq!(
        third.bind("0.0.0.0:7").unwrap_err().kind(),
        ErrorKind::AddrInUse
    );
    drop(listener);
}

#[test]
fn bind_before_connect_picks_the_local_port() {
    let (a, b) = pair();
    let listener = TcpListener::bind(&b.handle(), "0.0.0.0:7").unwrap();
    let s = TcpSocket::new(&a.handle()).unwrap();
    s.bind("0.0.0.0:5555").unwrap();
    assert_eq!(
        s.bind("0.0.0.0:5556").unwrap_err().kind(),
        ErrorKind::InvalidInput,
        "bound once"
    );
    let stream = s.connect("10.0.0.3:7").unwrap();
    assert_eq!(stream.local_addr().unwrap().port(), 5555);
    let (_, peer) = listener.accept().unwrap();
    assert_eq!(peer, "10.0.0.2:5555".parse::<SocketAddr>().unwrap());
    let elsewhere = TcpSocket::new(&a.handle()).unwrap();
    assert_eq!(
        elsewhere.bind("10.0.0.9:1").unwrap_err().kind(),
        ErrorKind::AddrNotAvailable
    );
}
