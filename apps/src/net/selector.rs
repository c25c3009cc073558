//! [`Selector`]: wait on many facade sockets at once, as poll(2) or mio does, on the
//! runtime's readiness core ([`Poll`]). Register sockets of any type with a [`Token`]
//! and an [`Interest`], then [`select`](Selector::select): the tokens of the ready ones
//! come back. Use it with sockets in non-blocking mode, reading and writing until
//! `WouldBlock` on each event (events are edge-like: see [`crate::runtime::readiness`]).

use std::io;
use std::time::Duration;

use netstack_core::{SocketHandle, Stack};

use super::{RawSocket, TcpListener, TcpStream, UdpSocket};
use crate::runtime::{Events, Handle, Interest, Poll, Token};

/// A facade socket a [`Selector`] can wait on.
pub trait Source {
    /// The stack's handle for the socket.
    fn socket_handle(&self) -> SocketHandle;
}

/// Each facade socket is a [`Source`] through its own `handle()`.
macro_rules! source_by_handle {
    ($($socket:ty),*) => {$(
        impl Source for $socket {
            fn socket_handle(&self) -> SocketHandle {
                self.handle()
            }
        }
    )*};
}

source_by_handle!(TcpStream, TcpListener, UdpSocket, RawSocket);

/// A readiness set of facade sockets on one runtime.
#[derive(Debug)]
pub struct Selector {
    poll: Poll,
}

impl Selector {
    /// An empty set for sockets of the runtime `net`.
    pub fn new(net: &Handle) -> Selector {
        Selector {
            poll: Poll::new(net),
        }
    }

    /// Adds `socket`; if it is ready already, its event is queued at once.
    /// `AlreadyExists` if it is registered (here or in another set).
    pub fn register(
        &self,
        socket: &impl Source,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.on_stack(socket, |stack, h| {
            self.poll.register(stack, h, token, interest)
        })
    }

    /// Changes a registered socket's token and interest.
    pub fn reregister(
        &self,
        socket: &impl Source,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.on_stack(socket, |stack, h| {
            self.poll.reregister(stack, h, token, interest)
        })
    }

    /// Removes `socket` from the set.
    pub fn deregister(&self, socket: &impl Source) -> io::Result<()> {
        self.poll.deregister(socket.socket_handle())
    }

    /// Waits until a registered socket is ready, [`wake`](Selector::wake) is called or
    /// `timeout` passes, and fills `events` with the ready tokens.
    pub fn select(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        self.poll.wait(events, timeout)
    }

    /// Makes a `select` in another thread return now.
    pub fn wake(&self) {
        self.poll.wake();
    }

    /// Runs `op` on the runtime's stack with `socket`'s handle.
    fn on_stack(
        &self,
        socket: &impl Source,
        op: impl FnOnce(&mut Stack, SocketHandle) -> io::Result<()>,
    ) -> io::Result<()> {
        let h = socket.socket_handle();
        self.poll.handle().with_stack(|stack, _| op(stack, h))
    }
}
