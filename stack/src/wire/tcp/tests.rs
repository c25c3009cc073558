//! TCP header parsing and emission, byte for byte.

use super::*;

const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn syn() -> TcpRepr {
    TcpRepr {
        src_port: 40000,
        dst_port: 7,
        seq: Seq(0x01020304),
        ack: Seq(0),
        flags: Flags::SYN,
        window: 64240,
        urgent: 0,
        options: Options {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamps: Some((1, 0)),
            sack: [None; 4],
        },
    }
}

#[test]
fn a_linux_style_syn_round_trips() {
    let r = syn();
    assert_eq!(
        r.header_len(),
        40,
        "MSS 4 + SACKOK 2 + TS 10 + NOP 1 + WS 3 = 20 bytes of options"
    );
    let mut buf = vec![0u8; 40];
    assert_eq!(r.emit(SRC, DST, &[], &mut buf), 40);
    // Fixed fields at their RFC 9293 offsets.
    assert_eq!(&buf[0..4], &[0x9c, 0x40, 0x00, 0x07]);
    assert_eq!(&buf[4..8], &[1, 2, 3, 4]);
    assert_eq!(buf[12] >> 4, 10, "data offset in words");
    assert_eq!(buf[13], 0x02, "SYN");
    assert_eq!(&buf[14..16], &64240u16.to_be_bytes());
    let (parsed, data) = TcpRepr::parse(SRC, DST, &buf).unwrap();
    assert_eq!(parsed, r);
    assert!(data.is_empty());
}

#[test]
fn data_and_checksum() {
    let r = TcpRepr {
        flags: Flags::ACK | Flags::PSH,
        options: Options::default(),
        ack: Seq(99),
        ..syn()
    };
    let mut buf = vec![0u8; 25];
    r.emit(SRC, DST, b"hello", &mut buf);
    let (p, data) = TcpRepr::parse(SRC, DST, &buf).unwrap();
    assert_eq!(
        (p.flags, p.ack, data),
        (Flags::ACK | Flags::PSH, Seq(99), &b"hello"[..])
    );
    assert_eq!(
        TcpRepr::parse(SRC, Ipv4Addr::new(10, 0, 0, 9), &buf),
        Err(WireError::BadChecksum),
        "pseudo-header"
    );
    buf[24] ^= 1;
    assert_eq!(TcpRepr::parse(SRC, DST, &buf), Err(WireError::BadChecksum));
}

/// Builds a header with `options` (padded by the caller to a multiple of 4) and a valid checksum.
fn with_raw_options(options: &[u8]) -> Vec<u8> {
    let hlen = 20 + options.len();
    let mut buf = vec![0u8; hlen];
    buf[12] = ((hlen / 4) as u8) << 4;
    buf[13] = 0x02;
    buf[20..].copy_from_slice(options);
    let acc = checksum::pseudo_header(SRC, DST, protocol::TCP, hlen as u16);
    let sum = checksum::finish(checksum::accumulate(acc, &buf));
    buf[16..18].copy_from_slice(&sum.to_be_bytes());
    buf
}

#[test]
fn unknown_options_are_skipped_by_length() {
    // kind 30 (MPTCP) len 4, then MSS.
    let buf = with_raw_options(&[30, 4, 0xaa, 0xbb, 2, 4, 0x05, 0xb4]);
    assert_eq!(
        TcpRepr::parse(SRC, DST, &buf).unwrap().0.options.mss,
        Some(1460)
    );
}

#[test]
fn illegal_option_lengths_stop_parsing_without_panicking() {
    for opts in [
        &[2, 0, 0, 0][..],             // length zero
        &[2, 1, 0, 0][..],             // length one
        &[2, 200, 0, 0][..],           // past the header
        &[3, 4, 7, 0][..],             // window scale with the wrong length: ignored
        &[5, 7, 0, 0, 0, 0, 0, 0][..], // SACK with a length not 2 + 8n
    ] {
        let buf = with_raw_options(opts);
        let (r, _) = TcpRepr::parse(SRC, DST, &buf).unwrap_or_else(|e| panic!("{opts:?}: {e}"));
        assert_eq!(r.options.mss, None);
        assert_eq!(r.options.window_scale, None);
    }
    // What came before a bad option is kept.
    let buf = with_raw_options(&[2, 4, 0x02, 0x18, 1, 3, 0, 0]);
    assert_eq!(
        TcpRepr::parse(SRC, DST, &buf).unwrap().0.options.mss,
        Some(536)
    );
}

#[test]
fn sack_blocks_are_read() {
    let buf = with_raw_options(&[
        1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40,
    ]);
    let sack = TcpRepr::parse(SRC, DST, &buf).unwrap().0.options.sack;
    assert_eq!(sack[0], Some((Seq(10), Seq(20))));
    assert_eq!(sack[1], Some((Seq(30), Seq(40))));
    assert_eq!(sack[2], None);
}

