//! One runtime thread's loop. Each round:
//!
//! 1. wait until the device may have a frame, a handle woke us, or the stack's next
//!    deadline ([`Stack::poll_timeout`]) comes;
//! 2. read every waiting frame, up to [`BATCH`] (one with [`Batch::Off`]), each stamped
//!    with the time it was read;
//! 3. with the stack locked: [`Stack::receive`] each frame, [`Stack::handle_timeout`],
//!    a turn for every [`Task`] (services served on this thread, `task.rs`), then hand
//!    the device every frame the stack wants sent ([`Stack::transmit_while`]) and
//!    [`flush`](Device::flush) it, so a device that batches sends them all at once;
//! 4. tell the handles' waiters that the stack changed.
//!
//! Frames are read before the lock is taken, so other threads wait for the stack only
//! while it computes, never while the device is read.
//!
//! When the device's queue is full ([`Sent::Full`]: the in-memory link's socket buffer),
//! the frames not taken stay in the stack's bounded transmit queue, and step 1 also
//! waits for the device to become writable. Sending them anyway would lose them: a burst
//! of TCP segments into a peer that is slow to read would take with it whatever else was
//! sent in the same round, such as a UDP echo reply that nobody resends. TCP stops at its
//! share of that queue and goes on once the device has taken frames again.

use std::io;
use std::os::unix::io::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use netstack_core::Received;
use netstack_drivers::{Batch, Device, Poller, RxInfo, Sent};

use super::{lock, RuntimeError, Shared, Task};

/// Frames read per round at most, so that a flood cannot starve timers and transmission.
pub(super) const BATCH: usize = 64;

/// Consecutive failed reads after which a device that keeps erroring is given up on
/// rather than spun on.
const MAX_READ_FAILURES: u32 = 1000;

/// The loop's state: the device it owns and its receive buffers.
pub(super) struct EventLoop<'a> {
    shared: &'a Arc<Shared>,
    device: Box<dyn Device>,
    poller: Poller,
    /// `BATCH` buffers of the device's [`max_frame_len`](Device::max_frame_len) (the MTU
    /// and the Ethernet header, or 64 KB for a TAP handing over GSO frames), reused every
    /// round.
    buffers: Vec<Vec<u8>>,
    /// For each buffer filled this round: the frame's length and checksum word, and
    /// when it was read.
    filled: Vec<(RxInfo, netstack_core::Instant)>,
    /// Frames read per round at most: [`BATCH`], or 1 with [`Batch::Off`].
    frames_per_round: usize,
    read_failures: u32,
    send_failures: u64,
    /// Sockets the round touched, reused every round.
    touched: Vec<netstack_core::SocketHandle>,
    /// Work run in every round, on this thread.
    tasks: Vec<Box<dyn Task>>,
    /// The device refused a frame as full in the last round: wait until it is writable.
    device_full: bool,
}

