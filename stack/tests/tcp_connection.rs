//! One TCP connection on its own: no stack, no IP, no Ethernet. Each test builds a
//! `Connection` in some state, feeds it the peer's segments and the time, and checks
//! exactly what it sends, as a tcpdump trace would show it.
//!
//! Numbers: we are 10.0.0.2:80 with ISS 5000; the peer is 10.0.0.1:40000 with IRS 1000.

use std::net::SocketAddrV4;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, Endpoint, State, TcpConfig, TcpError};
use netstack_core::wire::tcp::{Flags, Options, TcpRepr};
use netstack_core::{Duration, Instant};

const ISS: Seq = Seq(5000);
const IRS: Seq = Seq(1000);
const US: u16 = 80;
const PEER: u16 = 40000;
const T0: Instant = Instant::ZERO;

fn endpoint() -> Endpoint {
    Endpoint {
        config: TcpConfig::default(),
        local: SocketAddrV4::new([10, 0, 0, 2].into(), US),
        remote: SocketAddrV4::new([10, 0, 0, 1].into(), PEER),
        iss: ISS,
        irs: IRS,
        snd_wnd: 65535,
        our_mss: 1460,
        peer_mss: Some(1460),
        peer_window_scale: None,
        peer_timestamp: None,
        peer_sack_permitted: false,
    }
}

fn ms(n: u64) -> Instant {
    T0 + Duration::from_millis(n)
}

/// A segment from the peer.
fn peer(flags: Flags, seq: Seq, ack: Seq) -> TcpRepr {
    TcpRepr {
        src_port: PEER,
        dst_port: US,
        seq,
        ack,
        flags,
        window: 65535,
        ..TcpRepr::default()
    }
}

/// Everything the connection sends now: (flags, seq, ack, data).
#[track_caller]
fn sent(c: &mut Connection, now: Instant) -> Vec<(Flags, Seq, Seq, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(seg) = c.poll_transmit(now) {
        assert_eq!((seg.repr.src_port, seg.repr.dst_port), (US, PEER), "ports");
        let mut data = vec![0; seg.data_len];
        c.read_payload(&seg, &mut data);
        out.push((seg.repr.flags, seg.repr.seq, seg.repr.ack, data));
        assert!(out.len() < 100, "a connection that never stops sending");
    }
    out
}

#[track_caller]
fn expect_one(c: &mut Connection, now: Instant, flags: Flags, seq: Seq, ack: Seq, data: &[u8]) {
    let got = sent(c, now);
    assert_eq!(got, vec![(flags, seq, ack, data.to_vec())]);
}

#[track_caller]
fn expect_nothing(c: &mut Connection, now: Instant) {
    assert_eq!(sent(c, now), vec![]);
}

