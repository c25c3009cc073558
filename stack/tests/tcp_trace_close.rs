//! TCP closing against a scripted peer, segment by segment: orderly close from either
//! side, simultaneous close, half-close, abortive close, and TIME-WAIT (held by the
//! application, or the stack's buffer-less entry after `tcp_close`).

mod util;

use std::net::SocketAddrV4;

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::TcpRepr;
use netstack_core::{TcpError, TcpState};
use util::tcp::*;
use util::*;

/// TIME-WAIT lasts 2*MSL = 60 s by default.
const TWO_MSL: u64 = 60_000;

fn tuple(c: &Conn) -> (SocketAddrV4, SocketAddrV4) {
    (
        SocketAddrV4::new(US_IP, c.port),
        SocketAddrV4::new(PEER_IP, c.peer_port),
    )
}

/// From ESTABLISHED, `tcp_close` and the peer's close: the stack holds the connection as a
/// TIME-WAIT entry and the handle is gone. The peer's FIN (seq 1001) came at 3 ms.
#[track_caller]
fn orphaned_time_wait() -> Conn {
    let mut c = established();
    c.s.tcp().close(at_from(c.t0, 1), c.h).unwrap();
    // us > peer: [F.] seq ISS+1, ack 1001
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    assert_eq!(c.s.tcp().state(c.h), Err(TcpError::InvalidHandle));
    // peer > us: [.] ack ISS+2
    let ack = TcpRepr {
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(2), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.s.tcp().sockets()[1].state, TcpState::FinWait2);
    // peer > us: [F.] seq 1001, ack ISS+2
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..ack
    };
    c.send(c.at(3), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.s.tcp().time_wait(), [tuple(&c)]);
    assert_eq!(
        c.s.tcp().sockets().len(),
        1,
        "only the listener has a socket"
    );
    c
}

// ---------------------------------------------------------------------------------------
// Orderly close
// ---------------------------------------------------------------------------------------

#[test]
fn we_close_first_fin_wait_1_fin_wait_2_time_wait_closed() {
    let mut c = established();
    c.s.tcp().shutdown(at_from(c.t0, 1), c.h).unwrap();
    assert_eq!(c.state(), TcpState::FinWait1);
    // us > peer: [F.] seq ISS+1, ack 1001
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    // peer > us: [.] seq 1001, ack ISS+2
    let ack = TcpRepr {
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(2), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::FinWait2);
    // peer > us: [F.] seq 1001, ack ISS+2
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..ack
    };
    c.send(c.at(3), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::TimeWait);
    let mut buf = [0u8; 4];
    assert_eq!(
        c.s.tcp().recv(at_from(c.t0, 4), c.h, &mut buf),
        Ok(Some(0)),
        "end of stream"
    );
    // RFC 9293 3.10.7.4: TIME-WAIT lasts 2*MSL (60 s here).
    assert_eq!(c.next_timer(), Some(c.at(3 + TWO_MSL)));
    c.tick(c.at(3 + TWO_MSL - 1));
    assert_eq!(c.state(), TcpState::TimeWait);
    c.tick(c.at(3 + TWO_MSL));
    assert_eq!(c.state(), TcpState::Closed);
    c.expect_nothing();
    assert_eq!(c.next_timer(), None);
    c.s.tcp().close(at_from(c.t0, TWO_MSL + 10), c.h).unwrap();
    assert_eq!(c.s.tcp().sockets().len(), 1, "only the listener");
}

#[test]
fn after_tcp_close_time_wait_is_a_bufferless_entry_gone_after_2msl() {
    let mut c = orphaned_time_wait();
    assert_eq!(c.next_timer(), Some(c.at(3 + TWO_MSL)));
    c.tick(c.at(3 + TWO_MSL - 1));
    assert_eq!(c.s.tcp().time_wait().len(), 1);
    c.tick(c.at(3 + TWO_MSL));
    assert!(c.s.tcp().time_wait().is_empty());
    assert_eq!(c.next_timer(), None);
    // Now the 4-tuple is free: a stray ACK meets the listener, which resets it.
    let stray = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(3 + TWO_MSL + 1), stray, &[]);
    assert_seg(&c.expect_one(), Flags::RST, c.iss + 2, Seq(0), 0);
}

