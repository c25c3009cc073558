//! Malformed and nonsensical TCP segments at volume, against the listener, a closed port
//! and a live connection: LAND (our own address and port as the source), SYN+FIN,
//! segments with no flags, "Xmas" segments with every flag, data offsets below the
//! header or past the segment, and options whose lengths run past the header. None may
//! panic, grow a table, or stop the echo service; each is dropped and counted, or
//! answered as RFC 9293 says.

mod hostile_util;

use std::net::Ipv4Addr;

use hostile_util::*;
use netstack_core::wire::checksum::{accumulate, finish, pseudo_header};
use netstack_core::wire::ipv4;
use netstack_core::{Duration, RxDrop, TcpState};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const URG: u8 = 0x20;

/// A TCP segment built byte by byte, so any field can be wrong; the checksum is right
/// (over whatever bytes there are) so the stack must look past it.
struct Raw {
    src: Ipv4Addr,
    src_port: u16,
    dst_port: u16,
    seq: u32,
    ack: u32,
    /// In 32-bit words, as on the wire (5 = no options).
    offset: u8,
    flags: u8,
    options: Vec<u8>,
    data: Vec<u8>,
}

impl Raw {
    fn new(src: Ipv4Addr, src_port: u16, dst_port: u16, flags: u8) -> Raw {
        Raw {
            src,
            src_port,
            dst_port,
            seq: 1000,
            ack: 0,
            offset: 5,
            flags,
            options: vec![],
            data: vec![],
        }
    }

    fn frame(&self) -> Vec<u8> {
        let mut b = vec![];
        b.extend_from_slice(&self.src_port.to_be_bytes());
        b.extend_from_slice(&self.dst_port.to_be_bytes());
        b.extend_from_slice(&self.seq.to_be_bytes());
        b.extend_from_slice(&self.ack.to_be_bytes());
        b.push(self.offset << 4);
        b.push(self.flags);
        b.extend_from_slice(&65535u16.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        b.extend_from_slice(&self.options);
        b.extend_from_slice(&self.data);
        let len = b.len() as u16;
        let sum = finish(accumulate(
            pseudo_header(self.src, SERVER_IP, ipv4::protocol::TCP, len),
            &b,
        ));
        b[16..18].copy_from_slice(&sum.to_be_bytes());
        ip_frame(
            CLIENT_MAC,
            ip_header(self.src, ipv4::protocol::TCP, b.len()),
            &b,
        )
    }
}

/// Every kind of bad segment, to port `dst_port` from `src`:`src_port`.
fn bad_segments(src: Ipv4Addr, src_port: u16, dst_port: u16, dice: &mut Dice) -> Vec<Vec<u8>> {
    let mut out = vec![];
    let seq = dice.next() as u32;
    let raw = |flags| Raw {
        seq,
        ..Raw::new(src, src_port, dst_port, flags)
    };
    // LAND: from our own address and port, to ourselves.
    out.push(Raw::new(SERVER_IP, dst_port, dst_port, SYN).frame());
    for flags in [
        SYN | FIN,
        SYN | FIN | PSH,
        0,
        FIN,
        FIN | PSH | URG,
        0xff,
        0x3f,
        SYN | RST,
    ] {
        out.push(raw(flags).frame());
    }
    // Data offsets below the fixed header and past the segment's end.
    for offset in [0, 1, 4, 6, 15] {
        out.push(Raw { offset, ..raw(SYN) }.frame());
    }
    // Options whose lengths run past the header, or are 0 or 1 (which never advance):
    // SYNs all the same, from the next port, each a half-open connection (the first) or
    // its retransmission (the rest).
    for options in [
        vec![2, 40, 5, 0xb4],
        vec![8, 255, 0, 0],
        vec![3, 0, 1, 1],
        vec![4, 1, 1, 1],
        vec![1, 1, 1, 5],
        vec![5, 34, 0, 0, 0, 0, 0, 0],
        vec![2, 4, 0, 0],   // MSS 0
        vec![3, 3, 255, 0], // window scale 255
    ] {
        let words = (options.len() / 4) as u8;
        out.push(
            Raw {
                offset: 5 + words,
                options,
                data: b"data".to_vec(),
                src_port: src_port.wrapping_add(1),
                ..raw(SYN)
            }
            .frame(),
        );
    }
    out
}

#[test]
fn malformed_segments_at_volume_change_nothing() {
    let seed = 0x5e6_0001;
    println!("seed {seed:#x}");
    let mut dice = Dice(seed);
    let mut net = Net::new(server_config());
    let live = net.open_within(Duration::from_secs(5)).unwrap();
    let client = net.client.tcp().local_addr(live).unwrap();
    let mut frames = vec![];
    for _ in 0..500 {
        // The listener, a closed port, and the live connection's own 4-tuple.
        let from = dice.neighbour();
        let port = 1024 + (dice.next() % 60000) as u16;
        frames.extend(bad_segments(from, port, ECHO, &mut dice));
        frames.extend(bad_segments(from, port, 9999, &mut dice));
        frames.extend(bad_segments(CLIENT_IP, client.port(), ECHO, &mut dice));
    }
    let total = frames.len();
    net.flood(300, frames.into_iter());
    let mut echoes = 0;
    while net.flooding() {
        net.echo_on(live, b"still the same stream", Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("echo {echoes}: {e}"));
        echoes += 1;
    }
    net.run_for(Duration::from_secs(1));
    let c = net.server.counters();
    let drops: Vec<_> = c.rx_drops().collect();
    let half_open = net.server_sockets_in(TcpState::SynReceived);
    println!(
        "{total} malformed segments: {echoes} echoes through them; server sockets at most \
         {}, SYN-RECEIVED now {}, resets sent {}, drops {drops:?}, peak RSS of the test \
         process {} KiB",
        net.peak_sockets,
        half_open,
        c.tcp_resets_sent,
        peak_rss_kib()
    );
    assert!(echoes >= 10);
    assert_eq!(net.client.tcp().state(live), Ok(TcpState::Established));
    // LAND never gets past IPv4.
    assert!(c.rx_dropped(RxDrop::Ipv4BadSource) >= 1500);
    // Bad data offsets are malformed.
    assert!(c.rx_dropped(RxDrop::TcpMalformed) >= 5 * 1500);
    // SYN+FIN makes no half-open connection (Linux discards it in LISTEN too); the SYNs
    // with broken options make one per source, whose options were ignored.
    assert_eq!(half_open, 500);
    // The socket table stayed within the listener, the connection and the SYN queue.
    assert!(net.peak_sockets <= 2 + 1024);
    net.echo_on(live, b"after", Duration::from_secs(5)).unwrap();
    net.assert_served("malformed segments");
}
