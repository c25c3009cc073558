//! The event-driven core of the TCP services: one thread (the event loop's own, by
//! default, see [`Placement`]) serves every connection of a listener, each connection a small state machine (a [`Session`]) driven by readiness
//! events from the runtime's [`Poll`].
//!
//! One round of the thread: wait for events (or the earliest session deadline), then,
//! with the stack locked once for the whole batch, accept every queued connection and
//! [`drive`](Session::drive) every ready or timed-out session as far as it can go
//! without waiting. A session answers with what it waits for next ([`Next`]): readable,
//! writable, a deadline, or the end. Nothing here sleeps or spins: with no events and
//! no deadline the thread blocks until the runtime has news.
//!
//! Memory per connection is the session's own state (a few dozen bytes for echo) and
//! one registration; buffers a session needs while busy are dropped when it goes idle.

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddrV4;
use std::thread;
use std::time::{Duration, Instant as StdInstant};

use log::{debug, warn};
use netstack_core::{SocketHandle, Stack};

use super::Service;
use crate::net::tcp_io;
use crate::runtime::{Events, Handle, Interest, Poll, Task, Token};

/// Connections a listener keeps ready for accept: Linux's somaxconn (4096). The service
/// thread accepts every queued connection in each round, so this only has to absorb
/// a burst arriving within one round.
pub const BACKLOG: usize = 4096;

/// The token of the listener; connections use their index in the table.
const LISTENER: Token = Token(usize::MAX);

/// Bytes of the scratch buffer sessions read into (shared by all of them).
const SCRATCH: usize = 64 * 1024;

/// What a session waits for after a [`Session::drive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Next {
    /// Drive me again when the socket is ready for `interest`, or at `deadline`.
    /// Ask only for what the session is blocked on (an interest that holds now and is
    /// not acted on would bring the same event back at once).
    Wait {
        /// What the session waits for.
        interest: Interest,
        /// When to drive it regardless (`Context::timed_out` then says so).
        deadline: Option<StdInstant>,
    },
    /// The session is over: the server closes the socket (in order: queued data and a
    /// FIN still go out, unless unread data makes it a reset) and forgets it.
    Close,
}

impl Next {
    /// Waits for `interest` with no deadline.
    pub fn wait(interest: Interest) -> Next {
        Next::Wait {
            interest,
            deadline: None,
        }
    }
}

/// One connection's protocol, as a state machine.
pub trait Session: Send + 'static {
    /// Does all the work the connection allows now without waiting (read until nothing
    /// is there, write until the send buffer is full), and says what to wait for next.
    /// Called right after accept, then on every event and at the deadline.
    fn drive(&mut self, cx: &mut Context<'_>) -> Next;
}

/// What a session works with while it is driven: the locked stack, its socket, the
/// time, and a scratch buffer to read into.
pub struct Context<'a> {
    /// The stack, locked for the whole round.
    pub stack: &'a mut Stack,
    /// The stack's current time.
    pub now: netstack_core::Instant,
    /// The connection's socket.
    pub socket: SocketHandle,
    /// A buffer for reads, shared by every session of the thread; its contents do not
    /// survive the call.
    pub scratch: &'a mut [u8],
    /// The runtime, for what the stack does not know (the device's name, link drops).
    pub net: &'a Handle,
    /// True when this call is because the session's deadline passed.
    pub timed_out: bool,
}

impl Context<'_> {
    /// Reads into `scratch`: `Ok(Some(n))`, `Ok(Some(0))` at end of stream, `Ok(None)`
    /// when nothing is there.
    pub fn recv_scratch(&mut self) -> io::Result<Option<usize>> {
        self.stack
            .tcp()
            .recv(self.now, self.socket, self.scratch)
            .map_err(tcp_io)
    }

    /// Sends `scratch[range]` (bytes just read), as [`send`](Context::send) does.
    pub fn send_scratch(&mut self, range: std::ops::Range<usize>) -> io::Result<usize> {
        self.stack
            .tcp()
            .send(self.now, self.socket, &self.scratch[range])
            .map_err(tcp_io)
    }

    /// Queues as much of `data` as fits in the send buffer; returns how much (0: full).
    pub fn send(&mut self, data: &[u8]) -> io::Result<usize> {
        self.stack
            .tcp()
            .send(self.now, self.socket, data)
            .map_err(tcp_io)
    }
}