#[test]
fn passive_open_data_both_ways_and_passive_close() {
    let mut c = Connection::listen(
        TcpConfig::default(),
        endpoint().local,
        endpoint().remote,
        ISS,
        1460,
        T0,
    );
    assert_eq!(c.state(), State::Listen);
    // peer > us: [S] seq 1000, mss 1460
    let syn = TcpRepr {
        options: Options {
            mss: Some(1460),
            ..Options::default()
        },
        ..peer(Flags::SYN, IRS, Seq(0))
    };
    let _ = c.handle_segment(T0, &syn, &[]);
    // us > peer: [S.] seq 5000 ack 1001
    expect_one(&mut c, T0, Flags::SYN | Flags::ACK, ISS, IRS + 1, b"");
    assert_eq!(c.state(), State::SynReceived);
    // peer > us: [.] ack 5001
    let arrival = c.handle_segment(ms(1), &peer(Flags::ACK, IRS + 1, ISS + 1), &[]);
    assert!(arrival.established);
    assert_eq!(c.state(), State::Established);
    expect_nothing(&mut c, ms(1));

    // peer > us: [P.] seq 1001:1006 "hello"; one segment is acknowledged after the
    // delayed-ACK time (40 ms), not at once.
    let psh = Flags::ACK | Flags::PSH;
    let _ = c.handle_segment(ms(2), &peer(psh, IRS + 1, ISS + 1), b"hello");
    expect_nothing(&mut c, ms(2));
    assert_eq!(c.poll_timeout(), Some(ms(42)));
    c.handle_timeout(ms(42));
    expect_one(&mut c, ms(42), Flags::ACK, ISS + 1, IRS + 6, b"");
    let mut buf = [0; 8];
    assert_eq!(c.recv(&mut buf), Ok(Some(5)));
    assert_eq!(&buf[..5], b"hello");

    // us > peer: [P.] seq 5001:5004 "hey"
    assert_eq!(c.send(b"hey"), Ok(3));
    expect_one(&mut c, ms(50), psh, ISS + 1, IRS + 6, b"hey");
    let _ = c.handle_segment(ms(51), &peer(Flags::ACK, IRS + 6, ISS + 4), &[]);
    assert!(c.all_acked());

    // peer > us: [F.] seq 1006: CLOSE-WAIT, acknowledged at once; then end of stream.
    let _ = c.handle_segment(
        ms(60),
        &peer(Flags::FIN | Flags::ACK, IRS + 6, ISS + 4),
        &[],
    );
    expect_one(&mut c, ms(60), Flags::ACK, ISS + 4, IRS + 7, b"");
    assert_eq!(c.state(), State::CloseWait);
    assert_eq!(c.recv(&mut buf), Ok(Some(0)));
    // Our close: [F.] seq 5004, LAST-ACK; its ACK ends the connection.
    c.shutdown();
    expect_one(
        &mut c,
        ms(61),
        Flags::FIN | Flags::ACK,
        ISS + 4,
        IRS + 7,
        b"",
    );
    assert_eq!(c.state(), State::LastAck);
    let _ = c.handle_segment(ms(62), &peer(Flags::ACK, IRS + 7, ISS + 5), &[]);
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn active_open_is_acknowledged_and_refused_open_fails() {
    let ep = endpoint();
    let mut c = Connection::connect(ep.config.clone(), ep.local, ep.remote, ISS, 1460, T0);
    // us > peer: [S] seq 5000
    expect_one(&mut c, T0, Flags::SYN, ISS, Seq(0), b"");
    assert_eq!(c.poll_timeout(), Some(ms(1000)), "RFC 6298 (2.1): RTO 1 s");
    // peer > us: [S.] seq 1000 ack 5001; us > peer: [.] ack 1001
    let _ = c.handle_segment(ms(10), &peer(Flags::SYN | Flags::ACK, IRS, ISS + 1), &[]);
    expect_one(&mut c, ms(10), Flags::ACK, ISS + 1, IRS + 1, b"");
    assert_eq!(c.state(), State::Established);

    // A second connection is refused: [R.] ack 5001 in SYN-SENT.
    let mut c = Connection::connect(ep.config.clone(), ep.local, ep.remote, ISS, 1460, T0);
    let _ = sent(&mut c, T0);
    let _ = c.handle_segment(ms(1), &peer(Flags::RST | Flags::ACK, Seq(0), ISS + 1), &[]);
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.send(b"x"), Err(TcpError::ConnectionRefused));
}

#[test]
fn send_in_listen_turns_the_passive_open_active() {
    let ep = endpoint();
    let mut c = Connection::listen(ep.config.clone(), ep.local, ep.remote, ISS, 1460, T0);
    expect_nothing(&mut c, T0);
    // RFC 9293 3.10.2, SEND in LISTEN with the foreign socket specified: "change the
    // connection from passive to active ... Send a SYN segment ... Enter SYN-SENT";
    // the data waits for ESTABLISHED (none is taken before it, as in SYN-SENT).
    assert_eq!(c.send(b"hello"), Ok(0));
    assert_eq!(c.state(), State::SynSent);
    // us > peer: [S] seq 5000
    expect_one(&mut c, ms(1), Flags::SYN, ISS, Seq(0), b"");
    // peer > us: [S.] seq 1000 ack 5001; us > peer: [.] ack 1001
    let _ = c.handle_segment(ms(10), &peer(Flags::SYN | Flags::ACK, IRS, ISS + 1), &[]);
    expect_one(&mut c, ms(10), Flags::ACK, ISS + 1, IRS + 1, b"");
    assert_eq!(c.state(), State::Established);
    assert_eq!(c.send(b"hello"), Ok(5));
}

#[test]
fn a_reset_in_passive_syn_received_returns_to_listen() {
    let ep = endpoint();
    let mut c = Connection::listen(ep.config.clone(), ep.local, ep.remote, ISS, 1460, T0);
    // peer > us: [S] seq 1000; us > peer: [S.] seq 5000 ack 1001
    let _ = c.handle_segment(T0, &peer(Flags::SYN, IRS, Seq(0)), &[]);
    expect_one(&mut c, T0, Flags::SYN | Flags::ACK, ISS, IRS + 1, b"");
    // peer > us: [R] seq 1001. RFC 9293 3.10.7.4, second: a passive open "return[s]
    // this connection to LISTEN state"; nothing is sent, no error, no timer.
    let _ = c.handle_segment(ms(1), &peer(Flags::RST, IRS + 1, Seq(0)), &[]);
    assert_eq!(c.state(), State::Listen);
    expect_nothing(&mut c, ms(1));
    assert_eq!(c.poll_timeout(), None);
    assert_eq!(c.take_error(), None);
    // The peer's next SYN, with a new ISN, starts afresh: [S.] ack 7001.
    let _ = c.handle_segment(ms(2), &peer(Flags::SYN, Seq(7000), Seq(0)), &[]);
    assert_eq!(c.state(), State::SynReceived);
    expect_one(&mut c, ms(2), Flags::SYN | Flags::ACK, ISS, Seq(7001), b"");
    let _ = c.handle_segment(ms(3), &peer(Flags::ACK, Seq(7001), ISS + 1), &[]);
    assert_eq!(c.state(), State::Established);
}

