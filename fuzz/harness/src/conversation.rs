//! The input of the `tcp_conversation` and `differential` targets: how the connection
//! starts, then a list of steps. Peer segments are described *relative to the
//! connection's current state* (RCV.NXT, SND.UNA, SND.MAX, the peer's own next byte), so
//! most of them land in the window instead of being dropped by the first check.

use arbitrary::{Arbitrary, Unstructured};
use netstack_core::tcp::seq::Seq;
use netstack_core::tcp::State;
use netstack_core::wire::tcp::{Flags, Options, TcpRepr};

use crate::bytes::{Reader, Writer};
use crate::peer::peer_byte;
use crate::trace::{PEER, US};

/// Every state, in the order the input's state byte selects them.
pub const STATES: [State; 11] = [
    State::Listen,
    State::SynSent,
    State::SynReceived,
    State::Established,
    State::FinWait1,
    State::FinWait2,
    State::CloseWait,
    State::Closing,
    State::LastAck,
    State::TimeWait,
    State::Closed,
];

/// Receive and send buffer sizes the input chooses from: small ones reach zero windows.
pub const BUFFERS: [usize; 4] = [512, 2048, 8192, 65535];

/// Longest payload a peer segment carries.
pub const MAX_PAYLOAD: usize = 2000;

/// How the connection is built before the first step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setup {
    /// The state it starts in (`Connection::listen`, `connect` or `in_state`).
    pub state: State,
    /// Our ISS.
    pub iss: u32,
    /// The peer's ISN: the SYN seed segments carry, and IRS for `in_state`.
    pub irs: u32,
    /// The peer's window for `in_state`.
    pub peer_window: u16,
    /// The peer's MSS for `in_state` (0: none announced).
    pub peer_mss: u16,
    /// Index into [`BUFFERS`] for our receive buffer.
    pub recv_buffer: u8,
    /// Index into [`BUFFERS`] for our send buffer.
    pub send_buffer: u8,
}

/// Where a peer segment's sequence number lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqAt {
    /// RCV.NXT + n (before a SYN is taken: the peer's ISN + n).
    RcvNxtPlus(u16),
    /// RCV.NXT - n: old, duplicate data.
    RcvNxtMinus(u16),
    /// The peer's next new byte (the highest it has sent) + n.
    PeerNextPlus(u16),
    /// Anywhere: n * 65537.
    Raw(u16),
}

impl SeqAt {
    /// The sequence number this places, given the connection's RCV.NXT and the peer's
    /// next new byte.
    pub fn resolve(self, rcv_nxt: u32, peer_next: u32) -> u32 {
        match self {
            SeqAt::RcvNxtPlus(n) => rcv_nxt.wrapping_add(u32::from(n)),
            SeqAt::RcvNxtMinus(n) => rcv_nxt.wrapping_sub(u32::from(n)),
            SeqAt::PeerNextPlus(n) => peer_next.wrapping_add(u32::from(n)),
            SeqAt::Raw(n) => u32::from(n).wrapping_mul(65537),
        }
    }
}

/// What a peer segment acknowledges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckAt {
    /// SND.UNA + n.
    SndUnaPlus(u16),
    /// SND.MAX + n: beyond what we sent when n > 0.
    SndMaxPlus(u16),
    /// SND.MAX - n.
    SndMaxMinus(u16),
    /// Anywhere: n * 65537.
    Raw(u16),
}

impl AckAt {
    /// The acknowledgment number this places, given the connection's SND.UNA and SND.MAX.
    pub fn resolve(self, snd_una: u32, snd_max: u32) -> u32 {
        match self {
            AckAt::SndUnaPlus(n) => snd_una.wrapping_add(u32::from(n)),
            AckAt::SndMaxPlus(n) => snd_max.wrapping_add(u32::from(n)),
            AckAt::SndMaxMinus(n) => snd_max.wrapping_sub(u32::from(n)),
            AckAt::Raw(n) => u32::from(n).wrapping_mul(65537),
        }
    }
}

/// Options a peer segment carries, each present when its bit is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OptionBits(pub u8);

impl OptionBits {
    /// MSS, from the value field.
    pub const MSS: u8 = 1;
    /// Window scale, value % 16.
    pub const WS: u8 = 2;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// Timestamps (value, and the last value we sent).
    pub const TS: u8 = 8;
    /// One SACK block over our data, SND.UNA + value for one MSS.
    pub const SACK: u8 = 16;
}