#[test]
fn bad_data_offsets_are_errors() {
    let mut buf = with_raw_options(&[]);
    buf[12] = 4 << 4;
    assert!(TcpRepr::parse(SRC, DST, &buf).is_err());
    buf[12] = 15 << 4;
    assert_eq!(TcpRepr::parse(SRC, DST, &buf), Err(WireError::Truncated));
    assert_eq!(
        TcpRepr::parse(SRC, DST, &buf[..19]),
        Err(WireError::Truncated)
    );
}

#[test]
fn flags_print_like_tcpdump() {
    assert_eq!((Flags::SYN | Flags::ACK).to_string(), "S.");
    assert_eq!((Flags::FIN | Flags::ACK).to_string(), "F.");
    assert_eq!(Flags::RST.to_string(), "R");
    assert_eq!(Flags::ACK.to_string(), ".");
}

#[test]
fn sack_blocks_round_trip_with_timestamps() {
    let blocks = [
        Some((Seq(5000), Seq(6000))),
        Some((Seq(3000), Seq(4000))),
        Some((Seq(u32::MAX - 10), Seq(20))),
        None,
    ];
    let r = TcpRepr {
        flags: Flags::ACK,
        options: Options {
            timestamps: Some((7, 9)),
            sack: blocks,
            ..Options::default()
        },
        ..syn()
    };
    assert_eq!(
        r.header_len(),
        20 + 36,
        "TS 10 + SACK 2 + 3 * 8 = 36 bytes of options"
    );
    let mut buf = vec![0u8; 56];
    r.emit(SRC, DST, &[], &mut buf);
    let (parsed, _) = TcpRepr::parse(SRC, DST, &buf).unwrap();
    assert_eq!(parsed.options.sack, blocks, "order kept: most recent first");
    assert_eq!(parsed.options.timestamps, Some((7, 9)));
}

/// The same header built by etherparse's writer, the oracle for our own.
fn etherparse_bytes(r: &TcpRepr) -> Vec<u8> {
    use etherparse::{TcpHeader, TcpOptionElement as E};
    let mut h = TcpHeader::new(r.src_port, r.dst_port, r.seq.0, r.window);
    h.acknowledgment_number = r.ack.0;
    h.fin = r.flags.has(Flags::FIN);
    h.syn = r.flags.has(Flags::SYN);
    h.rst = r.flags.has(Flags::RST);
    h.psh = r.flags.has(Flags::PSH);
    h.ack = r.flags.has(Flags::ACK);
    h.urg = r.flags.has(Flags::URG);
    h.urgent_pointer = r.urgent;
    let o = &r.options;
    let mut e = Vec::new();
    e.extend(o.mss.map(E::MaximumSegmentSize));
    if o.sack_permitted {
        e.push(E::SelectiveAcknowledgementPermitted);
    }
    e.extend(o.timestamps.map(|(v, c)| E::Timestamp(v, c)));
    if let Some(shift) = o.window_scale {
        e.extend([E::Noop, E::WindowScale(shift)]);
    }
    if let Some((l, r)) = o.sack[0] {
        let rest = [o.sack[1], o.sack[2], o.sack[3]].map(|b| b.map(|(l, r)| (l.0, r.0)));
        e.push(E::SelectiveAcknowledgement((l.0, r.0), rest));
    }
    let _ = h.set_options(&e);
    h.to_bytes().to_vec()
}

#[test]
fn our_header_writer_matches_etherparse_for_every_option_mix() {
    let block = |i: u32| Some((Seq(1000 * i), Seq(1000 * i + 500)));
    for mask in 0u32..(1 << 7) {
        let bit = |b: u32| mask & (1 << b) != 0;
        let blocks = (mask >> 4) as usize % 5;
        let mut sack = [None; 4];
        for (i, slot) in sack.iter_mut().enumerate().take(blocks) {
            *slot = block(i as u32 + 1);
        }
        let r = TcpRepr {
            src_port: 1234,
            dst_port: 80,
            seq: Seq(0xdead_beef),
            ack: Seq(0x0102_0304),
            flags: Flags(if bit(6) { 0x12 } else { 0x18 }),
            window: 0xabcd,
            urgent: 7,
            options: Options {
                mss: bit(0).then_some(1460),
                window_scale: bit(1).then_some(14),
                sack_permitted: bit(2),
                timestamps: bit(3).then_some((0x1111_2222, 0x3333_4444)),
                sack,
            },
        };
        let mut ours = [0u8; 60];
        let n = r.write_header(&mut ours);
        assert_eq!(n, r.header_len(), "{r:?}");
        assert_eq!(&ours[..n], &etherparse_bytes(&r)[..], "{r:?}");
    }
}
