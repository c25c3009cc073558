//! SYN cookies (RFC 4987 3.6), segment by segment: once a listener's SYN queue is full,
//! a SYN is answered with a cookie and nothing is kept; the ACK that returns the cookie
//! makes the connection, with the MSS the cookie carries and, when the peer sends
//! timestamps, the window scale and SACK permission our TSval carried.

mod util;

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::TcpRepr;
use netstack_core::{RxDrop, SocketHandle, Stack, TcpState};
use util::tcp::*;
use util::*;

const LISTEN: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80);

/// A stack that knows the peer's MAC, listening on port 80 with a SYN queue of one,
/// already holding a half-open connection from port 39999: the next SYN gets a cookie.
fn flooded() -> (Stack, SocketHandle) {
    let mut cfg = config();
    cfg.tcp.syn_backlog = 1;
    let mut s = Stack::new(cfg, 1).unwrap();
    s.receive(at(0), &who_has_us());
    sent(&mut s);
    let l = s.tcp().listen(LISTEN, 8).unwrap();
    // peer:39999 > us: [S] seq 1000 -- takes the only place in the SYN queue.
    send(
        &mut s,
        at(0),
        syn(39999, Seq(1000), Options::default()),
        &[],
    );
    let first = expect_segment(&mut s);
    assert_seg(&first, Flags::SYN | Flags::ACK, first.seq, Seq(1001), 0);
    assert_eq!(s.counters().tcp_syn_cookies_sent, 0);
    (s, l)
}

fn syn(port: u16, seq: Seq, options: Options) -> TcpRepr {
    TcpRepr {
        src_port: port,
        dst_port: 80,
        seq,
        flags: Flags::SYN,
        window: PEER_WINDOW,
        options,
        ..TcpRepr::default()
    }
}

fn ack(port: u16, seq: Seq, ack: Seq) -> TcpRepr {
    TcpRepr {
        src_port: port,
        dst_port: 80,
        seq,
        ack,
        flags: Flags::ACK,
        window: PEER_WINDOW,
        ..TcpRepr::default()
    }
}

fn details(s: &mut Stack, h: SocketHandle) -> netstack_core::tcp::Details {
    let info = s
        .tcp()
        .sockets()
        .into_iter()
        .find(|r| r.handle == h)
        .unwrap();
    info.details.unwrap()
}

fn sockets_in(s: &mut Stack, state: TcpState) -> usize {
    s.tcp()
        .sockets()
        .iter()
        .filter(|r| r.state == state)
        .count()
}

#[test]
fn a_syn_beyond_the_syn_queue_gets_a_cookie_and_its_ack_an_established_connection() {
    let (mut s, l) = flooded();
    let before = s.tcp().sockets().len();
    // peer:40000 > us: [S] seq 5000 mss 1400
    let opts = Options {
        mss: Some(1400),
        ..Options::default()
    };
    send(&mut s, at(10), syn(40000, Seq(5000), opts), &[]);
    // us > peer:40000: [S.] seq COOKIE ack 5001 mss 1460 -- and nothing kept.
    let synack = expect_segment(&mut s);
    assert_seg(&synack, Flags::SYN | Flags::ACK, synack.seq, Seq(5001), 0);
    assert_eq!(synack.options.mss, Some(OUR_MSS));
    assert_eq!(synack.options.window_scale, None, "no timestamps: MSS only");
    assert_eq!(synack.options.timestamps, None);
    assert!(!synack.options.sack_permitted);
    assert_eq!(s.tcp().sockets().len(), before, "no state for a cookie");
    assert_eq!(s.counters().tcp_syn_cookies_sent, 1);
    // peer:40000 > us: [P.] seq 5001 ack COOKIE+1, "hello"
    let cookie = synack.seq;
    let mut hello = ack(40000, Seq(5001), cookie + 1);
    hello.flags = Flags::ACK | Flags::PSH;
    send(&mut s, at(20), hello, b"hello");
    assert_eq!(s.counters().tcp_syn_cookies_accepted, 1);
    // The connection is ESTABLISHED and ready to accept, with the data.
    let c = s.tcp().accept(l).unwrap().expect("the cookie's connection");
    assert_eq!(s.tcp().peer_addr(c).unwrap().port(), 40000);
    assert_eq!(s.tcp().state(c).unwrap(), TcpState::Established);
    let mut buf = [0; 16];
    assert_eq!(s.tcp().recv(at(20), c, &mut buf), Ok(Some(5)));
    assert_eq!(&buf[..5], b"hello");
    let d = details(&mut s, c);
    assert_eq!(d.mss, 1300, "the largest cookie MSS within the peer's 1400");
    assert_eq!((d.iss, d.irs), (cookie.0, 5000));
    // Our reply: seq COOKIE+1, ack 5006.
    s.tcp().send(at(21), c, b"hi").unwrap();
    let segs = expect_segments(&mut s);
    let last = segs.last().unwrap();
    assert_seg(last, Flags::ACK | Flags::PSH, cookie + 1, Seq(5006), 2);
}