/// A segment the peer sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerSegment {
    /// Control bits (FIN SYN RST PSH ACK URG in the low six bits).
    pub flags: u8,
    /// Its sequence number.
    pub seq: SeqAt,
    /// Its acknowledgment number.
    pub ack: AckAt,
    /// Its window field, as on the wire.
    pub window: u16,
    /// Which options it carries.
    pub options: OptionBits,
    /// The value the options take their numbers from.
    pub option_value: u16,
    /// Payload bytes (at most [`MAX_PAYLOAD`]); their values are the peer's stream at
    /// the segment's sequence numbers, so a retransmission repeats the same bytes.
    pub len: u16,
}

impl PeerSegment {
    /// The segment on the wire at `seq` with `ack`, and its payload (the peer's stream
    /// at those sequence numbers). A SACK block, if asked for, starts `option_value`
    /// past `sack_from` and is `sack_len` long; a timestamp echoes `ts_ecr`.
    pub fn build(
        &self,
        seq: u32,
        ack: u32,
        sack_from: u32,
        sack_len: u32,
        ts_ecr: u32,
    ) -> (TcpRepr, Vec<u8>) {
        let flags = Flags(self.flags & 0x3f);
        let v = self.option_value;
        let has = |b: u8| self.options.0 & b != 0;
        let mut options = Options {
            mss: has(OptionBits::MSS).then_some(v),
            window_scale: has(OptionBits::WS).then_some((v % 16) as u8),
            sack_permitted: has(OptionBits::SACK_PERMITTED),
            timestamps: has(OptionBits::TS).then_some((u32::from(v) << 8, ts_ecr)),
            ..Options::default()
        };
        if has(OptionBits::SACK) {
            let left = sack_from.wrapping_add(u32::from(v));
            options.sack[0] = Some((Seq(left), Seq(left.wrapping_add(sack_len))));
        }
        let repr = TcpRepr {
            src_port: PEER.1,
            dst_port: US.1,
            seq: Seq(seq),
            ack: Seq(ack),
            flags,
            window: self.window,
            urgent: 0,
            options,
        };
        let start = seq.wrapping_add(u32::from(flags.has(Flags::SYN)));
        let data = (0..u32::from(self.len))
            .map(|k| peer_byte(start.wrapping_add(k)))
            .collect();
        (repr, data)
    }
}

/// One step of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The peer's segment arrives.
    Segment(PeerSegment),
    /// The application sends this many bytes of its stream.
    Send(u16),
    /// The application reads up to this many bytes.
    Recv(u16),
    /// The application shuts down its sending side.
    Shutdown,
    /// The application closes.
    Close,
    /// The application aborts.
    Abort,
    /// The clock moves on this many milliseconds; due timers run.
    Advance(u16),
    /// The clock moves to the next deadline, which runs.
    NextTimer,
}

/// A whole conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    /// How the connection starts.
    pub setup: Setup,
    /// What happens, in order.
    pub steps: Vec<Step>,
}

/// Most steps one input runs: beyond this, time is better spent on other inputs.
pub const MAX_STEPS: usize = 256;

impl Setup {
    fn decode(r: &mut Reader<'_>) -> Setup {
        Setup {
            state: STATES[usize::from(r.u8()) % STATES.len()],
            iss: r.u32(),
            irs: r.u32(),
            peer_window: r.u16(),
            peer_mss: r.u16(),
            recv_buffer: r.u8() % BUFFERS.len() as u8,
            send_buffer: r.u8() % BUFFERS.len() as u8,
        }
    }

    fn encode(&self, w: &mut Writer) {
        let index = STATES.iter().position(|s| *s == self.state).unwrap_or(0);
        w.u8(index as u8);
        w.u32(self.iss);
        w.u32(self.irs);
        w.u16(self.peer_window);
        w.u16(self.peer_mss);
        w.u8(self.recv_buffer);
        w.u8(self.send_buffer);
    }
}

impl SeqAt {
    fn decode(r: &mut Reader<'_>) -> SeqAt {
        let (mode, n) = (r.u8(), r.u16());
        match mode % 8 {
            0..=2 => SeqAt::RcvNxtPlus(n),
            3 => SeqAt::RcvNxtMinus(n),
            4..=6 => SeqAt::PeerNextPlus(n),
            _ => SeqAt::Raw(n),
        }
    }

    fn encode(&self, w: &mut Writer) {
        let (mode, n) = match *self {
            SeqAt::RcvNxtPlus(n) => (0, n),
            SeqAt::RcvNxtMinus(n) => (3, n),
            SeqAt::PeerNextPlus(n) => (4, n),
            SeqAt::Raw(n) => (7, n),
        };
        w.u8(mode);
        w.u16(n);
    }
}

impl AckAt {
    fn decode(r: &mut Reader<'_>) -> AckAt {
        let (mode, n) = (r.u8(), r.u16());
        match mode % 8 {
            0..=3 => AckAt::SndUnaPlus(n),
            4 => AckAt::SndMaxPlus(n),
            5 | 6 => AckAt::SndMaxMinus(n),
            _ => AckAt::Raw(n),
        }
    }

