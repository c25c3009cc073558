//! One input of any target, replayed with a trace: what `fuzz-replay` prints.

use std::path::Path;

use crate::conversation::Conversation;
use crate::trace::{render, write_pcap, Line};

/// A replayed input.
#[derive(Debug)]
pub struct Replay {
    /// The trace, as text, with the input decoded at its head.
    pub text: String,
    /// Why the run failed, if it did.
    pub failure: Option<String>,
}

/// Replays `data` as an input of `target`, writing the frames to `pcap` if given.
pub fn replay(target: &str, data: &[u8], pcap: Option<&Path>) -> Result<Replay, String> {
    let (head, lines, failure): (String, Vec<Line>, Option<String>) = match target {
        "tcp_conversation" => {
            let conv = Conversation::decode(data);
            let (lines, _, result) = crate::run::run_traced(&conv);
            (
                format!("{:?}\n", conv.setup),
                lines,
                result.err().map(|f| f.to_string()),
            )
        }
        "differential" => {
            let conv = Conversation::decode(data);
            let (lines, result) = crate::differential::run_traced(&conv);
            (format!("{:?}\n", conv.setup), lines, result.err())
        }
        "ingress" => {
            let (lines, result) = crate::ingress::run_traced(data);
            (String::new(), lines, result.err())
        }
        "pair" => {
            let (lines, result) = crate::pair::run_traced(data);
            (String::new(), lines, result.err())
        }
        "wire" => (String::new(), vec![], crate::wire::run(data).err()),
        other => return Err(format!("unknown target {other}")),
    };
    if let Some(path) = pcap {
        let n = write_pcap(&lines, path).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {n} frames to {}", path.display());
    }
    Ok(Replay {
        text: head + &render(&lines),
        failure,
    })
}