#[test]
fn with_timestamps_the_cookie_keeps_window_scale_and_sack() {
    let (mut s, l) = flooded();
    // peer:40000 > us: [S] seq 5000 mss 1460 wscale 9 sackOK TS val 777 ecr 0
    let opts = Options {
        mss: Some(1460),
        window_scale: Some(9),
        sack_permitted: true,
        timestamps: Some((777, 0)),
        ..Options::default()
    };
    send(&mut s, at(10), syn(40000, Seq(5000), opts), &[]);
    let synack = expect_segment(&mut s);
    assert_seg(&synack, Flags::SYN | Flags::ACK, synack.seq, Seq(5001), 0);
    assert!(synack.options.window_scale.is_some());
    assert!(synack.options.sack_permitted);
    let (tsval, tsecr) = synack.options.timestamps.expect("timestamps answered");
    assert_eq!(tsecr, 777);
    // peer > us: [.] seq 5001 ack COOKIE+1 TS val 778 ecr TSVAL, window 100 (x 2^9)
    let mut last = ack(40000, Seq(5001), synack.seq + 1);
    last.window = 100;
    last.options.timestamps = Some((778, tsval));
    send(&mut s, at(20), last, &[]);
    let c = s.tcp().accept(l).unwrap().expect("the cookie's connection");
    let d = details(&mut s, c);
    assert_eq!(d.snd_wscale, Some(9), "the peer's shift, from our TSval");
    assert!(d.rcv_wscale.is_some());
    assert!(d.sack && d.timestamps);
    assert_eq!(d.mss, 1460);
    assert_eq!(d.snd_wnd, 100 << 9, "the ACK's window, scaled");
    // Our later timestamps go on from the one that carried the options.
    s.tcp().send(at(30), c, b"x").unwrap();
    let data = expect_segments(&mut s).pop().unwrap();
    let (later, echo) = data.options.timestamps.unwrap();
    assert!(
        later.wrapping_sub(tsval) < 1 << 31 && later != tsval,
        "{tsval} -> {later}"
    );
    assert_eq!(echo, 778);
}

#[test]
fn a_forged_or_stale_cookie_is_answered_with_a_reset() {
    let (mut s, l) = flooded();
    send(
        &mut s,
        at(10),
        syn(40000, Seq(5000), Options::default()),
        &[],
    );
    let cookie = expect_segment(&mut s).seq;
    // peer > us: [.] seq 5001 ack COOKIE+2^20 -- not our cookie: a reset, no connection.
    // (Off by a little, a cookie still decodes, to another MSS, as Linux's does: it is
    // knowing the cookie that proves the peer got our SYN,ACK.)
    let forged = cookie + (1 << 20);
    send(&mut s, at(20), ack(40000, Seq(5001), forged), &[]);
    let r = expect_segment(&mut s);
    assert_seg(&r, Flags::RST, forged, Seq(0), 0);
    // From another port, the same cookie is no good either.
    send(&mut s, at(20), ack(40001, Seq(5001), cookie + 1), &[]);
    assert_seg(&expect_segment(&mut s), Flags::RST, cookie + 1, Seq(0), 0);
    // Three minutes later the right one is too old.
    send(&mut s, at(180_000), ack(40000, Seq(5001), cookie + 1), &[]);
    assert_seg(&expect_segment(&mut s), Flags::RST, cookie + 1, Seq(0), 0);
    assert_eq!(s.counters().tcp_syn_cookies_accepted, 0);
    assert_eq!(s.tcp().accept(l), Ok(None));
    assert_eq!(s.counters().rx_dropped(RxDrop::TcpListenerIgnored), 3);
}