impl<'a> EventLoop<'a> {
    pub(super) fn new(
        shared: &'a Arc<Shared>,
        device: Box<dyn Device>,
        batch: Batch,
    ) -> EventLoop<'a> {
        let frame_len = device.max_frame_len();
        let frames_per_round = match batch {
            Batch::On => BATCH,
            Batch::Off => 1,
        };
        EventLoop {
            shared,
            device,
            poller: Poller::new(),
            buffers: vec![vec![0; frame_len]; frames_per_round],
            filled: Vec::with_capacity(frames_per_round),
            frames_per_round,
            read_failures: 0,
            send_failures: 0,
            touched: Vec::new(),
            tasks: Vec::new(),
            device_full: false,
        }
    }

    /// Runs rounds until asked to stop (`Ok`) or the device fails for good (`Err`).
    pub(super) fn run(mut self) -> Result<(), RuntimeError> {
        let (device, waker) = (self.device.as_raw_fd(), self.shared.waker.as_raw_fd());
        let mut more_waiting = false;
        let mut deadline = self.shared.lock_stack().poll_timeout();
        while !self.shared.stop.load(Ordering::Acquire) {
            let timeout = if more_waiting {
                Some(Duration::ZERO)
            } else {
                earliest(self.timeout(deadline), self.device.next_wake())
            };
            let timeout = match (timeout, self.task_deadline()) {
                (t, None) => t,
                (None, Some(at)) => Some(at.saturating_duration_since(StdInstant::now())),
                (Some(t), Some(at)) => Some(t.min(at.saturating_duration_since(StdInstant::now()))),
            };
            let device_events = if self.device_full {
                libc::POLLIN | libc::POLLOUT
            } else {
                libc::POLLIN
            };
            let fds = [(device, device_events), (waker, libc::POLLIN)];
            if self.wait(&fds, timeout)? {
                // Before the work it announces, so a wake during this round is not lost.
                self.shared.waker.drain();
            }
            more_waiting = self.read_batch()?;
            self.share_arp_replies();
            deadline = self.process()?;
            self.shared.changed.notify_all();
        }
        // Tasks hold handles to the shared state; drop them with the loop.
        self.tasks.clear();
        Ok(())
    }

    /// Gives a copy of each ARP reply in the batch to the sibling runtimes, if any
    /// ([`Handle::share_arp_replies`](super::Handle::share_arp_replies)). Done before
    /// this loop locks its own stack, so two siblings never wait on each other.
    fn share_arp_replies(&self) {
        let siblings: Vec<Arc<Shared>> = lock(&self.shared.siblings)
            .iter()
            .filter_map(std::sync::Weak::upgrade)
            .collect();
        if siblings.is_empty() {
            return;
        }
        for (buf, (info, _)) in self.buffers.iter().zip(&self.filled) {
            let frame = &buf[..info.len];
            // EtherType ARP, operation 2 (reply): RFC 826.
            if frame.len() >= 22 && frame[12..14] == [0x08, 0x06] && frame[20..22] == [0, 2] {
                for s in &siblings {
                    // Each runtime has a clock of its own.
                    s.lock_stack().receive(s.clock.now(), frame);
                    s.waker.wake();
                }
            }
        }
    }

    /// The earliest deadline of any task.
    fn task_deadline(&self) -> Option<StdInstant> {
        self.tasks.iter().filter_map(|t| t.deadline()).min()
    }

    /// Sleeps until the device is ready for `fds[0]`'s events (readable, or writable
    /// too when it was full), the waker (`fds[1]`) is readable, or for `timeout`. True
    /// when the waker was woken. Whether the device is ready does not matter: it is read
    /// and sent to every round anyway, because wrappers such as `Faulty` may hold frames
    /// its descriptor does not signal.
    fn wait(
        &mut self,
        fds: &[(RawFd, libc::c_short); 2],
        timeout: Option<Duration>,
    ) -> Result<bool, RuntimeError> {
        match self.poller.wait_events(fds, timeout) {
            Ok(ready) => Ok(ready.get(1).copied().unwrap_or(false)),
            Err(err) => Err(RuntimeError::Poll(Arc::new(err))),
        }
    }

    /// How long `poll` may sleep: until the stack's `deadline`, or forever without one.
    /// A handle that moves the deadline wakes the loop, which then recomputes it.
    fn timeout(&self, deadline: Option<netstack_core::Instant>) -> Option<Duration> {
        // A deadline too far to represent is as good as none.
        let deadline = self.shared.clock.to_std(deadline?)?;
        Some(deadline.saturating_duration_since(StdInstant::now()))
    }

    /// Reads up to `frames_per_round` frames. True when the batch filled up, so more
    /// may wait.
    fn read_batch(&mut self) -> Result<bool, RuntimeError> {
        self.filled.clear();
        while self.filled.len() < self.frames_per_round {
            let buf = &mut self.buffers[self.filled.len()];
            match self.device.recv_info(buf) {
                Ok(Some(mut info)) => {
                    self.read_failures = 0;
                    info.len = info.len.min(buf.len());
                    self.filled.push((info, self.shared.clock.now()));
                }
                Ok(None) => return Ok(false),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(err) if is_fatal(&err) => return Err(self.device_error(err)),
                // The other end of an in-memory link went away with frames unread: the
                // cable was unplugged, which is not worth a warning.
                Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {
                    log::debug!("{}: {err}", self.device.name());
                    return Ok(false);
                }
                Err(err) => {
                    self.read_failures += 1;
                    if self.read_failures >= MAX_READ_FAILURES {
                        return Err(self.device_error(err));
                    }
                    log::warn!("{}: receive failed: {err}", self.device.name());
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Feeds the batch to the stack, runs its timers and sends what it queued. Returns
    /// the stack's next deadline.
    fn process(&mut self) -> Result<Option<netstack_core::Instant>, RuntimeError> {
        let mut stack = self.shared.lock_stack();
        // Consecutive segments of one connection are joined first (Config::rx_coalesce);
        // checksums the device vouched for are not summed again. What the batch makes
        // TCP decide is sent once it is all read (receive_batch holds output).
        let frames = self.buffers.iter().zip(&self.filled);
        stack.receive_batch(frames.map(|(buf, &(info, at))| Received {
            at,
            frame: &buf[..info.len],
            checksum_valid: info.checksum_valid,
        }));
        stack.handle_timeout(self.shared.clock.now());
        self.tasks.append(&mut lock(&self.shared.new_tasks));
        if !self.tasks.is_empty() {
            // Tasks learn of their sockets' news first, and answer in this round.
            self.shared.wake_touched(&mut stack, &mut self.touched);
            let now = self.shared.clock.now();
            // With TSO, what the tasks write in pieces leaves as one large segment at
            // the end of their turns (Stack::hold_output; Linux's autocorking). Without
            // it segments are MSS-sized anyway, and each write goes as it is made.
            let hold = stack.config().rx_coalesce && stack.config().tcp.tso;
            if hold {
                stack.hold_output();
            }
            for task in &mut self.tasks {
                task.turn(&mut stack, now);
            }
            if hold {
                stack.release_output(self.shared.clock.now());
            }
        }

        // Before the frames go: a trace then shows a state change between the frame
        // that caused it and the answer.
        self.shared.drain_events(&mut stack);
        let device = &mut self.device;
        let failures = &mut self.send_failures;
        let mut fatal = None;
        let mut full = false;
        // Frames may leave segmentation and checksums to the device (TSO), when the stack
        // was configured from its offloads.
        stack.transmit_offloaded(|frame, offload| {
            match device.try_send_offloaded(frame, offload) {
                Ok(Sent::Taken) => true,
                // Kept for the next round, once the device polls writable.
                Ok(Sent::Full) => {
                    full = true;
                    false
                }
                Err(err) if is_fatal(&err) => {
                    fatal = Some(err);
                    false
                }
                Err(err) => {
                    // A refused frame (too long, say) is lost like any frame on a real
                    // link; say so, but not a thousand times a second.
                    *failures += 1;
                    if failures.is_power_of_two() {
                        log::warn!(
                            "{}: send failed ({} so far): {err}",
                            device.name(),
                            failures
                        );
                    }
                    true
                }
            }
        });
        if let Err(err) = device.flush() {
            if is_fatal(&err) {
                fatal.get_or_insert(err);
            } else {
                self.send_failures += 1;
                log::warn!("{}: sending a batch failed: {err}", device.name());
            }
        }
        self.device_full = full;
        let deadline = stack.poll_timeout();
        self.shared.wake_touched(&mut stack, &mut self.touched);
        drop(stack);
        *lock(&self.shared.link_drops) = self.device.drops();
        *lock(&self.shared.faults) = self.device.faults();
        match fatal {
            Some(err) => Err(self.device_error(err)),
            None => Ok(deadline),
        }
    }

    fn device_error(&self, err: io::Error) -> RuntimeError {
        RuntimeError::Device {
            device: self.device.name().to_string(),
            error: Arc::new(err),
        }
    }
}

/// The sooner of two timeouts, `None` being forever: the stack's deadline and the
/// device's (a `Faulty` wrapper's next delayed frame).
fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Errors after which the device will never work again: its descriptor is closed or
/// detached (`EBADF`, `EBADFD`: the TAP interface was deleted), or the interface is
/// gone (`ENODEV`, `ENXIO`), or the device reports an I/O failure (`EIO`). Everything
/// else (a full buffer, a refused frame) loses one frame and the loop goes on.
fn is_fatal(err: &io::Error) -> bool {
    matches!(
        err.raw_os_error(),
        Some(libc::EBADF | libc::EBADFD | libc::ENODEV | libc::ENXIO | libc::EIO)
    )
}
