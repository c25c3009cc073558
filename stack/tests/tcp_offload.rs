//! TCP segmentation offload (TSO) and large received segments (GRO) between two of our
//! stacks on a virtual wire: A hands the wire TCP segments of up to 64 KB with a
//! [`TxOffload`]; the wire plays the link, cutting each into MSS-sized segments as
//! Linux's GSO does, or (every other one) passing it whole with its checksum completed,
//! as a TAP hands the stack a GRO frame. B must take both, and the bytes must arrive
//! whole, in order. The checksums are computed here, independently of the stack's code.

use std::net::SocketAddrV4;

mod util;

use netstack_core::outbound::TxOffload;
use netstack_core::{Config, Instant, MacAddr, Stack, TcpConfig, TcpState};

const ETH: usize = 14;

/// RFC 1071 over `data`, starting from `acc`, not complemented.
fn sum(mut acc: u32, data: &[u8]) -> u32 {
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        acc += u32::from(word);
    }
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// The IPv4 pseudo-header's sum for a TCP segment of `len` bytes in `ip` (RFC 9293 3.1).
fn pseudo(ip: &[u8], len: usize) -> u32 {
    let mut acc = sum(0, &ip[12..20]);
    acc = sum(acc, &[0, 6]);
    sum(acc, &(len as u16).to_be_bytes())
}

/// What the link does with a partial checksum: sum from `start`, field included.
fn complete_checksum(frame: &mut [u8], start: usize, offset: usize) {
    let folded = sum(0, &frame[start..]) as u16;
    frame[start + offset..start + offset + 2].copy_from_slice(&(!folded).to_be_bytes());
}

/// Linux's GSO for IPv4 TCP, written for the test: copies of the headers, each segment
/// with its own IP length, ID, checksum, sequence number and TCP checksum; PSH and FIN
/// only on the last.
fn segment(frame: &[u8], o: &TxOffload) -> Vec<Vec<u8>> {
    let hlen = usize::from(o.header_len);
    let ip_start = ETH;
    let tcp_start = usize::from(o.checksum_start);
    let payload = &frame[hlen..];
    let size = usize::from(o.segment_size);
    let seq = u32::from_be_bytes(frame[tcp_start + 4..tcp_start + 8].try_into().unwrap());
    let ident = u16::from_be_bytes([frame[ip_start + 4], frame[ip_start + 5]]);
    let chunks: Vec<&[u8]> = payload.chunks(size).collect();
    let last = chunks.len() - 1;
    chunks
        .iter()
        .enumerate()
        .map(|(i, chunk)| {
            let mut seg = frame[..hlen].to_vec();
            seg.extend_from_slice(chunk);
            let ip_len = (seg.len() - ETH) as u16;
            seg[ip_start + 2..ip_start + 4].copy_from_slice(&ip_len.to_be_bytes());
            let id = ident.wrapping_add(i as u16);
            seg[ip_start + 4..ip_start + 6].copy_from_slice(&id.to_be_bytes());
            seg[ip_start + 10..ip_start + 12].fill(0);
            let ip_sum = !(sum(0, &seg[ip_start..tcp_start]) as u16);
            seg[ip_start + 10..ip_start + 12].copy_from_slice(&ip_sum.to_be_bytes());
            let s = seq.wrapping_add((i * size) as u32);
            seg[tcp_start + 4..tcp_start + 8].copy_from_slice(&s.to_be_bytes());
            if i != last {
                seg[tcp_start + 13] &= !0x09; // PSH and FIN
            }
            let tcp_len = seg.len() - tcp_start;
            let field = pseudo(&seg[ip_start..], tcp_len) as u16;
            seg[tcp_start + 16..tcp_start + 18].copy_from_slice(&field.to_be_bytes());
            complete_checksum(&mut seg, tcp_start, 16);
            seg
        })
        .collect()
}

struct Wire {
    a: Stack,
    b: Stack,
    now: Instant,
    /// TSO frames A sent, and how many of them went to B whole.
    tso_frames: usize,
    whole: usize,
}

impl Wire {
    fn new() -> Wire {
        let tso = TcpConfig {
            tso: true,
            ..TcpConfig::default()
        };
        let a = Stack::new(
            Config {
                tcp: tso,
                ..Config::default()
            },
            1,
        )
        .unwrap();
        let b = Stack::new(
            Config {
                addr: "10.0.0.3".parse().unwrap(),
                mac: MacAddr([2, 0, 0, 0, 0, 3]),
                ..Config::default()
            },
            2,
        )
        .unwrap();
        Wire {
            a,
            b,
            now: Instant::ZERO,
            tso_frames: 0,
            whole: 0,
        }
    }