#[test]
fn every_state_can_be_built_and_behaves_as_that_state() {
    let ep = endpoint();
    let psh = Flags::ACK | Flags::PSH;
    let fin = Flags::FIN | Flags::ACK;
    for state in [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ] {
        let mut c = Connection::in_state(T0, state, &ep);
        assert_eq!(c.state(), state, "built in {state}");
        match state {
            State::Closed => {
                let _ = c.handle_segment(T0, &peer(Flags::ACK, IRS + 1, ISS + 1), &[]);
                expect_nothing(&mut c, T0);
            }
            State::Listen => {
                // An ACK to a listener: [R] seq 5001.
                let _ = c.handle_segment(T0, &peer(Flags::ACK, IRS + 1, ISS + 1), &[]);
                expect_one(&mut c, T0, Flags::RST, ISS + 1, Seq(0), b"");
            }
            State::SynSent => expect_one(&mut c, T0, Flags::SYN, ISS, Seq(0), b""),
            State::SynReceived => {
                expect_one(&mut c, T0, Flags::SYN | Flags::ACK, ISS, IRS + 1, b"");
            }
            State::Established => {
                assert_eq!(c.send(b"data"), Ok(4));
                expect_one(&mut c, T0, psh, ISS + 1, IRS + 1, b"data");
            }
            State::FinWait1 => {
                // Our FIN (5001) is acknowledged: FIN-WAIT-2.
                let _ = c.handle_segment(T0, &peer(Flags::ACK, IRS + 1, ISS + 2), &[]);
                assert_eq!(c.state(), State::FinWait2);
            }
            State::FinWait2 => {
                // The peer's FIN: TIME-WAIT, acknowledged.
                let _ = c.handle_segment(T0, &peer(fin, IRS + 1, ISS + 2), &[]);
                expect_one(&mut c, T0, Flags::ACK, ISS + 2, IRS + 2, b"");
                assert_eq!(c.state(), State::TimeWait);
            }
            State::CloseWait => {
                c.shutdown();
                expect_one(&mut c, T0, fin, ISS + 1, IRS + 2, b"");
                assert_eq!(c.state(), State::LastAck);
            }
            State::Closing => {
                let _ = c.handle_segment(T0, &peer(Flags::ACK, IRS + 2, ISS + 2), &[]);
                assert_eq!(c.state(), State::TimeWait);
            }
            State::LastAck => {
                let _ = c.handle_segment(T0, &peer(Flags::ACK, IRS + 2, ISS + 2), &[]);
                assert_eq!(c.state(), State::Closed);
            }
            State::TimeWait => {
                // 2*MSL = 60 s, then CLOSED.
                assert_eq!(c.poll_timeout(), Some(ms(60_000)));
                c.handle_timeout(ms(60_000));
                assert_eq!(c.state(), State::Closed);
            }
        }
    }
}

#[test]
fn unacknowledged_data_is_retransmitted_when_the_timer_fires() {
    let mut c = Connection::in_state(T0, State::Established, &endpoint());
    c.send(&[7; 100]).unwrap();
    let first = sent(&mut c, T0);
    assert_eq!(first.len(), 1);
    // Nothing comes back: at RTO (1 s) the same bytes go again, from SND.UNA.
    let rto = c.poll_timeout().expect("the retransmission timer runs");
    assert_eq!(rto, ms(1000));
    c.handle_timeout(rto);
    assert_eq!(sent(&mut c, rto), first);
    assert_eq!(c.counters().timeouts, 1);
    // ... and the timer backs off to 2 s (RFC 6298 (5.5)).
    assert_eq!(c.poll_timeout(), Some(ms(3000)));
}

#[test]
fn an_in_window_reset_with_the_wrong_sequence_asks_for_a_challenge_ack() {
    let mut c = Connection::in_state(T0, State::Established, &endpoint());
    // RFC 5961 3.2: a RST in the window but not at RCV.NXT (1001).
    let arrival = c.handle_segment(T0, &peer(Flags::RST, IRS + 100, Seq(0)), &[]);
    assert!(arrival.challenge_ack);
    assert_eq!(c.state(), State::Established);
    expect_nothing(&mut c, T0);
    // The caller's rate limit allows it: [.] seq 5001 ack 1001.
    c.grant_challenge_ack();
    expect_one(&mut c, T0, Flags::ACK, ISS + 1, IRS + 1, b"");
    // The RST at RCV.NXT is believed.
    let _ = c.handle_segment(T0, &peer(Flags::RST, IRS + 1, Seq(0)), &[]);
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.take_error(), Some(TcpError::ConnectionReset));
}

