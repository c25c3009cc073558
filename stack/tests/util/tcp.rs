//! TCP segment scripts: a template segment from the peer, "send this segment", "expect
//! exactly these segments", and fixtures that hand back a connection already in a given
//! state. Every helper is `#[track_caller]`, so a failure points at the trace line.
//!
//! Sequence numbers in the traces: the peer's are literal (its ISN is [`PEER_ISS`], 1000,
//! unless a test picks another); ours are written relative to `c.iss`, the ISS the stack
//! chose (it is keyed and clock-driven, RFC 6528), e.g. `c.iss + 1` for our first byte.

use core::fmt;
use core::ops::Deref;
use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::tcp::seq::Seq;
use netstack_core::wire::tcp::{Flags, Options};
use netstack_core::wire::{ipv4, EtherType, TcpRepr};
use netstack_core::{ArpConfig, Config, Duration, Instant, SocketHandle, Stack, TcpState};

use super::*;

/// The port our listener takes.
pub const LISTEN_PORT: u16 = 80;
/// The peer's port when it opens the connection.
pub const PEER_PORT: u16 = 40000;
/// The peer's initial sequence number: its SYN is `seq 1000`, its first byte 1001.
pub const PEER_ISS: Seq = Seq(1000);
/// The MSS we announce on an Ethernet MTU of 1500: 1500 - 20 - 20.
pub const OUR_MSS: u16 = 1460;
/// The window the peer advertises unless a test says otherwise.
pub const PEER_WINDOW: u16 = 65535;

/// A segment the stack sent: the parsed header (deref to read `flags`, `seq`, `ack`,
/// `window`, `options`) and its data.
#[derive(Clone, PartialEq, Eq)]
pub struct Seg {
    pub repr: TcpRepr,
    pub data: Vec<u8>,
}

impl Deref for Seg {
    type Target = TcpRepr;
    fn deref(&self) -> &TcpRepr {
        &self.repr
    }
}

impl fmt::Debug for Seg {
    /// tcpdump's line, with absolute sequence numbers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.repr;
        write!(
            f,
            "{} > {}: [{}] seq {}",
            r.src_port, r.dst_port, r.flags, r.seq
        )?;
        if !self.data.is_empty() {
            write!(f, ":{}", r.seq + self.data.len())?;
        }
        if r.flags.has(Flags::ACK) {
            write!(f, " ack {}", r.ack)?;
        }
        write!(f, " win {}", r.window)?;
        if let Some(mss) = r.options.mss {
            write!(f, " mss {mss}")?;
        }
        write!(f, " length {}", self.data.len())
    }
}

