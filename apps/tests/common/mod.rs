//! Helpers shared by the apps tests: the binary's end-to-end tests (`cli.rs`,
//! `http_get.rs`; `netstack serve` on a TAP in [`serve`]) and the runtime and facade
//! tests on an in-memory link.
#![allow(dead_code)]

pub mod running;
pub mod serve;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const NETSTACK: &str = env!("CARGO_BIN_EXE_netstack");

/// `netstack ARGS`, with logging left at its default so stderr holds only what a user
/// would see.
pub fn netstack(args: &[&str]) -> Command {
    let mut cmd = Command::new(NETSTACK);
    cmd.args(args).env_remove("RUST_LOG");
    cmd
}

/// Runs `cmd` to completion with stdin closed and returns its output, byte for byte;
/// kills it and fails the test if it takes longer than `timeout`.
#[track_caller]
pub fn run(mut cmd: Command, timeout: Duration) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    // Both pipes drained on threads of their own, so neither can fill and block it.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("piped")));
    let stderr = drain(Box::new(child.stderr.take().expect("piped")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            // Polling a child process, not waiting out a protocol timer.
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                let stderr = stderr.join().unwrap_or_default();
                panic!(
                    "{what} did not exit within {timeout:?}; stderr:\n{}",
                    String::from_utf8_lossy(&stderr)
                );
            }
            Err(e) => panic!("waiting for {what} failed: {e}"),
        }
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Runs `body` on a thread of its own in a new network namespace, if we are root (see
/// `netstack_drivers::netns::require_root_or_skip`: skipped outside CI, a failure in CI).
#[track_caller]
pub fn in_netns(test: &str, body: impl FnOnce() + Send) {
    netstack_drivers::netns::test_in_new_netns(test, body);
}

/// Runs `ip ARGS` in the calling thread's namespace; fails the test with its stderr.
#[track_caller]
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip` (is iproute2 installed?): {e}"));
    assert!(
        out.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        text(&out.stderr).trim()
    );
}

/// Fails unless `out` exited with status `code` and did not panic; returns its stderr.
#[track_caller]
pub fn assert_exit(out: &Output, code: i32) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "expected exit status {code}; stderr:\n{stderr}"
    );
    assert!(!stderr.contains("panicked"), "it panicked:\n{stderr}");
    stderr
}

/// Bytes a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Host B of the in-memory tests: 10.0.0.3, MAC 02:00:00:00:00:03, otherwise the
/// defaults (A is `Config::default()`, 10.0.0.2).
pub fn host_b() -> netstack_core::Config {
    netstack_core::Config {
        addr: std::net::Ipv4Addr::new(10, 0, 0, 3),
        mac: netstack_core::MacAddr([2, 0, 0, 0, 0, 3]),
        ..netstack_core::Config::default()
    }
}

/// Hosts A and B, each under its own runtime, on one in-memory link (seeds 1 and 2).
pub fn runtime_pair(
    a: netstack_core::Config,
    b: netstack_core::Config,
) -> (netstack::runtime::Runtime, netstack::runtime::Runtime) {
    use netstack::runtime::Runtime;
    use netstack_core::Stack;
    let (a_end, b_end) = netstack_drivers::memory::link(1500).expect("socket pair");
    let a = Runtime::spawn(Stack::new(a, 1).expect("valid config"), a_end).expect("spawn A");
    let b = Runtime::spawn(Stack::new(b, 2).expect("valid config"), b_end).expect("spawn B");
    (a, b)
}

/// The shim: beside the binary when the workspace was built (`cargo test --workspace`),
/// else built now into a target folder of its own (so as not to wait on this build's
/// lock).
pub fn preload() -> PathBuf {
    let exe_dir = Path::new(NETSTACK).parent().expect("binary folder");
    let beside = exe_dir.join("libnetstack_preload.so");
    if beside.is_file() {
        return beside;
    }
    let target = exe_dir.join("preload-for-tests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "netstack-preload", "--target-dir"])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo to build netstack-preload");
    assert!(status.success(), "building netstack-preload failed");
    target.join("debug/libnetstack_preload.so")
}
