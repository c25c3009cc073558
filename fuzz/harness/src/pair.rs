//! The `pair` target: two of our stacks on a virtual wire (10.0.0.2, the client, and
//! 10.0.0.3, the server on port 80), with fuzzer-chosen loss, duplication and reordering
//! and fuzzer-chosen application calls, on a virtual clock. The wire is shuttled in
//! process (like `stack/tests/tcp_pair.rs`) rather than through `drivers::memory`, whose
//! socket pair would put system calls and its own drops into every execution.
//!
//! Input: `[loss: u8][duplicate: u8][reorder: u8][seed: u32]`, then steps of
//! `[tag: u8][n: u16]` (see [`Op`]). Oracles: every byte either application reads is the
//! next byte the other one wrote; and once the wire is healed and both close, each has
//! read everything the other wrote, then end of stream, and both connections finish
//! (unless one failed first, with the error to show for it).

use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::rng::Rng;
use netstack_core::{Config, Duration, Instant, MacAddr, SocketHandle, Stack, TcpState};

use crate::bytes::Reader;
use crate::peer::peer_byte;
use crate::trace::Line;

const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
/// Steps one input runs at most.
const MAX_STEPS: usize = 128;
/// Virtual time allowed for the healed wire to finish everything.
const FINISH: Duration = Duration::from_secs(600);

/// One application side.
#[derive(Debug, Default)]
struct App {
    handle: Option<SocketHandle>,
    written: u64,
    read: u64,
    eof: bool,
    shut: bool,
    failed: bool,
}

/// The byte side `a` (true) or `b` writes at stream offset `i`.
fn byte(a: bool, i: u64) -> u8 {
    peer_byte((i as u32) ^ if a { 0 } else { 0x5a5a_5a5a })
}

/// A step of the input.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// Side A (or B) writes n bytes.
    Send(bool, u16),
    /// Side A (or B) reads up to n bytes.
    Recv(bool, u16),
    /// Side A (or B) shuts down its sending side.
    Shutdown(bool),
    /// The clock moves n milliseconds.
    Advance(u16),
    /// The wire moves frames for n rounds.
    Run(u16),
}

/// Two stacks, a wire, two applications.
pub struct Pair {
    a: Stack,
    b: Stack,
    now: Instant,
    rng: Rng,
    loss: u8,
    duplicate: u8,
    reorder: u8,
    held: Option<(bool, Vec<u8>)>,
    /// Frames for A and for B, received as one batch each at the end of the round.
    inbox: [Vec<Vec<u8>>; 2],
    listener: SocketHandle,
    apps: [App; 2],
    trace: Option<Vec<Line>>,
}

impl Pair {
    /// The two stacks, B listening and A connecting to it.
    pub fn new(loss: u8, duplicate: u8, reorder: u8, seed: u32, record: bool) -> Pair {
        let a = Stack::new(Config::default(), u64::from(seed)).expect("valid config");
        let b_cfg = Config {
            addr: B_IP,
            mac: MacAddr([2, 0, 0, 0, 0, 3]),
            ..Config::default()
        };
        let mut b = Stack::new(b_cfg, u64::from(seed) ^ 0xabcdef).expect("valid config");
        let listener = b
            .tcp()
            .listen(SocketAddrV4::new(B_IP, 80), 4)
            .expect("port 80 is free");
        let mut p = Pair {
            a,
            b,
            now: Instant::ZERO,
            rng: Rng::new(u64::from(seed)),
            loss,
            duplicate,
            reorder,
            held: None,
            inbox: Default::default(),
            listener,
            apps: Default::default(),
            trace: record.then(Vec::new),
        };
        let h =
            p.a.tcp()
                .connect(p.now, SocketAddrV4::new(B_IP, 80))
                .expect("connect starts");
        p.apps[0].handle = Some(h);
        p
    }

    fn chance(&mut self, p: u8) -> bool {
        p > 0 && (self.rng.next_u32() & 0xff) < u32::from(p)
    }

    /// Puts `f` in the batch its stack receives at the end of the round.
    fn deliver(&mut self, to_b: bool, f: &[u8]) {
        if let Some(t) = &mut self.trace {
            t.push(Line::Frame(self.now, to_b, f.to_vec()));
        }
        self.inbox[usize::from(to_b)].push(f.to_vec());
    }

    /// Each stack receives its round's frames as one batch, as a driver reading many
    /// frames per wake-up hands them over: receive coalescing joins what it can.
    fn receive_batches(&mut self) {
        let now = self.now;
        let [to_a, to_b] = core::mem::take(&mut self.inbox);
        self.a.receive_batch(to_a.iter().map(|f| (now, &f[..])));
        self.b.receive_batch(to_b.iter().map(|f| (now, &f[..])));
    }