/// `ms` milliseconds after `t0`: [`Conn::at`] for where `c` is already borrowed, as in
/// `c.s.tcp().send(at_from(c.t0, 5), c.h, data)`.
pub fn at_from(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// `n` bytes of a recognisable pattern starting at stream offset `from`, so a byte
/// delivered twice or out of place shows.
pub fn bytes(from: usize, n: usize) -> Vec<u8> {
    (from..from + n).map(|i| (i % 251) as u8).collect()
}

/// A stack configuration for TCP traces: the defaults, with ARP entries that outlive any
/// test (so a trace that runs minutes of virtual time sees no ARP refresh in between).
pub fn config() -> Config {
    Config {
        arp: ArpConfig {
            lifetime: Duration::from_secs(86_400),
            ..ArpConfig::default()
        },
        ..Config::default()
    }
}

/// The frame carrying `repr` and `data` from the peer to us.
pub fn segment_frame(repr: &TcpRepr, data: &[u8]) -> Vec<u8> {
    let mut body = vec![0; repr.header_len() + data.len()];
    repr.emit(PEER_IP, US_IP, data, &mut body);
    frame(
        PEER_MAC,
        US_MAC,
        EtherType::Ipv4,
        &ipv4(PEER_IP, US_IP, ipv4::protocol::TCP, &body),
    )
}

/// The peer sends `repr` with `data` at `now`.
pub fn send(s: &mut Stack, now: Instant, repr: TcpRepr, data: &[u8]) {
    s.receive(now, &segment_frame(&repr, data));
}

/// Every frame the stack sent, each of which must be a TCP segment to the peer with good
/// IPv4 and TCP checksums.
#[track_caller]
pub fn expect_segments(s: &mut Stack) -> Vec<Seg> {
    sent(s)
        .iter()
        .map(|f| {
            let (ip, body) = as_ipv4(f);
            assert_eq!(
                (ip.protocol, ip.src, ip.dst),
                (ipv4::protocol::TCP, US_IP, PEER_IP),
                "not a TCP segment to the peer: {}",
                netstack_core::wire::describe::describe(f)
            );
            let (repr, data) =
                TcpRepr::parse(ip.src, ip.dst, &body).expect("TCP checksum verifies");
            Seg {
                repr,
                data: data.to_vec(),
            }
        })
        .collect()
}

/// Exactly one segment from the stack.
#[track_caller]
pub fn expect_segment(s: &mut Stack) -> Seg {
    let mut segs = expect_segments(s);
    assert_eq!(segs.len(), 1, "expected one segment, got {segs:?}");
    segs.remove(0)
}

/// Checks a segment's control bits, SEG.SEQ, SEG.ACK (when ACK is set) and length.
#[track_caller]
pub fn assert_seg(seg: &Seg, flags: Flags, seq: Seq, ack: Seq, len: usize) {
    let ack_ok = !flags.has(Flags::ACK) || seg.ack == ack;
    assert!(
        seg.flags == flags && seg.seq == seq && ack_ok && seg.data.len() == len,
        "expected [{flags}] seq {seq} ack {ack} length {len}, got {seg:?}"
    );
}

/// Runs the stack's timers at `now`.
pub fn tick(s: &mut Stack, now: Instant) {
    s.handle_timeout(now);
}

/// How a fixture opens its connection.
#[derive(Clone)]
pub struct Open {
    pub cfg: Config,
    pub seed: u64,
    /// When the handshake starts (the fixture learns the peer's MAC then too).
    pub t0: Instant,
    /// The peer's ISN.
    pub peer_iss: Seq,
    /// The round trip of the handshake: the peer's answer comes this much later, and is
    /// the stack's first RTT sample.
    pub rtt: Duration,
    /// The window the peer advertises.
    pub peer_window: u16,
    /// The MSS the peer announces.
    pub peer_mss: Option<u16>,
}

impl Default for Open {
    fn default() -> Open {
        Open {
            cfg: config(),
            seed: 1,
            t0: Instant::ZERO,
            peer_iss: PEER_ISS,
            rtt: Duration::ZERO,
            peer_window: PEER_WINDOW,
            peer_mss: Some(1460),
        }
    }
}

/// One connection between the stack and the scripted peer.
pub struct Conn {
    pub s: Stack,
    /// The application's handle (for SYN-RECEIVED: the half-open connection's, read from
    /// `tcp_sockets`, as nobody has accepted it yet).
    pub h: SocketHandle,
    /// The listener, for passive opens.
    pub listener: Option<SocketHandle>,
    /// Our port and the peer's.
    pub port: u16,
    pub peer_port: u16,
    /// Our ISS, and the peer's.
    pub iss: Seq,
    pub irs: Seq,
    /// Time zero of this trace: `c.at(ms)` is `ms` after it.
    pub t0: Instant,
    /// When the peer's ARP entry expires: a timer [`Conn::next_timer`] leaves out.
    pub arp_expiry: Instant,
}

impl Open {
    /// A passive open whose peer uses ISN `peer_iss` and finds our ISS at `iss` (both near
    /// 2^32 in the wrap-around tests): the handshake starts at the moment the stack's
    /// RFC 6528 clock brings the ISS there.
    #[track_caller]
    pub fn with_both_iss(mut self, peer_iss: Seq, iss: Seq) -> Open {
        self.peer_iss = peer_iss;
        // ISS = M + F(4-tuple): learn F from a stack with the same seed at time 0, then
        // wait for M (a 4 µs tick) to make up the difference.
        let mut probe = self.clone();
        probe.t0 = Instant::ZERO;
        let f = probe.syn_received().iss;
        let ticks = u64::from(iss.0.wrapping_sub(f.0));
        self.t0 = Instant::from_micros(ticks * 4);
        self
    }

    /// The peer's ISN is 2^32 - 50 and ours 2^32 - 20: both sides' sequence numbers wrap
    /// within the first hundred bytes.
    pub fn wrapping() -> Open {
        Open::default().with_both_iss(Seq(u32::MAX - 49), Seq(u32::MAX - 19))
    }

    fn stack(&self) -> Stack {
        let mut s = Stack::new(self.cfg.clone(), self.seed).expect("valid config");
        s.receive(self.t0, &who_has_us());
        sent(&mut s);
        s
    }

    fn peer_syn(&self, port: u16) -> TcpRepr {
        TcpRepr {
            src_port: PEER_PORT,
            dst_port: port,
            seq: self.peer_iss,
            flags: Flags::SYN,
            window: self.peer_window,
            options: Options {
                mss: self.peer_mss,
                ..Options::default()
            },
            ..TcpRepr::default()
        }
    }

    /// LISTEN on port 80, then the peer's SYN: SYN-RECEIVED, with our SYN-ACK read.
    #[track_caller]
    pub fn syn_received(self) -> Conn {
        let mut s = self.stack();
        let l = s
            .tcp()
            .listen(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, LISTEN_PORT), 16)
            .unwrap();
        // peer > us: [S] seq 1000, win 65535, mss 1460
        send(&mut s, self.t0, self.peer_syn(LISTEN_PORT), &[]);
        // us > peer: [S.] seq ISS, ack 1001, mss 1460
        let synack = expect_segment(&mut s);
        assert_seg(
            &synack,
            Flags::SYN | Flags::ACK,
            synack.seq,
            self.peer_iss + 1,
            0,
        );
        assert_eq!(synack.options.mss, Some(OUR_MSS));
        let h = s
            .tcp()
            .sockets()
            .iter()
            .find(|r| r.state == TcpState::SynReceived)
            .expect("a half-open connection")
            .handle;
        Conn {
            s,
            h,
            listener: Some(l),
            port: LISTEN_PORT,
            peer_port: PEER_PORT,
            iss: synack.seq,
            irs: self.peer_iss,
            t0: self.t0,
            arp_expiry: self.t0 + self.cfg.arp.lifetime,
        }
    }

    /// A passive open completed and accepted: ESTABLISHED.
    #[track_caller]
    pub fn passive(self) -> Conn {
        let rtt = self.rtt;
        let window = self.peer_window;
        let mut c = self.syn_received();
        // peer > us: [.] seq 1001, ack ISS+1
        let ack = TcpRepr { window, ..c.tmpl() };
        c.send(c.t0 + rtt, ack, &[]);
        c.expect_nothing();
        let l = c.listener.unwrap();
        assert_eq!(c.s.tcp().accept(l), Ok(Some(c.h)));
        assert_eq!(c.state(), TcpState::Established);
        c
    }

    /// `connect` to the peer's port 80: SYN-SENT, with our SYN read.
    #[track_caller]
    pub fn syn_sent(self) -> Conn {
        let mut s = self.stack();
        let h = s
            .tcp()
            .connect(self.t0, SocketAddrV4::new(PEER_IP, 80))
            .unwrap();
        // us > peer: [S] seq ISS, mss 1460
        let syn = expect_segment(&mut s);
        assert_seg(&syn, Flags::SYN, syn.seq, Seq(0), 0);
        assert_eq!(syn.options.mss, Some(OUR_MSS));
        assert_eq!(syn.dst_port, 80);
        assert_eq!(s.tcp().state(h), Ok(TcpState::SynSent));
        Conn {
            s,
            h,
            listener: None,
            port: syn.src_port,
            peer_port: 80,
            iss: syn.seq,
            irs: self.peer_iss,
            t0: self.t0,
            arp_expiry: self.t0 + self.cfg.arp.lifetime,
        }
    }

    /// An active open answered by the peer's SYN-ACK: ESTABLISHED.
    #[track_caller]
    pub fn active(self) -> Conn {
        let (rtt, syn) = (self.rtt, self.peer_syn(0));
        let mut c = self.syn_sent();
        // peer > us: [S.] seq 1000, ack ISS+1, mss 1460
        let synack = TcpRepr {
            seq: c.irs,
            flags: Flags::SYN | Flags::ACK,
            options: syn.options,
            window: syn.window,
            ..c.tmpl()
        };
        c.send(c.t0 + rtt, synack, &[]);
        // us > peer: [.] seq ISS+1, ack 1001
        let ack = c.expect_one();
        assert_seg(&ack, Flags::ACK, c.iss + 1, c.irs + 1, 0);
        assert_eq!(c.state(), TcpState::Established);
        c
    }
}

