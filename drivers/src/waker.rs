//! [`Waker`]: wake an event loop that is blocked in `poll` from another thread.
//!
//! The loop includes [`Waker::as_raw_fd`] in the descriptors it polls; any thread holding
//! a clone calls [`Waker::wake`] after handing the loop work (a socket call from the
//! application, a shutdown request). When the descriptor polls readable, the loop calls
//! [`Waker::drain`] first and then looks at its work queues, so a wake that arrives
//! while it works is never lost: it makes the next `poll` return at once.
//!
//! Built on a Unix datagram socket pair: one byte per wake, and a full buffer simply
//! means a wake is already pending.

use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

/// A cloneable handle that makes a descriptor readable. `Send + Sync`.
#[derive(Clone, Debug)]
pub struct Waker {
    inner: Arc<Pair>,
}

#[derive(Debug)]
struct Pair {
    /// Written by `wake`.
    tx: UnixDatagram,
    /// Polled and drained by the event loop.
    rx: UnixDatagram,
}

impl Waker {
    /// A new waker, not yet woken.
    ///
    /// # Errors
    ///
    /// Only if the OS cannot create a socket pair (out of descriptors).
    pub fn new() -> io::Result<Waker> {
        let (tx, rx) = UnixDatagram::pair()?;
        tx.set_nonblocking(true)?;
        rx.set_nonblocking(true)?;
        Ok(Waker {
            inner: Arc::new(Pair { tx, rx }),
        })
    }

    /// Makes [`as_raw_fd`](Self::as_raw_fd) readable until the next
    /// [`drain`](Self::drain). Never blocks; callable from any thread.
    pub fn wake(&self) {
        match self.inner.tx.send(&[1]) {
            Ok(_) => {}
            // The buffer is full of earlier wakes: the loop will wake anyway.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
            // Cannot happen while `rx` lives in the same Arc; nothing useful to do.
            Err(e) => log::debug!("waker: {e}"),
        }
    }

    /// Consumes all pending wakes, so the descriptor stops polling readable. Call it
    /// before processing the work the wakes announced.
    pub fn drain(&self) {
        let mut byte = [0u8; 1];
        loop {
            match self.inner.rx.recv(&mut byte) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // WouldBlock: empty. Any other error would recur; stop either way.
                Err(_) => return,
            }
        }
    }

    /// The descriptor to poll for readability; owned by the waker, do not close it.
    pub fn as_raw_fd(&self) -> RawFd {
        self.inner.rx.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::wait_readable;
    use std::time::Duration;

    fn is_woken(w: &Waker) -> bool {
        wait_readable(&[w.as_raw_fd()], Some(Duration::ZERO)).unwrap()[0]
    }

    #[test]
    fn wake_makes_readable_and_drain_clears() {
        let w = Waker::new().unwrap();
        assert!(!is_woken(&w));
        w.wake();
        w.wake();
        assert!(is_woken(&w));
        w.drain();
        assert!(!is_woken(&w));
    }

    #[test]
    fn many_wakes_never_block_and_one_drain_clears_them() {
        let w = Waker::new().unwrap();
        for _ in 0..100_000 {
            w.wake();
        }
        w.drain();
        assert!(!is_woken(&w));
    }

    #[test]
    fn a_wake_from_another_thread_ends_a_blocking_poll() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Waker>();

        let w = Waker::new().unwrap();
        let remote = w.clone();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            remote.wake();
        });
        // Generous: the assertion is that poll returns because of the wake.
        let ready = wait_readable(&[w.as_raw_fd()], Some(Duration::from_secs(10))).unwrap();
        assert_eq!(ready, vec![true]);
        t.join().unwrap();
    }
}