/// A connection in the table.
struct Entry<S> {
    socket: SocketHandle,
    session: S,
    interest: Interest,
    deadline: Option<StdInstant>,
}

/// Where a server's sessions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// On the event loop's own thread, as a [`Task`], in the round their frames arrive:
    /// no thread hand-off per exchange. What `netstack serve` uses.
    Loop,
    /// On a thread of the service's own, woken by readiness events: the loop and the
    /// sessions then work in parallel, each handing over to the other.
    Thread,
}

/// Listens on `port` and serves every connection where `placement` says, with sessions
/// made by `accept` (given the stack, the socket and the peer's address). `name` names
/// the service (and its thread).
pub fn start<S, F>(
    net: &Handle,
    port: u16,
    name: &str,
    placement: Placement,
    accept: F,
) -> io::Result<Service>
where
    S: Session,
    F: FnMut(&mut Stack, SocketHandle, SocketAddrV4) -> S + Send + 'static,
{
    let poll = Poll::new(net);
    let listener = net.with_stack(|stack, _| -> io::Result<SocketHandle> {
        let l = stack
            .tcp()
            .listen(SocketAddrV4::new([0, 0, 0, 0].into(), port), BACKLOG)
            .map_err(tcp_io)?;
        poll.register(stack, l, LISTENER, Interest::READABLE)?;
        Ok(l)
    })?;
    let server = Server {
        net: net.clone(),
        poll,
        listener,
        accept,
        conns: Vec::new(),
        free: Vec::new(),
        timers: BTreeSet::new(),
        scratch: vec![0; SCRATCH].into_boxed_slice(),
        events: Events::new(),
        name: name.to_string(),
    };
    let thread = match placement {
        Placement::Loop => {
            net.spawn_task(Box::new(server));
            None
        }
        Placement::Thread => Some(
            thread::Builder::new()
                .name(format!("{name}-{port}"))
                .spawn(move || server.run())?,
        ),
    };
    Ok(Service {
        name: format!("{name} on port {port}"),
        thread,
    })
}

/// One service thread's state.
struct Server<S, F> {
    net: Handle,
    poll: Poll,
    listener: SocketHandle,
    accept: F,
    /// Connections by token; `None` slots are listed in `free`.
    conns: Vec<Option<Entry<S>>>,
    free: Vec<usize>,
    /// Session deadlines, earliest first.
    timers: BTreeSet<(StdInstant, usize)>,
    scratch: Box<[u8]>,
    /// Events taken from `poll`, reused every round.
    events: Events,
    name: String,
}

