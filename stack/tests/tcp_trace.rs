//! TCP against a scripted peer, segment by segment: opening (passive, active,
//! simultaneous), closed ports, listener bounds, sequence acceptability and trimming
//! (RFC 9293 3.10.7.4, also across the 2^32 wrap) and RFC 5961's defences.
//!
//! Closing is in `tcp_trace_close.rs`; data transfer, timers and windows in
//! `tcp_trace_data.rs`.

mod util;

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::TcpRepr;
use netstack_core::{RxDrop, TcpError, TcpState};
use util::tcp::*;
use util::*;

fn any_port(port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)
}

/// The peer's SYN from `port` to our `dst` port.
fn syn_from(port: u16, dst: u16, seq: Seq) -> TcpRepr {
    TcpRepr {
        src_port: port,
        dst_port: dst,
        seq,
        flags: Flags::SYN,
        window: PEER_WINDOW,
        options: Options {
            mss: Some(1460),
            ..Options::default()
        },
        ..TcpRepr::default()
    }
}

// ---------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------

#[test]
fn passive_open_listen_syn_received_established_accept() {
    let mut s = stack_knowing_peer();
    let l = s.tcp().listen(any_port(80), 4).unwrap();
    assert_eq!(s.tcp().state(l), Ok(TcpState::Listen));
    assert_eq!(s.tcp().accept(l), Ok(None));

    // peer > us: [S] seq 1000, win 65535, mss 1460
    send(&mut s, at(1), syn_from(PEER_PORT, 80, Seq(1000)), &[]);
    // us > peer: [S.] seq ISS, ack 1001, win 65535, mss 1460
    let synack = expect_segment(&mut s);
    assert_seg(&synack, Flags::SYN | Flags::ACK, synack.seq, Seq(1001), 0);
    assert_eq!((synack.src_port, synack.dst_port), (80, PEER_PORT));
    assert_eq!(synack.options.mss, Some(OUR_MSS), "RFC 9293 3.7.1");
    assert_eq!(synack.window, 65535);
    let iss = synack.seq;
    let rows = s.tcp().sockets();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].state, TcpState::SynReceived);
    assert_eq!(
        s.tcp().accept(l),
        Ok(None),
        "not before the handshake completes"
    );

    // peer > us: [.] seq 1001, ack ISS+1
    let ack = TcpRepr {
        src_port: PEER_PORT,
        dst_port: 80,
        seq: Seq(1001),
        ack: iss + 1,
        flags: Flags::ACK,
        window: PEER_WINDOW,
        ..TcpRepr::default()
    };
    send(&mut s, at(2), ack, &[]);
    expect_nothing(&mut s);
    let h = s
        .tcp()
        .accept(l)
        .unwrap()
        .expect("an established connection");
    assert_eq!(s.tcp().state(h), Ok(TcpState::Established));
    assert_eq!(
        s.tcp().peer_addr(h),
        Ok(SocketAddrV4::new(PEER_IP, PEER_PORT))
    );
    assert_eq!(s.tcp().local_addr(h), Ok(SocketAddrV4::new(US_IP, 80)));
    assert_eq!(s.tcp().accept(l), Ok(None));
    let details = s.tcp().sockets()[1].details.unwrap();
    assert_eq!(details.mss, 1460);
    assert_eq!(details.snd_wnd, 65535);
}

#[test]
fn active_open_syn_sent_established() {
    let mut s = stack_knowing_peer();
    let h = s
        .tcp()
        .connect(at(0), SocketAddrV4::new(PEER_IP, 80))
        .unwrap();
    assert_eq!(s.tcp().state(h), Ok(TcpState::SynSent));
    // us > peer: [S] seq ISS, win 65535, mss 1460
    let syn = expect_segment(&mut s);
    assert_seg(&syn, Flags::SYN, syn.seq, Seq(0), 0);
    assert_eq!(syn.options.mss, Some(OUR_MSS));
    assert_eq!(syn.dst_port, 80);
    assert!(syn.src_port >= 49152, "an ephemeral port");
    assert_eq!(
        s.tcp().send(at(0), h, b"early"),
        Ok(0),
        "nothing queued yet"
    );

    // peer > us: [S.] seq 1000, ack ISS+1, mss 536
    let synack = TcpRepr {
        src_port: 80,
        dst_port: syn.src_port,
        seq: Seq(1000),
        ack: syn.seq + 1,
        flags: Flags::SYN | Flags::ACK,
        window: 8192,
        options: Options {
            mss: Some(536),
            ..Options::default()
        },
        ..TcpRepr::default()
    };
    send(&mut s, at(5), synack, &[]);
    // us > peer: [.] seq ISS+1, ack 1001
    let ack = expect_segment(&mut s);
    assert_seg(&ack, Flags::ACK, syn.seq + 1, Seq(1001), 0);
    assert_eq!(s.tcp().state(h), Ok(TcpState::Established));
    let details = s.tcp().sockets()[0].details.unwrap();
    assert_eq!(
        (details.mss, details.snd_wnd),
        (536, 8192),
        "the peer's MSS"
    );
    assert_eq!(
        details.srtt_us,
        Some(5000),
        "the handshake is an RTT sample"
    );
}

