//! The right edge of the window we advertise (RFC 9293 3.8.6; RFC 7323 2.4 with a window
//! scale), as a segment trace against one stand-alone connection: it never promises
//! more than the receive buffer can hold, and never moves left by more than the scale's
//! rounding. Found by the invariant hook (`Connection::check_invariants`) on its first
//! run, over the existing two-stack tests (`tcp_pair.rs`): rounding the offered window
//! up at every segment crept the edge past the buffer by up to 127 bytes a segment.
//!
//! We are 10.0.0.2:80 with ISS 5000; the peer is 10.0.0.1:40000 with IRS 1000; both
//! scale by 7, and our buffer is the default 4 MiB.

mod util;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::{Connection, State, TcpConfig};
use netstack_core::wire::tcp::{Flags, Options, TcpRepr};
use netstack_core::Instant;

use util::conn::{addrs, ms, peer, IRS, ISS};

/// Everything the connection sends now, headers only.
fn sent(c: &mut Connection, now: Instant) -> Vec<TcpRepr> {
    std::iter::from_fn(|| c.poll_transmit(now).map(|s| s.repr)).collect()
}

/// ESTABLISHED with window scaling (7 both ways), no timestamps or SACK.
fn established() -> Connection {
    let (us, them) = addrs();
    let mut c = Connection::listen(TcpConfig::default(), us, them, ISS, 1460, ms(0));
    let syn = Options {
        mss: Some(1460),
        window_scale: Some(7),
        ..Options::default()
    };
    let _ = c.handle_segment(ms(0), &peer(Flags::SYN, IRS, Seq(0), 64240, syn), &[]);
    let synack = sent(&mut c, ms(0));
    assert_eq!(synack.len(), 1);
    assert_eq!(synack[0].options.window_scale, Some(7));
    let ack = peer(Flags::ACK, IRS + 1, ISS + 1, 502, Options::default());
    let _ = c.handle_segment(ms(1), &ack, &[]);
    assert_eq!(c.state(), State::Established);
    c
}

#[test]
fn odd_sized_segments_never_push_the_edge_past_the_buffer() {
    let mut c = established();
    let capacity = 4usize << 20;
    let first = IRS + 1;
    let mut edges = Vec::new();
    // 40 segments of 100 bytes that the application does not read; each pair is ACKed
    // (RFC 5681 4.2), the last one after the delayed-ACK timer.
    //   10.0.0.1.40000 > 10.0.0.2.80: . seq 1001:1101 ack 5001 win 502 length 100 ...
    //   10.0.0.2.80 > 10.0.0.1.40000: . ack 1201 win 32766 (edge 4195249 <= 1001 + 4 MiB)
    //   10.0.0.2.80 > 10.0.0.1.40000: . ack 1401 win 32764 (edge 4195193: 56 back, rounding)
    // Before the fix the second ACK said win 32765, edge 4195321: 16 bytes past the
    // buffer, and more at every ACK.
    for i in 0..40 {
        let seq = first + 100 * i;
        let seg = peer(Flags::ACK, seq, ISS + 1, 502, Options::default());
        let _ = c.handle_segment(ms(2 + i as u64), &seg, &[7; 100]);
        for ack in sent(&mut c, ms(2 + i as u64)) {
            edges.push((ack.ack, ack.ack + (usize::from(ack.window) << 7)));
        }
        c.check_invariants()
            .unwrap_or_else(|e| panic!("after segment {i}: {e}"));
    }
    c.handle_timeout(ms(1000));
    for ack in sent(&mut c, ms(1000)) {
        edges.push((ack.ack, ack.ack + (usize::from(ack.window) << 7)));
    }
    c.check_invariants().unwrap();
    assert!(edges.len() >= 20, "{edges:?}");
    assert_eq!(edges.last().map(|e| e.0), Some(first + 4000));
    let mut previous = edges[0].1;
    for &(ack, edge) in &edges {
        // Every byte offered fits: nothing was read, so the buffer ends at 1001 + 4 MiB.
        assert!(
            edge.le(first + capacity),
            "ack {ack:?} offers up to {edge:?}, past the buffer's end {:?}",
            first + capacity
        );
        // RFC 7323 2.4: a retraction only by the rounding of the scale.
        assert!(previous - edge < 128, "edge {edge:?} after {previous:?}");
        previous = if edge.gt(previous) { edge } else { previous };
    }
}
