//! What the datagram facades ([`UdpSocket`](super::UdpSocket) and
//! [`RawSocket`](super::RawSocket)) share: the stack socket they hold, closed when the
//! last clone goes, their options, a call into the stack, and a receive that waits as
//! the blocking mode and read timeout say.

use std::io;

use netstack_core::{SocketHandle, Stack};

use super::options::Options;
use super::stopped;
use crate::runtime::Handle;

/// A stack socket held by a facade, with the facade's options.
#[derive(Debug)]
pub(super) struct Held {
    pub(super) net: Handle,
    pub(super) socket: SocketHandle,
    pub(super) options: Options,
    close: fn(&mut Stack, SocketHandle),
}

/// What wakes a blocking receive to look again.
#[derive(Debug, Clone, Copy)]
pub(super) enum Wake {
    /// Only the stack touching this socket ([`Handle::wait_socket`]).
    Socket,
    /// Any change in the stack ([`Handle::wait_until`]).
    AnyChange,
}

impl Drop for Held {
    fn drop(&mut self) {
        let (socket, close) = (self.socket, self.close);
        self.net.with_stack(|stack, _| close(stack, socket));
    }
}

impl Held {
    /// Opens a socket with `open`, to be closed with `close`; `to_io` maps the error.
    pub(super) fn open<E>(
        net: &Handle,
        open: impl FnOnce(&mut Stack) -> Result<SocketHandle, E>,
        to_io: fn(E) -> io::Error,
        close: fn(&mut Stack, SocketHandle),
    ) -> io::Result<Held> {
        let socket = net.with_stack(|stack, _| open(stack)).map_err(to_io)?;
        Ok(Held {
            net: net.clone(),
            socket,
            options: Options::default(),
            close,
        })
    }

    /// Runs `f` on the stack, unless the runtime has stopped; `to_io` maps its error.
    pub(super) fn call<R, E>(
        &self,
        f: impl FnOnce(&mut Stack, netstack_core::Instant) -> Result<R, E>,
        to_io: fn(E) -> io::Error,
    ) -> io::Result<R> {
        if !self.net.is_running() {
            return Err(stopped());
        }
        self.net.with_stack(f).map_err(to_io)
    }

    /// `take`'s answer once it has one: at once in non-blocking mode (`WouldBlock` if
    /// none), else waiting as `wake` says until the read timeout.
    pub(super) fn receive<T>(
        &self,
        wake: Wake,
        mut take: impl FnMut(&mut Stack) -> Option<io::Result<T>>,
    ) -> io::Result<T> {
        let Some(deadline) = self.options.read_deadline() else {
            return self
                .net
                .with_stack(|stack, _| take(stack))
                .unwrap_or_else(|| Err(io::ErrorKind::WouldBlock.into()));
        };
        let got = match wake {
            Wake::Socket => self.net.wait_socket(self.socket, deadline, take),
            Wake::AnyChange => self.net.wait_until(deadline, take),
        };
        match got {
            Some(result) => result,
            None if !self.net.is_running() => Err(stopped()),
            // Linux's recv with SO_RCVTIMEO fails with EAGAIN, which std calls WouldBlock.
            None => Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "receive timed out",
            )),
        }
    }
}
