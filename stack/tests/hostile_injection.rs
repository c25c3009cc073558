//! Blind attacks on a live connection (RFC 5961) and floods of ICMP errors quoting it
//! (RFC 5927), at volume: an off-path attacker who knows the 4-tuple but not the
//! sequence numbers. The connection survives, its data arrive unchanged, challenge ACKs
//! stay within their rate limit, and memory within its bounds.

mod hostile_util;

use hostile_util::*;
use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::{ipv4, IcmpRepr, TcpRepr};
use netstack_core::{Duration, SocketHandle, TcpState};
use std::net::SocketAddrV4;

const VOLUME: usize = 100_000;

/// A server and a client with one live echo connection, which has carried a first echo.
fn live() -> (Net, SocketHandle, SocketAddrV4) {
    let mut net = Net::new(server_config());
    let h = net.open_within(Duration::from_secs(5)).unwrap();
    net.echo_on(h, b"before", Duration::from_secs(5)).unwrap();
    let client = net.client.tcp().local_addr(h).unwrap();
    (net, h, client)
}

/// Echoes on the live connection while the flood lasts, then once more; returns how many
/// echoes went through during it.
fn echo_through_the_flood(net: &mut Net, h: SocketHandle, what: &str) -> usize {
    let mut n = 0;
    while net.flooding() {
        let msg = format!("{what} {n}: the stream must stay intact");
        if let Err(e) = net.echo_on(h, msg.as_bytes(), Duration::from_secs(10)) {
            panic!("during {what}, echo {n} failed: {e}");
        }
        n += 1;
    }
    net.echo_on(h, b"after", Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("after {what}: {e}"));
    assert_eq!(net.client.tcp().state(h), Ok(TcpState::Established));
    n
}

/// A segment from the client's address and port to the echo port, as a blind attacker
/// forges it: the right 4-tuple, random numbers.
fn forged(client: SocketAddrV4, flags: Flags, dice: &mut Dice, data: &[u8]) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: client.port(),
        dst_port: ECHO,
        seq: Seq(dice.next() as u32),
        ack: Seq(dice.next() as u32),
        flags,
        window: 65535,
        options: Options::default(),
        ..TcpRepr::default()
    };
    tcp_frame(CLIENT_MAC, *client.ip(), &repr, data)
}

/// Runs `VOLUME` frames from `make` against a live connection while the client echoes
/// on it. With `reflect` false, the server may answer only a small fraction of them (the
/// rate-limited challenge and duplicate ACKs), so it cannot be used to flood the peer.
fn attack(
    what: &str,
    seed: u64,
    reflect: bool,
    make: impl Fn(&mut Dice, SocketAddrV4) -> Vec<u8> + 'static,
) {
    println!("{what}: seed {seed:#x}");
    let (mut net, h, client) = live();
    let mut dice = Dice(seed);
    net.flood(500, (0..VOLUME).map(move |_| make(&mut dice, client)));
    let start = net.now;
    let echoes = echo_through_the_flood(&mut net, h, what);
    let secs = (net.now - start).total_millis() / 1000 + 1;
    let c = net.server.counters();
    let limit = u64::from(net.server.config().tcp.challenge_ack_limit);
    println!(
        "{what}: {VOLUME} forged segments over {secs} s of virtual time, {echoes} echoes \
         through them; segments the server sent {}, challenge ACKs {}, resets sent {}, \
         server sockets {}, peak RSS of the test process {} KiB",
        c.tcp_segments_sent,
        c.tcp_challenge_acks,
        c.tcp_resets_sent,
        net.server.socket_count(),
        peak_rss_kib()
    );
    assert!(echoes >= 10, "{echoes}");
    // RFC 5961 7: at most `limit` challenge ACKs per second.
    assert!(
        c.tcp_challenge_acks <= limit * (secs + 1),
        "{}",
        c.tcp_challenge_acks
    );
    assert_eq!(
        net.server.socket_count(),
        2,
        "the listener and the connection"
    );
    if !reflect {
        assert!(
            c.tcp_segments_sent < VOLUME as u64 / 20,
            "{}",
            c.tcp_segments_sent
        );
    }
}