#[test]
fn active_open_refused_by_rst_ack() {
    let mut c = syn_sent();
    // peer > us: [R.] seq 0, ack ISS+1
    let rst = TcpRepr {
        seq: Seq(0),
        flags: Flags::RST | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(1), rst, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(
        c.s.tcp().take_error(c.h),
        Ok(Some(TcpError::ConnectionRefused))
    );
}

#[test]
fn syn_sent_ignores_rst_without_ack_and_resets_a_bad_ack() {
    let mut c = syn_sent();
    // peer > us: [R] seq 1000 (RFC 5961 3.2 / RFC 9293 3.10.7.3: not believed)
    let rst = TcpRepr {
        seq: c.irs,
        flags: Flags::RST,
        ..c.tmpl()
    };
    c.send(c.at(1), rst, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::SynSent);
    // peer > us: [S.] seq 1000, ack ISS+100 (acknowledges nothing we sent)
    let bad = TcpRepr {
        seq: c.irs,
        ack: c.iss + 100,
        flags: Flags::SYN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(2), bad, &[]);
    // us > peer: [R] seq ISS+100
    let r = c.expect_one();
    assert_seg(&r, Flags::RST, c.iss + 100, Seq(0), 0);
    assert_eq!(c.state(), TcpState::SynSent);
}

#[test]
fn simultaneous_open_completed_by_the_peers_ack() {
    let mut c = syn_sent();
    // peer > us: [S] seq 1000 (its SYN crossed ours)
    let syn = TcpRepr {
        seq: c.irs,
        flags: Flags::SYN,
        options: Options {
            mss: Some(1460),
            ..Options::default()
        },
        ..c.tmpl()
    };
    c.send(c.at(1), syn, &[]);
    assert_eq!(c.state(), TcpState::SynReceived);
    // us > peer: [S.] seq ISS, ack 1001, mss 1460 (the same ISS again)
    let synack = c.expect_one();
    assert_seg(&synack, Flags::SYN | Flags::ACK, c.iss, c.irs + 1, 0);
    assert_eq!(synack.options.mss, Some(OUR_MSS));
    // peer > us: [.] seq 1001, ack ISS+1
    c.send(c.at(2), c.tmpl(), &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Established);
    c.write(c.at(3), b"hi");
    let data = c.expect_one();
    assert_seg(&data, Flags::ACK | Flags::PSH, c.iss + 1, c.irs + 1, 2);
}

#[test]
fn simultaneous_open_completed_by_the_peers_syn_ack() {
    // RFC 9293 3.5, figure 8: both sides send SYN, then SYN,ACK; each SYN,ACK completes
    // the other side's handshake. (Trading SYN,ACKs for ever would be the bug.)
    let mut c = syn_sent();
    let syn = TcpRepr {
        seq: c.irs,
        flags: Flags::SYN,
        ..c.tmpl()
    };
    // peer > us: [S] seq 1000
    c.send(c.at(1), syn, &[]);
    // us > peer: [S.] seq ISS, ack 1001
    let synack = c.expect_one();
    assert_seg(&synack, Flags::SYN | Flags::ACK, c.iss, c.irs + 1, 0);
    // peer > us: [S.] seq 1000, ack ISS+1
    let peer_synack = TcpRepr {
        seq: c.irs,
        flags: Flags::SYN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(2), peer_synack, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn syn_received_answers_a_retransmitted_syn_and_retransmits_its_syn_ack() {
    let mut c = syn_received();
    // peer > us: [S] seq 1000 again (our SYN-ACK was lost)
    let syn = TcpRepr {
        seq: c.irs,
        flags: Flags::SYN,
        ack: Seq(0),
        ..c.tmpl()
    };
    c.send(c.at(300), syn, &[]);
    // us > peer: [S.] seq ISS, ack 1001
    let again = c.expect_one();
    assert_seg(&again, Flags::SYN | Flags::ACK, c.iss, c.irs + 1, 0);
    assert_eq!(again.options.mss, Some(OUR_MSS));
    // RFC 6298 (2.1): our own retransmission waits for the initial RTO of 1 s.
    assert_eq!(c.next_timer(), Some(c.at(1000)));
    c.tick(c.at(1000));
    let timed = c.expect_one();
    assert_seg(&timed, Flags::SYN | Flags::ACK, c.iss, c.irs + 1, 0);
    // peer > us: [.] seq 1001, ack ISS+1
    c.send(c.at(1100), c.tmpl(), &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Established);
    assert_eq!(c.s.tcp().accept(c.listener.unwrap()), Ok(Some(c.h)));
}

#[test]
fn an_unanswered_syn_ack_gives_up_and_the_half_open_connection_goes() {
    let mut c = syn_received();
    // SYN-ACKs again at 1, 3, 7, 15, 31 and 63 s (syn_retries = 6) ...
    let mut at = 0;
    for retry in 0..6 {
        at += 1000 << retry;
        c.tick(c.at(at));
        assert_seg(
            &c.expect_one(),
            Flags::SYN | Flags::ACK,
            c.iss,
            c.irs + 1,
            0,
        );
    }
    // ... and at 127 s the half-open connection is dropped without a word.
    c.tick(c.at(127_000));
    c.expect_nothing();
    assert_eq!(c.s.tcp().sockets().len(), 1, "only the listener");
    assert_eq!(c.next_timer(), None);
    // A late ACK meets the listener: RST.
    c.send(c.at(128_000), c.tmpl(), &[]);
    assert_seg(&c.expect_one(), Flags::RST, c.iss + 1, Seq(0), 0);
}

#[test]
fn syn_received_resets_an_ack_for_something_else() {
    let mut c = syn_received();
    // peer > us: [.] seq 1001, ack ISS+5
    let bad = TcpRepr {
        ack: c.iss + 5,
        ..c.tmpl()
    };
    c.send(c.at(1), bad, &[]);
    // us > peer: [R] seq ISS+5 (RFC 9293 3.10.7.4, SYN-RECEIVED, fifth)
    let r = c.expect_one();
    assert_seg(&r, Flags::RST, c.iss + 5, Seq(0), 0);
    assert_eq!(c.state(), TcpState::SynReceived);
}

#[test]
fn rst_in_syn_received_returns_the_listener_to_listen() {
    let mut c = syn_received();
    // peer > us: [R] seq 1001
    let rst = TcpRepr {
        flags: Flags::RST,
        ..c.tmpl()
    };
    c.send(c.at(1), rst, &[]);
    c.expect_nothing();
    assert_eq!(c.s.tcp().state(c.h), Err(TcpError::InvalidHandle), "freed");
    assert_eq!(c.s.tcp().sockets().len(), 1, "only the listener is left");
    assert_eq!(c.s.tcp().accept(c.listener.unwrap()), Ok(None));
}

// ---------------------------------------------------------------------------------------
// Closed ports (RFC 9293 3.10.7.1)
// ---------------------------------------------------------------------------------------

#[test]
fn syn_to_a_closed_port_gets_rst_ack() {
    let mut s = stack_knowing_peer();
    // peer > us: [S] seq 1000 to port 81, where nobody listens
    send(&mut s, at(1), syn_from(PEER_PORT, 81, Seq(1000)), &[]);
    // us > peer: [R.] seq 0, ack 1001, win 0
    let r = expect_segment(&mut s);
    assert_seg(&r, Flags::RST | Flags::ACK, Seq(0), Seq(1001), 0);
    assert_eq!((r.src_port, r.dst_port, r.window), (81, PEER_PORT, 0));
    assert_eq!(s.counters().tcp_resets_sent, 1);
    assert_eq!(s.counters().rx_dropped(RxDrop::TcpNoSocket), 1);
}

#[test]
fn data_and_fin_without_ack_to_a_closed_port_are_acknowledged_whole() {
    let mut s = stack_knowing_peer();
    // peer > us: [FP] seq 5000:5010 (no ACK bit)
    let seg = TcpRepr {
        src_port: PEER_PORT,
        dst_port: 81,
        seq: Seq(5000),
        flags: Flags::FIN | Flags::PSH,
        window: PEER_WINDOW,
        ..TcpRepr::default()
    };
    send(&mut s, at(1), seg, b"0123456789");
    // us > peer: [R.] seq 0, ack 5011 (SEG.SEQ + SEG.LEN: ten bytes and the FIN)
    let r = expect_segment(&mut s);
    assert_seg(&r, Flags::RST | Flags::ACK, Seq(0), Seq(5011), 0);
}

#[test]
fn ack_to_a_closed_port_gets_rst_from_its_ack_number() {
    let mut s = stack_knowing_peer();
    // peer > us: [.] seq 5000, ack 7777
    let seg = TcpRepr {
        src_port: PEER_PORT,
        dst_port: 81,
        seq: Seq(5000),
        ack: Seq(7777),
        flags: Flags::ACK,
        window: PEER_WINDOW,
        ..TcpRepr::default()
    };
    send(&mut s, at(1), seg, b"stale");
    // us > peer: [R] seq 7777 (no ACK bit)
    let r = expect_segment(&mut s);
    assert_seg(&r, Flags::RST, Seq(7777), Seq(0), 0);
    assert_eq!(r.ack, Seq(0));
}

#[test]
fn rst_to_a_closed_port_gets_nothing() {
    let mut s = stack_knowing_peer();
    for flags in [Flags::RST, Flags::RST | Flags::ACK] {
        // peer > us: [R] / [R.] seq 5000
        let seg = TcpRepr {
            src_port: PEER_PORT,
            dst_port: 81,
            seq: Seq(5000),
            ack: Seq(7777),
            flags,
            ..TcpRepr::default()
        };
        send(&mut s, at(1), seg, &[]);
        expect_nothing(&mut s);
    }
    assert_eq!(s.counters().tcp_resets_sent, 0);
}

#[test]
fn ack_to_a_listener_gets_rst_and_rst_is_ignored() {
    let mut s = stack_knowing_peer();
    s.tcp().listen(any_port(80), 4).unwrap();
    // peer > us: [.] seq 1001, ack 4242 (no connection: a stale ACK)
    let ack = TcpRepr {
        src_port: PEER_PORT,
        dst_port: 80,
        seq: Seq(1001),
        ack: Seq(4242),
        flags: Flags::ACK,
        window: PEER_WINDOW,
        ..TcpRepr::default()
    };
    send(&mut s, at(1), ack, &[]);
    // us > peer: [R] seq 4242 (RFC 9293 3.10.7.2)
    let r = expect_segment(&mut s);
    assert_seg(&r, Flags::RST, Seq(4242), Seq(0), 0);
    // peer > us: [R] seq 1001
    let rst = TcpRepr {
        flags: Flags::RST,
        ..ack
    };
    send(&mut s, at(2), rst, &[]);
    expect_nothing(&mut s);
    assert_eq!(s.tcp().sockets().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Listener bounds
// ---------------------------------------------------------------------------------------

#[test]
fn without_syn_cookies_a_full_syn_queue_evicts_the_oldest_half_open_connection() {
    let mut cfg = config();
    cfg.tcp.syn_backlog = 2;
    cfg.tcp.syn_cookies = false;
    let mut s = netstack_core::Stack::new(cfg, 1).unwrap();
    s.receive(at(0), &who_has_us());
    sent(&mut s);
    let l = s.tcp().listen(any_port(80), 8).unwrap();
    let mut iss = vec![];
    for (i, port) in [40001, 40002, 40003].into_iter().enumerate() {
        // peer:4000x > us: [S] seq 1000
        send(&mut s, at(i as u64), syn_from(port, 80, Seq(1000)), &[]);
        // us > peer:4000x: [S.] seq ISSx, ack 1001
        let synack = expect_segment(&mut s);
        assert_seg(&synack, Flags::SYN | Flags::ACK, synack.seq, Seq(1001), 0);
        iss.push(synack.seq);
    }
    // The third SYN pushed out the first half-open connection.
    assert_eq!(s.counters().tcp_syn_queue_evictions, 1);
    let half_open: Vec<u16> = s
        .tcp()
        .sockets()
        .iter()
        .filter(|r| r.state == TcpState::SynReceived)
        .map(|r| r.remote.port())
        .collect();
    assert_eq!(half_open, [40002, 40003]);
    for (i, port) in [40001, 40002, 40003].into_iter().enumerate() {
        // peer:4000x > us: [.] seq 1001, ack ISSx+1
        let ack = TcpRepr {
            src_port: port,
            dst_port: 80,
            seq: Seq(1001),
            ack: iss[i] + 1,
            flags: Flags::ACK,
            window: PEER_WINDOW,
            ..TcpRepr::default()
        };
        send(&mut s, at(10), ack, &[]);
    }
    // us > peer:40001: [R] seq ISS1+1: the listener knows nothing of it any more.
    let segs = expect_segments(&mut s);
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_seg(&segs[0], Flags::RST, iss[0] + 1, Seq(0), 0);
    assert_eq!(segs[0].dst_port, 40001);
    let a = s.tcp().accept(l).unwrap().unwrap();
    let b = s.tcp().accept(l).unwrap().unwrap();
    assert_eq!(s.tcp().peer_addr(a).unwrap().port(), 40002);
    assert_eq!(s.tcp().peer_addr(b).unwrap().port(), 40003);
    assert_eq!(s.tcp().accept(l), Ok(None));
}

#[test]
fn a_full_accept_queue_holds_the_handshake_until_accept_makes_room() {
    // Linux's default (tcp_abort_on_overflow = 0): the last ACK of a handshake that does
    // not fit is dropped, the connection stays SYN-RECEIVED, and the retransmitted SYN-ACK
    // draws the ACK again; a new SYN meanwhile is dropped too. Nobody is reset.
    let mut s = stack_knowing_peer();
    let l = s.tcp().listen(any_port(80), 1).unwrap();
    let mut iss = vec![];
    for port in [40001, 40002] {
        send(&mut s, at(0), syn_from(port, 80, Seq(1000)), &[]);
        iss.push(expect_segment(&mut s).seq);
    }
    let ack_from = |port: u16, iss: Seq| TcpRepr {
        src_port: port,
        dst_port: 80,
        seq: Seq(1001),
        ack: iss + 1,
        flags: Flags::ACK,
        window: PEER_WINDOW,
        ..TcpRepr::default()
    };
    // peer:40001 > us: [.] ack ISS1+1 -- fits the backlog of one.
    send(&mut s, at(1), ack_from(40001, iss[0]), &[]);
    // peer:40002 > us: [.] ack ISS2+1 -- dropped: the accept queue is full.
    send(&mut s, at(1), ack_from(40002, iss[1]), &[]);
    assert!(expect_segments(&mut s).is_empty(), "no reset, no answer");
    assert_eq!(s.counters().tcp_accept_queue_overflows, 1);
    // A third client's SYN is dropped while the queue is full.
    send(&mut s, at(2), syn_from(40003, 80, Seq(5000)), &[]);
    assert!(expect_segments(&mut s).is_empty());
    assert_eq!(s.counters().tcp_accept_queue_overflows, 2);
    // The application accepts the first; room again.
    let a = s.tcp().accept(l).unwrap().unwrap();
    assert_eq!(s.tcp().peer_addr(a).unwrap().port(), 40001);
    assert_eq!(s.tcp().accept(l), Ok(None));
    // Our SYN-ACK to 40002 times out after the initial RTO of 1 s and goes again ...
    s.handle_timeout(at(1000));
    let segs = expect_segments(&mut s);
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_seg(&segs[0], Flags::SYN | Flags::ACK, iss[1], Seq(1001), 0);
    assert_eq!(segs[0].dst_port, 40002);
    // ... and this time the ACK completes the handshake.
    send(&mut s, at(1001), ack_from(40002, iss[1]), &[]);
    let b = s
        .tcp()
        .accept(l)
        .unwrap()
        .expect("the second connection is accepted now");
    assert_eq!(s.tcp().peer_addr(b).unwrap().port(), 40002);
    assert_eq!(s.tcp().state(b), Ok(netstack_core::TcpState::Established));
}

// ---------------------------------------------------------------------------------------
// Sequence acceptability and trimming (RFC 9293 3.10.7.4), at small numbers and across
// the 2^32 wrap.
// ---------------------------------------------------------------------------------------

fn old_duplicate_data_is_acknowledged_not_delivered_twice(open: Open) {
    let mut c = open.passive();
    let d = bytes(0, 100);
    // peer > us: [P.] seq 1001:1101, ack ISS+1
    let seg = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(10), seg, &d);
    c.expect_nothing();
    // us > peer: [.] seq ISS+1, ack 1101 (after the delayed-ACK time)
    c.tick(c.at(50));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 101, 0);
    assert_eq!(c.read_all(c.at(60)), d);
    // peer > us: [P.] seq 1001:1101 again (it missed our ACK)
    c.send(c.at(300), seg, &d);
    // us > peer: [.] seq ISS+1, ack 1101, at once
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 101, 0);
    assert_eq!(c.read_all(c.at(310)), b"", "delivered once");
    // peer > us: [.] seq 951:1001 (entirely old)
    let older = TcpRepr {
        seq: Seq(c.irs.0.wrapping_sub(49)),
        ..c.tmpl()
    };
    c.send(c.at(320), older, &bytes(0, 50));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 101, 0);
    assert_eq!(c.read_all(c.at(330)), b"");
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn old_duplicate_data_is_acknowledged_not_delivered_twice_small() {
    old_duplicate_data_is_acknowledged_not_delivered_twice(Open::default());
}

#[test]
fn old_duplicate_data_is_acknowledged_not_delivered_twice_across_the_wrap() {
    old_duplicate_data_is_acknowledged_not_delivered_twice(Open::wrapping());
}

fn overlapping_segment_delivers_only_the_new_part(open: Open) {
    let mut c = open.passive();
    // peer > us: [.] seq 1001:1101
    c.send(c.at(10), c.tmpl(), &bytes(0, 100));
    c.expect_nothing();
    // peer > us: [P.] seq 1051:1201, half old, half new
    let seg = TcpRepr {
        seq: c.irs + 51,
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(20), seg, &bytes(50, 150));
    // us > peer: [.] ack 1201 (the second segment in a row is acknowledged at once)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 201, 0);
    assert_eq!(c.read_all(c.at(30)), bytes(0, 200));
}

#[test]
fn overlapping_segment_delivers_only_the_new_part_small() {
    overlapping_segment_delivers_only_the_new_part(Open::default());
}

#[test]
fn overlapping_segment_delivers_only_the_new_part_across_the_wrap() {
    overlapping_segment_delivers_only_the_new_part(Open::wrapping());
}

fn segments_outside_the_window_are_dropped_with_an_ack(open: Open) {
    let mut c = open.passive();
    // peer > us: [.] seq 1001+65535:+100, just past RCV.NXT + RCV.WND
    let beyond = TcpRepr {
        seq: c.irs + 1 + 65535,
        ..c.tmpl()
    };
    c.send(c.at(10), beyond, &bytes(0, 100));
    // us > peer: [.] seq ISS+1, ack 1001
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    // peer > us: [.] seq 1001+70000, far beyond
    let far = TcpRepr {
        seq: c.irs + 1 + 70_000,
        ..c.tmpl()
    };
    c.send(c.at(20), far, &bytes(0, 10));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    // peer > us: [.] seq 1001+65535, length 0 (a bare ACK at the right edge)
    c.send(c.at(30), beyond, &[]);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    // The last byte in the window is acceptable: held out of order, duplicate ACK.
    let last = TcpRepr {
        seq: c.irs + 65535,
        ..c.tmpl()
    };
    c.send(c.at(40), last, &bytes(0, 1));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.read_all(c.at(50)), b"");
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn segments_outside_the_window_are_dropped_with_an_ack_small() {
    segments_outside_the_window_are_dropped_with_an_ack(Open::default());
}

#[test]
fn segments_outside_the_window_are_dropped_with_an_ack_across_the_wrap() {
    segments_outside_the_window_are_dropped_with_an_ack(Open::wrapping());
}

fn a_transfer_both_ways(open: Open) {
    let mut c = open.passive();
    // us > peer: three segments of 60 bytes (our numbers cross 2^32 in the wrap run)
    c.s.tcp().set_nodelay(c.h, true).unwrap();
    for i in 0..3 {
        c.write(c.at(10), &bytes(60 * i, 60));
    }
    let segs = c.expect();
    assert_eq!(segs.len(), 3, "{segs:?}");
    for (i, seg) in segs.iter().enumerate() {
        assert_seg(
            seg,
            Flags::ACK | Flags::PSH,
            c.iss + 1 + 60 * i,
            c.irs + 1,
            60,
        );
        assert_eq!(seg.data, bytes(60 * i, 60));
    }
    // peer > us: [.] ack ISS+61, and 100 bytes of its own (crossing 2^32 too)
    let seg = TcpRepr {
        ack: c.iss + 61,
        ..c.tmpl()
    };
    c.send(c.at(20), seg, &bytes(0, 100));
    assert_eq!(c.read_all(c.at(20)), bytes(0, 100));
    assert_eq!(c.s.tcp().sockets()[1].send_queue, 120);
    // The rest is lost: after the RTO (200 ms from the last progress), everything
    // unacknowledged again, from SND.UNA, in one segment.
    assert_eq!(c.next_timer(), Some(c.at(60)), "the delayed ACK first");
    c.tick(c.at(219));
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 181, c.irs + 101, 0);
    c.tick(c.at(220));
    let segs = c.expect();
    assert_eq!(segs.len(), 1, "{segs:?}");
    assert_seg(
        &segs[0],
        Flags::ACK | Flags::PSH,
        c.iss + 61,
        c.irs + 101,
        120,
    );
    assert_eq!(segs[0].data, bytes(60, 120));
    // peer > us: [.] ack ISS+181: everything.
    let seg = TcpRepr {
        seq: c.irs + 101,
        ack: c.iss + 181,
        ..c.tmpl()
    };
    c.send(c.at(230), seg, &[]);
    c.expect_nothing();
    assert!(c.s.tcp().all_acked(c.h));
    // An ACK beyond SND.NXT (across the wrap as well) is a challenge, not progress.
    let seg = TcpRepr {
        seq: c.irs + 101,
        ack: c.iss + 200,
        ..c.tmpl()
    };
    c.send(c.at(240), seg, &[]);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 181, c.irs + 101, 0);
}

