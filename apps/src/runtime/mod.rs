//! The runtime: one [`Stack`], one [`Device`], and a thread that moves frames between
//! them.
//!
//! The stack is sans-IO: it never reads a clock or a file descriptor. [`Runtime::spawn`]
//! starts the event loop that does that for it (see `event_loop.rs` for one round). Other
//! threads reach the stack through a [`Handle`]:
//!
//! - [`Handle::with_stack`] locks the stack, runs a closure with the current time, then
//!   wakes the loop so any frame the closure queued (an echo request, a TCP segment)
//!   is sent at once rather than at the loop's next deadline;
//! - [`Handle::wait_until`] blocks until a condition on the stack holds (a reply arrived,
//!   data readable), re-checking after every loop round.
//!
//! This is the seam the BSD-style socket facade (`UdpSocket`, `TcpStream`) is built on:
//! a blocking `recv` is a `wait_until` on "the socket has data", a `send` a `with_stack`.
//!
//! Servers with many connections use the readiness API instead ([`Poll`], in
//! `readiness.rs`): one thread waits for events on any number of sockets at once, or,
//! as a [`Task`] given to [`Handle::spawn_task`], the loop's own thread serves them in
//! the round their frames arrive (`task.rs`).

mod clock;
mod event_loop;
mod readiness;
mod task;

use std::any::Any;
use std::fmt;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Instant as StdInstant;

use netstack_core::tcp::ConnEvent;
use netstack_core::{SocketHandle, Stack};
use netstack_drivers::{Batch, Device, FaultReport, LinkDrops, Waker};

pub use clock::Clock;
pub use readiness::{Event, Events, Interest, Poll, Token};
pub use task::Task;

/// A running event loop that owns a stack and a device. Dropping it stops the loop.
pub struct Runtime {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A cheap, cloneable reference to a runtime's stack, usable from any thread.
///
/// A handle outlives its [`Runtime`] safely: once the loop has stopped,
/// [`wait_until`](Handle::wait_until) returns `None` at once and frames queued by
/// [`with_stack`](Handle::with_stack) are no longer sent.
#[derive(Clone)]
pub struct Handle {
    shared: Arc<Shared>,
}

/// Why an event loop stopped on its own.
#[derive(Clone, Debug)]
pub enum RuntimeError {
    /// The device failed for good (for example the TAP interface was deleted).
    Device {
        /// The device's name ("tap0").
        device: String,
        /// What the device reported.
        error: Arc<io::Error>,
    },
    /// Waiting for the device (the `poll` system call) failed.
    Poll(Arc<io::Error>),
    /// The loop thread panicked: a bug in the stack or the runtime.
    Panicked(String),
}

/// What the loop thread and the handles share.
struct Shared {
    stack: Mutex<Stack>,
    /// Notified after every loop round, and when the loop ends.
    changed: Condvar,
    /// Every socket registered in a readiness set ([`Poll`]). Locked after `stack` when
    /// both are held, never before.
    registry: Mutex<readiness::Registry>,
    /// Waiters on one socket sleep on the bucket its slot hashes to, and are woken only
    /// when the stack reports that socket touched (as epoll wakes only ready fds), so a
    /// thousand blocked connections do not all wake for every frame.
    buckets: Vec<Condvar>,
    /// Interrupts the loop's `poll` so it acts on new work at once.
    waker: Waker,
    /// Asks the loop to stop at its next round.
    stop: AtomicBool,
    /// Set by the loop thread as it exits, however it exits.
    finished: AtomicBool,
    /// Why the loop stopped on its own, if it did.
    error: Mutex<Option<RuntimeError>>,
    /// Frames the device dropped by itself, refreshed every round.
    link_drops: Mutex<LinkDrops>,
    /// Tasks handed over by [`Handle::spawn_task`] that the loop has not taken yet.
    new_tasks: Mutex<Vec<Box<dyn Task>>>,
    /// Waiters for news from outside the stack ([`Handle::wait_for_notice`]), woken by
    /// [`Handle::notify_waiters`] and when the loop ends, never by a mere round.
    notices: (Mutex<()>, Condvar),
    /// What the device's impairment (`--impair`) did, if it has one, refreshed every round.
    faults: Mutex<Option<FaultReport>>,
    clock: Clock,
    device_name: String,
    /// Where the stack's per-connection TCP events go, once asked for
    /// ([`Handle::set_event_sink`]); drained every round.
    event_sink: Mutex<Option<EventSink>>,
    /// Other runtimes of the same host on other queues of one device, which get a copy of
    /// every ARP reply this one reads ([`Handle::share_arp_replies`]).
    siblings: Mutex<Vec<Weak<Shared>>>,
}

/// What receives a runtime's per-connection TCP events ([`ConnEvent`]), on the loop's
/// thread, with the runtime's clock to place `event.at` in time. It must not block
/// for long (a file write, a line on stderr) nor touch the stack.
pub type EventSink = Box<dyn FnMut(&ConnEvent, Clock) + Send>;

/// Events the stack keeps between two drains at most (one round): far more than one
/// round makes, so none is lost unless the loop stalls.
const EVENT_CAPACITY: usize = 1 << 16;

impl Runtime {
    /// Starts the event loop for `stack` on `device` in a new thread.
    ///
    /// Fails only if the OS refuses the waker descriptor or the thread.
    pub fn spawn<D: Device + 'static>(stack: Stack, device: D) -> io::Result<Runtime> {
        Self::spawn_with(stack, device, Batch::On)
    }

