//! Which RFC 9293 transitions a corpus reaches: `fuzz-coverage [DIR...]` runs every
//! file of the `tcp_conversation` corpus directories given (default
//! `corpus/tcp_conversation`) and prints the report: the 11 states, the 21 arrows of
//! figure 5 reached or not, and every other transition seen.

use std::path::PathBuf;

use netstack_fuzz_harness::conversation::Conversation;
use netstack_fuzz_harness::transitions::Coverage;

fn main() {
    let mut dirs: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    if dirs.is_empty() {
        dirs.push("corpus/tcp_conversation".into());
    }
    let mut all = Coverage::default();
    let (mut files, mut failing) = (0, 0);
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("fuzz-coverage: cannot read {}", dir.display());
            std::process::exit(2);
        };
        for entry in entries.flatten() {
            let Ok(data) = std::fs::read(entry.path()) else {
                continue;
            };
            files += 1;
            let mut r =
                netstack_fuzz_harness::run::Runner::new(&Conversation::decode(&data).setup, false);
            if r.run(&Conversation::decode(&data)).is_err() {
                failing += 1;
            }
            all.merge(&r.coverage);
        }
    }
    println!("inputs: {files} ({failing} failing an oracle)");
    print!("{}", all.report());
}
