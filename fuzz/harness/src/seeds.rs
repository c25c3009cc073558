//! The seed corpus, synthesized: the conversations real traffic has (a handshake each
//! way, data, loss and retransmission, both closes, resets, simultaneous open and
//! close), written as inputs of each target. `fuzz-seeds` writes them to `fuzz/corpus/`.

use netstack_core::tcp::State;

use crate::conversation::{AckAt, Conversation, OptionBits, PeerSegment, SeqAt, Setup, Step};

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

fn setup(state: State) -> Setup {
    Setup {
        state,
        iss: 5000,
        irs: 1000,
        peer_window: 65535,
        peer_mss: 1460,
        recv_buffer: 3,
        send_buffer: 3,
    }
}

/// A segment at the peer's next sequence number acknowledging all we sent.
fn seg(flags: u8, len: u16) -> PeerSegment {
    PeerSegment {
        flags,
        seq: SeqAt::PeerNextPlus(0),
        ack: AckAt::SndMaxPlus(0),
        window: 65535,
        options: OptionBits::default(),
        option_value: 0,
        len,
    }
}

/// The peer's SYN (or SYN,ACK) with MSS, window scale, SACK-permitted and timestamps.
fn syn(flags: u8) -> Step {
    Step::Segment(PeerSegment {
        seq: SeqAt::RcvNxtPlus(0),
        options: OptionBits(
            OptionBits::MSS | OptionBits::WS | OptionBits::SACK_PERMITTED | OptionBits::TS,
        ),
        option_value: 1460,
        ..seg(flags, 0)
    })
}

fn s(flags: u8, len: u16) -> Step {
    Step::Segment(seg(flags, len))
}

/// Every seed conversation, by name.
pub fn conversations() -> Vec<(&'static str, Conversation)> {
    let conv = |state, steps: Vec<Step>| Conversation {
        setup: setup(state),
        steps,
    };
    vec![
        (
            "passive-open-data-close",
            conv(
                State::Listen,
                vec![
                    syn(SYN),
                    s(ACK, 0),
                    s(ACK | PSH, 100),
                    Step::Recv(4096),
                    Step::Send(300),
                    s(ACK, 0),
                    s(ACK | FIN, 0),
                    Step::Recv(4096),
                    Step::Recv(4096),
                    Step::Close,
                    s(ACK, 0),
                ],
            ),
        ),
        (
            "active-open-send-close",
            conv(
                State::SynSent,
                vec![
                    syn(SYN | ACK),
                    Step::Send(3000),
                    s(ACK, 0),
                    Step::Shutdown,
                    s(ACK, 0),
                    s(ACK | FIN, 0),
                    Step::NextTimer,
                ],
            ),
        ),
        (
            "loss-and-reordering",
            conv(
                State::Established,
                vec![
                    Step::Segment(PeerSegment {
                        seq: SeqAt::PeerNextPlus(500),
                        ..seg(ACK, 500)
                    }),
                    Step::Segment(PeerSegment {
                        seq: SeqAt::RcvNxtPlus(0),
                        ..seg(ACK, 500)
                    }),
                    Step::Recv(4096),
                    Step::Send(2000),
                    Step::NextTimer,
                    Step::NextTimer,
                    Step::Segment(PeerSegment {
                        ack: AckAt::SndUnaPlus(1000),
                        ..seg(ACK, 0)
                    }),
                    s(ACK, 0),
                    s(ACK, 0),
                    s(ACK, 0),
                    Step::Advance(200),
                    s(ACK, 0),
                ],
            ),
        ),
        (
            "zero-window-and-probe",
            conv(
                State::Established,
                vec![
                    Step::Segment(PeerSegment {
                        window: 0,
                        ..seg(ACK, 0)
                    }),
                    Step::Send(1000),
                    Step::NextTimer,
                    Step::NextTimer,
                    Step::Segment(PeerSegment {
                        window: 700,
                        ..seg(ACK, 0)
                    }),
                    Step::NextTimer,
                    s(ACK, 0),
                ],
            ),
        ),
        (
            "peer-closes-first",
            conv(
                State::Established,
                vec![
                    s(ACK | PSH | FIN, 10),
                    Step::Recv(100),
                    Step::Recv(100),
                    Step::Shutdown,
                    s(ACK, 0),
                ],
            ),
        ),
        (
            "simultaneous-close",
            conv(
                State::Established,
                vec![
                    Step::Shutdown,
                    Step::Segment(PeerSegment {
                        ack: AckAt::SndUnaPlus(0),
                        ..seg(ACK | FIN, 0)
                    }),
                    s(ACK, 0),
                    Step::NextTimer,
                ],
            ),
        ),
        (
            "fin-ack-in-fin-wait-1",
            conv(State::FinWait1, vec![s(ACK | FIN, 0), Step::NextTimer]),
        ),
        (
            "close-wait-close",
            conv(
                State::CloseWait,
                vec![Step::Send(100), Step::Close, s(ACK, 0)],
            ),
        ),
        (
            "reset-established",
            conv(State::Established, vec![s(RST, 0)]),
        ),
        (
            "simultaneous-open",
            conv(
                State::SynSent,
                vec![syn(SYN), s(ACK, 0), Step::Send(10), s(ACK, 0)],
            ),
        ),
        (
            "reset-in-syn-received",
            conv(
                State::Listen,
                vec![syn(SYN), s(RST, 0), syn(SYN), s(ACK, 0)],
            ),
        ),
        ("close-in-listen", conv(State::Listen, vec![Step::Close])),
        (
            "send-in-listen",
            conv(
                State::Listen,
                vec![Step::Send(100), syn(SYN | ACK), Step::Send(100), s(ACK, 0)],
            ),
        ),
        ("close-in-syn-sent", conv(State::SynSent, vec![Step::Close])),
        (
            "close-in-syn-received",
            conv(
                State::Listen,
                vec![syn(SYN), Step::Close, s(ACK, 0), s(ACK, 0)],
            ),
        ),
        (
            "syn-retransmitted-then-abort",
            conv(
                State::SynSent,
                vec![
                    Step::NextTimer,
                    Step::NextTimer,
                    syn(SYN | ACK),
                    Step::Abort,
                ],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::run;
    use crate::transitions::{Coverage, DIAGRAM};

    #[test]
    fn every_seed_passes_the_oracles_and_together_they_reach_the_whole_diagram() {
        let mut all = Coverage::default();
        for (name, conv) in conversations() {
            let cov = run(&conv).unwrap_or_else(|f| panic!("seed {name}: {f}"));
            all.merge(&cov);
        }
        let reached = DIAGRAM.iter().filter(|a| all.reached(**a)).count();
        assert_eq!(reached, DIAGRAM.len(), "{}", all.report());
        assert_eq!(all.states().len(), 11, "{}", all.report());
    }
}
