//! One bulk transfer between two [`Host`]s over the simulated [`wire`](crate::wire), on
//! a virtual clock: the client sends `bytes` of the [`pattern`], the server reads and
//! checks them. When nothing moves, the clock jumps to the next frame arrival or timer,
//! so a run never sleeps and the same seed gives the same run.
//!
//! Two figures come out of it: goodput by the virtual clock (what the protocol achieves
//! on the simulated link: the loss rows) and by the wall clock (what the CPU achieves
//! when the link costs nothing: the lossless rows).

use std::time::Instant as WallClock;

use crate::host::Host;
use crate::pattern;
use crate::wire::{Direction, LinkParams};

/// The most the applications move per call.
const CHUNK: usize = 256 * 1024;
/// A run that has not finished by this virtual time has stalled.
const MAX_VIRTUAL_US: u64 = 3_600 * 1_000_000;

/// What a transfer achieved.
#[derive(Debug)]
pub struct Outcome {
    /// Stream bytes the server read.
    pub bytes: u64,
    /// Whether they were exactly the bytes sent.
    pub intact: bool,
    /// Wall-clock seconds from connected to the last byte read.
    pub wall_secs: f64,
    /// Virtual microseconds from connected to the last byte read.
    pub virtual_us: u64,
    /// Frames each way (client to server, server to client) and how many were lost.
    pub frames: [u64; 2],
    /// Frames lost each way.
    pub dropped: [u64; 2],
    /// The client's retransmission counters, if its stack counts them.
    pub counters: Option<String>,
}

/// Moves `bytes` from `client` to `server` over a link with `link` in both directions;
/// `seed` picks the lost frames. Errors if the transfer stalls.
pub fn run(
    client: &mut dyn Host,
    server: &mut dyn Host,
    link: LinkParams,
    bytes: u64,
    seed: u64,
) -> Result<Outcome, String> {
    let mut to_server = Direction::new(link, seed);
    let mut to_client = Direction::new(link, seed ^ 0x5eed_5eed);
    let mut now = 0u64;
    let mut buf = vec![0u8; CHUNK];
    let (mut sent, mut got, mut intact) = (0u64, 0u64, true);
    let mut start: Option<(u64, WallClock)> = None;
    let mut quiet = false;
    loop {
        let mut moved = 0u64;
        if start.is_none() && client.connected(now) && server.connected(now) {
            start = Some((now, WallClock::now()));
        }
        if start.is_some() {
            if sent < bytes {
                let len = (bytes - sent).min(CHUNK as u64) as usize;
                let n = client.send(now, pattern::slice(sent, len));
                sent += n as u64;
                moved += n as u64;
            }
            loop {
                let n = server.recv(now, &mut buf);
                if n == 0 {
                    break;
                }
                intact &= pattern::matches(got, &buf[..n]);
                got += n as u64;
                moved += n as u64;
            }
        }
        if got >= bytes {
            break;
        }
        let mut frames = 0u64;
        client.poll(now, &mut |f| {
            frames += 1;
            to_server.send(now, f);
        });
        server.poll(now, &mut |f| {
            frames += 1;
            to_client.send(now, f);
        });
        while let Some(f) = to_server.arrived(now) {
            server.receive(now, &f);
            frames += 1;
        }
        while let Some(f) = to_client.arrived(now) {
            client.receive(now, &f);
            frames += 1;
        }
        if moved > 0 || frames > 0 {
            quiet = false;
            continue;
        }
        // A stack may change state in a poll that sends nothing (smoltcp processes the
        // frames queued for it only there): look once more before calling it idle.
        if !quiet {
            quiet = true;
            continue;
        }
        quiet = false;
        let next = [
            to_server.next_arrival(),
            to_client.next_arrival(),
            client.next_timer(now),
            server.next_timer(now),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) if t < MAX_VIRTUAL_US => now = t.max(now + 1),
            _ => {
                return Err(format!(
                    "stalled at virtual {} ms after {got} of {bytes} bytes (sent {sent})",
                    now / 1000
                ))
            }
        }
    }
    // Invariant: the loop only ends once bytes arrived, which needs a connection.
    let (t0, wall0) = start.expect("connected before any byte arrived");
    Ok(Outcome {
        bytes: got,
        intact: intact && got == bytes,
        wall_secs: wall0.elapsed().as_secs_f64(),
        virtual_us: now - t0,
        frames: [to_server.sent, to_client.sent],
        dropped: [to_server.dropped, to_client.dropped],
        counters: client.counters(),
    })
}
