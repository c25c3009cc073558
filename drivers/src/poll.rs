//! Waiting until one of several descriptors is readable (or writable, when asked), or a
//! deadline passes: poll(2).
//!
//! The runtime's loop calls this once per turn with the device's descriptor, a
//! [`Waker`](crate::Waker)'s, and the stack's next deadline as the timeout. Keep a
//! [`Poller`] across turns to avoid allocating; [`wait_readable`] is the one-off form.
//!
//! Two details keep the loop simple and cheap:
//!
//! - A timeout is rounded **up** to the next millisecond (poll's resolution), so a
//!   deadline 0.3 ms away sleeps 1 ms instead of returning at once and spinning until the
//!   deadline passes.
//! - A signal interrupting the wait (EINTR) is not an error: it returns "nothing ready",
//!   and the loop goes round again.
//!
//! A descriptor counts as ready on `POLLIN`, and also on `POLLERR` or `POLLHUP`, so that
//! the caller's next read reports the error or end instead of the loop spinning on a
//! condition it never sees.

use std::io;
use std::os::unix::io::RawFd;
use std::time::Duration;

/// Reusable storage for [`poll(2)`](Poller::wait) over a changing set of descriptors.
#[derive(Debug, Default)]
pub struct Poller {
    pollfds: Vec<libc::pollfd>,
    ready: Vec<bool>,
}

impl Poller {
    /// An empty poller; its buffers grow to the largest set it is asked to wait on.
    pub fn new() -> Poller {
        Poller::default()
    }

    /// Waits until at least one of `fds` is readable or `timeout` passes (`None`: no
    /// timeout). Returns, for each descriptor in order, whether it is ready; all `false`
    /// on timeout or when a signal interrupted the wait. Negative descriptors are
    /// ignored (never ready), as poll(2) does.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if a descriptor is not open (`POLLNVAL`: a caller bug), or the
    /// OS's error if poll(2) itself fails (out of memory).
    pub fn wait(&mut self, fds: &[RawFd], timeout: Option<Duration>) -> io::Result<&[bool]> {
        self.poll(fds.iter().map(|&fd| (fd, libc::POLLIN)), timeout)
    }

    /// Like [`wait`](Poller::wait), with what to wait for given per descriptor:
    /// `libc::POLLIN`, `libc::POLLOUT` or both. A descriptor is ready when one of its
    /// events (or an error or hang-up) holds. The runtime adds `POLLOUT` on a device
    /// whose queue was full.
    ///
    /// # Errors
    ///
    /// As [`wait`](Poller::wait).
    pub fn wait_events(
        &mut self,
        fds: &[(RawFd, libc::c_short)],
        timeout: Option<Duration>,
    ) -> io::Result<&[bool]> {
        self.poll(fds.iter().copied(), timeout)
    }

    fn poll(
        &mut self,
        fds: impl Iterator<Item = (RawFd, libc::c_short)>,
        timeout: Option<Duration>,
    ) -> io::Result<&[bool]> {
        self.pollfds.clear();
        self.pollfds.extend(fds.map(|(fd, events)| libc::pollfd {
            fd,
            events,
            revents: 0,
        }));
        self.ready.clear();
        self.ready.resize(self.pollfds.len(), false);
        // A set of more than nfds_t::MAX descriptors cannot be built in memory.
        let nfds = self.pollfds.len() as libc::nfds_t;
        // SAFETY: `pollfds` points to `nfds` initialised pollfd structures that live
        // across the call; poll(2) writes only their `revents` fields.
        let rc = unsafe { libc::poll(self.pollfds.as_mut_ptr(), nfds, timeout_ms(timeout)) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(&self.ready);
            }
            return Err(e);
        }
        for (ready, pollfd) in self.ready.iter_mut().zip(&self.pollfds) {
            if pollfd.revents & libc::POLLNVAL != 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("poll: descriptor {} is not open", pollfd.fd),
                ));
            }
            let wanted = pollfd.events | libc::POLLERR | libc::POLLHUP;
            *ready = pollfd.revents & wanted != 0;
        }
        Ok(&self.ready)
    }
}

/// One-off form of [`Poller::wait`], allocating its result.
pub fn wait_readable(fds: &[RawFd], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    Poller::new().wait(fds, timeout).map(<[bool]>::to_vec)
}

/// `timeout` as poll(2) wants it: whole milliseconds rounded up, -1 for "forever",
/// capped at `c_int::MAX` (about 24 days).
fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(t) => {
            let ms = t.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::io::AsRawFd;
    use std::os::unix::net::UnixDatagram;
    use std::time::Instant;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_nanos(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(300))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_millis(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1001))), 2);
        assert_eq!(timeout_ms(Some(Duration::MAX)), libc::c_int::MAX);
    }

    #[test]
    fn reports_which_descriptor_is_readable() {
        let (a, b) = UnixDatagram::pair().unwrap();
        let (c, d) = UnixDatagram::pair().unwrap();
        let fds = [b.as_raw_fd(), d.as_raw_fd()];
        let mut poller = Poller::new();
        let timeout = Some(Duration::from_millis(10));
        assert_eq!(poller.wait(&fds, timeout).unwrap(), &[false, false]);
        c.send(b"x").unwrap();
        assert_eq!(poller.wait(&fds, timeout).unwrap(), &[false, true]);
        a.send(b"y").unwrap();
        assert_eq!(wait_readable(&fds, timeout).unwrap(), vec![true, true]);
    }

    #[test]
    fn a_sub_millisecond_timeout_still_sleeps() {
        let (_a, b) = UnixDatagram::pair().unwrap();
        let start = Instant::now();
        let ready = wait_readable(&[b.as_raw_fd()], Some(Duration::from_micros(300))).unwrap();
        assert_eq!(ready, vec![false]);
        assert!(start.elapsed() >= Duration::from_micros(300));
    }

    #[test]
    fn hang_up_counts_as_ready_and_closed_descriptors_are_an_error() {
        let (c, d) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(c);
        let ready = wait_readable(&[d.as_raw_fd()], Some(Duration::from_millis(100))).unwrap();
        assert_eq!(ready, vec![true]);
        // Far beyond any descriptor this process opens, so never open (a just-closed
        // one could be reused by a test running in parallel).
        let e = wait_readable(&[1 << 30], Some(Duration::ZERO)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn negative_descriptors_are_ignored() {
        let ready = wait_readable(&[-1], Some(Duration::ZERO)).unwrap();
        assert_eq!(ready, vec![false]);
    }
}
