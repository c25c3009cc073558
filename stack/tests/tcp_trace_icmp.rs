//! ICMP errors about our TCP segments (RFC 1122 4.2.3.9, RFC 5927, RFC 1191): what they
//! may do to a connection, and what an off-path forger cannot.

mod util;

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::Flags;
use netstack_core::wire::{EtherType, IcmpRepr, TcpRepr};
use netstack_core::{RxDrop, TcpError, TcpState};
use util::tcp::*;
use util::*;

/// An ICMP error from the peer quoting the first 8 bytes of a TCP segment we "sent" from
/// our port `src_port` with sequence number `seq`.
fn icmp_about(msg: IcmpRepr, src_port: u16, dst_port: u16, seq: Seq) -> Vec<u8> {
    let tcp = TcpRepr {
        src_port,
        dst_port,
        seq,
        flags: Flags::ACK,
        ..TcpRepr::default()
    };
    let mut seg = vec![0u8; 20];
    tcp.emit(US_IP, PEER_IP, &[], &mut seg);
    let quoted = ipv4(US_IP, PEER_IP, 6, &seg);
    let body = icmp(msg, &quoted[..28]);
    frame(
        PEER_MAC,
        US_MAC,
        EtherType::Ipv4,
        &ipv4(PEER_IP, US_IP, 1, &body),
    )
}

const PORT_UNREACHABLE: IcmpRepr = IcmpRepr::DestUnreachable {
    code: 3,
    next_hop_mtu: 0,
};

#[test]
fn port_unreachable_in_syn_sent_refuses_the_connection() {
    let mut c = syn_sent();
    // peer > us: ICMP port 80 unreachable, quoting our SYN (seq ISS)
    c.s.receive(c.at(1), &icmp_about(PORT_UNREACHABLE, c.port, 80, c.iss));
    assert_eq!(c.state(), TcpState::Closed);
    assert_eq!(
        c.s.tcp().take_error(c.h),
        Ok(Some(TcpError::ConnectionRefused))
    );
    c.expect_nothing();
}

#[test]
fn an_error_quoting_a_sequence_number_not_in_flight_is_ignored() {
    let mut c = syn_sent();
    // A forger who does not know our ISS: the error is not believed (RFC 5927 4.1).
    c.s.receive(
        c.at(1),
        &icmp_about(PORT_UNREACHABLE, c.port, 80, c.iss + 12345),
    );
    assert_eq!(c.state(), TcpState::SynSent);
    assert_eq!(c.s.counters().rx_dropped(RxDrop::IcmpErrorUnmatched), 1);
}

#[test]
fn port_unreachable_on_an_established_connection_is_only_a_soft_error() {
    let mut c = established();
    c.write(c.at(1), b"hello");
    let sent = c.expect_one();
    // RFC 1122 4.2.3.9: in a synchronized state, do not abort on a soft error.
    c.s.receive(
        c.at(2),
        &icmp_about(PORT_UNREACHABLE, c.port, c.peer_port, sent.seq),
    );
    assert_eq!(c.state(), TcpState::Established);
}

#[test]
fn fragmentation_needed_lowers_the_mss_and_resends_smaller() {
    let mut c = established();
    c.s.tcp().set_nodelay(c.h, true).unwrap();
    let data = vec![7u8; 1460];
    c.write(c.at(1), &data);
    let big = c.expect_one();
    assert_eq!(big.data.len(), 1460);
    // A router on the way: fragmentation needed, next-hop MTU 1000 (RFC 1191).
    let frag_needed = IcmpRepr::DestUnreachable {
        code: 4,
        next_hop_mtu: 1000,
    };
    c.s.receive(
        c.at(2),
        &icmp_about(frag_needed, c.port, c.peer_port, big.seq),
    );
    // The lost segment goes again at once, cut to 1000 - 40 bytes, and the rest follows.
    let again = c.expect();
    assert!(!again.is_empty(), "nothing resent");
    assert!(again.iter().all(|s| s.data.len() <= 960), "{again:?}");
    assert_eq!(again[0].seq, big.seq);
}