#[test]
fn peer_closes_first_close_wait_last_ack_closed() {
    let mut c = close_wait();
    let mut buf = [0u8; 4];
    assert_eq!(
        c.s.tcp().recv(at_from(c.t0, 2), c.h, &mut buf),
        Ok(Some(0)),
        "end of stream"
    );
    // We may still send in CLOSE-WAIT.
    c.write(c.at(3), b"last words");
    // us > peer: [P.] seq ISS+1:ISS+11, ack 1002
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 1,
        c.irs + 2,
        10,
    );
    c.s.tcp().shutdown(at_from(c.t0, 4), c.h).unwrap();
    assert_eq!(c.state(), TcpState::LastAck);
    // us > peer: [F.] seq ISS+11, ack 1002
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 11,
        c.irs + 2,
        0,
    );
    // peer > us: [.] seq 1002, ack ISS+12
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 12,
        ..c.tmpl()
    };
    c.send(c.at(5), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(
        c.next_timer(),
        None,
        "no TIME-WAIT for the side that closed last"
    );
    assert_eq!(
        c.s.tcp().send(at_from(c.t0, 6), c.h, b"x"),
        Err(TcpError::NotConnected)
    );
}

#[test]
fn last_ack_reacknowledges_a_retransmitted_fin_then_closes_on_the_ack() {
    let mut c = last_ack();
    // peer > us: [F.] seq 1001, ack ISS+1 again (it missed our ACK of its FIN)
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(10), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::LastAck);
    // peer > us: [.] seq 1002, ack ISS+2
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(20), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Closed);
}

#[test]
fn last_ack_retransmits_its_fin_and_tcp_close_frees_the_socket_when_acked() {
    let mut c = close_wait();
    c.s.tcp().close(at_from(c.t0, 2), c.h).unwrap();
    assert_eq!(c.s.tcp().state(c.h), Err(TcpError::InvalidHandle));
    // us > peer: [F.] seq ISS+1, ack 1002
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 2,
        0,
    );
    // Lost: the FIN again after the RTO (200 ms: the handshake's RTT was zero).
    c.tick(c.at(201));
    c.expect_nothing();
    c.tick(c.at(202));
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 2,
        0,
    );
    // peer > us: [.] seq 1002, ack ISS+2
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(250), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.s.tcp().sockets().len(), 1, "only the listener");
    assert!(c.s.tcp().time_wait().is_empty());
}

#[test]
fn fin_wait_1_retransmits_a_lost_fin() {
    let mut c = fin_wait_1();
    assert_eq!(c.next_timer(), Some(c.at(201)));
    c.tick(c.at(201));
    // us > peer: [F.] seq ISS+1, ack 1001 (again)
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    assert_eq!(c.state(), TcpState::FinWait1);
    // RFC 6298 (5.5): backed off to 400 ms.
    assert_eq!(c.next_timer(), Some(c.at(601)));
}

#[test]
fn fin_follows_queued_data() {
    let mut c = Open {
        peer_window: 100,
        ..Open::default()
    }
    .passive();
    // The peer's window holds 100 bytes: 150 written leave 50 queued behind it.
    c.write(c.at(2), &bytes(0, 150));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 100);
    c.s.tcp().shutdown(at_from(c.t0, 3), c.h).unwrap();
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::FinWait1);
    // peer > us: [.] ack ISS+101, win 1000
    let ack = TcpRepr {
        ack: c.iss + 101,
        window: 1000,
        ..c.tmpl()
    };
    c.send(c.at(4), ack, &[]);
    // us > peer: [FP.] seq ISS+101:ISS+151, the FIN on the last data
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::PSH | Flags::ACK,
        c.iss + 101,
        c.irs + 1,
        50,
    );
    // peer > us: [.] ack ISS+152
    let ack = TcpRepr {
        ack: c.iss + 152,
        window: 1000,
        ..c.tmpl()
    };
    c.send(c.at(5), ack, &[]);
    assert_eq!(c.state(), TcpState::FinWait2);
}

// ---------------------------------------------------------------------------------------
// Simultaneous close
// ---------------------------------------------------------------------------------------

#[test]
fn simultaneous_close_fin_wait_1_closing_time_wait() {
    let mut c = closing();
    // peer > us: [.] seq 1002, ack ISS+2 (it acknowledges our FIN)
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(3), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::TimeWait);
    assert_eq!(c.next_timer(), Some(c.at(3 + TWO_MSL)));
    c.tick(c.at(3 + TWO_MSL));
    assert_eq!(c.state(), TcpState::Closed);
}

