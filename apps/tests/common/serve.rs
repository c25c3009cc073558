//! `netstack serve` on a TAP in the test's namespace: the lab it attaches to, the
//! process itself, and its memory and threads as /proc tells them.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0)  <-- TAP -->  `netstack serve` 10.0.0.2
//! ```

use std::process::Stdio;
use std::time::Duration;

use super::running::Running;
use super::{ip, netstack, text};

/// How long serve may take to print a line asked for, or to exit: generous, these tests
/// assert behaviour, not speed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The TAP lab, in the calling thread's namespace: tap0 persistent (so `serve`, and a
/// program after it, can attach to it), the kernel at 10.0.0.1/24, loopback up.
pub fn tap_lab() {
    tap_lab_with(&[]);
}

/// [`tap_lab`] with more words for `ip tuntap add` (`multi_queue`).
pub fn tap_lab_with(tuntap: &[&str]) {
    ip(&["link", "set", "lo", "up"]);
    ip(&[&["tuntap", "add", "dev", "tap0", "mode", "tap"], tuntap].concat());
    if std::path::Path::new("/proc/sys/net/ipv6").exists() {
        // Quiet link: no router solicitations (this /proc/sys/net is the namespace's).
        std::fs::write("/proc/sys/net/ipv6/conf/tap0/disable_ipv6", "1")
            .expect("turn IPv6 off on tap0");
    }
    ip(&["addr", "add", "10.0.0.1/24", "dev", "tap0"]);
    ip(&["link", "set", "tap0", "up"]);
}

/// `netstack ARGS serve`, running in the test's namespace; killed when dropped.
pub struct Serve {
    running: Running,
    banner: String,
}

impl Serve {
    /// Starts `netstack ARGS serve` on tap0 and waits for its banner, which it prints
    /// once it is attached and answering.
    #[track_caller]
    pub fn start(args: &[&str]) -> Serve {
        Serve::start_with(args, &[])
    }

    /// `netstack ARGS serve SERVE_ARGS`, as [`start`](Serve::start).
    #[track_caller]
    pub fn start_with(args: &[&str], serve_args: &[&str]) -> Serve {
        let child = netstack(&[args, &["serve"], serve_args].concat())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start netstack serve");
        let mut running = Running::new(child, "netstack serve".to_string(), TIMEOUT);
        let banner = running.wait_for_line("netstack 10.0.0.2/24");
        Serve { running, banner }
    }

    /// The line serve announced itself with.
    pub fn banner(&self) -> &str {
        &self.banner
    }

    /// Its resident memory, peak resident memory and threads, from /proc/PID/status.
    #[track_caller]
    pub fn status(&self) -> ProcStatus {
        let path = format!("/proc/{}/status", self.running.pid());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let field = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no {name} in {path}"))
        };
        ProcStatus {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
            threads: field("Threads:"),
        }
    }

    /// Ctrl-C: fails unless serve then exits cleanly (status 0); returns its stdout,
    /// which ends with its summary.
    #[track_caller]
    pub fn stop(self) -> String {
        let kill = std::process::Command::new("kill")
            .args(["-INT", &self.running.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(kill.success(), "kill -INT failed");
        let out = self.running.finish();
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "serve should exit 0 after SIGINT:\n{stdout}\n{}",
            text(&out.stderr)
        );
        stdout
    }

    /// Waits for serve to exit on its own: its status and everything it printed.
    #[track_caller]
    pub fn finish(self) -> std::process::Output {
        self.running.finish()
    }
}

/// What /proc says about a process.
#[derive(Clone, Copy)]
pub struct ProcStatus {
    /// Resident memory (VmRSS).
    pub rss_kib: u64,
    /// Peak resident memory (VmHWM).
    pub hwm_kib: u64,
    pub threads: u64,
}

impl std::fmt::Display for ProcStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MiB, peak RSS {:.1} MiB, {} threads",
            self.rss_kib as f64 / 1024.0,
            self.hwm_kib as f64 / 1024.0,
            self.threads
        )
    }
}
