//! RFC 7323 (window scaling, timestamps, PAWS) and RFC 2018 SACK-permitted negotiation,
//! as segment traces against one stand-alone connection.
//!
//! We are 10.0.0.2:80 with ISS 5000; the peer is 10.0.0.1:40000 with IRS 1000.

mod util;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, State, TcpConfig};
use netstack_core::wire::tcp::{Flags, Options, TcpRepr};
use netstack_core::Instant;

use util::conn::{addrs, ms, peer, IRS, ISS};

fn ts(val: u32, ecr: u32) -> Options {
    Options {
        timestamps: Some((val, ecr)),
        ..Options::default()
    }
}

/// Everything the connection sends now, with the data.
fn sent(c: &mut Connection, now: Instant) -> Vec<(TcpRepr, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(seg) = c.poll_transmit(now) {
        let mut data = vec![0; seg.data_len];
        c.read_payload(&seg, &mut data);
        out.push((seg.repr, data));
    }
    out
}

#[track_caller]
fn one(c: &mut Connection, now: Instant) -> TcpRepr {
    let mut segs = sent(c, now);
    assert_eq!(segs.len(), 1, "expected one segment, got {segs:?}");
    segs.remove(0).0
}

/// LISTEN with `config`, then the peer's SYN with WS 7, SACK-permitted and TSval 100: our
/// SYN,ACK answers, and the handshake's ACK (TSval 101, echoing ours) completes it.
fn established_with_options(config: TcpConfig) -> (Connection, TcpRepr) {
    let (us, them) = addrs();
    let mut c = Connection::listen(config, us, them, ISS, 1460, ms(0));
    let syn_options = Options {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((100, 0)),
        ..Options::default()
    };
    let _ = c.handle_segment(
        ms(0),
        &peer(Flags::SYN, IRS, Seq(0), 64240, syn_options),
        &[],
    );
    let synack = one(&mut c, ms(0));
    let our_val = synack.options.timestamps.map_or(0, |t| t.0);
    let ack = peer(Flags::ACK, IRS + 1, ISS + 1, 502, ts(101, our_val));
    let _ = c.handle_segment(ms(1), &ack, &[]);
    assert_eq!(c.state(), State::Established);
    (c, synack)
}

#[test]
fn the_syn_offers_every_option_and_the_synack_answers_only_what_was_offered() {
    let (us, them) = addrs();
    // Our SYN: [S] mss 1460, sackOK, TS val .. ecr 0, wscale 7 (a 4 MiB buffer).
    let mut c = Connection::connect(TcpConfig::default(), us, them, ISS, 1460, ms(0));
    let syn = one(&mut c, ms(0));
    assert_eq!(syn.options.mss, Some(1460));
    assert_eq!(syn.options.window_scale, Some(7));
    assert!(syn.options.sack_permitted);
    assert_eq!(syn.options.timestamps.map(|t| t.1), Some(0));

    // A peer that offers nothing gets nothing back but our MSS.
    let mut c = Connection::listen(TcpConfig::default(), us, them, ISS, 1460, ms(0));
    let bare = Options {
        mss: Some(1460),
        ..Options::default()
    };
    let _ = c.handle_segment(ms(0), &peer(Flags::SYN, IRS, Seq(0), 65535, bare), &[]);
    let synack = one(&mut c, ms(0));
    assert_eq!(synack.options, bare, "RFC 7323 2.2, 3.2; RFC 2018 2");

    // A peer that offers everything gets everything back, TS echoing its TSval.
    let (_, synack) = established_with_options(TcpConfig::default());
    assert_eq!(synack.options.window_scale, Some(7));
    assert!(synack.options.sack_permitted);
    assert_eq!(synack.options.timestamps.map(|t| t.1), Some(100));
    assert_eq!(
        synack.window, 65535,
        "RFC 7323 2.2: a SYN's window is never scaled"
    );
}

#[test]
fn windows_are_scaled_both_ways_once_agreed() {
    let (mut c, _) = established_with_options(TcpConfig::default());
    // The peer's field 502 with its shift 7 is 64256 bytes: enough for 44 segments.
    assert_eq!(c.details().snd_wnd, 502 << 7);
    c.send(&vec![1; 100_000]).unwrap();
    let segs = sent(&mut c, ms(2));
    // cwnd (IW10, 14600 bytes) is the limit now, not the window.
    assert_eq!(segs.len(), 10);
    // RFC 9293 3.7.1: the MSS counts options too; with timestamps (12 bytes with their
    // padding) a full segment carries 1448 bytes, so header and data fit the MTU.
    assert!(segs.iter().all(|(_, data)| data.len() == 1448));
    // Our field is the free 4 MiB shifted right by 7.
    assert_eq!(segs[0].0.window, ((4 << 20) >> 7) as u16);
    // Every segment carries TSval and echoes TS.Recent (101, from the handshake's ACK).
    assert!(segs
        .iter()
        .all(|(s, _)| s.options.timestamps.map(|t| t.1) == Some(101)));
}

