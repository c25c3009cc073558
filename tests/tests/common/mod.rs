//! Shared fixtures for the tests against the Linux kernel.
//!
//! Every scenario runs on a thread of its own inside a network namespace of its own
//! ([`in_netns`]), so the TAP, veth and packet sockets it creates, and every packet it
//! sends, stay away from this machine's interfaces. The layout of each lab:
//!
//! ```text
//!   kernel (10.0.0.1/24, on tap0 or veth1)  <-- link -->  netstack (10.0.0.2, 02:00:00:00:00:02)
//! ```
//!
//! The kernel's side is driven with `ip` (run from the namespaced thread, so it acts on
//! the namespace) and with sockets ([`pinger::KernelPinger`]); netstack runs on the other
//! end of the link ([`netstack::Netstack`]).

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

pub mod frames;
pub mod kernel_peer;
pub mod netstack;
pub mod pinger;
pub mod sha256;

use std::net::Ipv4Addr;
use std::process::Command;
use std::time::Duration;

use netstack_core::MacAddr;
use netstack_drivers::{Offload, TapDevice};

/// The kernel's address on the lab link.
pub const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// netstack's address (`Config::default()`).
pub const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// netstack's MAC address (`Config::default()`).
pub const STACK_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x02]);

/// How long any one wait may take before the test fails. Generous: the tests assert
/// behaviour, not speed, and a loaded CI machine may be slow.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Runs `body` on a new thread named `test`, inside a new network namespace, and
/// returns its result; a panic in `body` fails the calling test with the same message.
///
/// Returns `None` without running `body` when the test must be skipped: not root and
/// not in CI (see `netstack_drivers::netns::require_root_or_skip`; in CI a missing privilege
/// fails instead).
#[track_caller]
pub fn in_netns<T: Send>(test: &str, body: impl FnOnce() -> T + Send) -> Option<T> {
    netstack_drivers::netns::test_in_new_netns(test, body)
}

/// Runs `ip ARGS` and returns its stdout; fails the test with `ip`'s stderr if it fails.
/// Must run on the namespaced thread.
#[track_caller]
pub fn ip(args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip` (is iproute2 installed?): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "`ip {}` failed ({}): {}",
        args.join(" "),
        out.status,
        stderr.trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Whether `program`, an outside tool a test cross-checks netstack with (curl, ping,
/// tshark), is installed. If not: outside CI the check is reported as skipped and the
/// test goes on without it; under `CI=true` that is a failure, because `.ci/run`
/// installs these tools and a check that silently stopped running proves nothing.
#[track_caller]
pub fn have_tool(test: &str, program: &str) -> bool {
    match Command::new(program).arg("--version").output() {
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: `{program}` is not installed, and CI=true forbids skipping its check \
                 (.ci/run installs it)"
            );
            netstack_drivers::netns::report_skip(test, &format!("`{program}` is not installed"));
            false
        }
        Err(e) => panic!("{test}: cannot run `{program}`: {e}"),
    }
}

/// `ip neigh show`: the kernel's ARP table in this namespace, for failure messages.
pub fn kernel_neighbours() -> String {
    match Command::new("ip").args(["neigh", "show"]).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Err(e) => format!("(cannot run ip: {e})"),
    }
}

/// Turns IPv6 off on `ifname` so the kernel sends no router solicitations, MLD reports
/// or DAD probes and captures hold only the scenario's packets. Call it before the link
/// goes up. A kernel without IPv6 has nothing to turn off.
#[track_caller]
pub fn disable_ipv6(ifname: &str) {
    if !std::path::Path::new("/proc/sys/net/ipv6").exists() {
        return; // no IPv6 in this kernel
    }
    // /proc/sys/net shows the network namespace of the thread that opens it.
    let knob = format!("/proc/sys/net/ipv6/conf/{ifname}/disable_ipv6");
    std::fs::write(&knob, "1").unwrap_or_else(|e| panic!("cannot write {knob}: {e}"));
}

/// The TAP lab: creates `tap0` in this namespace (opening a TAP that does not exist
/// creates it), brings `lo` up, turns IPv6 off on tap0, gives the kernel's end
/// 10.0.0.1/24 and brings it up. Returns the device for netstack to run on.
///
/// Offloads (virtio-net header, TSO, GRO, checksums) are on, as in `netstack serve`,
/// unless `NETSTACK_TEST_OFFLOAD=off` is set: run the suite both ways with
/// `NETSTACK_TEST_OFFLOAD=off cargo test -p netstack-tests`.
#[track_caller]
pub fn tap_lab() -> TapDevice {
    let offload = match std::env::var("NETSTACK_TEST_OFFLOAD").as_deref() {
        Ok("off") => Offload::Off,
        Ok("on") | Err(_) => Offload::On,
        Ok(other) => panic!("NETSTACK_TEST_OFFLOAD={other:?}: expected on or off"),
    };
    tap_lab_with(offload)
}

/// [`tap_lab`] with offloads on or off, whatever the environment says.
#[track_caller]
pub fn tap_lab_with(offload: Offload) -> TapDevice {
    let tap =
        TapDevice::open_with("tap0", offload).unwrap_or_else(|e| panic!("cannot create tap0: {e}"));
    ip(&["link", "set", "lo", "up"]);
    disable_ipv6("tap0");
    ip(&["addr", "add", "10.0.0.1/24", "dev", "tap0"]);
    ip(&["link", "set", "tap0", "up"]);
    tap
}

/// The veth lab: `veth0` (netstack's end, no address) and `veth1` (the kernel's end,
/// 10.0.0.1/24), both up, IPv6 off on both. netstack attaches to veth0 itself.
#[track_caller]
pub fn veth_lab() {
    ip(&["link", "set", "lo", "up"]);
    ip(&[
        "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
    ]);
    disable_ipv6("veth0");
    disable_ipv6("veth1");
    ip(&["addr", "add", "10.0.0.1/24", "dev", "veth1"]);
    ip(&["link", "set", "veth0", "up"]);
    ip(&["link", "set", "veth1", "up"]);
    for ifname in ["veth0", "veth1"] {
        netstack_drivers::netns::wait_until_up(ifname, TIMEOUT).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// The MAC address of the kernel's interface `ifname`, from `ip -o link show`
/// (`/sys/class/net` still shows the namespace the process started in).
#[track_caller]
pub fn kernel_mac(ifname: &str) -> MacAddr {
    let line = ip(&["-o", "link", "show", "dev", ifname]);
    let mac = line
        .split_whitespace()
        .skip_while(|word| *word != "link/ether")
        .nth(1)
        .unwrap_or_else(|| panic!("no link/ether in `ip link show {ifname}`: {line}"));
    mac.parse()
        .unwrap_or_else(|_| panic!("bad MAC {mac:?} in `ip link show {ifname}`"))
}

/// The Internet checksum (RFC 1071), written here independently of `netstack_core::wire` so the
/// tests do not check the stack's checksums with the stack's own code.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|pair| u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A recognisable echo payload: the bytes differ between sequence numbers, so a reply
/// carrying another request's data is caught.
pub fn echo_payload(len: usize, seq: u16) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(seq as u8))
        .collect()
}

/// `len` bytes from the stack's own seeded generator (`netstack_core::rng::Rng`): the same seed
/// gives the same bytes, so a failure replays exactly.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0; len];
    netstack_core::rng::Rng::new(seed).fill(&mut out);
    out
}

/// Waits until `f` gives `Some`, looking every 10 ms (for segments to arrive, not for a
/// protocol timer), and fails the test after [`TIMEOUT`].
#[track_caller]
pub fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: nothing within {TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
