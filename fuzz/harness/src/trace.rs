//! A run as a reader wants it: one line per segment (tcpdump style), application call,
//! clock step and state change; and the same segments as a pcap for Wireshark.

use std::fmt::Write as _;
use std::io;
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::{Duration as StdDuration, SystemTime};

use netstack_core::wire::{ethernet, ipv4, EtherType, EthernetRepr, Ipv4Repr, MacAddr, TcpRepr};
use netstack_core::Instant;
use netstack_drivers::pcap::PcapFile;

/// The connection under test: 10.0.0.2:80 (the project's convention for "us").
pub const US: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 2), 80);
/// The fuzzed peer: 10.0.0.1:40000.
pub const PEER: (Ipv4Addr, u16) = (Ipv4Addr::new(10, 0, 0, 1), 40000);
/// Our MAC address.
pub const US_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);
/// The peer's MAC address.
pub const PEER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);

/// Who sent a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// The fuzzed peer, to the connection.
    PeerToUs,
    /// The connection, to the peer.
    UsToPeer,
}

/// One line of a trace.
#[derive(Clone, Debug)]
pub enum Line {
    /// A segment, with its data.
    Segment(Instant, Dir, TcpRepr, Vec<u8>),
    /// Anything else: an application call and its result, a clock step, a transition.
    Note(Instant, String),
    /// A whole Ethernet frame (the stack targets), and whether it went from the first
    /// stack (or the fuzzer) towards the second.
    Frame(Instant, bool, Vec<u8>),
}

/// tcpdump's line for a TCP header: `[S.] seq 1 ack 2 win 3 len 4 [mss 1460]`.
pub fn describe_tcp(r: &TcpRepr, len: usize) -> String {
    let mut s = format!("[{}] seq {}", r.flags, r.seq.0);
    if r.flags.has(netstack_core::wire::tcp::Flags::ACK) {
        let _ = write!(s, " ack {}", r.ack.0);
    }
    let _ = write!(s, " win {} len {len}", r.window);
    let o = &r.options;
    let mut opts = vec![];
    if let Some(m) = o.mss {
        opts.push(format!("mss {m}"));
    }
    if let Some(w) = o.window_scale {
        opts.push(format!("wscale {w}"));
    }
    if o.sack_permitted {
        opts.push("sackOK".to_string());
    }
    if let Some((v, e)) = o.timestamps {
        opts.push(format!("TS val {v} ecr {e}"));
    }
    for (l, r) in o.sack.iter().flatten() {
        opts.push(format!("sack {}:{}", l.0, r.0));
    }
    if !opts.is_empty() {
        let _ = write!(s, " [{}]", opts.join(","));
    }
    s
}

fn stamp(t: Instant) -> String {
    let us = t.total_micros();
    format!("{:>5}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The trace as text, one line per event.
pub fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for line in lines {
        let _ = match line {
            Line::Segment(t, dir, repr, data) => {
                let who = match dir {
                    Dir::PeerToUs => "peer > us  ",
                    Dir::UsToPeer => "us   > peer",
                };
                writeln!(
                    out,
                    "{} {who} {}",
                    stamp(*t),
                    describe_tcp(repr, data.len())
                )
            }
            Line::Note(t, text) => writeln!(out, "{}   {text}", stamp(*t)),
            Line::Frame(t, forward, frame) => {
                let arrow = if *forward { ">" } else { "<" };
                writeln!(
                    out,
                    "{} {arrow} {}",
                    stamp(*t),
                    netstack_core::wire::describe::describe(frame)
                )
            }
        };
    }
    out
}

/// An Ethernet frame carrying a TCP segment between the peer and us.
pub fn tcp_frame(dir: Dir, repr: &TcpRepr, data: &[u8]) -> Vec<u8> {
    let (src, dst, smac, dmac) = match dir {
        Dir::PeerToUs => (PEER.0, US.0, PEER_MAC, US_MAC),
        Dir::UsToPeer => (US.0, PEER.0, US_MAC, PEER_MAC),
    };
    let tcp_len = repr.header_len() + data.len();
    let ip_at = ethernet::HEADER_LEN;
    let tcp_at = ip_at + ipv4::HEADER_LEN;
    let mut f = vec![0; tcp_at + tcp_len];
    EthernetRepr {
        dst: dmac,
        src: smac,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut f);
    Ipv4Repr {
        src,
        dst,
        protocol: ipv4::protocol::TCP,
        ttl: 64,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
        payload_len: tcp_len,
    }
    .emit(&mut f[ip_at..]);
    repr.emit(src, dst, data, &mut f[tcp_at..]);
    f
}

/// Writes every segment and frame of the trace to a pcap at `path`, stamped with the
/// run's virtual clock from the Unix epoch.
pub fn write_pcap(lines: &[Line], path: &Path) -> io::Result<usize> {
    let mut pcap = PcapFile::create(path)?;
    let mut n = 0;
    for line in lines {
        let (t, frame) = match line {
            Line::Segment(t, dir, repr, data) => (*t, tcp_frame(*dir, repr, data)),
            Line::Frame(t, _, frame) => (*t, frame.clone()),
            Line::Note(..) => continue,
        };
        let at = SystemTime::UNIX_EPOCH + StdDuration::from_micros(t.total_micros());
        pcap.write_frame(&frame, at)?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstack_core::tcp::seq::Seq;
    use netstack_core::wire::tcp::Flags;

    #[test]
    fn a_segment_reads_like_tcpdump_and_frames_parse_back() {
        let repr = TcpRepr {
            src_port: PEER.1,
            dst_port: US.1,
            seq: Seq(7),
            ack: Seq(9),
            flags: Flags::ACK | Flags::PSH,
            window: 100,
            ..TcpRepr::default()
        };
        assert_eq!(describe_tcp(&repr, 3), "[P.] seq 7 ack 9 win 100 len 3");
        let f = tcp_frame(Dir::PeerToUs, &repr, b"abc");
        let (_, ip) = EthernetRepr::parse(&f).unwrap();
        let (ipr, seg) = Ipv4Repr::parse(ip).unwrap();
        let (back, data) = TcpRepr::parse(ipr.src, ipr.dst, seg).unwrap();
        assert_eq!((back, data), (repr, &b"abc"[..]));
    }
}