/// ESTABLISHED by a passive open at time 0 with a zero round trip (so the RTO is the
/// 200 ms floor).
#[track_caller]
pub fn established() -> Conn {
    Open::default().passive()
}

/// SYN-SENT: our SYN is out.
#[track_caller]
pub fn syn_sent() -> Conn {
    Open::default().syn_sent()
}

/// SYN-RECEIVED: the peer's SYN came in, our SYN-ACK is out.
#[track_caller]
pub fn syn_received() -> Conn {
    Open::default().syn_received()
}

/// FIN-WAIT-1: we shut down; our FIN (seq ISS+1) is out and unacknowledged.
#[track_caller]
pub fn fin_wait_1() -> Conn {
    let mut c = established();
    c.s.tcp().shutdown(at_from(c.t0, 1), c.h).unwrap();
    // us > peer: [F.] seq ISS+1, ack 1001
    let fin = c.expect_one();
    assert_seg(&fin, Flags::FIN | Flags::ACK, c.iss + 1, c.irs + 1, 0);
    assert_eq!(c.state(), TcpState::FinWait1);
    c
}

/// FIN-WAIT-2: our FIN is acknowledged; the peer has not closed.
#[track_caller]
pub fn fin_wait_2() -> Conn {
    let mut c = fin_wait_1();
    // peer > us: [.] seq 1001, ack ISS+2
    let ack = TcpRepr {
        ack: c.iss + 2,
        ..c.tmpl()
    };
    c.send(c.at(2), ack, &[]);
    c.expect_nothing();
    assert_eq!(c.state(), TcpState::FinWait2);
    c
}