    /// Like [`spawn`](Self::spawn), reading up to a batch of frames per wake-up
    /// ([`Batch::On`]) or one ([`Batch::Off`], for comparison).
    pub fn spawn_with<D: Device + 'static>(
        stack: Stack,
        device: D,
        batch: Batch,
    ) -> io::Result<Runtime> {
        let device_name = device.name().to_string();
        let shared = Arc::new(Shared {
            stack: Mutex::new(stack),
            changed: Condvar::new(),
            registry: Mutex::new(readiness::Registry::default()),
            buckets: (0..BUCKETS).map(|_| Condvar::new()).collect(),
            waker: Waker::new()?,
            stop: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            error: Mutex::new(None),
            link_drops: Mutex::new(LinkDrops::default()),
            new_tasks: Mutex::new(Vec::new()),
            notices: (Mutex::new(()), Condvar::new()),
            faults: Mutex::new(device.faults()),
            clock: Clock::start(),
            device_name,
            event_sink: Mutex::new(None),
            siblings: Mutex::new(Vec::new()),
        });
        let looped = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(format!("netstack-{}", shared.device_name))
            .spawn(move || {
                let run = || event_loop::EventLoop::new(&looped, Box::new(device), batch).run();
                // A panic is a bug, but waiters must still learn that the loop is over, and
                // why, instead of waiting forever.
                let outcome = match panic::catch_unwind(AssertUnwindSafe(run)) {
                    Ok(outcome) => outcome,
                    Err(payload) => Err(RuntimeError::Panicked(panic_message(payload.as_ref()))),
                };
                if let Err(err) = outcome {
                    // Reported through `Handle::error` and `Runtime::shutdown`; the
                    // application decides how to tell the user.
                    log::info!("event loop stopped: {err}");
                    *lock(&looped.error) = Some(err);
                }
                looped.finish();
            })?;
        Ok(Runtime {
            shared,
            thread: Some(thread),
        })
    }

    /// A handle for other threads.
    pub fn handle(&self) -> Handle {
        Handle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// The current time on this runtime's clock.
    pub fn now(&self) -> netstack_core::Instant {
        self.shared.clock.now()
    }

    /// Stops the loop, waits for its thread, and reports why it had stopped early, if it
    /// had (a device failure or a panic).
    pub fn shutdown(mut self) -> Result<(), RuntimeError> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> Result<(), RuntimeError> {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.waker.wake();
        if let Some(thread) = self.thread.take() {
            if let Err(payload) = thread.join() {
                // Only reachable if the catch_unwind above itself failed.
                *lock(&self.shared.error) =
                    Some(RuntimeError::Panicked(panic_message(payload.as_ref())));
            }
        }
        match lock(&self.shared.error).clone() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if self.thread.is_some() {
            if let Err(err) = self.stop_and_join() {
                log::debug!("runtime dropped after: {err}");
            }
        }
    }
}

