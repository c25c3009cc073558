//! The oracles of the `tcp_conversation` target: what must hold of every segment the
//! connection sends, every byte it delivers, and its variables after every event. Each
//! returns `Err(reason)`; the runner adds the trace. To add an oracle, add a function
//! here and call it from `run.rs` where its event happens (see the README).

use netstack_core::tcp::{Connection, Details, State};
use netstack_core::wire::tcp::{Flags, TcpRepr};

use crate::peer::{dist, our_byte, peer_byte, PeerModel};
use crate::trace::{PEER, US};

/// Result of one oracle.
pub type Verdict = Result<(), String>;

/// What the application has done with the connection's two streams.
#[derive(Clone, Debug, Default)]
pub struct AppModel {
    /// Bytes of our stream the connection accepted (`send` returned them).
    pub written: u64,
    /// Bytes of the peer's stream delivered by `recv`.
    pub delivered: u64,
    /// The IRS the delivered bytes were counted from.
    pub irs: u32,
    /// `recv` reported end of stream.
    pub eof: bool,
}

/// A segment we send: its ports, its data (our application's bytes, and only bytes it
/// wrote), its acknowledgment (only what the peer sent: RFC 9293 3.4, 3.10.7.4 seventh)
/// and the peer's window (3.8.6.1, with one byte allowed past it for a zero-window
/// probe).
pub fn check_sent(
    repr: &TcpRepr,
    data: &[u8],
    d: &Details,
    state: State,
    peer: &PeerModel,
    app: &AppModel,
    shift: u8,
) -> Verdict {
    if (repr.src_port, repr.dst_port) != (US.1, PEER.1) {
        return Err(format!("wrong ports {} > {}", repr.src_port, repr.dst_port));
    }
    let syn = repr.flags.has(Flags::SYN);
    let start = repr.seq.0.wrapping_add(u32::from(syn));
    let first = d.iss.wrapping_add(1);
    if !data.is_empty() {
        let from = dist(start, first);
        let to = from + data.len() as i64;
        if from < 0 || to > app.written as i64 {
            return Err(format!(
                "sent stream bytes {from}..{to}, but the application wrote only {}",
                app.written
            ));
        }
        for (i, &b) in data.iter().enumerate() {
            let want = our_byte(start.wrapping_add(i as u32));
            if b != want {
                return Err(format!(
                    "sent byte {} is {b:#x}, the application wrote {want:#x}",
                    from + i as i64
                ));
            }
        }
        // The right edge: the widest SEG.ACK + SEG.WND the peer offered, or SND.UNA +
        // SND.WND when SND.WND is a window the peer did offer. RFC 9293 3.10.7.4 updates
        // SND.WND only from a segment newer by SND.WL1/SND.WL2, so an ACK that advances
        // SND.UNA on an older sequence number (a retransmission) leaves SND.WND as it
        // was, relative to the new SND.UNA: the edge moves past anything offered. That
        // is the RFC's rule (BSD's too; Linux updates on every advancing ACK), so the
        // oracle allows it, and still checks SND.WND against what the peer offered.
        let end = start.wrapping_add(data.len() as u32);
        let own = d
            .snd_una
            .wrapping_add(d.snd_wnd.min(peer.max_window as usize) as u32);
        let probe = i64::from(data.len() == 1);
        let within = |edge: u32| dist(end, edge) <= probe;
        let allowed = peer.edge.is_some_and(|edge| within(edge) || within(own));
        if !allowed {
            return Err(format!(
                "sent {start}..{end} beyond the peer's window: widest edge offered {:?}, \
                 SND.UNA {} + SND.WND {} (largest window offered {}, shift {shift})",
                peer.edge, d.snd_una, d.snd_wnd, peer.max_window
            ));
        }
    }
    if repr.flags.has(Flags::ACK) && !repr.flags.has(Flags::RST) && state != State::SynSent {
        match peer.max_ack(d.irs) {
            None => {
                return Err(format!(
                    "acknowledges {} but the peer sent no SYN at IRS {}",
                    repr.ack.0, d.irs
                ))
            }
            Some(max) => {
                let ahead = dist(repr.ack.0, max);
                let behind = dist(repr.ack.0, d.irs.wrapping_add(1));
                if ahead > 0 || behind < 0 {
                    return Err(format!(
                        "acknowledges {} but the peer sent only up to {max} after IRS {}",
                        repr.ack.0, d.irs
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Bytes `recv` returned: exactly the next bytes of the peer's stream, never more than
/// it sent without a hole, and nothing after end of stream.
pub fn check_delivered(got: &[u8], peer: &PeerModel, app: &AppModel) -> Verdict {
    if app.eof {
        return Err(format!("{} bytes delivered after end of stream", got.len()));
    }
    let start = app.irs.wrapping_add(1);
    let have = peer.prefix(start);
    if app.delivered + got.len() as u64 > have {
        return Err(format!(
            "delivered up to byte {} but the peer sent only {have} in order",
            app.delivered + got.len() as u64
        ));
    }
    for (i, &b) in got.iter().enumerate() {
        let seq = start.wrapping_add((app.delivered + i as u64) as u32);
        if b != peer_byte(seq) {
            return Err(format!(
                "delivered byte {} (seq {seq}) is {b:#x}, the peer sent {:#x}",
                app.delivered + i as u64,
                peer_byte(seq)
            ));
        }
    }
    Ok(())
}

/// `recv` said end of stream: in a state where the peer's FIN was taken, the FIN must
/// have come right after the bytes delivered (RFC 9293 3.10.7.4 eighth).
pub fn check_eof(state: State, peer: &PeerModel, app: &AppModel) -> Verdict {
    if matches!(
        state,
        State::CloseWait | State::LastAck | State::Closing | State::TimeWait
    ) {
        let at = app.irs.wrapping_add(1).wrapping_add(app.delivered as u32);
        if !peer.fins.contains(&at) {
            return Err(format!(
                "end of stream after {} bytes, but the peer sent no FIN at {at}",
                app.delivered
            ));
        }
    }
    Ok(())
}

/// The connection's variables after any event (RFC 9293 3.3.1): SND.UNA <= SND.NXT <=
/// SND.MAX, the queues within their buffers, RCV.NXT never past what the peer sent, and
/// a timer armed while anything is unacknowledged (RFC 6298 5.1).
pub fn check_invariants(c: &Connection, peer: &PeerModel, buffers: (usize, usize)) -> Verdict {
    let d = c.details();
    let state = c.state();
    if dist(d.snd_nxt, d.snd_una) < 0 || dist(d.snd_max, d.snd_nxt) < 0 {
        return Err(format!(
            "sequence variables out of order: SND.UNA {} SND.NXT {} SND.MAX {}",
            d.snd_una, d.snd_nxt, d.snd_max
        ));
    }
    let (recv_buf, send_buf) = buffers;
    if d.send_queue > send_buf || d.recv_queue > recv_buf {
        return Err(format!(
            "queues {} / {} exceed buffers {send_buf} / {recv_buf}",
            d.send_queue, d.recv_queue
        ));
    }
    let outstanding = dist(d.snd_max, d.snd_una);
    if outstanding > d.send_queue as i64 + 2 {
        return Err(format!(
            "{outstanding} outstanding with only {} queued",
            d.send_queue
        ));
    }
    if state.is_synchronized() || state == State::SynReceived {
        match peer.max_ack(d.irs) {
            Some(max) if dist(d.rcv_nxt, max) <= 0 => {}
            max => {
                return Err(format!(
                    "RCV.NXT {} is past what the peer sent ({max:?})",
                    d.rcv_nxt
                ))
            }
        }
    }
    let waiting = !matches!(state, State::Closed | State::Listen | State::TimeWait);
    if waiting && outstanding > 0 && c.poll_timeout().is_none() {
        return Err(format!(
            "{outstanding} unacknowledged and no timer armed in {state}"
        ));
    }
    Ok(())
}

/// The window we advertise never shrinks: the right edge SEG.ACK + SEG.WND of a segment
/// we send is never left of one we advertised before (RFC 9293 3.8.6.2.2: the receiver
/// SHOULD NOT shrink the window; RFC 7323 2.4 allows the rounding a shift causes).
pub fn check_window_kept(repr: &TcpRepr, shift: u8, edge: &mut Option<u32>) -> Verdict {
    if repr.flags.has(Flags::SYN) || repr.flags.has(Flags::RST) || !repr.flags.has(Flags::ACK) {
        return Ok(());
    }
    let now = repr.ack.0.wrapping_add(u32::from(repr.window) << shift);
    if let Some(before) = *edge {
        let slack = (1i64 << shift) - 1;
        if dist(now, before) < -slack {
            return Err(format!(
                "advertised window shrank: right edge {now} (ack {} win {}) after {before}",
                repr.ack.0, repr.window
            ));
        }
        if dist(now, before) <= 0 {
            return Ok(());
        }
    }
    *edge = Some(now);
    Ok(())
}
