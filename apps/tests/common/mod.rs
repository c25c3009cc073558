//! Helpers shared by the binary's end-to-end tests (`cli.rs`, `http_get.rs`).
#![allow(dead_code)]

use std::process::Command;

/// Runs `body` on a thread of its own in a new network namespace, if we are root (see
/// `drivers::netns::require_root_or_skip`: skipped outside CI, a failure in CI).
#[track_caller]
pub fn in_netns(test: &str, body: impl FnOnce() + Send) {
    drivers::netns::test_in_new_netns(test, body);
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

/// Bytes a process printed, as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