impl Handle {
    /// Runs `f` on the locked stack with the current time, then wakes the loop so any
    /// frames `f` queued are transmitted promptly. Keep `f` short: the loop waits for it.
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack, netstack_core::Instant) -> R) -> R {
        let result = {
            let mut stack = self.shared.lock_stack();
            let now = self.shared.clock.now();
            let r = f(&mut stack, now);
            // What the closure did may have changed other sockets' readiness too.
            self.shared.wake_touched(&mut stack, &mut Vec::new());
            r
        };
        self.shared.waker.wake();
        result
    }

    /// Blocks until `ready` returns `Some`, and returns that.
    ///
    /// `ready` runs on the locked stack now and again after every loop round (every
    /// received frame batch, every timer) and after [`notify_waiters`](Handle::notify_waiters).
    /// Returns `None` when `deadline` passes first, or when the loop has stopped (see
    /// [`error`](Handle::error)). If `ready` queued frames or moved a timer, the loop is
    /// woken afterwards, as by [`with_stack`](Handle::with_stack).
    pub fn wait_until<R>(
        &self,
        deadline: Option<StdInstant>,
        ready: impl FnMut(&mut Stack) -> Option<R>,
    ) -> Option<R> {
        self.wait_on(&self.shared.changed, deadline, ready)
    }

    /// Like [`wait_until`](Handle::wait_until) for a condition on one socket: `ready`
    /// is re-checked only when the stack reports `socket` touched (or the loop stops),
    /// not after every round. The socket facade's blocking calls use this.
    pub fn wait_socket<R>(
        &self,
        socket: SocketHandle,
        deadline: Option<StdInstant>,
        ready: impl FnMut(&mut Stack) -> Option<R>,
    ) -> Option<R> {
        self.wait_on(self.shared.bucket(socket), deadline, ready)
    }

    fn wait_on<R>(
        &self,
        changed: &Condvar,
        deadline: Option<StdInstant>,
        mut ready: impl FnMut(&mut Stack) -> Option<R>,
    ) -> Option<R> {
        let shared = &self.shared;
        let mut stack = shared.lock_stack();
        let timer_before = stack.poll_timeout();
        let result = loop {
            if let Some(r) = ready(&mut stack) {
                break Some(r);
            }
            if shared.finished.load(Ordering::Acquire) {
                break None;
            }
            stack = match deadline {
                None => changed.wait(stack).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(StdInstant::now());
                    if left.is_zero() {
                        break None;
                    }
                    changed
                        .wait_timeout(stack, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        };
        let wake = stack.pending_transmit() > 0 || stack.poll_timeout() != timer_before;
        drop(stack);
        if wake {
            shared.waker.wake();
        }
        result
    }

    /// For runtimes that are one host on several queues of one device (`serve
    /// --queues`): every ARP reply any of them reads is also given to the others. The
    /// kernel steers all ARP to one queue, often not the one whose stack asked; without
    /// this, that stack would wait for its next request, a second later.
    pub fn share_arp_replies(handles: &[Handle]) {
        for h in handles {
            let others = handles
                .iter()
                .filter(|o| !Arc::ptr_eq(&o.shared, &h.shared))
                .map(|o| Arc::downgrade(&o.shared))
                .collect();
            *lock(&h.shared.siblings) = others;
        }
    }

    /// Makes every [`wait_until`](Handle::wait_until) re-check its condition now. Call it
    /// after changing state the condition reads outside the stack (say, a Ctrl-C flag).
    pub fn notify_waiters(&self) {
        // Taking the lock orders this after any waiter's check, so none misses the news.
        drop(self.shared.lock_stack());
        self.shared.changed.notify_all();
        self.shared.buckets.iter().for_each(Condvar::notify_all);
        self.shared.notify_notices();
    }

    /// Blocks until `ready` holds or the loop stops, re-checking `ready` only after
    /// [`notify_waiters`](Handle::notify_waiters): for conditions outside the stack,
    /// such as a Ctrl-C flag. Unlike [`wait_until`](Handle::wait_until), the loop's
    /// rounds do not wake it, so a thread waiting here costs nothing however busy the
    /// stack is.
    pub fn wait_for_notice(&self, mut ready: impl FnMut() -> bool) {
        let (lock_, cond) = &self.shared.notices;
        let mut guard = lock(lock_);
        while !ready() && !self.shared.finished.load(Ordering::Acquire) {
            guard = cond.wait(guard).unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// The current time on the runtime's clock.
    pub fn now(&self) -> netstack_core::Instant {
        self.shared.clock.now()
    }

    /// The runtime's clock, to turn stack instants into `std` ones and back.
    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    /// The device's name ("tap0").
    pub fn device_name(&self) -> &str {
        &self.shared.device_name
    }

    /// Frames the device dropped by itself (full queue, link down), as of the last round.
    pub fn link_drops(&self) -> LinkDrops {
        *lock(&self.shared.link_drops)
    }

    /// What the device's impairment (`--impair`) has done, as of the last round; `None`
    /// when the link is not impaired.
    pub fn faults(&self) -> Option<FaultReport> {
        *lock(&self.shared.faults)
    }

    /// True until the loop stops (shutdown, device failure or panic).
    pub fn is_running(&self) -> bool {
        !self.shared.finished.load(Ordering::Acquire)
    }

    /// Hands `task` to the event loop, which gives it a turn in every round from the
    /// next one on, until the loop stops (then the task is dropped). See [`Task`].
    pub fn spawn_task(&self, task: Box<dyn Task>) {
        if self.shared.finished.load(Ordering::Acquire) {
            return;
        }
        lock(&self.shared.new_tasks).push(task);
        self.shared.waker.wake();
    }

    /// Turns on the stack's per-connection TCP event log and hands every event to
    /// `sink`, from the loop's thread, each round (and once more when the loop stops).
    /// Replaces any sink set before.
    pub fn set_event_sink(&self, sink: EventSink) {
        let mut stack = self.shared.lock_stack();
        stack.enable_tcp_events(EVENT_CAPACITY);
        *lock(&self.shared.event_sink) = Some(sink);
    }

    /// Why the loop stopped on its own, if it did.
    pub fn error(&self) -> Option<RuntimeError> {
        lock(&self.shared.error).clone()
    }
}

/// Waiter buckets for sockets.
const BUCKETS: usize = 64;

impl Shared {
    fn lock_stack(&self) -> MutexGuard<'_, Stack> {
        lock(&self.stack)
    }

    fn bucket(&self, socket: SocketHandle) -> &Condvar {
        &self.buckets[socket.slot() as usize % BUCKETS]
    }

    /// Wakes the waiters of every socket the stack touched since it was last asked, and
    /// queues the events of those registered in readiness sets. Called with the stack
    /// locked; `scratch` is reused to avoid allocating.
    fn wake_touched(&self, stack: &mut Stack, scratch: &mut Vec<SocketHandle>) {
        let all = stack.take_touched(scratch);
        lock(&self.registry).dispatch(stack, scratch, all);
        if all {
            self.buckets.iter().for_each(Condvar::notify_all);
            return;
        }
        for &h in scratch.iter() {
            self.bucket(h).notify_all();
        }
    }

    /// Wakes [`Handle::wait_for_notice`]'s waiters. Taking their lock orders this after
    /// any waiter's check, so none misses it.
    fn notify_notices(&self) {
        let (lock_, cond) = &self.notices;
        drop(lock(lock_));
        cond.notify_all();
    }

    /// Hands the events the stack recorded since the last call to the sink, if any.
    /// Called with the stack locked.
    fn drain_events(&self, stack: &mut Stack) {
        let mut sink = lock(&self.event_sink);
        if let Some(sink) = sink.as_mut() {
            let clock = self.clock;
            stack.drain_tcp_events(|event| sink(event, clock));
        }
    }

    /// Marks the loop finished and wakes every waiter.
    fn finish(&self) {
        self.finished.store(true, Ordering::Release);
        // Tasks hold handles to this very state: dropping them here breaks the cycle.
        let tasks = std::mem::take(&mut *lock(&self.new_tasks));
        drop(tasks);
        // Under the lock, so that a waiter between its check and its wait cannot miss it.
        let mut stack = self.lock_stack();
        // The last events (a final ACK, TIME-WAIT), then the sink is done: dropping it
        // flushes and closes a log file.
        self.drain_events(&mut stack);
        let dropped = stack.tcp_events_dropped();
        if dropped > 0 {
            log::warn!("{dropped} TCP events were lost: the loop fell behind");
        }
        drop(lock(&self.event_sink).take());
        lock(&self.registry).wake_all();
        drop(stack);
        self.changed.notify_all();
        self.buckets.iter().for_each(Condvar::notify_all);
        self.notify_notices();
    }
}

/// Locks `m`, recovering from poisoning: a panic elsewhere ends the loop and is reported
/// by [`Runtime::shutdown`]; the handles should still read counters rather than panic too.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The text of a panic, for [`RuntimeError::Panicked`].
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("device", &self.shared.device_name)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("device", &self.shared.device_name)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuntimeError::Device { device, error } => {
                write!(f, "device {device} failed: {error}")?;
                if matches!(
                    error.raw_os_error(),
                    Some(libc::EBADFD | libc::ENODEV | libc::ENXIO)
                ) {
                    write!(f, " (was the interface deleted?)")?;
                }
                Ok(())
            }
            RuntimeError::Poll(error) => write!(f, "waiting for the device failed: {error}"),
            RuntimeError::Panicked(what) => write!(f, "event loop panicked: {what}"),
        }
    }
}

impl std::error::Error for RuntimeError {}

impl From<RuntimeError> for io::Error {
    fn from(err: RuntimeError) -> io::Error {
        match &err {
            RuntimeError::Device { error, .. } | RuntimeError::Poll(error) => {
                io::Error::new(error.kind(), err)
            }
            RuntimeError::Panicked(_) => io::Error::other(err),
        }
    }
}