    /// One round on the wire: every frame either stack sends, impaired; then a
    /// millisecond passes and the timers run.
    fn round(&mut self) -> bool {
        let mut frames: Vec<(bool, Vec<u8>)> = vec![];
        self.a.transmit(|f| frames.push((true, f.to_vec())));
        self.b.transmit(|f| frames.push((false, f.to_vec())));
        let moved = !frames.is_empty() || self.held.is_some();
        for (to_b, f) in frames {
            if self.chance(self.loss) {
                continue;
            }
            if self.held.is_none() && self.chance(self.reorder) {
                self.held = Some((to_b, f));
                continue;
            }
            self.deliver(to_b, &f);
            if self.chance(self.duplicate) {
                self.deliver(to_b, &f);
            }
            if let Some((hb, hf)) = self.held.take() {
                self.deliver(hb, &hf);
            }
        }
        if let Some((hb, hf)) = self.held.take() {
            self.deliver(hb, &hf);
        }
        self.receive_batches();
        self.now += Duration::from_millis(1);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        if self.apps[1].handle.is_none() {
            if let Ok(Some(h)) = self.b.tcp().accept(self.listener) {
                self.apps[1].handle = Some(h);
            }
        }
        moved
    }

    fn stack(&mut self, a: bool) -> &mut Stack {
        if a {
            &mut self.a
        } else {
            &mut self.b
        }
    }

    fn send(&mut self, a: bool, n: u16) {
        let i = usize::from(!a);
        let Some(h) = self.apps[i].handle else { return };
        let from = self.apps[i].written;
        let data: Vec<u8> = (0..u64::from(n)).map(|k| byte(a, from + k)).collect();
        let now = self.now;
        match self.stack(a).tcp().send(now, h, &data) {
            Ok(k) => self.apps[i].written += k as u64,
            Err(_) => self.apps[i].failed = true,
        }
    }

    /// Reads up to `n` bytes on side `a`, checking each against the other's stream.
    fn recv(&mut self, a: bool, n: usize) -> Result<(), String> {
        let i = usize::from(!a);
        let Some(h) = self.apps[i].handle else {
            return Ok(());
        };
        let mut buf = vec![0; n.max(1)];
        let now = self.now;
        match self.stack(a).tcp().recv(now, h, &mut buf) {
            Ok(Some(0)) => {
                let state = self.stack(a).tcp().state(h);
                if state != Ok(TcpState::Closed) || self.apps[i].read == self.apps[1 - i].written {
                    self.apps[i].eof = true;
                }
            }
            Ok(Some(k)) => {
                let side = if a { "A" } else { "B" };
                if self.apps[i].eof {
                    return Err(format!("{side} read {k} bytes after end of stream"));
                }
                for (j, &got) in buf[..k].iter().enumerate() {
                    let at = self.apps[i].read + j as u64;
                    if at >= self.apps[1 - i].written || got != byte(!a, at) {
                        return Err(format!(
                            "{side} read byte {at} = {got:#x}; the other side wrote {} bytes{}",
                            self.apps[1 - i].written,
                            if at < self.apps[1 - i].written {
                                format!(", that one {:#x}", byte(!a, at))
                            } else {
                                String::new()
                            }
                        ));
                    }
                }
                self.apps[i].read += k as u64;
            }
            Ok(None) => {}
            Err(_) => self.apps[i].failed = true,
        }
        Ok(())
    }

    fn shutdown(&mut self, a: bool) {
        let i = usize::from(!a);
        let Some(h) = self.apps[i].handle else { return };
        let now = self.now;
        if self.stack(a).tcp().shutdown(now, h).is_err() {
            self.apps[i].failed = true;
        }
        self.apps[i].shut = true;
    }

    /// Runs one step.
    pub fn step(&mut self, op: Op) -> Result<(), String> {
        match op {
            Op::Send(a, n) => self.send(a, n),
            Op::Recv(a, n) => self.recv(a, usize::from(n))?,
            Op::Shutdown(a) => self.shutdown(a),
            Op::Advance(ms) => {
                self.now += Duration::from_millis(u64::from(ms));
                self.a.handle_timeout(self.now);
                self.b.handle_timeout(self.now);
            }
            Op::Run(n) => {
                for _ in 0..n % 64 {
                    self.round();
                }
            }
        }
        self.round();
        Ok(())
    }

