//! SO_REUSEADDR and who holds a port, as Linux's bind(2) decides (`inet_bind_conflict`):
//! a port held by a connection or a TIME-WAIT entry may be bound again only when both
//! sides set SO_REUSEADDR, and a listening port never; bind(2) before connect(2)
//! (`connect_from`) takes the bound port. Traces against a scripted peer.

mod util;

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::tcp::SocketOptions;
use netstack_core::wire::tcp::Flags;
use netstack_core::wire::TcpRepr;
use netstack_core::{Duration, TcpError};
use util::tcp::*;
use util::*;

fn any(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)
}

fn reuse(on: bool) -> SocketOptions {
    SocketOptions {
        reuse_addr: on,
        ..SocketOptions::default()
    }
}

/// A connection the stack accepted on port 80 (its listener set SO_REUSEADDR, as
/// `listen` does), closed actively and left in TIME-WAIT; the listener closed too, so
/// only the TIME-WAIT entry holds port 80.
fn port_80_in_time_wait() -> Conn {
    let mut c = time_wait();
    let (now, h, l) = (c.at(4), c.h, c.listener.unwrap());
    c.s.tcp().close(now, h).unwrap();
    c.s.tcp().close(now, l).unwrap();
    c.expect_nothing();
    assert_eq!(c.s.tcp().time_wait().len(), 1);
    assert!(c.s.tcp().sockets().is_empty());
    c
}

#[test]
fn binding_over_time_wait_takes_so_reuseaddr() {
    let mut c = port_80_in_time_wait();
    // Without SO_REUSEADDR: EADDRINUSE, at bind and at listen.
    assert_eq!(
        c.s.tcp().check_bind(any(80), false),
        Err(TcpError::AddrInUse)
    );
    assert_eq!(
        c.s.tcp().listen_with(any(80), 8, reuse(false)),
        Err(TcpError::AddrInUse)
    );
    // With it (and the old connection had it): the server gets its port back.
    assert_eq!(c.s.tcp().check_bind(any(80), true), Ok(()));
    let l = c.s.tcp().listen_with(any(80), 8, reuse(true)).unwrap();
    assert_eq!(c.s.tcp().local_addr(l), Ok(any(80)));
}

#[test]
fn time_wait_gives_the_port_back_when_it_ends() {
    let mut c = port_80_in_time_wait();
    // 2 * MSL (60 s) after the last FIN.
    c.tick(c.at(3) + Duration::from_secs(60));
    assert!(c.s.tcp().time_wait().is_empty());
    assert_eq!(c.s.tcp().check_bind(any(80), false), Ok(()));
    c.s.tcp().listen_with(any(80), 8, reuse(false)).unwrap();
}

#[test]
fn a_connection_without_so_reuseaddr_keeps_its_port_from_everyone() {
    // An active open (no SO_REUSEADDR, as connect(2) by default), closed by us first.
    let mut c = Open::default().active();
    let (now, h) = (c.at(1), c.h);
    c.s.tcp().close(now, h).unwrap();
    // us > peer: [F.] seq ISS+1, ack 1001
    let fin = c.expect_one();
    assert_seg(&fin, Flags::FIN | Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(
        c.s.tcp().check_bind(any(c.port), true),
        Err(TcpError::AddrInUse)
    );
    // peer > us: [F.] seq 1001, ack ISS+2; us > peer: [.] ack 1002: TIME-WAIT.
    let peer_fin = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(2), peer_fin, &[]);
    c.expect_one();
    assert_eq!(c.s.tcp().time_wait().len(), 1);
    assert_eq!(
        c.s.tcp().check_bind(any(c.port), true),
        Err(TcpError::AddrInUse),
        "the TIME-WAIT entry kept the connection's setting: off"
    );
}

#[test]
fn a_listening_port_is_never_shared() {
    let mut s = stack_knowing_peer();
    s.tcp().listen(any(80), 8).unwrap();
    assert_eq!(s.tcp().check_bind(any(80), true), Err(TcpError::AddrInUse));
    assert_eq!(
        s.tcp().listen_with(any(80), 8, reuse(true)),
        Err(TcpError::AddrInUse)
    );
    assert_eq!(
        s.tcp()
            .connect_from(at(0), any(80), SocketAddrV4::new(PEER_IP, 9), reuse(true)),
        Err(TcpError::AddrInUse)
    );
    // Another address than ours is not ours to bind.
    let elsewhere = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 9), 81);
    assert_eq!(
        s.tcp().check_bind(elsewhere, true),
        Err(TcpError::AddrNotAvailable)
    );
}

#[test]
fn connect_from_a_bound_port_uses_it() {
    let mut s = stack_knowing_peer();
    let to = |port| SocketAddrV4::new(PEER_IP, port);
    let h = s
        .tcp()
        .connect_from(at(0), any(5555), to(80), reuse(true))
        .unwrap();
    // us > peer: [S] 5555 > 80
    let syn = expect_segment(&mut s);
    assert_eq!((syn.src_port, syn.dst_port), (5555, 80));
    assert_eq!(s.tcp().local_addr(h).unwrap().port(), 5555);
    // The same port again: without SO_REUSEADDR it is in use; with it, only the same
    // 4-tuple is refused (EADDRNOTAVAIL, as Linux's connect).
    assert_eq!(
        s.tcp().connect_from(at(1), any(5555), to(81), reuse(false)),
        Err(TcpError::AddrInUse)
    );
    assert_eq!(
        s.tcp().connect_from(at(1), any(5555), to(80), reuse(true)),
        Err(TcpError::AddrNotAvailable)
    );
    s.tcp()
        .connect_from(at(1), any(5555), to(81), reuse(true))
        .unwrap();
    let syn = expect_segment(&mut s);
    assert_eq!((syn.src_port, syn.dst_port), (5555, 81));
}
