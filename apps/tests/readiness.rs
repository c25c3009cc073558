//! The runtime's readiness API (`Poll`) between two stacks on an in-memory link: B
//! registers sockets and waits for events; A is an ordinary facade client.

mod common;

use std::collections::BTreeSet;
use std::io::{ErrorKind, Write};
use std::net::SocketAddrV4;
use std::thread;
use std::time::{Duration, Instant};

use netstack::net::{TcpStream, UdpSocket};
use netstack::runtime::{Events, Handle, Interest, Poll, Runtime, Token};
use netstack_core::{Config, SocketHandle};

/// How long any wait may take before the test fails: generous, tests assert behaviour.
const GENEROUS: Duration = Duration::from_secs(20);

/// A (10.0.0.2, the clients) and B (10.0.0.3, the side that polls) on one cable.
fn pair() -> (Runtime, Runtime) {
    common::runtime_pair(Config::default(), common::host_b())
}

/// Connections B's listeners hold for accept: more than any test opens at once.
const BACKLOG: usize = 1024;

/// Listens on B's `port` and registers the listener as `token`, readable.
fn listen(poll: &Poll, port: u16, token: Token) -> SocketHandle {
    poll.handle().with_stack(|stack, _| {
        let l = stack
            .tcp()
            .listen(SocketAddrV4::new([0, 0, 0, 0].into(), port), BACKLOG)
            .unwrap();
        poll.register(stack, l, token, Interest::READABLE).unwrap();
        l
    })
}

/// Waits until events have named every token in `want` (each readable or writable as
/// `check` demands); fails after [`GENEROUS`].
#[track_caller]
fn wait_for_tokens(poll: &Poll, want: &BTreeSet<Token>, check: impl Fn(&netstack::runtime::Event)) {
    let deadline = Instant::now() + GENEROUS;
    let mut seen = BTreeSet::new();
    let mut events = Events::new();
    while !want.is_subset(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "only {seen:?} of {want:?} became ready");
        poll.wait(&mut events, Some(left)).unwrap();
        for event in events.iter() {
            check(event);
            seen.insert(event.token());
        }
    }
}

/// Accepts one connection on listener `l` of B, waiting on `poll` for it.
fn accept(poll: &Poll, l: SocketHandle, token: Token) -> SocketHandle {
    wait_for_tokens(poll, &[token].into(), |e| assert!(e.is_readable()));
    poll.handle()
        .with_stack(|stack, _| stack.tcp().accept(l))
        .unwrap()
        .expect("a connection to accept after the event")
}

#[test]
fn a_listener_is_readable_when_a_connection_waits() {
    let (a, b) = pair();
    let poll = Poll::new(&b.handle());
    let l = listen(&poll, 7, Token(100));
    let mut events = Events::new();
    poll.wait(&mut events, Some(Duration::from_millis(50)))
        .unwrap();
    assert!(events.is_empty(), "no connection yet, no event: {events:?}");
    let _client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    let conn = accept(&poll, l, Token(100));
    let state = b.handle().with_stack(|stack, _| stack.tcp().state(conn));
    assert!(state.is_ok());
}

#[test]
fn data_makes_a_connection_readable_and_a_fresh_one_is_writable_at_once() {
    let (a, b) = pair();
    let poll = Poll::new(&b.handle());
    let l = listen(&poll, 7, Token(0));
    let client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    let conn = accept(&poll, l, Token(0));
    let h = b.handle();

    // Writable at registration: the send buffer is empty, so the event is queued at once.
    h.with_stack(|stack, _| {
        poll.register(
            stack,
            conn,
            Token(1),
            Interest::READABLE | Interest::WRITABLE,
        )
    })
    .unwrap();
    let mut events = Events::new();
    poll.wait(&mut events, Some(GENEROUS)).unwrap();
    let event = *events.iter().next().expect("an event");
    assert_eq!(event.token(), Token(1));
    assert!(event.is_writable() && !event.is_readable(), "{event:?}");

    // Only readable from now on: nothing until the client writes.
    h.with_stack(|stack, _| poll.reregister(stack, conn, Token(2), Interest::READABLE))
        .unwrap();
    poll.wait(&mut events, Some(Duration::from_millis(50)))
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
    (&client).write_all(b"hello").unwrap();
    wait_for_tokens(&poll, &[Token(2)].into(), |e| assert!(e.is_readable()));
    let mut buf = [0u8; 16];
    let n = h.with_stack(|stack, now| stack.tcp().recv(now, conn, &mut buf));
    assert_eq!(n, Ok(Some(5)));
    assert_eq!(&buf[..5], b"hello");

    // The client's FIN is readable too (end of stream).
    client.shutdown(std::net::Shutdown::Write).unwrap();
    wait_for_tokens(&poll, &[Token(2)].into(), |e| assert!(e.is_readable()));
    let n = h.with_stack(|stack, now| stack.tcp().recv(now, conn, &mut buf));
    assert_eq!(n, Ok(Some(0)));
}