impl<S, F> Server<S, F>
where
    S: Session,
    F: FnMut(&mut Stack, SocketHandle, SocketAddrV4) -> S + Send + 'static,
{
    /// Serves on its own thread until the runtime stops; then drops every session.
    fn run(mut self) {
        let mut events = Events::new();
        loop {
            let timeout = self
                .timers
                .first()
                .map(|&(at, _)| at.saturating_duration_since(StdInstant::now()));
            if let Err(e) = self.poll.wait(&mut events, timeout) {
                debug!("{}: {e}", self.name);
                return;
            }
            let net = self.net.clone();
            net.with_stack(|stack, now| self.round(stack, now, &events));
        }
    }

    /// Handles one batch of events and every passed deadline, with the stack locked.
    fn round(&mut self, stack: &mut Stack, now: netstack_core::Instant, events: &Events) {
        for event in events.iter() {
            match event.token() {
                LISTENER => self.accept_all(stack, now),
                Token(i) => self.drive(stack, now, i, false),
            }
        }
        let clock = StdInstant::now();
        while let Some(&(at, i)) = self.timers.first() {
            if at > clock {
                break;
            }
            self.timers.pop_first();
            if let Some(Some(entry)) = self.conns.get_mut(i) {
                entry.deadline = None;
            }
            self.drive(stack, now, i, true);
        }
    }

    /// Accepts every queued connection and drives each once.
    fn accept_all(&mut self, stack: &mut Stack, now: netstack_core::Instant) {
        loop {
            let socket = match stack.tcp().accept(self.listener) {
                Ok(Some(socket)) => socket,
                Ok(None) => return,
                Err(e) => {
                    warn!("{}: accept: {e}", self.name);
                    return;
                }
            };
            let Ok(peer) = stack.tcp().peer_addr(socket) else {
                let _ = stack.tcp().close(now, socket);
                continue;
            };
            debug!("{}: connection from {peer}", self.name);
            let session = (self.accept)(stack, socket, peer);
            let i = self.free.pop().unwrap_or(self.conns.len());
            let entry = Entry {
                socket,
                session,
                interest: Interest::READABLE,
                deadline: None,
            };
            if i == self.conns.len() {
                self.conns.push(Some(entry));
            } else {
                self.conns[i] = Some(entry);
            }
            if let Err(e) = self
                .poll
                .register(stack, socket, Token(i), Interest::READABLE)
            {
                warn!("{}: cannot register {socket}: {e}", self.name);
            }
            self.drive(stack, now, i, false);
        }
    }

    /// Drives connection `i` (if it still exists) and applies what it answers.
    fn drive(&mut self, stack: &mut Stack, now: netstack_core::Instant, i: usize, timed_out: bool) {
        let Some(Some(entry)) = self.conns.get_mut(i) else {
            return; // closed earlier in this round; a stale event
        };
        let mut cx = Context {
            stack,
            now,
            socket: entry.socket,
            scratch: &mut self.scratch,
            net: &self.net,
            timed_out,
        };
        match entry.session.drive(&mut cx) {
            Next::Close => {
                let socket = entry.socket;
                if let Some(at) = entry.deadline {
                    self.timers.remove(&(at, i));
                }
                let _ = self.poll.deregister(socket);
                // Fails only if the socket is gone already (a reset freed it).
                let _ = stack.tcp().close(now, socket);
                self.conns[i] = None;
                self.free.push(i);
            }
            Next::Wait { interest, deadline } => {
                if interest != entry.interest {
                    entry.interest = interest;
                    if let Err(e) = self
                        .poll
                        .reregister(stack, entry.socket, Token(i), interest)
                    {
                        warn!("{}: cannot reregister: {e}", self.name);
                    }
                }
                if deadline != entry.deadline {
                    if let Some(at) = entry.deadline {
                        self.timers.remove(&(at, i));
                    }
                    if let Some(at) = deadline {
                        self.timers.insert((at, i));
                    }
                    entry.deadline = deadline;
                }
            }
        }
    }
}

/// On the loop's thread: a round with the events queued since the last turn.
impl<S, F> Task for Server<S, F>
where
    S: Session,
    F: FnMut(&mut Stack, SocketHandle, SocketAddrV4) -> S + Send + 'static,
{
    fn turn(&mut self, stack: &mut Stack, now: netstack_core::Instant) {
        let mut events = std::mem::take(&mut self.events);
        // A zero timeout only takes what is queued; it fails once the loop stops.
        if self.poll.wait(&mut events, Some(Duration::ZERO)).is_ok() {
            self.round(stack, now, &events);
        }
        self.events = events;
    }

    fn deadline(&self) -> Option<StdInstant> {
        self.timers.first().map(|&(at, _)| at)
    }
}

/// `now` plus `d`, as a deadline for [`Next::Wait`].
pub fn after(d: Duration) -> Option<StdInstant> {
    Some(StdInstant::now() + d)
}
