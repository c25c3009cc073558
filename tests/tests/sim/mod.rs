//! A deterministic network simulation: two stacks on the in-memory link
//! (`netstack_drivers::memory::link`), each end wrapped in `Faulty` with the impairment
//! of the frames it receives, everything on one [`VirtualClock`]. Each application
//! sends its stream (seeded bytes, SHA-256 over them), reads the peer's, and closes
//! once all of its own is queued; the run ends when both have read end of stream and
//! both connections closed in order. When nothing moves, the clock jumps to the next
//! timer or frame due, so no run sleeps, and the same seed gives the same run, frame
//! for frame ([`Outcome::fingerprint`]).
//!
//! Debug builds run netstack's invariant hook (`Connection::check_invariants`) after
//! every event, so every step of every run checks them.
#![allow(dead_code)]

pub mod endpoint;
pub mod smol_end;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant as WallClock;

use netstack_core::{Duration, Instant};
use netstack_drivers::memory::{self, MemoryDevice};
use netstack_drivers::{Device, FaultConfig, Faulty, Impairment, VirtualClock};
use sha2::{Digest, Sha256};

use endpoint::{Endpoint, NetstackEnd, Read};
use smol_end::SmolEnd;

/// The most an application moves per call.
const CHUNK: usize = 64 * 1024;
/// Frames delivered last, kept to show what happened before a failure.
const RECENT: usize = 40;
/// A run not finished by this virtual time has stalled. Virtual time is cheap (an
/// idle hour costs a few clock steps); the slowest cell, smoltcp at 20% loss with no
/// timestamps, needs hours of it.
const MAX_VIRTUAL: Duration = Duration::from_secs(24 * 3_600);

/// Which stack serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Peer {
    /// netstack on both ends.
    Netstack,
    /// smoltcp serves, netstack connects.
    Smoltcp,
}

/// One run: the impairment of each direction, the bytes each way, the seed.
#[derive(Clone, Debug)]
pub struct Cell {
    /// A short name for the table.
    pub name: String,
    /// The server's stack.
    pub peer: Peer,
    /// The impairment of both directions, as `--impair` writes it (without a seed).
    pub impair: String,
    /// Stream bytes each way.
    pub bytes: usize,
    /// Seed of the stacks, the impairment and the streams.
    pub seed: u64,
}

/// What a run achieved.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Virtual time from established to the last byte read, client to server and back.
    pub transfer: [Duration; 2],
    /// Virtual time from the first SYN until both ends closed.
    pub total: Duration,
    /// Wall-clock seconds the run took.
    pub wall_secs: f64,
    /// Frames each way (client to server, back) and how many the impairment lost.
    pub frames: [u64; 2],
    pub lost: [u64; 2],
    /// A hash of every frame delivered and when: equal for equal runs.
    pub fingerprint: [u8; 32],
    /// Rounds of the loop, and how many of them moved the clock.
    pub rounds: [u64; 2],
    /// Both ends described at the end (counters, connection variables).
    pub summary: String,
}

impl Outcome {
    /// Goodput of direction `i` in Mbit/s of virtual time.
    pub fn goodput(&self, i: usize, bytes: usize) -> f64 {
        let secs = self.transfer[i].total_micros() as f64 / 1e6;
        if secs > 0.0 {
            bytes as f64 * 8.0 / secs / 1e6
        } else {
            f64::INFINITY
        }
    }
}

/// One application: its stream out, the peer's stream in.
struct App {
    out: Vec<u8>,
    sent: usize,
    shut: bool,
    got: usize,
    hash_in: Sha256,
    eof: bool,
    /// When the last byte arrived.
    done_at: Option<Instant>,
    /// Where reads land.
    buf: Vec<u8>,
}

impl App {
    fn new(bytes: usize, seed: u64) -> App {
        let mut out = vec![0; bytes];
        netstack_core::rng::Rng::new(seed).fill(&mut out);
        App {
            out,
            sent: 0,
            shut: false,
            got: 0,
            hash_in: Sha256::new(),
            eof: false,
            done_at: None,
            buf: vec![0; CHUNK],
        }
    }

