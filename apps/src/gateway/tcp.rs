//! The daemon's TCP: connect, listen and accept for a program's sockets, and the two
//! threads that join a connection to the program's descriptor, one per direction.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::{lock, Gateway, State};
use crate::net::{TcpListener, TcpStream};
use crate::runtime::{Events, Interest, Poll, Token};

/// How often a listener's thread looks whether the program closed it, at most.
const CLOSE_CHECK: Duration = Duration::from_millis(200);

/// Connections accepted by netstack, waiting for the program's accept().
pub type Pending = Arc<Mutex<VecDeque<TcpStream>>>;

fn v4(a: SocketAddr) -> SocketAddrV4 {
    match a {
        SocketAddr::V4(a) => a,
        // The facade speaks IPv4 only.
        SocketAddr::V6(_) => SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0),
    }
}

/// The connection's local and remote addresses.
pub fn names(s: &TcpStream) -> (SocketAddrV4, SocketAddrV4) {
    let zero = SocketAddrV4::new(std::net::Ipv4Addr::UNSPECIFIED, 0);
    (
        s.local_addr().map(v4).unwrap_or(zero),
        s.peer_addr().map(v4).unwrap_or(zero),
    )
}

/// Connections a program's listener holds ready, as the facade's `TcpListener::bind`.
const BACKLOG: u32 = 1024;

/// Starts listening on `local` with the program's `options` (buffer sizes, inherited by
/// what it accepts; SO_REUSEADDR), and a thread that accepts into the pending queue and
/// writes one byte to the program's descriptor per connection, so that it polls
/// readable. The thread ends when `closed` is raised.
pub fn listen(
    gw: &Gateway,
    local: SocketAddrV4,
    data: UnixStream,
    closed: Arc<AtomicBool>,
    options: &super::options::Options,
) -> io::Result<(SocketAddrV4, Pending, Arc<Poll>, TcpListener)> {
    let socket = options.socket(&gw.net)?;
    socket.bind(local)?;
    let listener = socket.listen(BACKLOG)?;
    listener.set_nonblocking(true)?;
    let bound = v4(listener.local_addr()?);
    let poll = Arc::new(Poll::new(&gw.net));
    let socket = listener.handle();
    gw.net
        .with_stack(|stack, _| poll.register(stack, socket, Token(0), Interest::READABLE))?;
    let pending: Pending = Arc::default();
    let (queue, waker) = (Arc::clone(&pending), Arc::clone(&poll));
    let ours = listener.clone();
    thread::Builder::new()
        .name(format!("gw-listen-{}", bound.port()))
        .spawn(move || accept_loop(&listener, &waker, &queue, data, &closed))?;
    Ok((bound, pending, poll, ours))
}

fn accept_loop(
    listener: &TcpListener,
    poll: &Poll,
    pending: &Pending,
    mut data: UnixStream,
    closed: &AtomicBool,
) {
    let mut events = Events::new();
    while !closed.load(Ordering::Acquire) {
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    lock(pending).push_back(stream);
                    if data.write_all(&[1]).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(_) => return,
            }
        }
        if poll.wait(&mut events, Some(CLOSE_CHECK)).is_err() {
            return;
        }
    }
    let _ = poll.deregister(listener.handle());
}

/// Connects in the background, from `local` if the program bound the socket, with
/// its options set first; the result goes into the socket's state, and a connection
/// is joined to `data`.
pub fn connect(
    gw: Gateway,
    id: u64,
    (local, remote): (Option<SocketAddrV4>, SocketAddrV4),
    data: UnixStream,
    options: super::options::Options,
) {
    let before = options.clone();
    let open = move |gw: &Gateway| -> io::Result<TcpStream> {
        let socket = before.socket(&gw.net)?;
        if let Some(local) = local {
            socket.bind(local)?;
        }
        socket.connect(remote)
    };
    let spawned = thread::Builder::new()
        .name(format!("gw-connect-{id}"))
        .spawn(move || match open(&gw) {
            Ok(stream) => {
                let _ = options.apply(&stream);
                gw.resolve(id, Ok(stream.clone()));
                splice(&gw, id, stream, data);
            }
            Err(e) => {
                gw.resolve(id, Err(super::errno::of(&e)));
                // Reads on the program's descriptor end; SO_ERROR says why.
                let _ = data.shutdown(Shutdown::Both);
            }
        });
    if spawned.is_err() {
        log::warn!("gateway: no thread for connect {id}");
    }
}

/// Joins `stream` and the program's descriptor until both directions end, then forgets
/// the socket. Runs on the caller's thread and one more.
pub fn splice(gw: &Gateway, id: u64, stream: TcpStream, data: UnixStream) {
    let (up_stream, down_unix) = match (stream.try_clone(), data.try_clone()) {
        (Ok(s), Ok(u)) => (s, u),
        _ => return,
    };
    let down = thread::Builder::new()
        .name(format!("gw-down-{id}"))
        .spawn(move || downstream(stream, down_unix));
    let write_shut = gw
        .with(id, |e| Ok(Arc::clone(&e.write_shut)))
        .unwrap_or_default();
    upstream(data, up_stream, &write_shut);
    if let Ok(t) = down {
        let _ = t.join();
    }
    gw.forget(id);
}

/// Program -> netstack. The program's shutdown(SHUT_WR) or close is our FIN; a close
/// with SO_LINGER 0 (no `SHUT` came first) is a reset.
fn upstream(mut data: UnixStream, mut stream: TcpStream, write_shut: &AtomicBool) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match data.read(&mut buf) {
            Ok(0) => {
                // The program's close: a FIN, or with SO_LINGER 0 a reset. After its
                // shutdown(SHUT_WR) a FIN whatever the linger: Linux's tcp_shutdown.
                let shut = write_shut.load(Ordering::Acquire);
                if !shut && stream.linger().ok().flatten() == Some(Duration::ZERO) {
                    let _ = stream.reset();
                } else {
                    let _ = stream.shutdown(Shutdown::Write);
                }
                return;
            }
            Ok(n) => {
                if stream.write_all(&buf[..n]).is_err() {
                    let _ = data.shutdown(Shutdown::Read);
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                let _ = stream.shutdown(Shutdown::Write);
                return;
            }
        }
    }
}

/// Netstack -> program. The peer's FIN is end-of-file on the program's descriptor.
fn downstream(mut stream: TcpStream, mut data: UnixStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => {
                let _ = data.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => {
                if data.write_all(&buf[..n]).is_err() {
                    // The program closed its end: nobody will read, as after close().
                    let _ = stream.shutdown(Shutdown::Both);
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => {
                let _ = data.shutdown(Shutdown::Both);
                return;
            }
        }
    }
}

/// The next connection a listener holds, for the program's accept.
pub fn take_pending(state: &State) -> Option<TcpStream> {
    match state {
        State::Listening { pending, .. } => lock(pending).pop_front(),
        _ => None,
    }
}