    /// Moves frames until both stacks are quiet.
    fn drive(&mut self) {
        for _ in 0..100_000 {
            let mut to_b: Vec<Vec<u8>> = vec![];
            let mut to_a: Vec<Vec<u8>> = vec![];
            let mut checked = Vec::new();
            self.a.transmit_offloaded(|f, o| {
                checked.push((f.to_vec(), o.copied()));
                true
            });
            for (mut f, o) in checked {
                let Some(o) = o else {
                    to_b.push(f);
                    continue;
                };
                // The frame is one IPv4 datagram longer than the MTU, its TCP checksum
                // field the pseudo-header sum with the whole segment's length.
                let ip_len = usize::from(u16::from_be_bytes([f[ETH + 2], f[ETH + 3]]));
                assert_eq!(ip_len, f.len() - ETH);
                assert!(ip_len > 1500, "a TSO frame of {ip_len} bytes");
                assert_eq!(o.segment_size, 1448, "the MSS less the timestamps option");
                let start = usize::from(o.checksum_start);
                let field = u16::from_be_bytes([f[start + 16], f[start + 17]]);
                assert_eq!(u32::from(field), pseudo(&f[ETH..], f.len() - start));
                self.tso_frames += 1;
                if self.tso_frames % 2 == 0 {
                    complete_checksum(&mut f, start, 16);
                    self.whole += 1;
                    to_b.push(f);
                } else {
                    to_b.extend(segment(&f, &o));
                }
            }
            self.b.transmit(|f| to_a.push(f.to_vec()));
            if to_a.is_empty() && to_b.is_empty() {
                return;
            }
            for f in to_b {
                self.b.receive(self.now, &f);
            }
            for f in to_a {
                self.a.receive(self.now, &f);
            }
        }
        panic!("the wire never went quiet");
    }

    fn step(&mut self) {
        util::run_next_timer(&mut self.now, &mut self.a, &mut self.b);
        self.drive();
    }
}

fn sa(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

#[test]
fn tso_segments_arrive_whole_cut_by_the_link_or_coalesced() {
    let mut w = Wire::new();
    let listener = w.b.tcp().listen(sa("0.0.0.0:9"), 4).unwrap();
    let client = w.a.tcp().connect(w.now, sa("10.0.0.3:9")).unwrap();
    w.drive();
    let server = w.b.tcp().accept(listener).unwrap().expect("accepted");
    assert_eq!(w.a.tcp().state(client).unwrap(), TcpState::Established);

    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (mut sent, mut got) = (0, Vec::new());
    let mut buf = vec![0u8; 1 << 16];
    for _ in 0..100_000 {
        if sent < data.len() {
            sent += w.a.tcp().send(w.now, client, &data[sent..]).unwrap();
        }
        while let Some(n) = w.b.tcp().recv(w.now, server, &mut buf).unwrap() {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        if got.len() == data.len() {
            break;
        }
        w.drive();
        if !w.a.tcp().can_write(client) && !w.b.tcp().can_read(server) {
            w.step();
        }
    }
    assert!(
        got == data,
        "{} of {} bytes, or not the same",
        got.len(),
        data.len()
    );
    let (a, b) = (w.a.counters(), w.b.counters());
    assert!(
        w.tso_frames > 0 && w.whole > 0,
        "{} TSO frames",
        w.tso_frames
    );
    // TCP counts the segments the link puts on the wire, not the frames it hands over.
    assert!(a.tcp_segments_sent > a.tx_frames, "{a:?}");
    assert_eq!(b.rx_accepted, b.rx_frames, "B dropped frames: {b:?}");
}

/// A segment longer than the MTU is still checked: one bit flipped in a 64 KB frame and
/// the stack drops it as a bad checksum, as it would a small one.
#[test]
fn a_large_segment_with_a_bad_checksum_is_dropped() {
    let mut w = Wire::new();
    let listener = w.b.tcp().listen(sa("0.0.0.0:9"), 4).unwrap();
    let client = w.a.tcp().connect(w.now, sa("10.0.0.3:9")).unwrap();
    w.drive();
    let server = w.b.tcp().accept(listener).unwrap().expect("accepted");
    // Grow the congestion window until A sends a TSO frame, and catch it.
    let data = vec![0x5a; 200_000];
    w.a.tcp().send(w.now, client, &data).unwrap();
    let mut frames = Vec::new();
    w.a.transmit_offloaded(|f, o| {
        frames.push((f.to_vec(), o.copied()));
        true
    });
    let (mut frame, o) = frames
        .into_iter()
        .find(|(_, o)| o.is_some())
        .expect("a TSO frame in the first flight");
    let o = o.unwrap();
    complete_checksum(&mut frame, usize::from(o.checksum_start), 16);
    let last = frame.len() - 1;
    frame[last] ^= 0x10;
    let before = w.b.counters();
    w.b.receive(w.now, &frame);
    let after = w.b.counters();
    assert_eq!(after.rx_accepted, before.rx_accepted, "{after:?}");
    assert!(!w.b.tcp().can_read(server));
}
