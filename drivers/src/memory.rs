//! An in-process Ethernet link: two [`MemoryDevice`]s joined like a crossover cable.
//!
//! Built by [`link`] for tests and demos that run two stacks in one process, on one
//! thread or two. Each end is one side of a Unix datagram socket pair, so frame
//! boundaries are kept, each end has a pollable descriptor like a real device, and no
//! `unsafe` is needed. What one end sends, the other receives, in order.
//!
//! Like a real link, it never blocks the sender. When the link's socket buffer is full
//! (about 200 KB by default, roughly 80 full-size frames in flight),
//! [`send`](Device::send) drops the frame and counts it in
//! [`LinkDrops::tx_queue_full`], while [`try_send`](Device::try_send) hands it back
//! ([`Sent::Full`]) and the descriptor polls writable (`POLLOUT`) once the other end has
//! read enough: a runtime then waits for room instead of losing its own frames to its
//! own bursts (the runtime does). Once the other end is dropped, frames are dropped and
//! counted in [`LinkDrops::tx_link_down`].

use std::io;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;

use crate::device::{Device, LinkDrops, Sent, ETHERNET_OVERHEAD};

/// One end of an in-memory Ethernet link.
#[derive(Debug)]
pub struct MemoryDevice {
    socket: UnixDatagram,
    name: &'static str,
    mtu: usize,
    drops: LinkDrops,
}

/// The two ends of a new in-memory link with IP MTU `mtu`, named "mem0" and "mem1".
///
/// # Errors
///
/// Only if the OS cannot create a socket pair (out of descriptors).
pub fn link(mtu: usize) -> io::Result<(MemoryDevice, MemoryDevice)> {
    let (a, b) = UnixDatagram::pair()?;
    a.set_nonblocking(true)?;
    b.set_nonblocking(true)?;
    let end = |socket, name| MemoryDevice {
        socket,
        name,
        mtu,
        drops: LinkDrops::default(),
    };
    Ok((end(a, "mem0"), end(b, "mem1")))
}

