//! SO_RCVBUF and SO_SNDBUF in the stack (`SocketOptions`, `set_recv_buffer`,
//! `set_send_buffer`), as segment traces against a scripted peer: the window scale a SYN
//! offers follows the receive buffer set before connect or listen (RFC 7323 2.2), the
//! advertised window never exceeds it, a listener's sizes pass to what it accepts, and
//! a small send buffer bounds what `send` takes.

mod util;

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::SocketOptions;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::TcpRepr;
use netstack_core::{SocketHandle, Stack, TcpState};
use util::tcp::*;
use util::*;

fn buffers(recv: Option<usize>, send: Option<usize>) -> SocketOptions {
    SocketOptions {
        recv_buffer: recv,
        send_buffer: send,
        ..SocketOptions::default()
    }
}

/// The peer's options on its SYN or SYN,ACK: MSS 1460 and window scale 7, as Linux.
fn peer_options() -> Options {
    Options {
        mss: Some(1460),
        window_scale: Some(7),
        ..Options::default()
    }
}

/// `connect_with(options)` to the peer's port 80: our SYN.
fn connect(s: &mut Stack, options: SocketOptions) -> (SocketHandle, Seg) {
    let h = s
        .tcp()
        .connect_with(at(0), SocketAddrV4::new(PEER_IP, 80), options)
        .unwrap();
    (h, expect_segment(s))
}

/// Our SYN, then the peer's SYN,ACK and our ACK: ESTABLISHED.
fn established_with(options: SocketOptions) -> (Stack, SocketHandle, Seg) {
    let mut s = stack_knowing_peer();
    let (h, syn) = connect(&mut s, options);
    // peer > us: [S.] seq 1000, ack ISS+1, win 65535, mss 1460, wscale 7
    let synack = TcpRepr {
        src_port: 80,
        dst_port: syn.src_port,
        seq: Seq(1000),
        ack: syn.seq + 1,
        flags: Flags::SYN | Flags::ACK,
        window: 65535,
        options: peer_options(),
        ..TcpRepr::default()
    };
    send(&mut s, at(1), synack, &[]);
    // us > peer: [.] seq ISS+1, ack 1001
    let ack = expect_segment(&mut s);
    assert_seg(&ack, Flags::ACK, syn.seq + 1, Seq(1001), 0);
    assert_eq!(s.tcp().state(h), Ok(TcpState::Established));
    (s, h, syn)
}

/// A segment from the peer on the connection whose SYN was `syn`.
fn from_peer(syn: &Seg, seq: u32, ack: Seq, flags: Flags) -> TcpRepr {
    TcpRepr {
        src_port: 80,
        dst_port: syn.src_port,
        seq: Seq(seq),
        ack,
        flags,
        window: 502,
        ..TcpRepr::default()
    }
}

#[test]
fn the_syn_offers_the_window_scale_of_the_receive_buffer() {
    let mut s = stack_knowing_peer();
    // Nothing set: the stack's 4 MiB buffer, which takes shift 7 (as Linux offers).
    // us > peer: [S] seq ISS, win 65535, mss 1460, wscale 7
    let (_, syn) = connect(&mut s, SocketOptions::default());
    assert_eq!((syn.window, syn.options.window_scale), (65535, Some(7)));

    // SO_RCVBUF 1 MiB: 2^20 >> 5 fits 16 bits.
    // us > peer: [S] seq ISS, win 65535, mss 1460, wscale 5
    let (h, syn) = connect(&mut s, buffers(Some(1 << 20), None));
    assert_eq!((syn.window, syn.options.window_scale), (65535, Some(5)));
    assert_eq!(s.tcp().buffer_sizes(h).unwrap().0, 1 << 20);

    // SO_RCVBUF 16 KiB: no shift needed, and the SYN's window is the whole buffer.
    // us > peer: [S] seq ISS, win 16384, mss 1460, wscale 0
    let (_, syn) = connect(&mut s, buffers(Some(16_384), None));
    assert_eq!((syn.window, syn.options.window_scale), (16_384, Some(0)));

    // 65536 bytes is one more than 16 bits say: shift 1.
    let (_, syn) = connect(&mut s, buffers(Some(65_536), None));
    assert_eq!((syn.window, syn.options.window_scale), (65535, Some(1)));
}