#[test]
fn close_with_unread_data_resets_and_abort_resets() {
    let mut c = Connection::in_state(T0, State::Established, &endpoint());
    let _ = c.handle_segment(T0, &peer(Flags::ACK, IRS + 1, ISS + 1), b"unread");
    let _ = sent(&mut c, T0);
    // RFC 1122 4.2.2.13: closing with data unread resets: [R.] seq 5001 ack 1007.
    assert_eq!(c.close(), netstack_core::tcp::Close::Reset);
    expect_one(&mut c, T0, Flags::RST | Flags::ACK, ISS + 1, IRS + 7, b"");
    assert_eq!(c.state(), State::Closed);

    let mut c = Connection::in_state(T0, State::CloseWait, &endpoint());
    c.abort();
    expect_one(&mut c, T0, Flags::RST | Flags::ACK, ISS + 1, IRS + 2, b"");
}

#[test]
fn data_after_close_is_answered_with_a_reset() {
    // RFC 1122 4.2.2.13: after CLOSE, new data cannot be delivered; reset so the peer
    // learns it was lost. In FIN-WAIT-2 (our FIN acknowledged) ...
    let mut c = Connection::in_state(T0, State::Established, &endpoint());
    assert_eq!(c.close(), netstack_core::tcp::Close::Orderly);
    expect_one(&mut c, T0, Flags::FIN | Flags::ACK, ISS + 1, IRS + 1, b"");
    let _ = c.handle_segment(ms(1), &peer(Flags::ACK, IRS + 1, ISS + 2), &[]);
    assert_eq!(c.state(), State::FinWait2);
    // peer > us: [P.] seq 1001:1006 ack 5002; us > peer: [R] seq 5002
    let psh = Flags::ACK | Flags::PSH;
    let _ = c.handle_segment(ms(2), &peer(psh, IRS + 1, ISS + 2), b"late!");
    expect_one(&mut c, ms(2), Flags::RST, ISS + 2, IRS + 1, b"");
    assert_eq!(c.state(), State::Closed);

    // ... and in FIN-WAIT-1 (our FIN not yet acknowledged).
    let mut c = Connection::in_state(T0, State::Established, &endpoint());
    let _ = c.close();
    let _ = sent(&mut c, T0);
    let _ = c.handle_segment(ms(1), &peer(psh, IRS + 1, ISS + 1), b"late!");
    expect_one(&mut c, ms(1), Flags::RST, ISS + 1, IRS + 1, b"");
    assert_eq!(c.state(), State::Closed);

    // A half-close (shutdown) still reads: the data is taken and acknowledged.
    let mut c = Connection::in_state(T0, State::Established, &endpoint());
    c.shutdown();
    let _ = sent(&mut c, T0);
    let _ = c.handle_segment(ms(1), &peer(psh, IRS + 1, ISS + 1), b"fine");
    assert_eq!(c.state(), State::FinWait1);
    let mut buf = [0; 8];
    assert_eq!(c.recv(&mut buf), Ok(Some(4)));
}

#[test]
fn a_quiet_connection_gives_its_buffer_memory_back() {
    let mut c = established_for_memory();
    // Data both ways: buffers are allocated while it is in flight.
    c.send(&[5; 2920]).unwrap();
    let out = sent(&mut c, ms(1));
    assert!(!out.is_empty());
    let psh = Flags::ACK | Flags::PSH;
    let _ = c.handle_segment(ms(2), &peer(psh, IRS + 1, ISS + 2921), &[6; 2000]);
    assert!(
        sent(&mut c, ms(2)).is_empty(),
        "one segment: its ACK is delayed"
    );
    assert!(c.buffer_memory() > 0, "kept while an ACK is owed");
    let mut buf = [0; 4000];
    assert_eq!(c.recv(&mut buf), Ok(Some(2000)));
    // Everything acknowledged and read; once the delayed ACK has gone out, nothing is
    // owed or in flight: the memory is given back.
    c.handle_timeout(ms(100));
    let _ = sent(&mut c, ms(100));
    assert_eq!(c.details().send_queue + c.details().recv_queue, 0);
    assert_eq!(c.buffer_memory(), 0, "{:?}", c.details());
}

fn established_for_memory() -> Connection {
    Connection::in_state(T0, State::Established, &endpoint())
}