#[test]
fn a_transfer_both_ways_small() {
    a_transfer_both_ways(Open::default());
}

#[test]
fn a_transfer_both_ways_across_the_wrap() {
    let open = Open::wrapping();
    let c = open.clone().passive();
    assert_eq!(
        c.iss,
        Seq(u32::MAX - 19),
        "the fixture put our ISS where asked"
    );
    a_transfer_both_ways(open);
}

// ---------------------------------------------------------------------------------------
// RFC 5961
// ---------------------------------------------------------------------------------------

fn in_window_rst_off_rcv_nxt_draws_a_challenge_ack(open: Open) {
    let mut c = open.passive();
    // peer > us: [R] seq 1101 (in the window, not RCV.NXT: maybe forged)
    let rst = TcpRepr {
        seq: c.irs + 101,
        flags: Flags::RST,
        ..c.tmpl()
    };
    c.send(c.at(10), rst, &[]);
    // us > peer: [.] seq ISS+1, ack 1001 (RFC 5961 3.2)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.state(), TcpState::Established);
    assert_eq!(c.s.counters().tcp_challenge_acks, 1);
}

#[test]
fn in_window_rst_off_rcv_nxt_draws_a_challenge_ack_small() {
    in_window_rst_off_rcv_nxt_draws_a_challenge_ack(Open::default());
}

