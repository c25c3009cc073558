//! Property: nothing from the wire panics the stack, and every frame is either accepted
//! or counted under a drop reason.
//!
//! Inputs are random bytes, and valid frames (ARP, echo requests of any size) with random
//! mutations: flipped bytes, truncation, extension. proptest prints a failing case's
//! seed and shrinks it; `PROPTEST_CASES` raises the count for a longer soak.

mod util;

use netstack_core::wire::{ArpOperation, MacAddr};
use proptest::prelude::*;
use util::*;

fn valid_frame() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(who_has_us()),
        Just(arp(
            ArpOperation::Reply,
            (PEER_MAC, PEER_IP),
            (US_MAC, US_IP),
            US_MAC
        )),
        (
            any::<u16>(),
            any::<u16>(),
            proptest::collection::vec(any::<u8>(), 0..1473)
        )
            .prop_map(|(id, seq, data)| echo_request(US_IP, US_MAC, id, seq, &data)),
        Just(echo_request(
            "10.0.0.255".parse().unwrap(),
            MacAddr::BROADCAST,
            1,
            1,
            b"x"
        )),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate(usize),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Extend),
    ]
}

fn mutate(mut f: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        match m {
            Mutation::Flip { at, mask } if !f.is_empty() => {
                let i = at % f.len();
                f[i] ^= mask;
            }
            Mutation::Truncate(n) if !f.is_empty() => f.truncate(n % f.len()),
            Mutation::Extend(bytes) => f.extend_from_slice(bytes),
            _ => {}
        }
    }
    f
}

fn check_accounting(s: &netstack_core::Stack) -> Result<(), TestCaseError> {
    let c = s.counters();
    prop_assert_eq!(
        c.rx_frames,
        c.rx_accepted + c.rx_dropped_total(),
        "a frame went uncounted: {:?}",
        c
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..1600), 1..8)) {
        let mut s = stack();
        for (i, f) in frames.iter().enumerate() {
            s.receive(at(i as u64), f);
            s.handle_timeout(at(i as u64));
            s.transmit(|_| {});
        }
        check_accounting(&s)?;
    }

    #[test]
    fn mutated_valid_frames(frames in proptest::collection::vec((valid_frame(), proptest::collection::vec(mutation(), 0..4)), 1..8)) {
        let mut s = stack();
        for (i, (f, ms)) in frames.into_iter().enumerate() {
            let f = mutate(f, &ms);
            s.receive(at(i as u64 * 700), &f);
            s.handle_timeout(at(i as u64 * 700));
            // Whatever the stack sends in answer must itself parse.
            let mut out = vec![];
            s.transmit(|o| out.push(o.to_vec()));
            for o in out {
                prop_assert!(netstack_core::wire::EthernetRepr::parse(&o).is_ok());
            }
        }
        check_accounting(&s)?;
    }
}

#[test]
fn unmutated_valid_frames_are_all_accepted_or_dropped_for_the_right_reason() {
    let mut s = stack();
    s.receive(at(0), &who_has_us());
    s.receive(at(0), &echo_request(US_IP, US_MAC, 1, 1, b"abc"));
    assert_eq!(s.counters().rx_accepted, 2);
    assert_eq!(s.counters().rx_dropped_total(), 0);
}

/// Segments to an established connection, in order or near it, that receive coalescing
/// may join, then mutated: a batch of them never panics the stack, and every frame is
/// counted once, joined or not.
fn tcp_batch() -> impl Strategy<Value = Vec<(u32, usize, bool, Vec<Mutation>)>> {
    proptest::collection::vec(
        (
            0u32..6000,
            0usize..1500,
            any::<bool>(),
            proptest::collection::vec(mutation(), 0..2),
        ),
        1..24,
    )
}

proptest! {
    #[test]
    fn mutated_segment_batches(segs in tcp_batch()) {
        use netstack_core::wire::tcp::Flags;
        use netstack_core::wire::TcpRepr;
        let mut c = tcp::established();
        let frames: Vec<Vec<u8>> = segs
            .into_iter()
            .map(|(offset, len, psh, ms)| {
                let repr = TcpRepr {
                    seq: c.irs + 1 + offset as usize,
                    flags: if psh { Flags::ACK | Flags::PSH } else { Flags::ACK },
                    ..c.tmpl()
                };
                mutate(tcp::segment_frame(&repr, &tcp::bytes(offset as usize, len)), &ms)
            })
            .collect();
        let now = c.at(10);
        c.s.receive_batch(frames.iter().map(|f| (now, &f[..])));
        c.s.handle_timeout(now);
        c.s.transmit(|_| {});
        check_accounting(&c.s)?;
    }
}