    /// Sends, reads and closes what it can at `now`; returns whether anything moved.
    fn turn(&mut self, end: &mut dyn Endpoint, now: Instant) -> Result<bool, String> {
        let mut moved = false;
        if self.sent < self.out.len() {
            let chunk = &self.out[self.sent..(self.sent + CHUNK).min(self.out.len())];
            let n = end.send(now, chunk)?;
            self.sent += n;
            moved |= n > 0;
        }
        if self.sent == self.out.len() && !self.shut {
            end.shutdown(now)?;
            self.shut = true;
            moved = true;
        }
        while !self.eof {
            match end.recv(now, &mut self.buf)? {
                Read::Data(n) => {
                    self.hash_in.update(&self.buf[..n]);
                    self.got += n;
                    moved = true;
                }
                Read::Eof => {
                    self.eof = true;
                    self.done_at = Some(now);
                    moved = true;
                }
                Read::Nothing => break,
            }
        }
        Ok(moved)
    }
}

/// `impair` (both directions, no seed) as a receive-side configuration seeded `seed`.
fn receiving(impair: &str, seed: u64) -> Result<FaultConfig, String> {
    let both: FaultConfig = if impair.is_empty() {
        FaultConfig::default()
    } else {
        format!("{impair},seed={seed}")
            .parse()
            .map_err(|e| format!("{e}"))?
    };
    Ok(FaultConfig {
        tx: Impairment::default(),
        rx: both.rx,
        seed,
    })
}

/// The loop's state: the two ends, their devices, the clock.
struct World {
    clock: VirtualClock,
    now: Instant,
    ends: [Box<dyn Endpoint>; 2],
    devices: [Faulty<MemoryDevice>; 2],
    apps: [App; 2],
    /// Frames each end sent, and a running hash of what was delivered.
    sent: [u64; 2],
    trace: Sha256,
    buf: Vec<u8>,
    /// The last [`RECENT`] frames delivered: when, to which end, tcpdump-style.
    recent: VecDeque<String>,
}

impl World {
    /// Moves frames out of both ends and delivers what is due; returns how many moved.
    fn carry(&mut self) -> Result<u64, String> {
        let mut moved = 0;
        for from in 0..2 {
            let to = 1 - from;
            let mut outgoing = Vec::new();
            self.ends[from].poll(self.now, &mut |f| outgoing.push(f.to_vec()));
            for frame in outgoing {
                self.sent[from] += 1;
                moved += 1;
                self.devices[from]
                    .send(&frame)
                    .map_err(|e| format!("link: {e}"))?;
                // Read at once, so the link's socket never fills: the only losses are
                // the impairment's.
                moved += self.deliver(to)?;
            }
        }
        for to in 0..2 {
            moved += self.deliver(to)?;
        }
        Ok(moved)
    }

    /// Hands every frame due at end `to` to its stack.
    fn deliver(&mut self, to: usize) -> Result<u64, String> {
        let mut n = 0;
        while let Some(len) = self.devices[to]
            .recv(&mut self.buf)
            .map_err(|e| format!("link: {e}"))?
        {
            self.trace.update(self.now.total_micros().to_le_bytes());
            self.trace.update(&self.buf[..len]);
            if self.recent.len() == RECENT {
                self.recent.pop_front();
            }
            self.recent.push_back(format!(
                "{:>10.3} ms to {}: {}",
                self.now.total_micros() as f64 / 1000.0,
                ["client", "server"][to],
                netstack_core::wire::describe::describe(&self.buf[..len])
            ));
            self.ends[to].receive(self.now, &self.buf[..len]);
            n += 1;
        }
        Ok(n)
    }

    /// When anything is next due: a timer of either stack or a frame on the link.
    fn next_event(&mut self) -> Option<Instant> {
        let now = self.now;
        let timers = [self.ends[0].next_timer(now), self.ends[1].next_timer(now)];
        let link = self
            .devices
            .iter()
            .filter_map(|d| d.next_wake())
            .map(|d| now + Duration::from(d));
        timers.into_iter().flatten().chain(link).min()
    }

    fn describe(&mut self) -> String {
        let [a, b] = &mut self.ends;
        format!(
            "at {} ms; client sent {} of {}, got {} (eof {}); server sent {} of {}, got {} \
             (eof {})\nclient:\n{}\nserver:\n{}\nlink: client rx {:?}\n      server rx {:?}\n\
             last frames delivered:\n{}",
            self.now.total_millis(),
            self.apps[0].sent,
            self.apps[0].out.len(),
            self.apps[0].got,
            self.apps[0].eof,
            self.apps[1].sent,
            self.apps[1].out.len(),
            self.apps[1].got,
            self.apps[1].eof,
            a.describe(),
            b.describe(),
            self.devices[0].rx_counters(),
            self.devices[1].rx_counters(),
            self.recent.iter().cloned().collect::<Vec<_>>().join("\n"),
        )
    }
}