#[test]
fn closing_retransmits_its_fin_until_acknowledged() {
    let mut c = closing();
    c.tick(c.at(201));
    // us > peer: [F.] seq ISS+1, ack 1002
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 2,
        0,
    );
    assert_eq!(c.state(), TcpState::Closing);
}

#[test]
fn fin_that_also_acknowledges_ours_goes_straight_to_time_wait() {
    let mut c = fin_wait_1();
    // peer > us: [F.] seq 1001, ack ISS+2
    let fin = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(2), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::TimeWait);
}

// ---------------------------------------------------------------------------------------
// Half-close
// ---------------------------------------------------------------------------------------

#[test]
fn after_shutdown_we_still_receive() {
    let mut c = fin_wait_2();
    assert_eq!(
        c.s.tcp().send(at_from(c.t0, 3), c.h, b"x"),
        Err(TcpError::BrokenPipe)
    );
    // peer > us: [P.] seq 1001:1301, ack ISS+2
    let data = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(10), data, &bytes(0, 300));
    assert_eq!(c.read_all(c.at(11)), bytes(0, 300));
    c.tick(c.at(50));
    // us > peer: [.] seq ISS+2, ack 1301
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 301, 0);
    // peer > us: [FP.] seq 1301:1401, ack ISS+2
    let fin = TcpRepr {
        seq: c.irs + 301,
        flags: Flags::FIN | Flags::PSH | Flags::ACK,
        ..data
    };
    c.send(c.at(60), fin, &bytes(300, 100));
    // us > peer: [.] seq ISS+2, ack 1402
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 402, 0);
    assert_eq!(c.state(), TcpState::TimeWait);
    assert_eq!(c.read_all(c.at(61)), bytes(300, 100));
    let mut buf = [0u8; 4];
    assert_eq!(
        c.s.tcp().recv(at_from(c.t0, 62), c.h, &mut buf),
        Ok(Some(0))
    );
}

#[test]
fn data_arriving_in_fin_wait_1_is_delivered() {
    let mut c = fin_wait_1();
    // peer > us: [P.] seq 1001:1011, ack ISS+1 (before it saw our FIN)
    let data = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(2), data, b"0123456789");
    assert_eq!(c.read_all(c.at(3)), b"0123456789");
    assert_eq!(c.state(), TcpState::FinWait1);
}

#[test]
fn the_peers_half_close_leaves_our_side_open() {
    let mut c = close_wait();
    // The peer closed its side; ours carries a whole transfer still.
    c.write(c.at(2), &bytes(0, 3000));
    let segs = c.expect();
    assert_eq!(segs.len(), 2, "{segs:?}");
    assert_seg(&segs[0], Flags::ACK, c.iss + 1, c.irs + 2, 1460);
    assert_seg(&segs[1], Flags::ACK, c.iss + 1461, c.irs + 2, 1460);
    // (Nagle holds the last 80 bytes until the rest is acknowledged.)
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2921,
        ..c.tmpl()
    };
    c.send(c.at(3), ack, &[]);
    assert_seg(
        &c.expect_one(),
        Flags::ACK | Flags::PSH,
        c.iss + 2921,
        c.irs + 2,
        80,
    );
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 3001,
        ..c.tmpl()
    };
    c.send(c.at(4), ack, &[]);
    assert!(c.s.tcp().all_acked(c.h));
    assert_eq!(c.state(), TcpState::CloseWait);
}

#[test]
fn a_fin_behind_a_hole_waits_for_the_data_before_it() {
    let mut c = established();
    // peer > us: [F.] seq 1101 (the 100 bytes before it are still on the way)
    let fin = TcpRepr {
        seq: c.irs + 101,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(10), fin, &[]);
    // us > peer: [.] ack 1001 (a duplicate ACK: the FIN is not in order yet)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.state(), TcpState::Established);
    // peer > us: [.] seq 1001:1101
    c.send(c.at(20), c.tmpl(), &bytes(0, 100));
    // us > peer: [.] ack 1102: the data and the FIN
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 102, 0);
    assert_eq!(c.state(), TcpState::CloseWait);
    assert_eq!(c.read_all(c.at(21)), bytes(0, 100));
}

// ---------------------------------------------------------------------------------------
// Abortive close
// ---------------------------------------------------------------------------------------