#[test]
fn a_buffer_of_a_gibibyte_takes_the_largest_shift() {
    let config = TcpConfig {
        recv_buffer: 1 << 30,
        ..TcpConfig::default()
    };
    let (mut c, synack) = established_with_options(config);
    assert_eq!(
        synack.options.window_scale,
        Some(14),
        "RFC 7323 2.3: at most 14"
    );
    // One byte from the peer draws an ACK whose field, shifted by 14, covers 1 GiB less
    // what we hold: 65535 is the field's limit.
    let psh = Flags::ACK | Flags::PSH;
    let _ = c.handle_segment(ms(2), &peer(psh, IRS + 1, ISS + 1, 502, ts(102, 0)), b"x");
    assert!(
        sent(&mut c, ms(2)).is_empty(),
        "one segment: the ACK is delayed"
    );
    c.handle_timeout(ms(100));
    let ack = one(&mut c, ms(100));
    assert_eq!(ack.ack, IRS + 2);
    assert_eq!(ack.window, 65535);
    assert_eq!(c.details().rcv_wnd, 65535 << 14);
}

#[test]
fn paws_drops_an_old_duplicate_and_acknowledges_it() {
    let (mut c, _) = established_with_options(TcpConfig::default());
    let psh = Flags::ACK | Flags::PSH;
    // peer > us: [P.] seq 1001:1006 "fresh", TS val 200: delivered.
    let _ = c.handle_segment(
        ms(2),
        &peer(psh, IRS + 1, ISS + 1, 502, ts(200, 0)),
        b"fresh",
    );
    // peer > us: [P.] seq 1006:1011 "stale", TS val 150 (older than TS.Recent 200): an old
    // duplicate of a previous incarnation. RFC 7323 5.3 R1: drop it, send an ACK.
    let stale = peer(psh, IRS + 6, ISS + 1, 502, ts(150, 0));
    let _ = c.handle_segment(ms(3), &stale, b"stale");
    let ack = one(&mut c, ms(3));
    assert_eq!(
        (ack.flags, ack.ack),
        (Flags::ACK, IRS + 6),
        "only 'fresh' is in"
    );
    let mut buf = [0; 16];
    assert_eq!(c.recv(&mut buf), Ok(Some(5)));
    assert_eq!(&buf[..5], b"fresh");
    // The same bytes with a current TSval are taken.
    let current = peer(psh, IRS + 6, ISS + 1, 502, ts(201, 0));
    let _ = c.handle_segment(ms(4), &current, b"later");
    assert_eq!(c.recv(&mut buf), Ok(Some(5)));
    assert_eq!(&buf[..5], b"later");
}

#[test]
fn an_echoed_timestamp_times_the_round_trip_even_for_a_retransmission() {
    let (mut c, _) = established_with_options(TcpConfig::default());
    c.send(b"abc").unwrap();
    let first = one(&mut c, ms(10));
    // Lost. The retransmission timer (RTO 1 s) resends it at 1010 ms.
    c.handle_timeout(ms(1010));
    let again = one(&mut c, ms(1010));
    assert_eq!(again.seq, first.seq);
    let echo = again.options.timestamps.unwrap().0;
    // The ACK echoes the retransmission's TSval 30 ms later: a valid 30 ms sample
    // (Karn's rule forbids timing a retransmission without timestamps). RFC 6298 (2.3):
    // SRTT = 7/8 * 1 ms (the handshake's sample) + 1/8 * 30 ms = 4.625 ms.
    assert_eq!(c.details().srtt_us, Some(1_000));
    let ack = peer(Flags::ACK, IRS + 1, ISS + 4, 502, ts(300, echo));
    let _ = c.handle_segment(ms(1040), &ack, &[]);
    assert_eq!(c.details().srtt_us, Some(4_625));
}

#[test]
fn options_can_be_turned_off() {
    let config = TcpConfig {
        window_scaling: false,
        timestamps: false,
        sack: false,
        ..TcpConfig::default()
    };
    let (mut c, synack) = established_with_options(config);
    assert_eq!(synack.options.window_scale, None);
    assert_eq!(synack.options.timestamps, None);
    assert!(!synack.options.sack_permitted);
    assert_eq!(c.details().snd_wnd, 502, "the peer's field, unscaled");
    c.send(b"x").unwrap();
    assert_eq!(one(&mut c, ms(2)).options, Options::default());
}

#[test]
fn an_application_that_sends_little_does_not_grow_cwnd() {
    let (mut c, _) = established_with_options(TcpConfig::default());
    let iw = c.details().cwnd;
    // A request/response rhythm: 100 bytes out, acknowledged, a hundred times. The
    // sender is never limited by cwnd, so cwnd stays (RFC 7661; Linux does the same).
    for round in 0..100u64 {
        c.send(&[1; 100]).unwrap();
        let seg = one(&mut c, ms(10 + round));
        let end = seg.seq + 100;
        let ack = peer(Flags::ACK, IRS + 1, end, 502, ts(200 + round as u32, 0));
        let _ = c.handle_segment(ms(10 + round), &ack, &[]);
    }
    assert_eq!(c.details().cwnd, iw);
}
