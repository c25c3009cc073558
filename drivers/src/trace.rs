//! [`Trace`]: a device wrapper that prints one tcpdump-style line per frame.
//!
//! Wrap the device at start-up when the user asks to watch the traffic (`--trace`).
//! Each line is the time since the wrapper was created (or since the start given to
//! [`Trace::with_start`]), in seconds with six decimals, the direction, and the stack's
//! one-line summary of the frame in tcpdump's conventions
//! (`netstack_core::wire::describe` documents them):
//!
//! ```text
//!   0.000123 rx 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ARP, length 42: Request who-has 10.0.0.2 tell 10.0.0.1
//!   0.000187 tx 02:00:00:00:00:02 > 02:00:00:00:00:01, ARP, length 42: Reply 10.0.0.2 is-at 02:00:00:00:00:02
//!   0.000410 rx 10.0.0.1.51234 > 10.0.0.2.7: Flags [S], seq 123, win 64240, options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
//! ```

use std::fmt;
use std::io::{self, Write};
use std::time::Instant;

use netstack_core::wire::describe::describe;

use crate::device::{Device, Wrapper};

/// A device wrapper printing a line for every frame received (`rx`) and sent (`tx`).
///
/// If writing a line fails (a closed pipe), tracing stops with one warning in the log;
/// the device keeps working.
pub struct Trace<D> {
    inner: D,
    out: Box<dyn Write + Send>,
    start: Instant,
    failed: bool,
}

impl<D: Device> Trace<D> {
    /// Wraps `inner`, printing to standard error.
    pub fn new(inner: D) -> Trace<D> {
        Trace::with_writer(inner, Box::new(io::stderr()))
    }

    /// Wraps `inner`, printing to `out` (a file, a buffer in tests). Lines are written
    /// whole, one `write` per line when `out` is unbuffered.
    pub fn with_writer(inner: D, out: Box<dyn Write + Send>) -> Trace<D> {
        Trace::with_start(inner, out, Instant::now())
    }

    /// Like [`with_writer`](Trace::with_writer), with times counted from `start`, so
    /// that several traces (two hosts, or frames and state changes) share one clock.
    pub fn with_start(inner: D, out: Box<dyn Write + Send>, start: Instant) -> Trace<D> {
        Trace {
            inner,
            out,
            start,
            failed: false,
        }
    }

    fn print(&mut self, direction: &str, frame: &[u8]) {
        if self.failed {
            return;
        }
        let seconds = self.start.elapsed().as_secs_f64();
        let line = format!("{seconds:10.6} {direction} {}\n", describe(frame));
        if let Err(e) = self.out.write_all(line.as_bytes()) {
            log::warn!("trace of {} stopped: {e}", self.inner.name());
            self.failed = true;
        }
    }
}

impl<D> fmt::Debug for Trace<D>
where
    D: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("inner", &self.inner)
            .field("start", &self.start)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl<D: Device> Wrapper for Trace<D> {
    type Inner = D;

    fn inner(&self) -> &D {
        &self.inner
    }

    fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    fn send_through(&mut self, frame: &[u8]) -> io::Result<()> {
        // Print first, so a peer in the same process cannot log its rx line before our tx.
        self.print("tx", frame);
        self.inner.send(frame)
    }

    fn received(&mut self, frame: &[u8]) {
        self.print("rx", frame);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory;
    use std::sync::{Arc, Mutex};

    /// A writer whose bytes the test can read afterwards.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// An ARP request: who-has 10.0.0.1 tell 10.0.0.2, from 02:00:00:00:00:02.
    fn arp_request() -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 0x08, 0x06]);
        f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]);
        f.extend_from_slice(&[2, 0, 0, 0, 0, 2, 10, 0, 0, 2]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        f
    }

    #[test]
    fn one_line_per_frame_with_time_direction_and_summary() {
        let out = Shared::default();
        let (a, mut b) = memory::link(1500).unwrap();
        let mut a = Trace::with_writer(a, Box::new(out.clone()));
        let request = arp_request();
        a.send(&request).unwrap();
        let mut buf = [0u8; 1518];
        let len = b.recv(&mut buf).unwrap().unwrap();
        b.send(&buf[..len]).unwrap();
        assert_eq!(a.recv(&mut buf).unwrap(), Some(len));
        assert_eq!(a.recv(&mut buf).unwrap(), None);

        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        let summary = describe(&request);
        assert!(
            summary.contains("who-has 10.0.0.1 tell 10.0.0.2"),
            "{summary}"
        );
        for (line, direction) in lines.iter().zip(["tx", "rx"]) {
            // "  0.000123 tx <summary>": a right-aligned 10-wide time with 6 decimals.
            let (time, rest) = line.split_at(10);
            let time = time.trim_start();
            assert_eq!(time.split('.').nth(1).map(str::len), Some(6), "{line}");
            assert!(time.parse::<f64>().is_ok(), "{line}");
            assert_eq!(rest, format!(" {direction} {summary}"));
        }
    }

    #[test]
    fn a_failing_writer_stops_tracing_but_not_the_device() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (a, mut b) = memory::link(1500).unwrap();
        let mut a = Trace::with_writer(a, Box::new(Broken));
        a.send(&arp_request()).unwrap();
        a.send(&arp_request()).unwrap();
        let mut buf = [0u8; 1518];
        assert!(b.recv(&mut buf).unwrap().is_some());
        assert!(b.recv(&mut buf).unwrap().is_some());
    }
}