/// The peer sends `segments` full segments and its FIN at 10 ms; we ACK them. Returns
/// the bytes sent.
#[track_caller]
fn peer_sends_then_closes(c: &mut Conn, segments: usize) -> usize {
    let mss = usize::from(OUR_MSS);
    for i in 0..segments {
        let seg = TcpRepr {
            seq: c.irs + 1 + i * mss,
            ack: c.tmpl().ack,
            ..c.tmpl()
        };
        c.send(c.at(10), seg, &bytes(i * mss, mss));
    }
    let fin = TcpRepr {
        seq: c.irs + 1 + segments * mss,
        ack: c.tmpl().ack,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(10), fin, &[]);
    let acks = c.expect();
    let last = acks.last().expect("the FIN is acknowledged");
    assert_eq!(last.ack, c.irs + 2 + segments * mss);
    segments * mss
}

/// ESTABLISHED with a 64 KiB receive buffer, so unread data closes the window.
fn established_small_buffer() -> Conn {
    let mut cfg = config();
    cfg.tcp.recv_buffer = 65_535;
    Open {
        cfg,
        ..Open::default()
    }
    .passive()
}

#[test]
fn no_window_update_once_the_peers_fin_is_in() {
    // CLOSE-WAIT: the peer sent 40 segments (58400 bytes of our 65535-byte buffer) and
    // its FIN; we ACKed them (ack 59402, win 7135).
    let mut c = established_small_buffer();
    let sent = peer_sends_then_closes(&mut c, 40);
    assert_eq!(c.state(), TcpState::CloseWait);
    // The application reads everything: the window opens by 58400 bytes, but the peer
    // will send nothing more, so no window update. (Before the fix: 14 of them, one per
    // 4 KiB read, "[.] ack 59402 win 11231" ... "win 64479"; in the simulation matrix a
    // peer that had closed since answered each with a reset.)
    assert_eq!(c.read_all(c.at(20)).len(), sent);
    c.expect_nothing();

    // TIME-WAIT, the simulation's case: we closed first; the peer's data and FIN come.
    let mut c = established_small_buffer();
    let (t1, h) = (c.at(1), c.h);
    c.s.tcp().shutdown(t1, h).unwrap();
    // us > peer: [F.] seq ISS+1, ack 1001
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    c.send(
        c.at(2),
        TcpRepr {
            ack: c.iss + 2,
            ..c.tmpl()
        },
        &[],
    );
    c.expect_nothing();
    // The peer's segments now acknowledge our FIN: ack ISS+2.
    let mss = usize::from(OUR_MSS);
    for i in 0..40 {
        let seg = TcpRepr {
            seq: c.irs + 1 + i * mss,
            ack: c.iss + 2,
            ..c.tmpl()
        };
        c.send(c.at(10), seg, &bytes(i * mss, mss));
    }
    let fin = TcpRepr {
        seq: c.irs + 1 + 40 * mss,
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(10), fin, &[]);
    assert!(!c.expect().is_empty());
    assert_eq!(c.state(), TcpState::TimeWait);
    assert_eq!(c.read_all(c.at(20)).len(), 40 * mss);
    c.expect_nothing();
}

#[test]
fn close_with_unread_data_resets_the_connection() {
    let mut c = established();
    // peer > us: [P.] seq 1001:1006
    let data = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(10), data, b"hello");
    c.s.tcp().close(at_from(c.t0, 20), c.h).unwrap();
    // us > peer: [R.] seq ISS+1, ack 1006 (RFC 1122 4.2.2.13: the data was lost)
    assert_seg(
        &c.expect_one(),
        Flags::RST | Flags::ACK,
        c.iss + 1,
        c.irs + 6,
        0,
    );
    assert_eq!(c.s.tcp().state(c.h), Err(TcpError::InvalidHandle));
    assert!(c.s.tcp().time_wait().is_empty());
    assert_eq!(c.next_timer(), None);
    // The peer's next segment finds no connection.
    let more = TcpRepr {
        seq: c.irs + 6,
        ..c.tmpl()
    };
    c.send(c.at(30), more, b"more");
    assert_seg(&c.expect_one(), Flags::RST, c.iss + 1, Seq(0), 0);
}

#[test]
fn close_after_reading_everything_is_orderly() {
    let mut c = established();
    let data = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(10), data, b"hello");
    assert_eq!(c.read_all(c.at(11)), b"hello");
    c.s.tcp().close(at_from(c.t0, 20), c.h).unwrap();
    // us > peer: [F.] seq ISS+1, ack 1006
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 6,
        0,
    );
}