#[test]
fn blind_resets_do_not_break_a_live_connection() {
    attack("blind RST", 0xb1_0001, false, |d, c| {
        forged(c, Flags::RST, d, &[])
    });
    attack("blind RST+ACK", 0xb1_0002, false, |d, c| {
        forged(c, Flags::RST | Flags::ACK, d, &[])
    });
}

#[test]
fn blind_syns_do_not_break_a_live_connection() {
    attack("blind SYN", 0xb1_0003, false, |d, c| {
        forged(c, Flags::SYN, d, &[])
    });
}

#[test]
fn blind_data_does_not_enter_a_live_connection() {
    // Data with a random sequence number and a random acknowledgment: RFC 5961 5 wants
    // the acknowledgment within [SND.UNA - MAX.SND.WND, SND.NXT] besides the sequence
    // number within the window, so a guess succeeds about once in 2^42 here. Each is
    // answered with an ACK, as Linux does: data is never rate-limited (a zero-window
    // probe must be answered), so this one reflects.
    attack("blind data", 0xb1_0004, true, |d, c| {
        forged(c, Flags::ACK | Flags::PSH, d, b"INJECTED")
    });
}

/// An ICMP error from a router on the path (the gateway's MAC, a made-up router address)
/// quoting a segment the server sent on the connection, with a guessed sequence number.
fn icmp_quoting(client: SocketAddrV4, msg: IcmpRepr, dice: &mut Dice) -> Vec<u8> {
    let quoted_tcp = TcpRepr {
        src_port: ECHO,
        dst_port: client.port(),
        seq: Seq(dice.next() as u32),
        ack: Seq(dice.next() as u32),
        flags: Flags::ACK | Flags::PSH,
        window: 512,
        ..TcpRepr::default()
    };
    let mut tcp = vec![0; quoted_tcp.header_len()];
    quoted_tcp.emit(SERVER_IP, *client.ip(), &[], &mut tcp);
    let mut quoted = vec![0; ipv4::HEADER_LEN];
    let mut qip = ip_header(SERVER_IP, ipv4::protocol::TCP, 100);
    qip.dst = *client.ip();
    qip.src = SERVER_IP;
    qip.emit(&mut quoted);
    quoted.extend_from_slice(&tcp[..8]);
    let mut body = vec![0; 8 + quoted.len()];
    msg.emit(&quoted, &mut body);
    let router = std::net::Ipv4Addr::new(10, 0, 0, 1);
    ip_frame(
        CLIENT_MAC,
        ip_header(router, ipv4::protocol::ICMP, body.len()),
        &body,
    )
}

#[test]
fn icmp_errors_quoting_a_live_connection_do_not_break_it() {
    let kinds = [
        IcmpRepr::DestUnreachable {
            code: 3,
            next_hop_mtu: 0,
        },
        IcmpRepr::DestUnreachable {
            code: 2,
            next_hop_mtu: 0,
        },
        IcmpRepr::DestUnreachable {
            code: 1,
            next_hop_mtu: 0,
        },
        IcmpRepr::DestUnreachable {
            code: 4,
            next_hop_mtu: 68,
        },
        IcmpRepr::TimeExceeded { code: 0 },
    ];
    attack(
        "ICMP errors quoting the connection",
        0x1c_0001,
        false,
        move |d, c| {
            let kind = kinds[(d.next() % kinds.len() as u64) as usize];
            icmp_quoting(c, kind, d)
        },
    );
}

#[test]
fn blind_pure_acks_do_not_break_a_live_connection() {
    attack("blind ACK", 0xb1_0005, false, |d, c| {
        forged(c, Flags::ACK, d, &[])
    });
}