#[test]
fn the_advertised_window_never_exceeds_the_receive_buffer() {
    let (mut s, h, syn) = established_with(buffers(Some(8192), None));
    let us = syn.seq + 1;
    // peer > us: [P.] seq 1001:4001 ack ISS+1
    let data = bytes(0, 3000);
    send(
        &mut s,
        at(10),
        from_peer(&syn, 1001, us, Flags::ACK | Flags::PSH),
        &data[..1460],
    );
    send(
        &mut s,
        at(10),
        from_peer(&syn, 2461, us, Flags::ACK | Flags::PSH),
        &data[1460..],
    );
    // us > peer: [.] ack 4001, win 5192: the 8 KiB buffer less the 3000 bytes held
    let ack = expect_segment(&mut s);
    assert_seg(&ack, Flags::ACK, us, Seq(4001), 0);
    assert_eq!(ack.window, 8192 - 3000);

    // peer > us: 6000 more bytes; only 5192 fit, the rest is outside the window.
    let more = bytes(3000, 6000);
    for (i, chunk) in more.chunks(1460).enumerate() {
        let seq = 4001 + (i * 1460) as u32;
        send(&mut s, at(20), from_peer(&syn, seq, us, Flags::ACK), chunk);
    }
    let acks = expect_segments(&mut s);
    let last = acks.last().expect("acknowledged");
    assert_eq!((last.ack, last.window), (Seq(4001 + 5192), 0), "{acks:?}");

    // The application reads it all: the window opens to the whole buffer again.
    let mut buf = vec![0; 16_384];
    assert_eq!(s.tcp().recv(at(30), h, &mut buf), Ok(Some(8192)));
    assert_eq!(buf[..8192], bytes(0, 8192)[..]);
    // us > peer: [.] ack 9193, win 8192 (a window update)
    let update = expect_segment(&mut s);
    assert_eq!((update.ack, update.window), (Seq(9193), 8192));
}

#[test]
fn a_small_send_buffer_bounds_what_send_takes() {
    let (mut s, h, syn) = established_with(buffers(None, Some(3000)));
    let us = syn.seq + 1;
    assert_eq!(s.tcp().buffer_sizes(h).unwrap().1, 3000);
    s.tcp().set_nodelay(h, true).unwrap();
    let data = bytes(0, 10_000);
    assert_eq!(
        s.tcp().send(at(10), h, &data),
        Ok(3000),
        "the buffer's worth"
    );
    assert_eq!(s.tcp().send(at(10), h, &data[3000..]), Ok(0), "full");
    assert!(!s.tcp().can_write(h));
    // us > peer: [.] seq ISS+1:ISS+1461, [P.] seq ISS+1461:ISS+2921, [P.] ...:ISS+3001
    let segs = expect_segments(&mut s);
    assert_eq!(segs.iter().map(|g| g.data.len()).sum::<usize>(), 3000);
    // peer > us: [.] ack ISS+1461: room for 1460 more.
    send(
        &mut s,
        at(20),
        from_peer(&syn, 1001, us + 1460, Flags::ACK),
        &[],
    );
    assert!(s.tcp().can_write(h));
    assert_eq!(s.tcp().send(at(20), h, &data[3000..]), Ok(1460));
}

