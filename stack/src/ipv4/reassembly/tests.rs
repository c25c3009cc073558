//! Reassembly scenarios: in order, out of order, duplicates, overlaps, timeout, bounds.

use super::*;

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn frag(ident: u16, offset: usize, more: bool, len: usize) -> (Ipv4Repr, Vec<u8>) {
    let ip = Ipv4Repr {
        src: Ipv4Addr::new(10, 0, 0, 1),
        dst: Ipv4Addr::new(10, 0, 0, 2),
        protocol: 17,
        ttl: 64,
        ident,
        dont_frag: false,
        more_frags: more,
        frag_offset: offset as u16,
        payload_len: len,
    };
    // Byte i of the datagram is i mod 251, so any misplaced byte shows.
    let data = (offset..offset + len).map(|i| (i % 251) as u8).collect();
    (ip, data)
}

fn expected(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

fn add(r: &mut Reassembler, now: Instant, f: (Ipv4Repr, Vec<u8>)) -> Outcome {
    r.add(now, &f.0, &f.1)
}

#[test]
fn in_order_fragments_complete_the_datagram() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    assert_eq!(add(&mut r, t(0), frag(1, 0, true, 1480)), Outcome::Held);
    assert_eq!(add(&mut r, t(1), frag(1, 1480, true, 1480)), Outcome::Held);
    match add(&mut r, t(2), frag(1, 2960, false, 100)) {
        Outcome::Complete(ip, data) => {
            assert_eq!(
                (ip.payload_len, ip.more_frags, ip.frag_offset),
                (3060, false, 0)
            );
            assert_eq!(data, expected(3060));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.usage(), (0, 0));
}

#[test]
fn out_of_order_and_last_first() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    assert_eq!(add(&mut r, t(0), frag(2, 2960, false, 40)), Outcome::Held);
    assert_eq!(add(&mut r, t(0), frag(2, 0, true, 1480)), Outcome::Held);
    let Outcome::Complete(_, data) = add(&mut r, t(0), frag(2, 1480, true, 1480)) else {
        panic!()
    };
    assert_eq!(data, expected(3000));
}

#[test]
fn exact_duplicates_are_ignored() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    add(&mut r, t(0), frag(3, 0, true, 8));
    assert_eq!(add(&mut r, t(0), frag(3, 0, true, 8)), Outcome::Duplicate);
    assert!(matches!(
        add(&mut r, t(0), frag(3, 8, false, 8)),
        Outcome::Complete(_, _)
    ));
}

#[test]
fn overlap_poisons_the_whole_datagram_until_its_timeout() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    add(&mut r, t(0), frag(4, 0, true, 16));
    assert_eq!(add(&mut r, t(0), frag(4, 8, true, 16)), Outcome::Overlap);
    // Even the fragments that would have completed it are refused.
    assert_eq!(add(&mut r, t(0), frag(4, 16, false, 8)), Outcome::Overlap);
    assert_eq!(r.usage().1, 0, "poisoned datagrams hold no buffer");
    let mut expired = 0;
    r.handle_timeout(t(30_000), |_| expired += 1);
    assert_eq!(
        expired, 0,
        "no Time Exceeded for a datagram we discarded on purpose"
    );
    assert_eq!(r.usage(), (0, 0));
}

#[test]
fn inconsistent_final_lengths_poison() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    add(&mut r, t(0), frag(5, 16, false, 8));
    assert_eq!(add(&mut r, t(0), frag(5, 32, false, 8)), Outcome::Overlap);
    let mut r = Reassembler::new(ReassemblyConfig::default());
    add(&mut r, t(0), frag(6, 16, false, 8));
    assert_eq!(
        add(&mut r, t(0), frag(6, 24, true, 8)),
        Outcome::Overlap,
        "data past the end"
    );
}

#[test]
fn malformed_fragments_are_refused() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    assert_eq!(
        add(&mut r, t(0), frag(7, 0, true, 10)),
        Outcome::Malformed,
        "not a multiple of 8"
    );
    assert_eq!(
        add(&mut r, t(0), frag(7, 0, true, 0)),
        Outcome::Malformed,
        "empty non-final"
    );
    assert_eq!(
        add(&mut r, t(0), frag(7, 65528, false, 16)),
        Outcome::Malformed,
        "past 65535"
    );
    assert_eq!(r.usage(), (0, 0));
}

#[test]
fn timeout_reports_the_first_fragment_for_time_exceeded() {
    let mut r = Reassembler::new(ReassemblyConfig::default());
    add(&mut r, t(0), frag(8, 0, true, 8));
    add(&mut r, t(0), frag(9, 8, true, 8)); // first fragment never came
    assert_eq!(r.poll_timeout(), Some(t(30_000)));
    let mut got = vec![];
    r.handle_timeout(t(29_999), |e| got.push(e));
    assert!(got.is_empty());
    r.handle_timeout(t(30_000), |e| got.push(e));
    assert_eq!(got.len(), 2);
    let with_first: Vec<_> = got.iter().filter(|e| e.first.is_some()).collect();
    assert_eq!(with_first.len(), 1);
    assert_eq!(with_first[0].first.unwrap().ident, 8);
    assert_eq!(&with_first[0].first_bytes[..], &expected(8)[..]);
    assert_eq!(r.usage(), (0, 0));
}

#[test]
fn a_flood_of_incomplete_datagrams_stays_within_the_bounds() {
    let cfg = ReassemblyConfig::default();
    let mut r = Reassembler::new(cfg.clone());
    for ident in 0..10_000u32 {
        // Each a lone middle fragment far into the datagram: the costliest kind.
        add(
            &mut r,
            t(ident.into()),
            frag(ident as u16, 8 * (ident as usize % 8000), true, 1480),
        );
        let (n, bytes) = r.usage();
        assert!(
            n <= cfg.max_datagrams && bytes <= cfg.max_bytes,
            "{n} datagrams, {bytes} bytes"
        );
    }
    assert!(r.evicted() > 9_000);
    // A legitimate datagram still gets through.
    add(&mut r, t(10_001), frag(60_000, 0, true, 8));
    assert!(matches!(
        add(&mut r, t(10_001), frag(60_000, 8, false, 8)),
        Outcome::Complete(_, _)
    ));
}