#[test]
fn in_window_rst_off_rcv_nxt_draws_a_challenge_ack_across_the_wrap() {
    in_window_rst_off_rcv_nxt_draws_a_challenge_ack(Open::wrapping());
}

fn rst_at_rcv_nxt_resets_the_connection(open: Open) {
    let mut c = open.passive();
    // peer > us: [R] seq 1001
    let rst = TcpRepr {
        flags: Flags::RST,
        ..c.tmpl()
    };
    c.send(c.at(10), rst, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::Closed);
    let mut buf = [0u8; 8];
    assert_eq!(
        c.s.tcp().recv(at_from(c.t0, 11), c.h, &mut buf),
        Err(TcpError::ConnectionReset)
    );
    assert_eq!(
        c.s.tcp().send(at_from(c.t0, 11), c.h, b"x"),
        Err(TcpError::NotConnected)
    );
}

#[test]
fn rst_at_rcv_nxt_resets_the_connection_small() {
    rst_at_rcv_nxt_resets_the_connection(Open::default());
}

#[test]
fn rst_at_rcv_nxt_resets_the_connection_across_the_wrap() {
    // RCV.NXT is 2^32 - 49 here; after 60 bytes it is 11, past the wrap.
    let mut c = Open::wrapping().passive();
    c.send(c.at(1), c.tmpl(), &bytes(0, 60));
    assert_eq!(c.read_all(c.at(2)), bytes(0, 60));
    let rst = TcpRepr {
        seq: Seq(11),
        flags: Flags::RST,
        ..c.tmpl()
    };
    c.send(c.at(10), rst, &[]);
    assert_eq!(c.state(), TcpState::Closed);
}