#[test]
fn a_listeners_buffers_shape_its_synack_and_pass_to_what_it_accepts() {
    let mut s = stack_knowing_peer();
    let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80);
    let l = s
        .tcp()
        .listen_with(any, 4, buffers(Some(32_768), Some(8192)))
        .unwrap();
    assert_eq!(s.tcp().buffer_sizes(l), Ok((32_768, 8192)));
    // peer > us: [S] seq 1000, win 64240, mss 1460, wscale 7
    let syn = TcpRepr {
        src_port: PEER_PORT,
        dst_port: 80,
        seq: Seq(1000),
        flags: Flags::SYN,
        window: 64240,
        options: peer_options(),
        ..TcpRepr::default()
    };
    send(&mut s, at(1), syn, &[]);
    // us > peer: [S.] seq ISS, ack 1001, win 32768, mss 1460, wscale 0
    let synack = expect_segment(&mut s);
    assert_seg(&synack, Flags::SYN | Flags::ACK, synack.seq, Seq(1001), 0);
    assert_eq!(
        (synack.window, synack.options.window_scale),
        (32_768, Some(0))
    );
    // peer > us: [.] seq 1001, ack ISS+1
    let ack = TcpRepr {
        flags: Flags::ACK,
        seq: Seq(1001),
        ack: synack.seq + 1,
        window: 502,
        options: Options::default(),
        ..syn
    };
    send(&mut s, at(2), ack, &[]);
    let c = s.tcp().accept(l).unwrap().expect("established");
    assert_eq!(s.tcp().buffer_sizes(c), Ok((32_768, 8192)), "inherited");

    // Set on the listener later: only connections made from then on change.
    s.tcp().set_recv_buffer(l, 1 << 20).unwrap();
    assert_eq!(s.tcp().buffer_sizes(c), Ok((32_768, 8192)));
    let syn2 = TcpRepr {
        src_port: PEER_PORT + 1,
        ..syn
    };
    send(&mut s, at(3), syn2, &[]);
    let synack = expect_segment(&mut s);
    assert_eq!(synack.options.window_scale, Some(5));
}

/// ESTABLISHED with an 8 KiB receive buffer and 4000 bytes from the peer unread:
/// us > peer: [.] ack 5001, win 4192.
fn holding_4000_of_8192() -> (Stack, SocketHandle, Seg) {
    let (mut s, h, syn) = established_with(buffers(Some(8192), None));
    let us = syn.seq + 1;
    let data = bytes(0, 4000);
    for (i, chunk) in data.chunks(1460).enumerate() {
        let seq = 1001 + (i * 1460) as u32;
        send(&mut s, at(10), from_peer(&syn, seq, us, Flags::ACK), chunk);
    }
    // us > peer: [.] ack 3921, then the delayed [.] ack 5001, win 4192
    tick(&mut s, at(60));
    let acks = expect_segments(&mut s);
    assert_eq!(
        acks.last().map(|a| (a.ack, a.window)),
        Some((Seq(5001), 4192))
    );
    (s, h, syn)
}

#[test]
fn a_smaller_buffer_set_later_keeps_the_window_offered_and_applies_as_data_is_read() {
    let (mut s, h, syn) = holding_4000_of_8192();
    let us = syn.seq + 1;
    s.tcp().set_recv_buffer(h, 1000).unwrap();
    assert_eq!(s.tcp().buffer_sizes(h).unwrap().0, 1000);
    // peer > us: the 4192 bytes it was offered still fit (RFC 9293 3.8.6).
    let more = bytes(4000, 4192);
    for (i, chunk) in more.chunks(1460).enumerate() {
        let seq = 5001 + (i * 1460) as u32;
        send(&mut s, at(100), from_peer(&syn, seq, us, Flags::ACK), chunk);
    }
    tick(&mut s, at(150));
    let acks = expect_segments(&mut s);
    assert_eq!(acks.last().map(|a| (a.ack, a.window)), Some((Seq(9193), 0)));
    // The application reads everything: the window reopens to the new 1000 bytes.
    let mut buf = vec![0; 10_000];
    assert_eq!(s.tcp().recv(at(200), h, &mut buf), Ok(Some(8192)));
    assert_eq!(buf[..8192], bytes(0, 8192)[..]);
    // us > peer: [.] ack 9193, win 1000
    let update = expect_segment(&mut s);
    assert_eq!((update.ack, update.window), (Seq(9193), 1000));
}

#[test]
fn a_larger_buffer_set_later_keeps_the_scale_the_syn_offered() {
    let (mut s, h, _) = holding_4000_of_8192();
    // 1 MiB cannot be said with shift 0: the window stops at 16 bits.
    s.tcp().set_recv_buffer(h, 1 << 20).unwrap();
    let mut buf = vec![0; 4000];
    assert_eq!(s.tcp().recv(at(100), h, &mut buf), Ok(Some(4000)));
    // us > peer: [.] ack 5001, win 65535
    let update = expect_segment(&mut s);
    assert_eq!((update.ack, update.window), (Seq(5001), 65535));
}
