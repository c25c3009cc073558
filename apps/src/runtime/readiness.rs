//! Readiness: wait for events on many netstack sockets at once, in the spirit of mio
//! and poll(2).
//!
//! A [`Poll`] is a readiness set. Register sockets in it with a [`Token`] and an
//! [`Interest`]; [`Poll::wait`] then blocks until one or more of them may be ready and
//! fills [`Events`] with their tokens. One thread serves any number of sockets this
//! way, instead of one blocked thread per socket.
//!
//! # How events arise
//! The stack lists the sockets whose readiness may have changed
//! ([`Stack::take_touched`]). After every event loop round, and after every
//! [`Handle::with_stack`], the runtime looks each one up here; if it is registered and
//! is now ready for what its interest asks (readable: data, end of stream, an error or
//! a connection to accept; writable: room in the send buffer, or a send that would fail
//! at once), the socket's token is queued in its set and the set's waiter is woken.
//! Registering (or re-registering) checks the socket at once, so readiness that came
//! before the registration is not lost.
//!
//! Events are edge-like: a socket is reported when something changed and it is ready,
//! not again and again while it stays ready. So on an event, do all the work the socket
//! allows (read until `recv` says nothing is there, write until `send` takes nothing);
//! the next change that matters brings the next event. An event may also be spurious
//! (the data was already read): treat "nothing there" as "wait for the next event".
//!
//! # Why a thread waiting on a set, and not callbacks on the event loop
//! Running application code on the loop's thread would save one wake-up per round, but
//! any slow handler (rendering a page, hashing a body) would then stall every socket's
//! timers and the device. Instead the loop only queues tokens, which costs a hash
//! lookup per touched socket, and wakes the set's thread once per round, however many
//! sockets became ready in it: one hand-off per batch, not per event. The thread then
//! takes the stack's lock once for the whole batch ([`Handle::with_stack`]) and drives
//! every ready socket under it. A thread with nothing to do sleeps on a condition
//! variable with no timeout (or the caller's), so an idle service uses no CPU.
//!
//! # Locks
//! Registration calls take `&mut Stack`: call them inside [`Handle::with_stack`] (the
//! stack's lock is held there, so no readiness change can slip in between the check
//! and the registration). [`Poll::wait`] takes no lock the loop needs for long.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::ops::BitOr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant as StdInstant};

use netstack_core::socket::Protocol;
use netstack_core::{SocketHandle, Stack};

use super::{lock, Handle};

/// What the caller chooses to name a registered socket in [`Events`]: an index into
/// its own table of connections, typically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub usize);

/// Which readiness a registration waits for. Combine with `|`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Interest(u8);

impl Interest {
    /// A receive (or, on a listener, an accept) would not wait: data, end of stream,
    /// an error, or a connection to accept.
    pub const READABLE: Interest = Interest(1);
    /// A send would not wait: room in the send buffer, or a send that fails at once.
    pub const WRITABLE: Interest = Interest(2);

    /// Whether `self` includes readable.
    pub fn is_readable(self) -> bool {
        self.0 & 1 != 0
    }

    /// Whether `self` includes writable.
    pub fn is_writable(self) -> bool {
        self.0 & 2 != 0
    }
}

impl BitOr for Interest {
    type Output = Interest;
    fn bitor(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.is_readable(), self.is_writable()) {
            (true, true) => f.write_str("READABLE | WRITABLE"),
            (true, false) => f.write_str("READABLE"),
            (false, true) => f.write_str("WRITABLE"),
            (false, false) => f.write_str("NONE"),
        }
    }
}

/// One ready socket: its token, and which of its interests held when it was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    token: Token,
    ready: Interest,
}

impl Event {
    /// The token the socket was registered with.
    pub fn token(&self) -> Token {
        self.token
    }

    /// True when the socket was readable (also at end of stream or on an error).
    pub fn is_readable(&self) -> bool {
        self.ready.is_readable()
    }

    /// True when the socket was writable.
    pub fn is_writable(&self) -> bool {
        self.ready.is_writable()
    }
}

/// The events one [`Poll::wait`] returns; reuse it from one wait to the next.
#[derive(Debug, Default)]
pub struct Events {
    list: Vec<Event>,
}