fn rst_outside_the_window_is_ignored(open: Open) {
    let mut c = open.passive();
    for seq in [c.irs + 1 + 65535, c.irs + 1 + 200_000, c.irs] {
        // peer > us: [R] seq (outside RCV.NXT .. RCV.NXT + RCV.WND)
        let rst = TcpRepr {
            seq,
            flags: Flags::RST,
            ..c.tmpl()
        };
        c.send(c.at(10), rst, &[]);
        c.expect_nothing();
    }
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn rst_outside_the_window_is_ignored_small() {
    rst_outside_the_window_is_ignored(Open::default());
}

#[test]
fn rst_outside_the_window_is_ignored_across_the_wrap() {
    rst_outside_the_window_is_ignored(Open::wrapping());
}

#[test]
fn syn_on_an_established_connection_draws_a_challenge_ack() {
    let mut c = established();
    for seq in [c.irs + 1 + 500, c.irs] {
        // peer > us: [S] seq (in the window, then the old ISN)
        let syn = TcpRepr {
            seq,
            flags: Flags::SYN,
            ack: Seq(0),
            ..c.tmpl()
        };
        c.send(c.at(10), syn, &[]);
        // us > peer: [.] seq ISS+1, ack 1001 (RFC 5961 4.2)
        assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
        assert_eq!(c.state(), TcpState::Established);
    }
}

#[test]
fn ack_for_data_never_sent_is_challenged_and_the_segment_dropped() {
    let mut c = established();
    // peer > us: [P.] seq 1001:1006, ack ISS+101 (we sent nothing)
    let seg = TcpRepr {
        ack: c.iss + 101,
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(10), seg, b"hello");
    // us > peer: [.] seq ISS+1, ack 1001 (RFC 5961 5.2; the data is not taken)
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.read_all(c.at(11)), b"");
    assert_eq!(c.state(), TcpState::Established);
    // The same data with a sane ACK is taken.
    let seg = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    c.send(c.at(20), seg, b"hello");
    assert_eq!(c.read_all(c.at(21)), b"hello");
}