    /// Heals the wire and lets both sides finish: each writes nothing more, shuts
    /// down, and reads to end of stream; then both connections must be gone.
    pub fn finish(&mut self) -> Result<(), String> {
        self.loss = 0;
        self.duplicate = 0;
        self.reorder = 0;
        let deadline = self.now + FINISH;
        while self.now < deadline {
            for a in [true, false] {
                let i = usize::from(!a);
                if self.apps[i].handle.is_some() && !self.apps[i].shut {
                    self.shutdown(a);
                }
                while !self.apps[i].eof && !self.apps[i].failed {
                    let before = self.apps[i].read;
                    self.recv(a, 65536)?;
                    if self.apps[i].read == before {
                        break;
                    }
                }
            }
            let done = self.apps.iter().all(|s| s.eof || s.failed);
            if done && self.a.poll_timeout().is_none() && self.b.poll_timeout().is_none() {
                break;
            }
            if !self.round() {
                // Nothing on the wire: jump to the next deadline of either stack.
                let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                    .into_iter()
                    .flatten()
                    .min();
                match next {
                    Some(t) if t > self.now => {
                        self.now = t;
                        self.a.handle_timeout(t);
                        self.b.handle_timeout(t);
                    }
                    Some(_) => {}
                    None if self.apps[1].handle.is_none() => break,
                    None => {}
                }
            }
        }
        // A side that read to end of stream stops calling, so an error that came
        // after (its own data timed out under the loss) is only seen by asking.
        for a in [true, false] {
            let i = usize::from(!a);
            if let Some(h) = self.apps[i].handle {
                if matches!(self.stack(a).tcp().take_error(h), Ok(Some(_))) {
                    self.apps[i].failed = true;
                }
            }
        }
        if self.apps.iter().any(|s| s.failed) {
            return Ok(()); // A failure (a timeout under loss, a reset) ends the checks.
        }
        for (i, side) in ["A", "B"].iter().enumerate() {
            let (me, other) = (&self.apps[i], &self.apps[1 - i]);
            if me.handle.is_none() {
                if other.written > 0 {
                    return Err(format!(
                        "{side} never got a connection, the other wrote {}",
                        other.written
                    ));
                }
                continue;
            }
            if !me.eof || me.read != other.written {
                return Err(format!(
                    "healed and closed, {side} read {} of {} bytes{}",
                    me.read,
                    other.written,
                    if me.eof {
                        " then end of stream"
                    } else {
                        " and no end of stream"
                    }
                ));
            }
        }
        for (s, side) in [(&mut self.a, "A"), (&mut self.b, "B")] {
            let left: Vec<_> = s
                .tcp()
                .sockets()
                .into_iter()
                .filter(|x| {
                    x.state != TcpState::Listen
                        && x.state != TcpState::Closed
                        && x.state != TcpState::TimeWait
                })
                .collect();
            if !left.is_empty() {
                return Err(format!(
                    "{side} still holds {:?} after both closed",
                    left.iter().map(|x| x.state).collect::<Vec<_>>()
                ));
            }
        }
        Ok(())
    }

    /// Runs the whole input.
    pub fn run(&mut self, r: &mut Reader<'_>) -> Result<(), String> {
        for _ in 0..MAX_STEPS {
            if r.is_empty() {
                break;
            }
            let (tag, n) = (r.u8(), r.u16());
            let op = match tag % 8 {
                0 => Op::Send(true, n),
                1 => Op::Send(false, n),
                2 => Op::Recv(true, n),
                3 => Op::Recv(false, n),
                4 => Op::Shutdown(n & 1 == 0),
                5 => Op::Advance(n),
                _ => Op::Run(n),
            };
            if let Some(t) = &mut self.trace {
                t.push(Line::Note(self.now, format!("{op:?}")));
            }
            self.step(op)?;
        }
        self.finish()
    }
}

fn run_inner(data: &[u8], record: bool) -> (Vec<Line>, Result<(), String>) {
    let mut r = Reader::new(data);
    let (loss, dup, reorder, seed) = (r.u8(), r.u8(), r.u8(), r.u32());
    let mut p = Pair::new(loss, dup, reorder, seed, record);
    let result = p.run(&mut r);
    (p.trace.take().unwrap_or_default(), result)
}

/// Runs `data` once without a trace: what the fuzz target calls.
pub fn run(data: &[u8]) -> Result<(), String> {
    run_inner(data, false).1
}

/// Runs `data` with a trace.
pub fn run_traced(data: &[u8]) -> (Vec<Line>, Result<(), String>) {
    run_inner(data, true)
}

/// Seeds: a clean exchange, one under loss, one under duplication and reordering.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let steps: &[(u8, u16)] = &[
        (6, 10),
        (0, 3000),
        (1, 2000),
        (6, 30),
        (2, 4096),
        (3, 4096),
        (4, 0),
        (6, 30),
        (4, 1),
    ];
    let mut out = vec![];
    for (name, imp) in [
        ("clean", [0u8, 0, 0]),
        ("loss", [40, 0, 0]),
        ("dup-reorder", [0, 40, 60]),
    ] {
        let mut w = crate::bytes::Writer::default();
        w.bytes(&imp);
        w.u32(1);
        for &(t, n) in steps {
            w.u8(t);
            w.u16(n);
        }
        out.push((name, w.out));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seeds_move_all_their_data_and_finish() {
        for (name, data) in seeds() {
            run(&data).unwrap_or_else(|e| panic!("seed {name}: {e}"));
        }
        // The oracle does look: an input that writes and finishes checks every byte.
        let seeds = seeds();
        let mut r = Reader::new(&seeds[1].1);
        let (l, d, o, s) = (r.u8(), r.u8(), r.u8(), r.u32());
        let mut p = Pair::new(l, d, o, s, false);
        p.run(&mut r).unwrap();
        assert_eq!((p.apps[0].read, p.apps[1].read), (2000, 3000));
        assert!(p.apps.iter().all(|a| a.eof && !a.failed));
    }
}