impl Events {
    /// An empty list.
    pub fn new() -> Events {
        Events::default()
    }

    /// The events, in no particular order; each token appears once.
    pub fn iter(&self) -> impl Iterator<Item = &Event> {
        self.list.iter()
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// True when the wait returned without events (timeout or [`Poll::wake`]).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// A readiness set on one runtime: register sockets, then [`wait`](Poll::wait) for
/// events on all of them. Cheap to clone; the clones are the same set (so another
/// thread can [`wake`](Poll::wake) it). Dropping the last clone forgets its sockets.
#[derive(Clone)]
pub struct Poll {
    inner: Arc<PollInner>,
}

/// What the clones of a [`Poll`] share; dropping it forgets the set's sockets.
struct PollInner {
    handle: Handle,
    set: Arc<ReadySet>,
}

/// What the runtime and a [`Poll`] share: the queued events and the waiter's condvar.
pub(super) struct ReadySet {
    pending: Mutex<Pending>,
    cond: Condvar,
}

#[derive(Default)]
struct Pending {
    /// Ready tokens with what was ready, merged while the waiter has not taken them.
    ready: HashMap<Token, Interest>,
    /// [`Poll::wake`] was called.
    woken: bool,
}

/// Every registration on one runtime, keyed by socket. Lock order: the stack, then the
/// registry, then a set's pending list; the registry is never held while the stack's
/// lock is taken (deregistering and dropping a set lock it alone).
#[derive(Default)]
pub(super) struct Registry {
    sockets: HashMap<SocketHandle, Registration>,
    /// Every live set, to wake when the loop stops.
    sets: Vec<Weak<ReadySet>>,
}

struct Registration {
    set: Arc<ReadySet>,
    token: Token,
    interest: Interest,
}

impl Poll {
    /// An empty readiness set on `handle`'s runtime.
    pub fn new(handle: &Handle) -> Poll {
        let set = Arc::new(ReadySet {
            pending: Mutex::new(Pending::default()),
            cond: Condvar::new(),
        });
        let mut registry = lock(&handle.shared.registry);
        registry.sets.retain(|s| s.strong_count() > 0);
        registry.sets.push(Arc::downgrade(&set));
        drop(registry);
        Poll {
            inner: Arc::new(PollInner {
                handle: handle.clone(),
                set,
            }),
        }
    }

    /// The runtime this set belongs to.
    pub fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// Adds `socket` (TCP connection or listener, or UDP) with `token` and `interest`.
    /// If it is ready already, its event is queued at once. Call with the stack of this
    /// set's runtime, inside [`Handle::with_stack`].
    ///
    /// Fails with `AlreadyExists` if the socket is registered (here or in another set).
    pub fn register(
        &self,
        stack: &mut Stack,
        socket: SocketHandle,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let mut registry = lock(&self.inner.handle.shared.registry);
        if registry.sockets.contains_key(&socket) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "socket already registered",
            ));
        }
        let registration = Registration {
            set: Arc::clone(&self.inner.set),
            token,
            interest,
        };
        registration.check(stack, socket);
        registry.sockets.insert(socket, registration);
        Ok(())
    }

    /// Changes a registered socket's token and interest, and checks it at once as
    /// [`register`](Poll::register) does. Fails with `NotFound` if it is not registered
    /// in this set.
    pub fn reregister(
        &self,
        stack: &mut Stack,
        socket: SocketHandle,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        let mut registry = lock(&self.inner.handle.shared.registry);
        match registry.sockets.get_mut(&socket) {
            Some(r) if Arc::ptr_eq(&r.set, &self.inner.set) => {
                r.token = token;
                r.interest = interest;
                r.check(stack, socket);
                Ok(())
            }
            _ => Err(not_registered()),
        }
    }

    /// Removes a socket; call it before (or right after) closing the socket. An event
    /// for it may still be queued: the caller's table tells that the token is gone.
    /// Fails with `NotFound` if it is not registered in this set.
    pub fn deregister(&self, socket: SocketHandle) -> io::Result<()> {
        let mut registry = lock(&self.inner.handle.shared.registry);
        match registry.sockets.get(&socket) {
            Some(r) if Arc::ptr_eq(&r.set, &self.inner.set) => {
                registry.sockets.remove(&socket);
                Ok(())
            }
            _ => Err(not_registered()),
        }
    }

    /// Blocks until at least one registered socket is ready, [`wake`](Poll::wake) is
    /// called, or `timeout` passes (`None`: no timeout), and puts the ready tokens in
    /// `events` (emptied first). Returns at once if events are already queued.
    ///
    /// Fails with `NotConnected` once the runtime has stopped.
    pub fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.list.clear();
        let deadline = timeout.map(|t| StdInstant::now() + t);
        let shared = &self.inner.handle.shared;
        let mut pending = lock(&self.inner.set.pending);
        loop {
            if shared.finished.load(Ordering::Acquire) {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the network stack has stopped",
                ));
            }
            if !pending.ready.is_empty() || pending.woken {
                break;
            }
            pending = match deadline {
                None => self
                    .inner
                    .set
                    .cond
                    .wait(pending)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(StdInstant::now());
                    if left.is_zero() {
                        break;
                    }
                    self.inner
                        .set
                        .cond
                        .wait_timeout(pending, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        pending.woken = false;
        events.list.extend(
            pending
                .ready
                .drain()
                .map(|(token, ready)| Event { token, ready }),
        );
        Ok(())
    }

    /// Makes the current or next [`wait`](Poll::wait) return, from any thread.
    pub fn wake(&self) {
        self.inner.set.wake();
    }
}

