//! Writes the seed corpus: `fuzz-seeds [DIR [CAPTURES]]` fills DIR (default `corpus`)
//! /<target>/seed-<name> with
//! - the synthesized seeds: the conversations of real traffic (handshakes, data, loss,
//!   closes, resets, simultaneous open), built by the harness so they track the input
//!   formats;
//! - the captures of real traffic in CAPTURES (default `captures`, recorded from the
//!   kernel tests by `scripts/fuzz-captures.sh`), converted into each target's input
//!   (`netstack_fuzz_harness::capture`), as seed-capture-<file>[-<port>].

use std::path::PathBuf;

use netstack_fuzz_harness::{capture, ingress, pair, seeds};

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let captures = PathBuf::from(std::env::args().nth(2).unwrap_or_else(|| "captures".into()));
    let write = |target: &str, name: &str, data: &[u8]| -> std::io::Result<()> {
        let d = dir.join(target);
        std::fs::create_dir_all(&d)?;
        std::fs::write(d.join(format!("seed-{name}")), data)
    };
    for (name, conv) in seeds::conversations() {
        write("tcp_conversation", name, &conv.encode())?;
        write("differential", name, &conv.encode())?;
    }
    for (name, data) in ingress::seeds() {
        write("ingress", name, &data)?;
        // The same frames, whole, for the parsers (selector 0: Ethernet).
        let mut r = netstack_fuzz_harness::bytes::Reader::new(&data);
        let _ = (r.u16(), r.u8());
        let len = usize::from(r.u16());
        let mut wire = vec![0u8];
        wire.extend_from_slice(r.bytes(len));
        write("wire", name, &wire)?;
        let mut tcp = vec![0x84u8];
        tcp.extend_from_slice(wire.get(1 + 34..).unwrap_or_default());
        write("wire", &format!("{name}-tcp"), &tcp)?;
    }
    for (name, data) in pair::seeds() {
        write("pair", name, &data)?;
    }
    let mut pcaps: Vec<PathBuf> = std::fs::read_dir(&captures)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", captures.display())))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    for path in pcaps {
        let name = path.file_stem().unwrap_or_default().to_string_lossy();
        let records = capture::read_pcap(&std::fs::read(&path)?)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        let name = format!("capture-{name}");
        match capture::ingress_input(&records) {
            Ok(Some(input)) => write("ingress", &name, &input)?,
            Ok(None) => {}
            Err(e) => eprintln!("fuzz-seeds: {}: ingress: {e}", path.display()),
        }
        for (port, conv) in capture::conversations(&records) {
            match conv {
                Ok(conv) => {
                    let n = format!("{name}-{port}");
                    write("tcp_conversation", &n, &conv.encode())?;
                    write("differential", &n, &conv.encode())?;
                }
                Err(e) => eprintln!("fuzz-seeds: {} port {port}: {e}", path.display()),
            }
        }
        for (i, input) in capture::wire_inputs(&records).into_iter().enumerate() {
            write("wire", &format!("{name}-{i}"), &input)?;
        }
    }
    println!("seeds written to {}", dir.display());
    Ok(())
}
