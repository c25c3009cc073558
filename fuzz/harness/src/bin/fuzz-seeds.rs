//! Writes the synthesized seed corpus: `fuzz-seeds DIR` fills DIR/<target>/<name>.
//! The seeds are the conversations of real traffic (handshakes, data, loss, closes,
//! resets, simultaneous open), built by the harness so they track the input formats.

use std::path::PathBuf;

use netstack_fuzz_harness::{ingress, pair, seeds};

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
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
    println!("seeds written to {}", dir.display());
    Ok(())
}
