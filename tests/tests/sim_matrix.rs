//! The fault matrix: netstack against netstack, and against smoltcp, on the simulated
//! link (`sim/`) under loss (random and bursty), duplication, reordering, corruption,
//! delay (1 to 200 ms) with jitter and rate limits. Every cell moves 10 MiB each way at once, checked
//! with SHA-256, and both ends must close in order. The table of goodput per cell (by
//! the virtual clock) is printed (`cargo test -p netstack-tests --test sim_matrix --
//! --nocapture`).
//!
//! A failing cell prints its seed and the command that replays it exactly:
//! `SIM_CELL=<name> SIM_SEED=<seed> cargo test -p netstack-tests --test sim_matrix`.

mod sim;
// The simulation's smoltcp end runs on the interop tests' device, `smol::Wire`.
mod smol;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sim::{Cell, Outcome, Peer};

/// Stream bytes each way in every cell.
const BYTES: usize = 10 << 20;

/// The impairments, by name. Each applies to both directions; those without a delay
/// or a rate also get [`BASE`], so their goodput by the virtual clock means something
/// (with neither, a transfer takes no virtual time at all).
const IMPAIRMENTS: &[(&str, &str)] = &[
    ("clean", ""),
    ("loss 1%", "loss=1%"),
    ("loss 5%", "loss=5%"),
    ("loss 10%", "loss=10%"),
    ("loss 20%", "loss=20%"),
    ("burst 1%/25%", "burst=1%/25%"),
    ("dup 5%", "dup=5%"),
    ("reorder 5%", "reorder=5%"),
    ("corrupt 2%", "corrupt=2%"),
    ("delay 50ms+-5ms", "delay=50ms,jitter=5ms"),
    ("delay 200ms", "delay=200ms"),
    ("10mbit q100 10ms", "rate=10mbit,queue=100,delay=10ms"),
    ("100mbit 20ms", "rate=100mbit,delay=20ms"),
    (
        "mixed",
        "loss=2%,dup=1%,reorder=2%,corrupt=0.5%,delay=20ms,jitter=2ms,rate=50mbit",
    ),
];

/// The one-way delay of cells that name none: a round trip of 2 ms.
const BASE: &str = "delay=1ms";

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for peer in [Peer::Netstack, Peer::Smoltcp] {
        for (i, &(name, impair)) in IMPAIRMENTS.iter().enumerate() {
            let timed = impair.contains("delay=") || impair.contains("rate=");
            let impair = match (timed, impair.is_empty()) {
                (true, _) => impair.to_string(),
                (false, true) => BASE.to_string(),
                (false, false) => format!("{impair},{BASE}"),
            };
            cells.push(Cell {
                name: format!("{}/{name}", peer_name(peer)),
                peer,
                impair,
                bytes: BYTES,
                seed: 1000 + i as u64,
            });
        }
    }
    cells
}

fn peer_name(peer: Peer) -> &'static str {
    match peer {
        Peer::Netstack => "netstack",
        Peer::Smoltcp => "smoltcp",
    }
}

/// The cells to run: all, or the one `SIM_CELL` names, with `SIM_SEED`'s seed.
fn selected() -> Vec<Cell> {
    let mut cells = cells();
    if let Ok(name) = std::env::var("SIM_CELL") {
        cells.retain(|c| c.name == name);
        assert!(!cells.is_empty(), "no cell named {name:?}");
    }
    if let Some(seed) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        cells.iter_mut().for_each(|c| c.seed = seed);
    }
    // For experiments only: fewer bytes than the matrix promises.
    if let Some(bytes) = std::env::var("SIM_BYTES").ok().and_then(|s| s.parse().ok()) {
        cells.iter_mut().for_each(|c| c.bytes = bytes);
    }
    cells
}

/// Runs `cells` on a few threads (they are independent), in the cells' order.
fn run_all(cells: &[Cell]) -> Vec<Result<Outcome, String>> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let next = AtomicUsize::new(0);
    let results = Mutex::new(vec![None; cells.len()]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(cell) = cells.get(i) else { break };
                let outcome = std::panic::catch_unwind(|| sim::run(cell)).unwrap_or_else(|p| {
                    let what = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(format!("panicked: {what}"))
                });
                // Progress as cells finish, for a run watched with --nocapture.
                match &outcome {
                    Ok(o) => eprintln!(
                        "  {} done in {:.1} s ({} rounds, {} clock steps)",
                        cell.name, o.wall_secs, o.rounds[0], o.rounds[1]
                    ),
                    Err(_) => eprintln!("  {} FAILED", cell.name),
                }
                results.lock().unwrap()[i] = Some(outcome);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every cell ran"))
        .collect()
}

#[test]
fn ten_mebibytes_each_way_through_every_impairment() {
    let cells = selected();
    let results = run_all(&cells);
    let mut table = format!(
        "\n{:<36} {:>12} {:>12} {:>10} {:>8} {:>15} {:>13}\n",
        "cell",
        "c->s Mbit/s",
        "s->c Mbit/s",
        "virtual s",
        "wall s",
        "frames c>s/s>c",
        "lost c>s/s>c"
    );
    let mut failures = Vec::new();
    for (cell, result) in cells.iter().zip(&results) {
        match result {
            Ok(o) => {
                table += &format!(
                    "{:<36} {:>12.2} {:>12.2} {:>10.2} {:>8.2} {:>15} {:>13}\n",
                    cell.name,
                    o.goodput(0, cell.bytes),
                    o.goodput(1, cell.bytes),
                    o.total.total_micros() as f64 / 1e6,
                    o.wall_secs,
                    format!("{}/{}", o.frames[0], o.frames[1]),
                    format!("{}/{}", o.lost[0], o.lost[1]),
                );
            }
            Err(why) => {
                table += &format!("{:<36} FAILED (seed {})\n", cell.name, cell.seed);
                failures.push(format!(
                    "cell {:?} failed with seed {}; replay it exactly with\n  \
                     SIM_CELL={:?} SIM_SEED={} cargo test -p netstack-tests --test sim_matrix \
                     -- --nocapture\n{why}",
                    cell.name, cell.seed, cell.name, cell.seed
                ));
            }
        }
    }
    println!("{table}");
    // One cell asked for by name: how both ends finished, for a closer look.
    if std::env::var("SIM_CELL").is_ok() {
        for o in results.iter().flatten() {
            println!("{}", o.summary);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_seed_replays_its_run_exactly() {
    let cell = Cell {
        name: "replay".to_string(),
        peer: Peer::Netstack,
        impair:
            "loss=5%,burst=1%/30%,dup=2%,reorder=3%,corrupt=1%,delay=5ms,jitter=2ms,rate=20mbit"
                .to_string(),
        bytes: 1 << 20,
        seed: 77,
    };
    let first = sim::run(&cell).unwrap_or_else(|e| panic!("{e}"));
    let again = sim::run(&cell).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.fingerprint, again.fingerprint);
    assert_eq!((first.frames, first.total), (again.frames, again.total));
    let other = sim::run(&Cell { seed: 78, ..cell }).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(first.fingerprint, other.fingerprint);
}