impl Device for MemoryDevice {
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            return match self.socket.recv(buf) {
                Ok(len) => Ok(Some(len)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Sends `frame` to the other end; on a full link the frame is dropped and counted.
    ///
    /// # Errors
    ///
    /// As [`try_send`](MemoryDevice::try_send).
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        if self.try_send(frame)? == Sent::Full {
            self.drops.tx_queue_full += 1;
        }
        Ok(())
    }

    /// Sends `frame` to the other end, or hands it back when the link is full.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a frame longer than `mtu + ETHERNET_OVERHEAD`: on a real link
    /// it could not be sent either, and saying so catches stack bugs in tests.
    fn try_send(&mut self, frame: &[u8]) -> io::Result<Sent> {
        let max = self.mtu + ETHERNET_OVERHEAD;
        if frame.len() > max {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{}: frame of {} bytes exceeds the link's maximum of {max}",
                    self.name,
                    frame.len()
                ),
            ));
        }
        loop {
            return match self.socket.send(frame) {
                Ok(_) => Ok(Sent::Taken),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The socket buffer is full; POLLOUT says when it has room again.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Sent::Full),
                // Out of kernel memory: no POLLOUT will announce its end, so the frame
                // is lost like any frame on a congested link.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.drops.tx_queue_full += 1;
                    Ok(Sent::Taken)
                }
                // The other end was dropped: the cable is unplugged.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ECONNREFUSED | libc::ENOTCONN | libc::EPIPE)
                    ) =>
                {
                    self.drops.tx_link_down += 1;
                    Ok(Sent::Taken)
                }
                Err(e) => Err(e),
            };
        }
    }

    fn as_raw_fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    fn mtu(&self) -> usize {
        self.mtu
    }

    fn name(&self) -> &str {
        self.name
    }

    fn drops(&self) -> LinkDrops {
        self.drops
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poll::{wait_readable, Poller};
    use std::time::Duration;

    fn readable(dev: &MemoryDevice) -> bool {
        wait_readable(&[dev.as_raw_fd()], Some(Duration::ZERO)).unwrap()[0]
    }

    #[test]
    fn frames_cross_both_ways_whole_and_in_order() {
        let (mut a, mut b) = link(1500).unwrap();
        assert_eq!((a.name(), b.name()), ("mem0", "mem1"));
        assert_eq!((a.mtu(), b.mtu()), (1500, 1500));
        let mut buf = [0u8; 1518];
        assert_eq!(a.recv(&mut buf).unwrap(), None);
        assert!(!readable(&b));

        a.send(&[1; 60]).unwrap();
        a.send(&[2; 1518]).unwrap();
        a.send(&[3; 14]).unwrap();
        assert!(readable(&b));
        assert!(!readable(&a));
        assert_eq!(b.recv(&mut buf).unwrap(), Some(60));
        assert_eq!(buf[..60], [1; 60]);
        assert_eq!(b.recv(&mut buf).unwrap(), Some(1518));
        assert_eq!(buf, [2; 1518]);
        assert_eq!(b.recv(&mut buf).unwrap(), Some(14));
        assert_eq!(b.recv(&mut buf).unwrap(), None);
        assert!(!readable(&b));

        b.send(&[4; 42]).unwrap();
        assert!(readable(&a));
        assert_eq!(a.recv(&mut buf).unwrap(), Some(42));
        assert_eq!(buf[..42], [4; 42]);
    }

    #[test]
    fn the_ends_work_from_different_threads() {
        let (mut a, mut b) = link(1500).unwrap();
        let sender = std::thread::spawn(move || a.send(&[9; 100]).unwrap());
        let ready = wait_readable(&[b.as_raw_fd()], Some(Duration::from_secs(10))).unwrap();
        assert_eq!(ready, vec![true]);
        let mut buf = [0u8; 1518];
        assert_eq!(b.recv(&mut buf).unwrap(), Some(100));
        sender.join().unwrap();
    }

    #[test]
    fn a_full_link_drops_and_counts_instead_of_blocking() {
        let (mut a, mut b) = link(1500).unwrap();
        let sent = 10_000;
        for _ in 0..sent {
            a.send(&[0; 1514]).unwrap();
        }
        let dropped = a.drops().tx_queue_full;
        assert!(dropped > 0 && dropped < sent, "{dropped}");
        let mut buf = [0u8; 1518];
        let mut received = 0;
        while b.recv(&mut buf).unwrap().is_some() {
            received += 1;
        }
        assert_eq!(received + dropped, sent);
    }

    #[test]
    fn a_full_link_hands_frames_back_to_try_send_and_polls_writable_again() {
        let (mut a, mut b) = link(1500).unwrap();
        let mut taken = 0usize;
        while a.try_send(&[7; 1514]).unwrap() == Sent::Taken {
            taken += 1;
            assert!(taken < 10_000, "the link never filled up");
        }
        assert!(taken > 0);
        assert_eq!(a.drops(), LinkDrops::default(), "nothing was lost");
        let writable = |dev: &MemoryDevice| {
            let mut poller = Poller::new();
            let fds = [(dev.as_raw_fd(), libc::POLLOUT)];
            poller.wait_events(&fds, Some(Duration::ZERO)).unwrap()[0]
        };
        assert!(!writable(&a), "a full link polls writable");
        let mut buf = [0u8; 1518];
        let mut received = 0;
        while b.recv(&mut buf).unwrap().is_some() {
            received += 1;
        }
        assert_eq!(received, taken);
        assert!(writable(&a), "a drained link does not poll writable");
        assert_eq!(a.try_send(&[8; 1514]).unwrap(), Sent::Taken);
    }

    #[test]
    fn a_frame_longer_than_the_link_allows_is_refused() {
        let (mut a, _b) = link(100).unwrap();
        let e = a.send(&[0; 100 + ETHERNET_OVERHEAD + 1]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(a.send(&[0; 100 + ETHERNET_OVERHEAD]).is_ok());
    }

    #[test]
    fn sending_to_a_dropped_end_counts_a_down_link() {
        let (mut a, b) = link(1500).unwrap();
        drop(b);
        a.send(&[0; 60]).unwrap();
        assert_eq!(a.drops().tx_link_down, 1);
        let mut buf = [0u8; 1518];
        assert_eq!(a.recv(&mut buf).unwrap(), None);
    }

    #[test]
    fn devices_compose_through_box_dyn() {
        let (a, mut b) = link(1500).unwrap();
        let mut boxed: Box<dyn Device> = Box::new(a);
        boxed.send(&[5; 60]).unwrap();
        assert_eq!(boxed.name(), "mem0");
        let mut buf = [0u8; 1518];
        assert_eq!(b.recv(&mut buf).unwrap(), Some(60));
    }
}
