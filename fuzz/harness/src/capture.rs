//! Real traffic as seeds: a pcap of netstack talking with the kernel (`fuzz/captures/`,
//! recorded by `tests/tests/fuzz_captures.rs`, see `scripts/fuzz-captures.sh`) turned
//! into inputs of the `ingress`, `wire`, `tcp_conversation` and `differential` targets.
//!
//! - `ingress`: the kernel's frames of every connection it opened to port 80, with the
//!   time between them. Each goes through a live [`Ingress`] as it is converted, so the
//!   acknowledgment numbers (and SACK blocks and timestamp echoes) the kernel gave the
//!   captured stack are moved to the numbers this stack chose: the input replays the
//!   conversation, not a string of segments the stack would reset.
//! - `tcp_conversation` and `differential`: one conversation per connection. Our ISS and
//!   the kernel's are the captured ones; the kernel's segments become peer segments placed
//!   relative to a live [`Runner`]'s state, and what netstack did becomes application
//!   calls: SEND before the data it sent, a read after data arrived, a shutdown before
//!   its FIN. Timestamps are left out (the input format gives a segment one option value,
//!   which cannot carry the kernel's clock); MSS, window scale and SACK stay.
//! - `wire`: one frame of each kind (control bits, data or not) the capture holds.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::State;
use netstack_core::wire::ipv4::protocol;
use netstack_core::wire::tcp::{Flags, TcpRepr};
use netstack_core::wire::{EtherType, EthernetRepr, Ipv4Repr};

use crate::bytes::Writer;
use crate::conversation::{
    AckAt, Conversation, OptionBits, PeerSegment, SeqAt, Setup, Step, MAX_PAYLOAD, MAX_STEPS,
};
use crate::ingress::{record, Ingress, MAX_FRAMES};
use crate::peer::dist;
use crate::run::Runner;
use crate::trace::{tcp_frame, Dir};

/// netstack's address in the captures (and in the targets).
const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// One frame of a capture and when it was recorded, in microseconds.
#[derive(Clone, Debug)]
pub struct Record {
    /// Capture time, microseconds.
    pub at_us: u64,
    /// The whole Ethernet frame.
    pub frame: Vec<u8>,
}