/// Runs `cell`. `Err` says why it failed, with both ends described.
pub fn run(cell: &Cell) -> Result<Outcome, String> {
    let wall = WallClock::now();
    let clock = VirtualClock::new();
    let (a, b) = memory::link(1500).map_err(|e| e.to_string())?;
    let wrap = |dev, seed| -> Result<Faulty<MemoryDevice>, String> {
        let config = receiving(&cell.impair, seed)?;
        Faulty::with_clock(dev, config, Arc::new(clock.clone())).map_err(|e| e.to_string())
    };
    // The client's device impairs what the server sends, and the other way round.
    let devices = [wrap(a, cell.seed ^ 0xc11e)?, wrap(b, cell.seed ^ 0x5e7e)?];
    let server: Box<dyn Endpoint> = match cell.peer {
        Peer::Netstack => Box::new(NetstackEnd::server(cell.seed.wrapping_add(1))),
        Peer::Smoltcp => Box::new(SmolEnd::server(cell.seed.wrapping_add(1))),
    };
    let mut world = World {
        clock,
        now: Instant::ZERO,
        ends: [Box::new(NetstackEnd::client(cell.seed)), server],
        devices,
        apps: [
            App::new(cell.bytes, cell.seed ^ 0xa),
            App::new(cell.bytes, cell.seed ^ 0xb),
        ],
        sent: [0, 0],
        trace: Sha256::new(),
        buf: vec![0; 1518],
        recent: VecDeque::new(),
    };
    let fail = |world: &mut World, why: String| Err(format!("{why}\n{}", world.describe()));
    let mut established: Option<Instant> = None;
    let mut quiet = false;
    let mut rounds = [0u64; 2];
    loop {
        rounds[0] += 1;
        world.clock.set(world.now);
        let mut moved = 0;
        if established.is_none() && world.ends[0].established() && world.ends[1].established() {
            established = Some(world.now);
        }
        if established.is_some() {
            for i in 0..2 {
                let World {
                    ends, apps, now, ..
                } = &mut world;
                match apps[i].turn(ends[i].as_mut(), *now) {
                    Ok(m) => moved += u64::from(m),
                    Err(e) => return fail(&mut world, format!("{}: {e}", ["client", "server"][i])),
                }
            }
        }
        moved += match world.carry() {
            Ok(n) => n,
            Err(e) => return fail(&mut world, e),
        };
        if world.apps.iter().all(|a| a.eof) {
            let clean = [
                world.ends[0].closed_cleanly(),
                world.ends[1].closed_cleanly(),
            ];
            match clean {
                [Ok(true), Ok(true)] => break,
                [Err(e), _] => return fail(&mut world, format!("client: {e}")),
                [_, Err(e)] => return fail(&mut world, format!("server: {e}")),
                _ => {}
            }
        }
        if moved > 0 {
            quiet = false;
            continue;
        }
        // smoltcp takes the frames queued for it only in a poll: look once more.
        if !quiet {
            quiet = true;
            continue;
        }
        quiet = false;
        rounds[1] += 1;
        match world.next_event() {
            Some(at) if at.saturating_since(Instant::ZERO) < MAX_VIRTUAL => {
                world.now = if at > world.now {
                    at
                } else {
                    world.now + Duration::from_micros(1)
                };
            }
            _ => return fail(&mut world, "stalled: nothing left to happen".to_string()),
        }
    }
    let start = established.unwrap_or(Instant::ZERO);
    for (i, app) in world.apps.iter().enumerate() {
        let other = &world.apps[1 - i];
        let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let want = hex(&Sha256::digest(&other.out));
        let got = hex(&app.hash_in.clone().finalize());
        if app.got != other.out.len() || got != want {
            let why = format!(
                "{} read {} bytes, SHA-256 {got}; the peer sent {}, SHA-256 {want}",
                ["client", "server"][i],
                app.got,
                other.out.len()
            );
            return fail(&mut world, why);
        }
    }
    let done = |i: usize| {
        world.apps[i]
            .done_at
            .unwrap_or(world.now)
            .saturating_since(start)
    };
    let lost = |d: &Faulty<MemoryDevice>| d.rx_counters().lost();
    let summary = format!(
        "client:\n{}\nserver:\n{}",
        world.ends[0].describe(),
        world.ends[1].describe()
    );
    Ok(Outcome {
        // The server's reading ends client to server; the client's, back.
        transfer: [done(1), done(0)],
        total: world.now.saturating_since(Instant::ZERO),
        wall_secs: wall.elapsed().as_secs_f64(),
        frames: world.sent,
        lost: [lost(&world.devices[1]), lost(&world.devices[0])],
        fingerprint: world.trace.finalize().into(),
        rounds,
        summary,
    })
}
