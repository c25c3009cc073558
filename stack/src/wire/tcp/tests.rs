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
        20 + 40,
        "nop,nop,TS 12 + nop,nop,SACK 4 + 3 * 8 = 40 bytes of options"
    );
    let mut buf = vec![0u8; 60];
    r.emit(SRC, DST, &[], &mut buf);
    let (parsed, _) = TcpRepr::parse(SRC, DST, &buf).unwrap();
    assert_eq!(parsed.options.sack, blocks, "order kept: most recent first");
    assert_eq!(parsed.options.timestamps, Some((7, 9)));
}

/// The options of `r` as written, for byte-level checks.
fn option_bytes(r: &TcpRepr) -> Vec<u8> {
    let mut buf = [0u8; 60];
    let n = r.write_header(&mut buf);
    assert_eq!(n, r.header_len());
    assert_eq!(usize::from(buf[12] >> 4) * 4, n, "data offset");
    buf[HEADER_LEN..n].to_vec()
}

/// Options laid out as Linux lays them out (checked against a capture of its SYN and of
/// its data segments: `mss 1460,sackOK,TS val ... ecr 0,nop,wscale 7`, `nop,nop,TS`,
/// `nop,nop,sack 1 {...}`).
#[test]
fn options_are_laid_out_as_linux_lays_them_out() {
    let ts = |v: u32, e: u32| {
        let (v, e) = (v.to_be_bytes(), e.to_be_bytes());
        vec![8, 10, v[0], v[1], v[2], v[3], e[0], e[1], e[2], e[3]]
    };
    // The SYN: 20 bytes, no padding.
    let mut expect = vec![2, 4, 0x05, 0xb4, 4, 2];
    expect.extend(ts(0x0102_0304, 0));
    expect.extend([1, 3, 3, 7]);
    let syn_ts = TcpRepr {
        options: Options {
            timestamps: Some((0x0102_0304, 0)),
            ..syn().options
        },
        ..syn()
    };
    assert_eq!(option_bytes(&syn_ts), expect);
    // A SYN without timestamps: mss,nop,nop,sackOK,nop,wscale.
    let syn_plain = TcpRepr {
        options: Options {
            timestamps: None,
            ..syn().options
        },
        ..syn()
    };
    assert_eq!(
        option_bytes(&syn_plain),
        vec![2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7]
    );
    // Data with timestamps and one SACK block: nop,nop,TS,nop,nop,sack.
    let block = (Seq(1000), Seq(2000));
    let data = TcpRepr {
        flags: Flags::ACK,
        options: Options {
            timestamps: Some((5, 6)),
            sack: [Some(block), None, None, None],
            ..Options::default()
        },
        ..syn()
    };
    let mut expect = vec![1, 1];
    expect.extend(ts(5, 6));
    expect.extend([1, 1, 5, 10, 0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0]);
    assert_eq!(option_bytes(&data), expect);
}

#[test]
fn sack_blocks_fit_three_with_timestamps_four_without() {
    let block = |i: u32| Some((Seq(1000 * i), Seq(1000 * i + 500)));
    let with = |ts: bool, n: usize| {
        let mut sack = [None; 4];
        for (i, slot) in sack.iter_mut().enumerate().take(n) {
            *slot = block(i as u32 + 1);
        }
        TcpRepr {
            flags: Flags::ACK,
            options: Options {
                timestamps: ts.then_some((1, 2)),
                sack,
                ..Options::default()
            },
            ..syn()
        }
    };
    assert_eq!(with(true, 3).header_len(), 60);
    assert_eq!(with(false, 4).header_len(), 56);
    // Too many: no options at all rather than a truncated list.
    assert_eq!(with(true, 4).header_len(), HEADER_LEN);
    for (ts, n) in [(true, 3), (false, 4), (true, 1), (false, 2)] {
        let r = with(ts, n);
        let mut buf = vec![0u8; r.header_len()];
        let len = r.emit(SRC, DST, &[], &mut buf);
        let (back, _) = TcpRepr::parse(SRC, DST, &buf[..len]).unwrap();
        assert_eq!(back.options, r.options, "round trip of {ts} {n}");
    }
}