#[test]
fn a_cookie_ack_when_no_cookie_was_sent_lately_is_not_even_checked() {
    // The listener never overflowed: an ACK to it is reset at once, whatever its number
    // (Linux's tcp_synq_no_recent_overflow).
    let mut s = stack_knowing_peer();
    let l = s.tcp().listen(LISTEN, 8).unwrap();
    send(&mut s, at(0), ack(40000, Seq(5001), Seq(77)), &[]);
    assert_seg(&expect_segment(&mut s), Flags::RST, Seq(77), Seq(0), 0);
    assert_eq!(s.tcp().accept(l), Ok(None));
}

#[test]
fn a_full_accept_queue_drops_the_cookie_ack_and_the_peers_data_completes_it_later() {
    let (mut s, _) = flooded();
    // A second listener would be clearer, but one with a backlog of 1 shows it: close the
    // first and listen again on 81 with the same full SYN queue rule.
    let l = s
        .tcp()
        .listen(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 81), 1)
        .unwrap();
    let to81 = |mut r: TcpRepr| {
        r.dst_port = 81;
        r
    };
    // peer:39999 > us:81: [S] seq 1000 -- the SYN queue's one place.
    send(
        &mut s,
        at(0),
        to81(syn(39999, Seq(1000), Options::default())),
        &[],
    );
    let first = expect_segment(&mut s).seq;
    // peer:40000 > us:81: [S] seq 5000 -- answered with a cookie.
    send(
        &mut s,
        at(1),
        to81(syn(40000, Seq(5000), Options::default())),
        &[],
    );
    let cookie = expect_segment(&mut s).seq;
    assert_eq!(s.counters().tcp_syn_cookies_sent, 1);
    // peer:39999 > us:81: [.] ack FIRST+1 -- the accept queue of one is now full.
    send(&mut s, at(2), to81(ack(39999, Seq(1001), first + 1)), &[]);
    // peer:40000 > us:81: [.] ack COOKIE+1 -- no room: dropped, no reset, no state.
    send(&mut s, at(3), to81(ack(40000, Seq(5001), cookie + 1)), &[]);
    expect_nothing(&mut s);
    assert_eq!(s.counters().tcp_accept_queue_overflows, 1);
    assert_eq!(s.counters().tcp_syn_cookies_accepted, 0);
    // The application accepts 39999; the peer, ESTABLISHED, sends its request.
    let a = s.tcp().accept(l).unwrap().unwrap();
    assert_eq!(s.tcp().peer_addr(a).unwrap().port(), 39999);
    let mut req = to81(ack(40000, Seq(5001), cookie + 1));
    req.flags = Flags::ACK | Flags::PSH;
    send(&mut s, at(4), req, b"GET /");
    assert_eq!(s.counters().tcp_syn_cookies_accepted, 1);
    let b = s.tcp().accept(l).unwrap().expect("completed by the data");
    assert_eq!(s.tcp().peer_addr(b).unwrap().port(), 40000);
    let mut buf = [0; 8];
    assert_eq!(s.tcp().recv(at(4), b, &mut buf), Ok(Some(5)));
    assert_eq!(sockets_in(&mut s, TcpState::Established), 2);
    // The half-open connection of `flooded` on port 80 is still there, untouched.
    assert_eq!(sockets_in(&mut s, TcpState::SynReceived), 1);
}