#[test]
fn abort_sends_rst_and_forgets_queued_data() {
    let mut c = established();
    let ack = TcpRepr {
        window: 0,
        ..c.tmpl()
    };
    c.send(c.at(1), ack, &[]);
    c.write(c.at(2), b"never sent");
    c.expect_nothing();
    c.s.tcp().abort(at_from(c.t0, 3), c.h).unwrap();
    // us > peer: [R.] seq ISS+1, ack 1001
    assert_seg(
        &c.expect_one(),
        Flags::RST | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    assert_eq!(c.s.tcp().state(c.h), Err(TcpError::InvalidHandle));
    assert_eq!(c.next_timer(), None);
}

#[test]
fn shutdown_in_syn_received_sends_fin_at_once() {
    // Simultaneous open to SYN-RECEIVED, then the application shuts down.
    let mut c = syn_sent();
    let syn = TcpRepr {
        seq: c.irs,
        flags: Flags::SYN,
        ack: Seq(0),
        ..c.tmpl()
    };
    c.send(c.at(1), syn, &[]);
    assert_seg(
        &c.expect_one(),
        Flags::SYN | Flags::ACK,
        c.iss,
        c.irs + 1,
        0,
    );
    c.s.tcp().shutdown(at_from(c.t0, 2), c.h).unwrap();
    // RFC 9293 3.10.4, CLOSE in SYN-RECEIVED: "If no SENDs have been issued and there
    // is no pending data to send, then form a FIN segment and send it, and enter
    // FIN-WAIT-1 state" (Linux's tcp_close_state too).
    // us > peer: [F.] seq ISS+1, ack 1001
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    assert_eq!(c.state(), TcpState::FinWait1);
    // peer > us: [.] seq 1001, ack ISS+1: the handshake's ACK, not yet the FIN's.
    c.send(c.at(3), c.tmpl(), &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::FinWait1);
    // peer > us: [F.] seq 1001, ack ISS+2
    let fin = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(4), fin, &[]);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::TimeWait);
}

#[test]
fn close_in_syn_sent_sends_nothing() {
    let mut c = syn_sent();
    c.s.tcp().close(at_from(c.t0, 1), c.h).unwrap();
    c.expect_nothing();
    assert!(c.s.tcp().sockets().is_empty());
    assert_eq!(c.next_timer(), None);
}

#[test]
fn an_orphan_in_fin_wait_2_gives_up_after_the_fin_wait_2_timeout() {
    let mut c = established();
    c.s.tcp().close(at_from(c.t0, 1), c.h).unwrap();
    assert_seg(
        &c.expect_one(),
        Flags::FIN | Flags::ACK,
        c.iss + 1,
        c.irs + 1,
        0,
    );
    let ack = TcpRepr {
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(2), ack, &[]);
    assert_eq!(c.s.tcp().sockets()[1].state, TcpState::FinWait2);
    // Linux's tcp_fin_timeout: 60 s.
    assert_eq!(c.next_timer(), Some(c.at(60_002)));
    c.tick(c.at(60_002));
    c.expect_nothing();
    assert_eq!(c.s.tcp().sockets().len(), 1, "only the listener");
    // The peer's late FIN is answered with a reset.
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..ack
    };
    c.send(c.at(60_010), fin, &[]);
    assert_seg(&c.expect_one(), Flags::RST, c.iss + 2, Seq(0), 0);
}

// ---------------------------------------------------------------------------------------
// TIME-WAIT
// ---------------------------------------------------------------------------------------

#[test]
fn time_wait_acknowledges_a_retransmitted_fin_and_restarts_2msl() {
    let mut c = time_wait();
    assert_eq!(c.next_timer(), Some(c.at(3 + TWO_MSL)));
    // peer > us: [F.] seq 1001, ack ISS+2 again (our ACK was lost)
    let fin = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(30_000), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    // RFC 9293 3.10.7.4: "restart the 2 MSL timeout".
    assert_eq!(c.next_timer(), Some(c.at(30_000 + TWO_MSL)));
    c.tick(c.at(3 + TWO_MSL));
    assert_eq!(c.state(), TcpState::TimeWait);
    c.tick(c.at(30_000 + TWO_MSL));
    assert_eq!(c.state(), TcpState::Closed);
}

