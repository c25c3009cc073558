//! `netstack demo`: two stacks in this process joined by an in-memory cable, each under
//! its own runtime, every frame traced. A pings B three times, then both show what they
//! learned. Needs no privileges: nothing touches the host's network.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use drivers::{Device, Pcap, Trace};
use stack::{Config, MacAddr, Stack};

use crate::cli::NetOptions;
use crate::commands::{ping_error, report, setup, write_out};
use crate::error::CliError;
use crate::ping::{PingOptions, Session};
use crate::runtime::{Handle, Runtime};

/// The demo's two hosts: name, address, MAC.
const HOSTS: [(&str, Ipv4Addr, MacAddr); 2] = [
    ("A", Ipv4Addr::new(10, 0, 0, 2), MacAddr([2, 0, 0, 0, 0, 2])),
    ("B", Ipv4Addr::new(10, 0, 0, 3), MacAddr([2, 0, 0, 0, 0, 3])),
];

/// Runs the demo. Only `--pcap` (a capture of A's side) and `--seed` apply; the link
/// options do not, as the demo makes its own link.
pub fn run(net: &NetOptions) -> Result<u8, CliError> {
    let mut out = io::stdout();
    let seed = setup::seed(net);
    let (a_end, b_end) = drivers::memory::link(1500)
        .map_err(|err| CliError::failure(format!("cannot create the virtual cable: {err}")))?;

    let a_device: Box<dyn Device> = match &net.pcap {
        Some(path) => Box::new(Pcap::new(a_end, path).map_err(|err| {
            CliError::failure(format!(
                "cannot create capture file {}: {err}",
                path.display()
            ))
        })?),
        None => Box::new(a_end),
    };
    // Both traces start together, so their clocks agree.
    let (a_device, b_device) = (traced("A", a_device), traced("B", Box::new(b_end)));
    let a = start_host(0, a_device, seed)?;
    let b = start_host(1, b_device, seed.wrapping_add(1))?;
    let (ha, hb) = (a.handle(), b.handle());

    let [(_, a_ip, a_mac), (_, b_ip, b_mac)] = HOSTS;
    write_out(
        &mut out,
        &format!(
            "netstack demo: two hosts on one virtual cable, inside this process.\n\n\
             \x20 A  {a_ip}/24  {a_mac}\n\
             \x20 B  {b_ip}/24  {b_mac}\n\n\
             Each host is a netstack Stack driven by its own event loop thread. Every frame a\n\
             host sends (tx) or receives (rx) is printed below, after the host's letter.\n\n\
             == A pings B ==\n\
             A knows B's IP address but not its MAC address, so its first echo request waits\n\
             while A broadcasts an ARP request (\"who-has {b_ip}\"). B replies, and learns A's\n\
             address from the request as it does (RFC 826). Then the pings flow.\n\n"
        ),
    )?;

    let options = PingOptions {
        destination: b_ip,
        count: Some(3),
        size: 56,
        interval: Duration::from_millis(200),
        linger: Duration::from_secs(2),
        quiet: false,
    };
    let never = AtomicBool::new(false);
    let outcome = Session::start(&ha, options)
        .and_then(|session| session.run(&mut out, &never))
        .map_err(ping_error)?;

    write_out(
        &mut out,
        "\n== ARP tables ==\nWhat each host learned (ip neigh style). A asked; B learned A from A's request.\n",
    )?;
    for (name, handle) in [("A", &ha), ("B", &hb)] {
        write_out(&mut out, &arp_table(name, handle))?;
    }

    write_out(&mut out, "\n== Counters ==\n")?;
    for (name, handle) in [("A", &ha), ("B", &hb)] {
        let counters = handle.with_stack(|stack, _| stack.counters().clone());
        write_out(
            &mut out,
            &format!(
                "{name}: {}\n",
                report::counters_line(&counters, handle.link_drops())
            ),
        )?;
    }
    if let Some(path) = &net.pcap {
        write_out(
            &mut out,
            &format!(
                "\nA's side of the cable was captured to {} (wireshark, tshark -r).\n",
                path.display()
            ),
        )?;
    }

    for (name, runtime) in [("A", a), ("B", b)] {
        runtime
            .shutdown()
            .map_err(|err| CliError::failure(format!("host {name}: {err}")))?;
    }
    Ok(if outcome.stats.received > 0 {
        0
    } else {
        crate::error::EXIT_FAILURE
    })
}

/// `device` with every frame printed on stdout after `name`.
fn traced(name: &str, device: Box<dyn Device>) -> Box<dyn Device> {
    Box::new(Trace::with_writer(
        device,
        Box::new(LinePrefix::new(format!("  {name}"))),
    ))
}

/// Builds host `index` of [`HOSTS`] on `device` and starts its loop.
fn start_host(index: usize, device: Box<dyn Device>, seed: u64) -> Result<Runtime, CliError> {
    let (name, addr, mac) = HOSTS[index];
    let config = Config {
        addr,
        mac,
        prefix_len: 24,
        gateway: None,
        ..Config::default()
    };
    // Fixed, valid addresses: a failure here is a bug in this file.
    let stack =
        Stack::new(config, seed).map_err(|err| CliError::failure(format!("host {name}: {err}")))?;
    setup::spawn(stack, device)
}

/// One host's ARP cache, a line per entry.
fn arp_table(name: &str, handle: &Handle) -> String {
    let (entries, now) = handle.with_stack(|stack, now| (stack.arp_entries(), now));
    let mut text = format!("{name}:\n");
    if entries.is_empty() {
        text.push_str("  (empty)\n");
    }
    for entry in &entries {
        text.push_str(&format!("  {}\n", report::arp_entry_line(entry, now)));
    }
    text
}

/// A writer for [`Trace`] that puts `prefix` before every line and writes each line to
/// stdout whole, so the two hosts' traces and the story interleave line by line.
/// Write errors are ignored (see `write`).
struct LinePrefix {
    prefix: String,
    pending: Vec<u8>,
}

impl LinePrefix {
    fn new(prefix: String) -> LinePrefix {
        LinePrefix {
            prefix,
            pending: Vec::new(),
        }
    }
}

impl Write for LinePrefix {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let mut whole = self.prefix.clone().into_bytes();
            whole.extend_from_slice(&line);
            // If stdout is gone the story ends at its next line; the trace need not
            // complain about it too.
            let _ = io::stdout().write_all(&whole);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stdout().flush();
        Ok(())
    }
}