impl Drop for PollInner {
    fn drop(&mut self) {
        // The last clone is gone: forget this set's sockets so the registry holds no
        // registration nobody will ever take events from.
        let mut registry = lock(&self.handle.shared.registry);
        registry
            .sockets
            .retain(|_, r| !Arc::ptr_eq(&r.set, &self.set));
    }
}

impl fmt::Debug for Poll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Poll")
            .field("device", &self.inner.handle.device_name())
            .finish_non_exhaustive()
    }
}

impl ReadySet {
    fn queue(&self, token: Token, ready: Interest) {
        let mut pending = lock(&self.pending);
        let was_empty = pending.ready.is_empty();
        let entry = pending.ready.entry(token).or_insert(Interest(0));
        *entry = *entry | ready;
        drop(pending);
        if was_empty {
            self.cond.notify_all();
        }
    }

    fn wake(&self) {
        lock(&self.pending).woken = true;
        self.cond.notify_all();
    }
}

impl Registration {
    /// Queues this registration's event if `socket` is ready for its interest now.
    fn check(&self, stack: &mut Stack, socket: SocketHandle) {
        let ready = readiness(stack, socket, self.interest);
        if ready != Interest(0) {
            self.set.queue(self.token, ready);
        }
    }
}

impl Registry {
    /// Queues events for the `touched` sockets that are registered and ready (for every
    /// registered socket when `all`). Called by the runtime with the stack locked.
    pub(super) fn dispatch(&self, stack: &mut Stack, touched: &[SocketHandle], all: bool) {
        if self.sockets.is_empty() {
            return;
        }
        if all {
            for (&socket, r) in &self.sockets {
                r.check(stack, socket);
            }
            return;
        }
        for socket in touched {
            if let Some(r) = self.sockets.get(socket) {
                r.check(stack, *socket);
            }
        }
    }

    /// Wakes every set's waiter: the loop has stopped.
    pub(super) fn wake_all(&self) {
        for set in self.sets.iter().filter_map(Weak::upgrade) {
            set.wake();
        }
    }
}

/// Which of `interest` holds for `socket` now.
fn readiness(stack: &mut Stack, socket: SocketHandle, interest: Interest) -> Interest {
    let (readable, writable) = match socket.protocol() {
        Protocol::Tcp => {
            let tcp = stack.tcp();
            (
                interest.is_readable() && tcp.can_read(socket),
                interest.is_writable() && tcp.can_write(socket),
            )
        }
        // A UDP send never waits for room.
        Protocol::Udp => (
            interest.is_readable() && stack.udp().readable(socket),
            interest.is_writable(),
        ),
        // Nor does a raw one.
        Protocol::Raw => (
            interest.is_readable() && stack.raw().readable(socket),
            interest.is_writable(),
        ),
    };
    Interest(u8::from(readable) | u8::from(writable) << 1)
}

fn not_registered() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "socket not registered in this set")
}