/// Reads a classic libpcap file (either byte order, micro- or nanosecond stamps).
pub fn read_pcap(data: &[u8]) -> Result<Vec<Record>, String> {
    let magic = data.get(..4).ok_or("shorter than a pcap header")?;
    let (big, nanos) = match magic {
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        _ => return Err("not a pcap file".into()),
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let link = u32_at(20).ok_or("shorter than a pcap header")?;
    if link != 1 {
        return Err(format!("link type {link}, not Ethernet (1)"));
    }
    let mut at = 24;
    let mut out = vec![];
    while at < data.len() {
        let (sec, frac, len) = match (u32_at(at), u32_at(at + 4), u32_at(at + 8)) {
            (Some(s), Some(f), Some(l)) => (s, f, l as usize),
            _ => return Err(format!("a record header cut short at byte {at}")),
        };
        let frame = data
            .get(at + 16..at + 16 + len)
            .ok_or_else(|| format!("a record cut short at byte {at}"))?;
        let frac_us = if nanos { frac / 1000 } else { frac };
        out.push(Record {
            at_us: u64::from(sec) * 1_000_000 + u64::from(frac_us),
            frame: frame.to_vec(),
        });
        at += 16 + len;
    }
    Ok(out)
}

/// A TCP segment of a capture.
#[derive(Clone, Debug)]
struct Seg {
    at_us: u64,
    /// The kernel sent it (else netstack did).
    from_kernel: bool,
    /// The kernel's port: which connection it belongs to.
    kernel_port: u16,
    repr: TcpRepr,
    data: Vec<u8>,
}

fn segments(records: &[Record]) -> Vec<Seg> {
    let mut out = vec![];
    for r in records {
        let Ok((eth, ip)) = EthernetRepr::parse(&r.frame) else {
            continue;
        };
        if eth.ethertype != EtherType::Ipv4 {
            continue;
        }
        let Ok((ipr, body)) = Ipv4Repr::parse(ip) else {
            continue;
        };
        if ipr.protocol != protocol::TCP || ipr.is_fragment() {
            continue;
        }
        let Ok((repr, data)) = TcpRepr::parse(ipr.src, ipr.dst, body) else {
            continue;
        };
        let from_kernel = ipr.dst == STACK_IP;
        out.push(Seg {
            at_us: r.at_us,
            from_kernel,
            kernel_port: if from_kernel {
                repr.src_port
            } else {
                repr.dst_port
            },
            repr,
            data: data.to_vec(),
        });
    }
    out
}

/// The capture's segments by connection (the kernel's port), each in capture order.
fn connections(segs: &[Seg]) -> BTreeMap<u16, Vec<Seg>> {
    let mut by = BTreeMap::<u16, Vec<Seg>>::new();
    for s in segs {
        by.entry(s.kernel_port).or_default().push(s.clone());
    }
    by
}

/// Milliseconds from `from` to `to`, within a u16.
fn ms(from: u64, to: u64) -> u16 {
    (to.saturating_sub(from) / 1000).min(u64::from(u16::MAX)) as u16
}

/// Moves `seq` from one sequence space to another: `seq - from + to`.
fn moved(seq: Seq, from: u32, to: u32) -> Seq {
    Seq(seq.0.wrapping_sub(from).wrapping_add(to))
}

/// The `ingress` input: the kernel's frames of every connection it opened to port 80,
/// replayed through a live stack so their acknowledgments fit the numbers it chose.
/// `None` when the capture has no such connection.
pub fn ingress_input(records: &[Record]) -> Result<Option<Vec<u8>>, String> {
    let segs = segments(records);
    let opened_by_kernel: Vec<u16> = connections(&segs)
        .into_iter()
        .filter(|(_, c)| {
            c.first().is_some_and(|s| {
                s.from_kernel && s.repr.flags == Flags::SYN && s.repr.dst_port == 80
            })
        })
        .map(|(port, _)| port)
        .collect();
    if opened_by_kernel.is_empty() {
        return Ok(None);
    }
    // Per connection: the captured stack's ISS and TSval on its SYN,ACK, and then this
    // stack's.
    let mut captured = BTreeMap::<u16, (u32, u32)>::new();
    let mut ours = BTreeMap::<u16, (u32, u32)>::new();
    let mut ing = Ingress::new(false);
    let mut w = Writer::default();
    let mut last = segs.first().map_or(0, |s| s.at_us);
    let mut frames = 0;
    for s in &segs {
        if !opened_by_kernel.contains(&s.kernel_port) {
            continue;
        }
        if !s.from_kernel {
            if s.repr.flags.has(Flags::SYN) {
                let ts = s.repr.options.timestamps.map_or(0, |t| t.0);
                captured.insert(s.kernel_port, (s.repr.seq.0, ts));
            }
            continue;
        }
        if frames == MAX_FRAMES {
            break;
        }
        let mut repr = s.repr;
        if let (Some(&(cap_iss, cap_ts)), Some(&(our_iss, our_ts))) =
            (captured.get(&s.kernel_port), ours.get(&s.kernel_port))
        {
            if repr.flags.has(Flags::ACK) {
                repr.ack = moved(repr.ack, cap_iss, our_iss);
            }
            for (l, r) in repr.options.sack.iter_mut().flatten() {
                *l = moved(*l, cap_iss, our_iss);
                *r = moved(*r, cap_iss, our_iss);
            }
            if let Some((_, ecr)) = &mut repr.options.timestamps {
                *ecr = moved(Seq(*ecr), cap_ts, our_ts).0;
            }
        }
        let delta = ms(last, s.at_us);
        last = s.at_us;
        let frame = tcp_frame(Dir::PeerToUs, &repr, &s.data);
        record(&mut w, delta, false, &frame);
        frames += 1;
        for f in ing.step(delta, &frame)? {
            if let Some(r) = syn_ack_to(&f, s.kernel_port) {
                let ts = r.options.timestamps.map_or(0, |t| t.0);
                ours.insert(s.kernel_port, (r.seq.0, ts));
            }
        }
    }
    Ok(Some(w.out))
}

/// The SYN,ACK in `frame`, if it is one to the kernel's port `port`.
fn syn_ack_to(frame: &[u8], port: u16) -> Option<TcpRepr> {
    let (_, ip) = EthernetRepr::parse(frame).ok()?;
    let (ipr, body) = Ipv4Repr::parse(ip).ok()?;
    let (r, _) = TcpRepr::parse(ipr.src, ipr.dst, body).ok()?;
    (r.flags.has(Flags::SYN | Flags::ACK) && r.dst_port == port).then_some(r)
}

/// One `tcp_conversation` (and `differential`) input per connection of the capture,
/// named by the kernel's port; a connection whose conversion fails an oracle is
/// reported by its error instead.
pub fn conversations(records: &[Record]) -> Vec<(u16, Result<Conversation, String>)> {
    connections(&segments(records))
        .into_iter()
        .map(|(port, segs)| (port, conversation(&segs)))
        .collect()
}

fn conversation(segs: &[Seg]) -> Result<Conversation, String> {
    let first = segs.first().ok_or("no segments")?;
    // Who opened: our SYN first is an active open (a simultaneous one if the kernel's
    // SYN follows), the kernel's a passive one.
    let active = !first.from_kernel;
    let our_syn = segs
        .iter()
        .find(|s| !s.from_kernel && s.repr.flags.has(Flags::SYN));
    let kernel_syn = segs
        .iter()
        .find(|s| s.from_kernel && s.repr.flags.has(Flags::SYN));
    let setup = Setup {
        state: if active {
            State::SynSent
        } else {
            State::Listen
        },
        iss: our_syn.map_or(5000, |s| s.repr.seq.0),
        irs: kernel_syn.map_or(1000, |s| s.repr.seq.0),
        peer_window: 65535,
        peer_mss: 1460,
        recv_buffer: 3,
        send_buffer: 3,
    };
    let mut conv = Conversation {
        setup,
        steps: vec![],
    };
    let mut r = Runner::new(&setup, false);
    r.run(&conv).map_err(|f| f.to_string())?;
    let apply = |r: &mut Runner, conv: &mut Conversation, step: Step| {
        conv.steps.push(step);
        r.apply(&step).map_err(|f| f.to_string())
    };
    let mut last = first.at_us;
    // Our data the application has written: the next byte's sequence number.
    let mut written_to = setup.iss.wrapping_add(1);
    let mut shut = false;
    for s in segs {
        if conv.steps.len() + 4 > MAX_STEPS {
            break;
        }
        let delta = ms(last, s.at_us);
        last = s.at_us;
        if delta > 0 {
            apply(&mut r, &mut conv, Step::Advance(delta))?;
        }
        if !s.from_kernel {
            // What our application must have done for netstack to send this.
            let start = s.repr.seq + usize::from(s.repr.flags.has(Flags::SYN));
            let end = start.0.wrapping_add(s.data.len() as u32);
            if !s.data.is_empty() && dist(end, written_to) > 0 {
                let n = dist(end, written_to) as u16;
                written_to = end;
                apply(&mut r, &mut conv, Step::Send(n))?;
            }
            if s.repr.flags.has(Flags::FIN) && !shut {
                shut = true;
                apply(&mut r, &mut conv, Step::Recv(u16::MAX))?;
                apply(&mut r, &mut conv, Step::Shutdown)?;
            }
            continue;
        }
        let seg = peer_segment(&r, s);
        apply(&mut r, &mut conv, Step::Segment(seg))?;
        if !s.data.is_empty() || s.repr.flags.has(Flags::FIN) {
            apply(&mut r, &mut conv, Step::Recv(u16::MAX))?;
        }
    }
    Ok(conv)
}

/// The kernel's segment `s` as a peer segment placed relative to the runner's state.
fn peer_segment(r: &Runner, s: &Seg) -> PeerSegment {
    let d = r.conn.details();
    let rcv_nxt = if matches!(
        r.conn.state(),
        State::Listen | State::SynSent | State::Closed
    ) {
        r.peer.next
    } else {
        d.rcv_nxt
    };
    let near = |x: i64| (0..=i64::from(u16::MAX)).contains(&x).then_some(x as u16);
    let seq = s.repr.seq.0;
    let seq_at = near(dist(seq, rcv_nxt))
        .map(SeqAt::RcvNxtPlus)
        .or_else(|| near(dist(rcv_nxt, seq)).map(SeqAt::RcvNxtMinus))
        .or_else(|| near(dist(seq, r.peer.next)).map(SeqAt::PeerNextPlus))
        .unwrap_or(SeqAt::RcvNxtPlus(0));
    let ack = s.repr.ack.0;
    let ack_at = near(dist(ack, d.snd_una))
        .map(AckAt::SndUnaPlus)
        .or_else(|| near(dist(d.snd_max, ack)).map(AckAt::SndMaxMinus))
        .unwrap_or(AckAt::SndUnaPlus(0));
    let o = &s.repr.options;
    let mut bits = 0;
    let mut value = 0u16;
    if let Some(mss) = o.mss {
        bits |= OptionBits::MSS;
        value = mss;
    }
    if let Some(ws) = o.window_scale {
        // One value serves both: MSS rounded down to 16, plus the shift.
        bits |= OptionBits::WS;
        value = (value & !15) | u16::from(ws & 15);
    }
    if o.sack_permitted {
        bits |= OptionBits::SACK_PERMITTED;
    }
    if let Some((left, _)) = o.sack[0] {
        if let Some(v) = near(dist(left.0, d.snd_una)) {
            bits |= OptionBits::SACK;
            value = v;
        }
    }
    PeerSegment {
        flags: s.repr.flags.0 & 0x3f,
        seq: seq_at,
        ack: ack_at,
        window: s.repr.window,
        options: OptionBits(bits),
        option_value: value,
        len: s.data.len().min(MAX_PAYLOAD) as u16,
    }
}

/// `wire` inputs: one Ethernet frame of each kind (control bits, data or not) the
/// capture holds, and its TCP segment alone, in the target's format (a selector byte,
/// then the bytes).
pub fn wire_inputs(records: &[Record]) -> Vec<Vec<u8>> {
    let mut kinds = BTreeMap::new();
    for r in records {
        let kind = match segments(std::slice::from_ref(r)).first() {
            Some(s) => (s.repr.flags.0, !s.data.is_empty()),
            None => (0xff, false),
        };
        kinds.entry(kind).or_insert_with(|| r.frame.clone());
    }
    let mut out = vec![];
    for frame in kinds.into_values() {
        let mut whole = vec![0u8];
        whole.extend_from_slice(&frame);
        out.push(whole);
        if let Some(tcp) = frame.get(34..).filter(|_| frame.len() > 54) {
            let mut seg = vec![0x84u8];
            seg.extend_from_slice(tcp);
            out.push(seg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstack_drivers::PcapFile;

    fn capture(name: &str) -> Vec<Record> {
        let path = format!("{}/../captures/{name}.pcap", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        read_pcap(&data).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn a_pcap_we_write_reads_back() {
        let path = std::env::temp_dir().join(format!("fuzz-capture-{}.pcap", std::process::id()));
        let mut f = PcapFile::create(&path).unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_micros(1_500_002);
        f.write_frame(&[1, 2, 3], t).unwrap();
        drop(f);
        let records = read_pcap(&std::fs::read(&path).unwrap()).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].at_us, &records[0].frame[..]),
            (1_500_002, &[1, 2, 3][..])
        );
        assert!(read_pcap(b"nope").is_err());
    }

    #[test]
    fn every_committed_capture_converts_and_its_seeds_pass_the_oracles() {
        for name in [
            "handshake-data-close",
            "active-open-send-close",
            "loss-and-retransmission",
            "resets",
            "simultaneous-open",
        ] {
            let records = capture(name);
            if let Some(input) = ingress_input(&records).unwrap() {
                crate::ingress::run(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            for (port, conv) in conversations(&records) {
                let conv = conv.unwrap_or_else(|e| panic!("{name} port {port}: {e}"));
                crate::run::run(&conv).unwrap_or_else(|f| panic!("{name} port {port}: {f}"));
                crate::differential::run(&conv)
                    .unwrap_or_else(|e| panic!("{name} port {port} differential: {e}"));
            }
            assert!(!wire_inputs(&records).is_empty());
        }
    }

    #[test]
    fn the_kernel_conversation_replays_in_the_ingress_stack() {
        // The kernel's echo client: its acknowledgments, moved to this stack's numbers,
        // are taken, so the stack resets nothing and its connection gets every byte.
        let input = ingress_input(&capture("handshake-data-close"))
            .unwrap()
            .unwrap();
        let (lines, result) = crate::ingress::run_traced(&input);
        assert_eq!(result, Ok(()));
        let resets = lines
            .iter()
            .filter_map(|l| match l {
                crate::trace::Line::Frame(_, false, f) => syn_ack_or_rst(f),
                _ => None,
            })
            .filter(|&rst| rst)
            .count();
        assert_eq!(resets, 0, "{}", crate::trace::render(&lines));
    }

    /// For a TCP frame: whether it is a reset.
    fn syn_ack_or_rst(frame: &[u8]) -> Option<bool> {
        let (_, ip) = EthernetRepr::parse(frame).ok()?;
        let (ipr, body) = Ipv4Repr::parse(ip).ok()?;
        let (r, _) = TcpRepr::parse(ipr.src, ipr.dst, body).ok()?;
        Some(r.flags.has(Flags::RST))
    }

    #[test]
    fn the_simultaneous_open_goes_through_syn_received() {
        let records = capture("simultaneous-open");
        let (_, conv) = conversations(&records).remove(0);
        let conv = conv.unwrap();
        assert_eq!(conv.setup.state, State::SynSent);
        let cov = crate::run::run(&conv).unwrap();
        let report = cov.report();
        assert!(
            report.contains("[x] SYN-SENT --rcv SYN--> SYN-RECEIVED"),
            "{report}"
        );
        assert!(
            report.contains("[x] SYN-RECEIVED --rcv ACK--> ESTABLISHED"),
            "{report}"
        );
    }
}
