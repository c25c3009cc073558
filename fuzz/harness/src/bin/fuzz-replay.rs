//! Replays fuzz inputs (a crash, or any corpus file) as a readable trace, and optionally
//! as a pcap:
//!
//! ```text
//! fuzz-replay TARGET FILE... [--pcap OUT.pcap]
//! ```
//!
//! TARGET is one of `tcp_conversation`, `differential`, `ingress`, `pair`, `wire`. It
//! exits 1 when an oracle fails, after printing the trace up to the failure.

use std::path::PathBuf;
use std::process::ExitCode;

use netstack_fuzz_harness::replay;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(target) = args.next() else {
        eprintln!("usage: fuzz-replay TARGET FILE... [--pcap OUT.pcap]");
        return ExitCode::from(2);
    };
    let mut files = vec![];
    let mut pcap = None;
    while let Some(a) = args.next() {
        if a == "--pcap" {
            pcap = args.next().map(PathBuf::from);
        } else {
            files.push(PathBuf::from(a));
        }
    }
    let mut failed = false;
    for file in files {
        let data = match std::fs::read(&file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("fuzz-replay: {}: {e}", file.display());
                return ExitCode::from(2);
            }
        };
        println!("== {} ({} bytes)", file.display(), data.len());
        match replay::replay(&target, &data, pcap.as_deref()) {
            Ok(r) => {
                print!("{}", r.text);
                if let Some(f) = r.failure {
                    println!("FAILED: {f}");
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("fuzz-replay: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