#[test]
fn time_wait_entry_acknowledges_a_retransmitted_fin_and_restarts_2msl() {
    let mut c = orphaned_time_wait();
    let fin = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    // peer > us: [F.] seq 1001, ack ISS+2 again
    c.send(c.at(30_000), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.next_timer(), Some(c.at(30_000 + TWO_MSL)));
    c.tick(c.at(3 + TWO_MSL));
    assert_eq!(c.s.tcp().time_wait().len(), 1);
    c.tick(c.at(30_000 + TWO_MSL));
    assert!(c.s.tcp().time_wait().is_empty());
}

/// In TIME-WAIT an in-sequence bare ACK is all there is to hear and needs no answer
/// (RFC 9293 3.10.7.4 acknowledges only unacceptable segments and the FIN; Linux's
/// tcp_timewait_state_process is silent too). Answering it would have two TIME-WAITs
/// trade ACKs for as long as they live.
#[test]
fn time_wait_does_not_answer_a_bare_ack() {
    let mut c = time_wait();
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2,
        ..c.tmpl()
    };
    // peer > us: [.] seq 1002, ack ISS+2
    c.send(c.at(100), ack, &[]);
    c.expect_nothing();
    // ... while an unacceptable one still gets our ACK.
    let old = TcpRepr {
        seq: c.irs + 1,
        ..ack
    };
    c.send(c.at(110), old, b"x");
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
}

#[test]
fn time_wait_entry_does_not_answer_a_bare_ack() {
    let mut c = orphaned_time_wait();
    let ack = TcpRepr {
        seq: c.irs + 2,
        ack: c.iss + 2,
        ..c.tmpl()
    };
    // peer > us: [.] seq 1002, ack ISS+2
    c.send(c.at(100), ack, &[]);
    c.expect_nothing();
    let old = TcpRepr {
        seq: c.irs + 1,
        ..ack
    };
    c.send(c.at(110), old, b"x");
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
}

#[test]
fn a_new_syn_beyond_the_old_connection_reopens_from_time_wait() {
    let mut c = orphaned_time_wait();
    // peer > us: [S] seq 1002+100000 (RFC 6191 / RFC 1122 4.2.2.13: above RCV.NXT)
    let syn = TcpRepr {
        seq: c.irs + 100_002,
        ack: Seq(0),
        flags: Flags::SYN,
        options: Options {
            mss: Some(1460),
            ..Options::default()
        },
        ..c.tmpl()
    };
    c.send(c.at(5_000), syn, &[]);
    // us > peer: [S.] seq ISS', ack 1002+100001: the listener took it.
    let synack = c.expect_one();
    assert_seg(
        &synack,
        Flags::SYN | Flags::ACK,
        synack.seq,
        c.irs + 100_003,
        0,
    );
    assert!(
        synack.seq.gt(c.iss + 2),
        "RFC 6528's clock puts the new ISS above the old connection's"
    );
    assert!(c.s.tcp().time_wait().is_empty());
    let ack = TcpRepr {
        seq: c.irs + 100_003,
        ack: synack.seq + 1,
        ..c.tmpl()
    };
    c.send(c.at(5_001), ack, &[]);
    let h = c.s.tcp().accept(c.listener.unwrap()).unwrap().unwrap();
    assert_eq!(c.s.tcp().state(h), Ok(TcpState::Established));
}

#[test]
fn an_old_syn_does_not_reopen_from_time_wait() {
    let mut c = orphaned_time_wait();
    // peer > us: [S] seq 1000 (the old connection's SYN, duplicated in the network)
    let syn = TcpRepr {
        seq: c.irs,
        ack: Seq(0),
        flags: Flags::SYN,
        ..c.tmpl()
    };
    c.send(c.at(5_000), syn, &[]);
    // us > peer: [.] seq ISS+2, ack 1002 (TIME-WAIT stands)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.s.tcp().time_wait(), [tuple(&c)]);
    assert_eq!(c.s.tcp().sockets().len(), 1);
}

#[test]
fn rst_ends_a_time_wait_entry_only_at_rcv_nxt() {
    let mut c = orphaned_time_wait();
    // peer > us: [R] seq 1500 (not RCV.NXT)
    let rst = TcpRepr {
        seq: c.irs + 500,
        flags: Flags::RST,
        ..c.tmpl()
    };
    c.send(c.at(100), rst, &[]);
    c.expect_nothing();
    assert_eq!(c.s.tcp().time_wait().len(), 1);
}
