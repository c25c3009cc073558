//! Private network namespaces for tests, and the policy for tests that need root.
//!
//! Any test that creates a TAP, a veth pair or a packet socket must first move into a
//! network namespace of its own, so it can neither disturb nor see this machine's
//! interfaces. The usual shape:
//!
//! ```no_run
//! # fn test() {
//! if !netstack_drivers::netns::require_root_or_skip("tap_reads_arp") {
//!     return;
//! }
//! netstack_drivers::netns::in_new_netns(|| {
//!     // create tap0, run `ip` commands, talk to the kernel with std::net ...
//! })
//! .expect("cannot create a network namespace");
//! # }
//! ```
//!
//! A new namespace holds only a loopback interface, which is down.

use std::io;
use std::thread;

/// Moves the calling thread into a new, empty network namespace (`unshare(CLONE_NEWNET)`).
///
/// Only this thread changes namespace, and the processes it spawns afterwards
/// (`std::process::Command` inherits it), as do sockets and devices it opens from then
/// on. Other threads, including the test harness, stay where they were. There is no way
/// back, so call it on a thread made for the purpose; [`in_new_netns`] does that.
///
/// `/sys/class/net` is not remounted and keeps showing the old namespace; `ip` (which
/// uses netlink) and this crate (which uses ioctls) see the new one.
///
/// # Errors
///
/// `PermissionDenied` without CAP_SYS_ADMIN (not root).
pub fn enter_new_netns() -> io::Result<()> {
    // SAFETY: unshare(2) takes no pointers and affects only the calling thread's
    // namespace membership; it cannot invalidate any memory Rust relies on.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Runs `f` on a new thread that first enters a new network namespace, and returns its
/// result. The namespace disappears when `f` returns and everything opened in it is
/// closed. A panic in `f` is resumed on the calling thread, so test assertions work.
///
/// # Errors
///
/// As [`enter_new_netns`]; `f` does not run then.
pub fn in_new_netns<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    thread::scope(|scope| {
        let worker = scope.spawn(|| enter_new_netns().map(|()| f()));
        match worker.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// A root-only test's body in a private namespace, in one call: applies
/// [`require_root_or_skip`] (returning `None` when the test is skipped), then runs `body`
/// as [`in_new_netns`] does, on a thread named after the test so logs and panics say
/// which one.
///
/// # Panics
///
/// When the namespace cannot be created, and when `body` panics (resumed here).
pub fn test_in_new_netns<T, F>(test: &str, body: F) -> Option<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    if !require_root_or_skip(test) {
        return None;
    }
    let result = thread::scope(|scope| {
        let worker = thread::Builder::new()
            .name(test.to_string())
            .spawn_scoped(scope, || {
                enter_new_netns()
                    .unwrap_or_else(|e| panic!("cannot create a network namespace: {e}"));
                body()
            })
            .unwrap_or_else(|e| panic!("cannot spawn the test thread: {e}"));
        worker.join()
    });
    match result {
        Ok(value) => Some(value),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Waits until the kernel reports interface `ifname` operationally up (`state UP` in
/// `ip link`), or `patience` runs out.
///
/// `ip link set X up` returns before the kernel has finished: for a veth whose peer
/// comes up later, carrier and the transmit queue are switched on by the kernel's
/// link-watch worker, asynchronously, and until then frames sent on X are silently
/// discarded. On a loaded machine that can take seconds. This waits for the kernel, not
/// for a protocol timer, so it polls `ip` with a short pause. Run it on the namespaced
/// thread (the `ip` it spawns inherits the thread's namespace).
///
/// # Errors
///
/// `TimedOut` naming the interface and its last `ip link` line; any error running `ip`.
pub fn wait_until_up(ifname: &str, patience: std::time::Duration) -> io::Result<()> {
    let deadline = std::time::Instant::now() + patience;
    loop {
        let out = std::process::Command::new("ip")
            .args(["-o", "link", "show", "dev", ifname])
            .output()?;
        let line = String::from_utf8_lossy(&out.stdout);
        if line.contains(" state UP ") {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("{ifname} never came up: {}", line.trim()),
            ));
        }
        thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Whether this process runs as root (effective UID 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) takes no arguments and always succeeds.
    unsafe { libc::geteuid() == 0 }
}

/// The policy for tests that need root. Returns `true` if the test should run (we are
/// root). Otherwise, outside CI prints `skipping <test>: needs root (run as root or in
/// CI)` and returns `false`; in CI (`CI=true`) it panics, so a CI job that lost its
/// privileges fails instead of passing vacuously.
///
/// # Panics
///
/// When not root and the environment variable `CI` is `true`.
pub fn require_root_or_skip(test: &str) -> bool {
    let run = decide(
        test,
        is_root(),
        std::env::var("CI").is_ok_and(|v| v == "true"),
    );
    if !run {
        report_skip(test, "needs root (run as root or in CI)");
    }
    run
}

/// [`require_root_or_skip`]'s decision with its inputs made explicit, for testing.
fn decide(test: &str, root: bool, ci: bool) -> bool {
    if root {
        return true;
    }
    assert!(
        !ci,
        "{test} needs root, and CI=true forbids skipping it: run the tests as root \
         (or with CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    );
    false
}

/// Prints `skipping <test>: <reason>` where the person running `cargo test` sees it.
///
/// `eprintln!` inside a test is captured by the test harness and shown only if the test
/// fails, so a skipped test would look like a passed one. This writes to the process's
/// standard error directly, which the harness does not capture.
pub fn report_skip(test: &str, reason: &str) {
    use std::io::Write;
    // Nothing useful can be done if stderr is closed; the test still skips.
    let _ = writeln!(std::io::stderr(), "skipping {test}: {reason}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_runs_and_others_skip_outside_ci() {
        assert!(decide("t", true, false));
        assert!(decide("t", true, true));
        assert!(!decide("t", false, false));
    }

    #[test]
    #[should_panic(expected = "needs root, and CI=true forbids skipping it")]
    fn non_root_in_ci_fails() {
        decide("t", false, true);
    }

    #[test]
    fn a_new_namespace_has_only_loopback() {
        if !require_root_or_skip("a_new_namespace_has_only_loopback") {
            return;
        }
        in_new_netns(|| {
            // `ip` runs as a child of this thread, so it lists the new namespace.
            let out = std::process::Command::new("ip")
                .args(["-o", "link", "show"])
                .output()
                .expect("run ip");
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(text.lines().count(), 1, "{text}");
            assert!(text.contains(": lo:"), "{text}");
        })
        .unwrap();
    }
}