#[test]
fn readiness_before_registration_is_not_lost() {
    let (a, b) = pair();
    let poll = Poll::new(&b.handle());
    let l = listen(&poll, 7, Token(0));
    let client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    let conn = accept(&poll, l, Token(0));
    (&client).write_all(b"early").unwrap();
    // Wait (on the stack, not on the set) until the bytes are there, then register.
    b.handle()
        .wait_until(Some(Instant::now() + GENEROUS), |stack| {
            stack.tcp().can_read(conn).then_some(())
        })
        .expect("the data arrives");
    b.handle()
        .with_stack(|stack, _| poll.register(stack, conn, Token(9), Interest::READABLE))
        .unwrap();
    let mut events = Events::new();
    poll.wait(&mut events, Some(GENEROUS)).unwrap();
    assert_eq!(
        events.iter().map(|e| e.token()).collect::<Vec<_>>(),
        [Token(9)]
    );
}

#[test]
fn a_deregistered_socket_brings_no_events_and_misuse_is_an_error() {
    let (a, b) = pair();
    let poll = Poll::new(&b.handle());
    let l = listen(&poll, 7, Token(0));
    let h = b.handle();
    let again = h.with_stack(|stack, _| poll.register(stack, l, Token(1), Interest::READABLE));
    assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
    let other = Poll::new(&h);
    assert_eq!(other.deregister(l).unwrap_err().kind(), ErrorKind::NotFound);
    poll.deregister(l).unwrap();
    assert_eq!(poll.deregister(l).unwrap_err().kind(), ErrorKind::NotFound);
    let _client = TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap();
    let mut events = Events::new();
    poll.wait(&mut events, Some(Duration::from_millis(100)))
        .unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn wake_and_a_stopped_runtime_end_a_wait() {
    let (_a, b) = pair();
    let poll = Poll::new(&b.handle());
    let waker = poll.clone();
    let woke = thread::spawn(move || {
        let mut events = Events::new();
        waker.wait(&mut events, None).unwrap();
        events.len()
    });
    thread::sleep(Duration::from_millis(20)); // let it block; correct either way
    poll.wake();
    assert_eq!(woke.join().unwrap(), 0);

    let stopped = poll.clone();
    let waiter = thread::spawn(move || {
        let mut events = Events::new();
        stopped.wait(&mut events, None).unwrap_err().kind()
    });
    b.shutdown().unwrap();
    assert_eq!(waiter.join().unwrap(), ErrorKind::NotConnected);
}

#[test]
fn one_wait_serves_hundreds_of_connections() {
    const N: usize = 300;
    let (a, b) = pair();
    let h: Handle = b.handle();
    let poll = Poll::new(&h);
    let l = listen(&poll, 7, Token(usize::MAX));
    let clients: Vec<TcpStream> = (0..N)
        .map(|_| TcpStream::connect(&a.handle(), "10.0.0.3:7").unwrap())
        .collect();
    let mut conns = Vec::new();
    while conns.len() < N {
        let accepted = accept(&poll, l, Token(usize::MAX));
        h.with_stack(|stack, _| {
            poll.register(stack, accepted, Token(conns.len()), Interest::READABLE)
        })
        .unwrap();
        conns.push(accepted);
        // Every connection queued meanwhile, without waiting for another event.
        while let Some(c) = h.with_stack(|stack, _| stack.tcp().accept(l)).unwrap() {
            h.with_stack(|stack, _| {
                poll.register(stack, c, Token(conns.len()), Interest::READABLE)
            })
            .unwrap();
            conns.push(c);
        }
    }
    for (i, client) in clients.iter().enumerate() {
        let mut c = client;
        c.write_all(&[i as u8]).unwrap();
    }
    let want: BTreeSet<Token> = (0..N).map(Token).collect();
    wait_for_tokens(&poll, &want, |e| assert!(e.is_readable()));
}

#[test]
fn a_udp_socket_is_readable_when_a_datagram_waits() {
    let (a, b) = pair();
    let h = b.handle();
    let poll = Poll::new(&h);
    let socket = h.with_stack(|stack, _| {
        let s = stack
            .udp()
            .bind(SocketAddrV4::new([0, 0, 0, 0].into(), 7))
            .unwrap();
        poll.register(stack, s, Token(5), Interest::READABLE)
            .unwrap();
        s
    });
    let client = UdpSocket::bind(&a.handle(), "0.0.0.0:0").unwrap();
    client.send_to(b"ping", "10.0.0.3:7").unwrap();
    wait_for_tokens(&poll, &[Token(5)].into(), |e| assert!(e.is_readable()));
    let mut buf = [0u8; 8];
    let got = h.with_stack(|stack, _| stack.udp().recv_from(socket, &mut buf));
    assert_eq!(got.unwrap().map(|(n, _)| n), Some(4));
}
