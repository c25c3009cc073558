//! A child process whose stdout is read line by line as it comes and whose stderr is
//! collected, so neither pipe can fill up and block it; killed if dropped while running.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Output};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub struct Running {
    child: Child,
    what: String,
    /// How long any one wait may take before the test fails.
    timeout: Duration,
    lines: mpsc::Receiver<String>,
    stdout: Vec<String>,
    stderr: JoinHandle<String>,
}

impl Running {
    /// Takes over `child`, whose stdout and stderr must be piped; `what` names it in
    /// failure messages.
    pub fn new(mut child: Child, what: String, timeout: Duration) -> Running {
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().expect("stderr is piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        Running {
            child,
            what,
            timeout,
            lines,
            stdout: Vec::new(),
            stderr,
        }
    }

    /// Waits for a stdout line containing `needle` and returns it.
    #[track_caller]
    pub fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let stderr = self.take_stderr();
                    panic!(
                        "{} printed no line with {needle:?} ({e}); stdout so far:\n{}\nstderr:\n{stderr}",
                        self.what,
                        self.stdout.join("\n"),
                    );
                }
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to exit (killing it after the timeout) and returns its
    /// status with everything it printed.
    #[track_caller]
    pub fn finish(mut self) -> Output {
        let deadline = Instant::now() + self.timeout;
        let status: ExitStatus = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    // Polling a child process, not waiting out a protocol timer.
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    let (stdout, stderr) = (self.drain_stdout(), self.take_stderr());
                    panic!(
                        "{} did not exit within {:?}; stdout:\n{stdout}\nstderr:\n{stderr}",
                        self.what, self.timeout,
                    );
                }
                Err(e) => panic!("waiting for {} failed: {e}", self.what),
            }
        };
        let stdout = self.drain_stdout();
        let stderr = self.take_stderr();
        Output {
            status,
            stdout: stdout.into_bytes(),
            stderr: stderr.into_bytes(),
        }
    }

    /// Every stdout line, once the process has closed its stdout.
    fn drain_stdout(&mut self) -> String {
        while let Ok(line) = self.lines.recv_timeout(self.timeout) {
            self.stdout.push(line);
        }
        let mut text = self.stdout.join("\n");
        text.push('\n');
        text
    }

    /// Everything on stderr, once the process has closed it.
    fn take_stderr(&mut self) -> String {
        let stderr = std::mem::replace(&mut self.stderr, std::thread::spawn(String::new));
        stderr.join().unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A test that failed half-way leaves no process behind (after `finish` it has
        // exited and been reaped: nothing to do).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