    fn encode(&self, w: &mut Writer) {
        let (mode, n) = match *self {
            AckAt::SndUnaPlus(n) => (0, n),
            AckAt::SndMaxPlus(n) => (4, n),
            AckAt::SndMaxMinus(n) => (5, n),
            AckAt::Raw(n) => (7, n),
        };
        w.u8(mode);
        w.u16(n);
    }
}

// Step tags. Decoding takes the tag modulo 16, weighted towards segments.
const SEGMENT: u8 = 0;
const SEND: u8 = 7;
const RECV: u8 = 9;
const SHUTDOWN: u8 = 11;
const CLOSE: u8 = 12;
const ABORT: u8 = 13;
const ADVANCE: u8 = 14;
const NEXT_TIMER: u8 = 15;

impl Step {
    fn decode(r: &mut Reader<'_>) -> Step {
        match r.u8() % 16 {
            0..=6 => Step::Segment(PeerSegment {
                flags: r.u8() & 0x3f,
                seq: SeqAt::decode(r),
                ack: AckAt::decode(r),
                window: r.u16(),
                options: OptionBits(r.u8()),
                option_value: r.u16(),
                len: r.u16() % (MAX_PAYLOAD as u16 + 1),
            }),
            7 | 8 => Step::Send(r.u16()),
            9 | 10 => Step::Recv(r.u16()),
            SHUTDOWN => Step::Shutdown,
            CLOSE => Step::Close,
            ABORT => Step::Abort,
            ADVANCE => Step::Advance(r.u16()),
            _ => Step::NextTimer,
        }
    }

    fn encode(&self, w: &mut Writer) {
        match *self {
            Step::Segment(s) => {
                w.u8(SEGMENT);
                w.u8(s.flags);
                s.seq.encode(w);
                s.ack.encode(w);
                w.u16(s.window);
                w.u8(s.options.0);
                w.u16(s.option_value);
                w.u16(s.len);
            }
            Step::Send(n) => {
                w.u8(SEND);
                w.u16(n);
            }
            Step::Recv(n) => {
                w.u8(RECV);
                w.u16(n);
            }
            Step::Shutdown => w.u8(SHUTDOWN),
            Step::Close => w.u8(CLOSE),
            Step::Abort => w.u8(ABORT),
            Step::Advance(ms) => {
                w.u8(ADVANCE);
                w.u16(ms);
            }
            Step::NextTimer => w.u8(NEXT_TIMER),
        }
    }
}

impl Conversation {
    /// Decodes fuzzer bytes; every byte string is some conversation.
    pub fn decode(data: &[u8]) -> Conversation {
        let mut r = Reader::new(data);
        let setup = Setup::decode(&mut r);
        let mut steps = Vec::new();
        while !r.is_empty() && steps.len() < MAX_STEPS {
            steps.push(Step::decode(&mut r));
        }
        Conversation { setup, steps }
    }

    /// The bytes that decode to this conversation (for seeds).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        self.setup.encode(&mut w);
        for step in &self.steps {
            step.encode(&mut w);
        }
        w.out
    }
}

impl<'a> Arbitrary<'a> for Conversation {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Conversation> {
        let len = u.arbitrary_len::<u8>()?;
        Ok(Conversation::decode(u.bytes(len)?))
    }

    fn arbitrary_take_rest(u: Unstructured<'a>) -> arbitrary::Result<Conversation> {
        Ok(Conversation::decode(u.take_rest()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conversation_round_trips_through_its_bytes() {
        let c = Conversation {
            setup: Setup {
                state: State::FinWait1,
                iss: 1,
                irs: 0xffff_fff0,
                peer_window: 1000,
                peer_mss: 536,
                recv_buffer: 1,
                send_buffer: 3,
            },
            steps: vec![
                Step::Segment(PeerSegment {
                    flags: 0x11,
                    seq: SeqAt::PeerNextPlus(3),
                    ack: AckAt::SndMaxMinus(1),
                    window: 7,
                    options: OptionBits(OptionBits::TS | OptionBits::SACK),
                    option_value: 9,
                    len: 100,
                }),
                Step::Send(5),
                Step::Recv(6),
                Step::Shutdown,
                Step::Close,
                Step::Abort,
                Step::Advance(40),
                Step::NextTimer,
            ],
        };
        assert_eq!(Conversation::decode(&c.encode()), c);
    }

    #[test]
    fn every_byte_string_decodes() {
        for data in [&[][..], &[0xff; 3], &[0; 40]] {
            let c = Conversation::decode(data);
            assert!(c.steps.len() <= MAX_STEPS);
        }
    }
}