/// TIME-WAIT, the application still holding the handle: both FINs exchanged and
/// acknowledged, the peer's last.
#[track_caller]
pub fn time_wait() -> Conn {
    let mut c = fin_wait_2();
    // peer > us: [F.] seq 1001, ack ISS+2
    let fin = TcpRepr {
        ack: c.iss + 2,
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(3), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::TimeWait);
    c
}

/// CLOSE-WAIT: the peer's FIN (seq 1001) came in and was acknowledged.
#[track_caller]
pub fn close_wait() -> Conn {
    let mut c = established();
    // peer > us: [F.] seq 1001, ack ISS+1
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(1), fin, &[]);
    // us > peer: [.] seq ISS+1, ack 1002
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 1, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::CloseWait);
    c
}

/// LAST-ACK: in CLOSE-WAIT we shut down too; our FIN (seq ISS+1) is out.
#[track_caller]
pub fn last_ack() -> Conn {
    let mut c = close_wait();
    c.s.tcp().shutdown(at_from(c.t0, 2), c.h).unwrap();
    // us > peer: [F.] seq ISS+1, ack 1002
    let fin = c.expect_one();
    assert_seg(&fin, Flags::FIN | Flags::ACK, c.iss + 1, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::LastAck);
    c
}

/// CLOSING: both sides closed at once; we have the peer's FIN, ours is unacknowledged.
#[track_caller]
pub fn closing() -> Conn {
    let mut c = fin_wait_1();
    // peer > us: [F.] seq 1001, ack ISS+1 (its FIN crossed ours)
    let fin = TcpRepr {
        flags: Flags::FIN | Flags::ACK,
        ..c.tmpl()
    };
    c.send(c.at(2), fin, &[]);
    // us > peer: [.] seq ISS+2, ack 1002
    let ack = c.expect_one();
    assert_seg(&ack, Flags::ACK, c.iss + 2, c.irs + 2, 0);
    assert_eq!(c.state(), TcpState::Closing);
    c
}

impl Conn {
    /// `ms` milliseconds into this trace.
    pub fn at(&self, ms: u64) -> Instant {
        at_from(self.t0, ms)
    }

    /// The peer's next segment, before the test changes it: ACK, seq = its ISS + 1,
    /// ack = our ISS + 1, the peer's ports, a full window.
    pub fn tmpl(&self) -> TcpRepr {
        TcpRepr {
            src_port: self.peer_port,
            dst_port: self.port,
            seq: self.irs + 1,
            ack: self.iss + 1,
            flags: Flags::ACK,
            window: PEER_WINDOW,
            ..TcpRepr::default()
        }
    }

    /// The peer sends `repr` with `data` at `now`.
    pub fn send(&mut self, now: Instant, repr: TcpRepr, data: &[u8]) {
        send(&mut self.s, now, repr, data);
    }

    /// Every segment the stack sent since the last look.
    #[track_caller]
    pub fn expect(&mut self) -> Vec<Seg> {
        expect_segments(&mut self.s)
    }

    /// Exactly one segment.
    #[track_caller]
    pub fn expect_one(&mut self) -> Seg {
        expect_segment(&mut self.s)
    }

    /// Silence.
    #[track_caller]
    pub fn expect_nothing(&mut self) {
        let segs = expect_segments(&mut self.s);
        assert!(segs.is_empty(), "expected silence, stack sent {segs:?}");
    }

    /// The connection's state.
    #[track_caller]
    pub fn state(&mut self) -> TcpState {
        self.s.tcp().state(self.h).expect("handle is valid")
    }

    /// Runs the stack's timers at `now`.
    pub fn tick(&mut self, now: Instant) {
        self.s.handle_timeout(now);
    }

    /// When the stack next wants `handle_timeout` for TCP: its next deadline, unless that
    /// is only the ARP entry's expiry a day away.
    pub fn next_timer(&self) -> Option<Instant> {
        self.s.poll_timeout().filter(|&t| t < self.arp_expiry)
    }

    /// Everything the application can read now.
    #[track_caller]
    pub fn read_all(&mut self, now: Instant) -> Vec<u8> {
        let mut out = vec![];
        let mut buf = [0u8; 4096];
        while let Some(n) = self.s.tcp().recv(now, self.h, &mut buf).expect("recv") {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    /// The application writes `data`; all of it must fit the send buffer.
    #[track_caller]
    pub fn write(&mut self, now: Instant, data: &[u8]) {
        assert_eq!(self.s.tcp().send(now, self.h, data), Ok(data.len()));
    }
}