#[test]
fn challenge_acks_are_rate_limited() {
    let mut open = Open::default();
    open.cfg.tcp.challenge_ack_limit = 3;
    let mut c = open.passive();
    let rst = TcpRepr {
        seq: c.irs + 101,
        flags: Flags::RST,
        ..c.tmpl()
    };
    // peer > us: five forged RSTs within a second: three challenge ACKs.
    for i in 0..5 {
        c.send(c.at(100 + i), rst, &[]);
    }
    let segs = c.expect();
    assert_eq!(segs.len(), 3, "{segs:?}");
    for seg in &segs {
        assert_seg(seg, Flags::ACK, c.iss + 1, c.irs + 1, 0);
    }
    // SYNs share the budget.
    let syn = TcpRepr {
        seq: c.irs + 500,
        flags: Flags::SYN,
        ..c.tmpl()
    };
    c.send(c.at(200), syn, &[]);
    c.expect_nothing();
    // A second later the budget is back.
    c.send(c.at(1100), rst, &[]);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.s.counters().tcp_challenge_acks, 4);
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn syns_outside_the_window_share_the_challenge_ack_budget() {
    // Found by the blind SYN flood (stack/tests/hostile_injection.rs): a SYN outside the
    // window was answered like any unacceptable segment, with an ACK each, so 100,000
    // forged SYNs drew 100,000 ACKs to the real peer. RFC 5961 4.2: a challenge ACK,
    // whatever the sequence number, within the rate limit of 7.
    let mut open = Open::default();
    open.cfg.tcp.challenge_ack_limit = 3;
    let mut c = open.passive();
    // peer > us: five forged SYNs far outside the window, within a second.
    for i in 0..5u32 {
        let syn = TcpRepr {
            seq: c.irs + 1 + (1 << 30) + i as usize,
            flags: Flags::SYN,
            ack: Seq(0),
            ..c.tmpl()
        };
        c.send(c.at(100 + u64::from(i)), syn, &[]);
    }
    // us > peer: three challenge ACKs, no more.
    let segs = c.expect();
    assert_eq!(segs.len(), 3, "{segs:?}");
    for seg in &segs {
        assert_seg(seg, Flags::ACK, c.iss + 1, c.irs + 1, 0);
    }
    assert_eq!(c.s.counters().tcp_challenge_acks, 3);
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn unacceptable_segments_without_data_are_answered_at_most_twice_a_second() {
    // Found by the blind ACK flood (stack/tests/hostile_injection.rs): every forged ACK
    // outside the window drew an ACK to the real peer. Linux answers those at most once
    // per 500 ms (tcp_invalid_ratelimit); data is always answered.
    let mut c = established();
    let stray = TcpRepr {
        seq: c.irs + 1 + (1 << 30),
        flags: Flags::ACK,
        ..c.tmpl()
    };
    // peer > us: [.] seq far away, three times in 100 ms: one ACK.
    for ms in [10, 50, 100] {
        c.send(c.at(ms), stray, &[]);
    }
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    // Half a second after the first: one more.
    c.send(c.at(510), stray, &[]);
    assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    c.send(c.at(600), stray, &[]);
    c.expect_nothing();
    // Old data (a retransmission we already have) is answered every time.
    let old = TcpRepr {
        seq: Seq((c.irs + 1).0.wrapping_sub(5)),
        flags: Flags::ACK | Flags::PSH,
        ..c.tmpl()
    };
    for ms in [610, 620] {
        c.send(c.at(ms), old, b"hello");
        assert_seg(&c.expect_one(), Flags::ACK, c.iss + 1, c.irs + 1, 0);
    }
}

#[test]
fn a_syn_fin_to_a_listener_is_discarded() {
    // Found by the malformed-segment flood (stack/tests/hostile_segments.rs): a SYN+FIN
    // made a half-open connection. Linux discards it in LISTEN; so do we.
    let mut s = stack_knowing_peer();
    let _l = s.tcp().listen(any_port(80), 8).unwrap();
    // peer > us: [SF] seq 1000
    let synfin = TcpRepr {
        flags: Flags::SYN | Flags::FIN,
        ..syn_from(40000, 80, Seq(1000))
    };
    send(&mut s, at(0), synfin, &[]);
    expect_nothing(&mut s);
    assert_eq!(s.tcp().sockets().len(), 1, "the listener alone");
    assert_eq!(s.counters().rx_dropped(RxDrop::TcpListenerIgnored), 1);
}
