//! Which RFC 9293 transitions a corpus reaches: `fuzz-coverage [DIR...]` runs every
//! file of the `tcp_conversation` corpus directories given (default
//! `corpus/tcp_conversation`) and prints the report: the 11 states, the 21 arrows of
//! figure 5 reached or not, and every other transition seen.
//!
//! `fuzz-coverage --keep OUT DIR...` keeps transitions when a corpus is minimized
//! (`scripts/fuzz-cmin.sh`): it copies into OUT, smallest first, each file of the DIRs
//! that reaches a transition the files already in OUT do not, then prints OUT's report.

use std::path::{Path, PathBuf};

use netstack_fuzz_harness::conversation::Conversation;
use netstack_fuzz_harness::run::Runner;
use netstack_fuzz_harness::transitions::Coverage;

/// The files of `dirs` (not recursing), or exits naming the one it cannot read.
fn files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = vec![];
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            eprintln!("fuzz-coverage: cannot read {}", dir.display());
            std::process::exit(2);
        };
        out.extend(entries.flatten().map(|e| e.path()).filter(|p| p.is_file()));
    }
    out
}

/// Runs one input: its transitions, and whether an oracle failed.
fn run(path: &Path) -> Option<(Coverage, bool)> {
    let data = std::fs::read(path).ok()?;
    let conv = Conversation::decode(&data);
    let mut r = Runner::new(&conv.setup, false);
    let failed = r.run(&conv).is_err();
    Some((r.coverage, failed))
}

fn main() {
    let mut args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let keep = if args.first().is_some_and(|a| a == Path::new("--keep")) {
        if args.len() < 2 {
            eprintln!("usage: fuzz-coverage --keep OUT DIR...");
            std::process::exit(2);
        }
        args.remove(0);
        Some(args.remove(0))
    } else {
        None
    };
    if let Some(out) = &keep {
        let mut all = Coverage::default();
        for f in files(std::slice::from_ref(out)) {
            if let Some((c, _)) = run(&f) {
                all.merge(&c);
            }
        }
        let mut candidates = files(&args);
        candidates.sort_by_key(|p| std::fs::metadata(p).map_or(u64::MAX, |m| m.len()));
        let mut kept = 0;
        for f in candidates {
            let Some((c, false)) = run(&f) else { continue };
            if c.seen.is_subset(&all.seen) {
                continue;
            }
            all.merge(&c);
            let name = f.file_name().unwrap_or_default();
            if let Err(e) = std::fs::copy(&f, out.join(name)) {
                eprintln!("fuzz-coverage: {}: {e}", f.display());
                std::process::exit(2);
            }
            kept += 1;
        }
        println!("kept {kept} more inputs for their transitions");
        args = vec![out.clone()];
    }
    if args.is_empty() {
        args.push("corpus/tcp_conversation".into());
    }
    let mut all = Coverage::default();
    let (mut inputs, mut failing) = (0, 0);
    for f in files(&args) {
        let Some((c, failed)) = run(&f) else { continue };
        inputs += 1;
        failing += usize::from(failed);
        all.merge(&c);
    }
    println!("inputs: {inputs} ({failing} failing an oracle)");
    print!("{}", all.report());
}
