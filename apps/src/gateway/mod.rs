//! The daemon side of `netstack run`: the control socket that `netstack serve
//! --control PATH` opens, through which programs loaded with the `netstack-preload`
//! shim create, bind, connect, listen on and accept netstack sockets.
//!
//! Each program socket is a Unix connection to PATH (its *data connection*, the
//! program's real file descriptor) that this daemon joins to a facade socket; control
//! operations come over short connections of their own. The protocol is described in
//! `preload/src/control.rs`; the lines this side answers:
//!
//! ```text
//! data:    SOCKET tcp            -> OK <id>                  (then: the socket's bytes)
//!          SOCKET udp            -> OK <id>                  (on PATH.dgram, SOCK_SEQPACKET;
//!                                                             then: one message a datagram)
//!          ACCEPT <listener id>  -> OK <id> <local> <peer>   (then: the connection's bytes)
//! control: HELLO                 -> OK netstack
//!          BIND <id> <addr>      -> OK <addr>
//!          LISTEN <id> <backlog> -> OK <addr>
//!          CONNECT <id> <addr>   -> OK                       (connecting in the background)
//!          WAIT <id>             -> OK <local> <peer> | ERR <errno>
//!          NAME <id>             -> OK <local> <peer>
//!          OPT <id> <name> <v>   -> OK | ERR <errno>         (options.rs: nodelay, ttl, ...)
//!          GETOPT <id> <name>    -> OK <v>                   (rcvbuf, sndbuf: as Linux reports)
//!          SHUT <id>             -> OK                       (shutdown(SHUT_WR) follows: a FIN)
//! ```
//!
//! Why a daemon at all, and why `serve`: one process must own the TAP device and the
//! stack for every program at once (and for their children), and `serve` is already
//! that process: the programs' connections sit beside the services' in one stack, and
//! its status page (`http://10.0.0.2/`) lists them as netstack's own.

mod errno;
mod options;
mod tcp;
mod udp;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddrV4};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread;

use crate::net::{TcpListener, TcpStream};
use crate::runtime::{Handle, Poll};

/// Program sockets the daemon holds at once; beyond it `socket()` fails with ENOBUFS.
pub const MAX_SOCKETS: usize = 4096;
/// The longest request line accepted.
const MAX_LINE: usize = 256;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What a connect came to: the connection, or the errno.
type Outcome = Option<Result<(SocketAddrV4, SocketAddrV4), i32>>;

/// Where one program socket is.
enum State {
    /// Created, perhaps bound.
    Fresh,
    /// A connect is under way; WAIT blocks on the condition variable.
    Connecting(Arc<(Mutex<Outcome>, Condvar)>),
    Connected(TcpStream),
    Listening {
        pending: tcp::Pending,
        poll: Arc<Poll>,
        closed: Arc<AtomicBool>,
        /// For options set after listen(): the connections accepted next take them.
        listener: TcpListener,
    },
    /// A datagram socket: its facade socket once bound, and the program's connection.
    Udp {
        socket: Option<crate::net::UdpSocket>,
        dgram: udp::Dgram,
    },
}

struct Entry {
    local: Option<SocketAddrV4>,
    peer: Option<SocketAddrV4>,
    /// Options the program set (name, value), applied to its connection, and by a
    /// listener to each connection it accepts, as Linux's inherit.
    options: options::Options,
    state: State,
    /// The daemon's end of the data connection, until a connection or listener owns it.
    data: Option<UnixStream>,
    /// The program called shutdown(SHUT_WR) (`SHUT`): the end of its bytes is a FIN,
    /// whatever SO_LINGER says; only close(2) with linger 0 resets.
    write_shut: Arc<AtomicBool>,
}

struct Shared {
    sockets: Mutex<HashMap<u64, Entry>>,
    next_id: AtomicU64,
    stopped: AtomicBool,
}

/// The control socket and the program sockets behind it. Clones share them.
#[derive(Clone)]
pub struct Gateway {
    net: Handle,
    shared: Arc<Shared>,
}

/// The running control socket; dropping it removes the socket file and refuses new
/// programs (their sockets already open keep working until the runtime stops).
pub struct ControlSocket {
    path: PathBuf,
    gateway: Gateway,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.gateway.shared.stopped.store(true, Ordering::Release);
        let _ = std::fs::remove_file(&self.path);
        let dgram = dgram_path(&self.path);
        let _ = std::fs::remove_file(&dgram);
        if let Ok(addr) = socket2::SockAddr::unix(&dgram) {
            if let Ok(s) =
                socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::SEQPACKET, None)
            {
                let _ = s.connect(&addr);
            }
        }
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
    }
}

/// Opens the control socket at `path` for programs started by `netstack run`.
/// Fails if another daemon answers there; a stale socket file is replaced.
pub fn start(net: &Handle, path: &Path) -> io::Result<ControlSocket> {
    if UnixStream::connect(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a daemon already answers on {}", path.display()),
        ));
    }
    let _ = std::fs::remove_file(path);
    let listener = UnixListener::bind(path)?;
    let gateway = Gateway {
        net: net.clone(),
        shared: Arc::new(Shared {
            sockets: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            stopped: AtomicBool::new(false),
        }),
    };
    let dgram_listener = dgram_listener(path)?;
    let gw = gateway.clone();
    thread::Builder::new()
        .name("gw-dgram".into())
        .spawn(move || loop {
            let Ok((conn, _)) = dgram_listener.accept() else {
                continue;
            };
            if gw.shared.stopped.load(Ordering::Acquire) {
                return;
            }
            let gw = gw.clone();
            let _ = thread::Builder::new()
                .name("gw-dgram-conn".into())
                .spawn(move || gw.new_dgram_socket(conn));
        })?;
    let gw = gateway.clone();
    thread::Builder::new()
        .name("gw-control".into())
        .spawn(move || {
            for conn in listener.incoming() {
                if gw.shared.stopped.load(Ordering::Acquire) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let gw = gw.clone();
                let _ = thread::Builder::new()
                    .name("gw-conn".into())
                    .spawn(move || gw.serve_connection(conn));
            }
        })?;
    Ok(ControlSocket {
        path: path.to_path_buf(),
        gateway,
    })
}

/// The path of the SOCK_SEQPACKET listener for datagram sockets, beside `path`.
pub fn dgram_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".dgram");
    PathBuf::from(p)
}

fn dgram_listener(path: &Path) -> io::Result<socket2::Socket> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let p = dgram_path(path);
    let _ = std::fs::remove_file(&p);
    let listener = Socket::new(Domain::UNIX, Type::SEQPACKET, None)?;
    listener.bind(&SockAddr::unix(&p)?)?;
    listener.listen(128)?;
    Ok(listener)
}

/// Reads one line, byte by byte (what follows belongs to the data connection).
fn read_line(conn: &mut UnixStream) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < MAX_LINE {
        if conn.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if byte[0] == b'\n' {
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        line.push(byte[0]);
    }
    Err(io::ErrorKind::InvalidData.into())
}

/// Waits for data or the end on `conn` without taking any: bytes waiting, or 0 at EOF.
fn peek(conn: &UnixStream) -> io::Result<usize> {
    let mut byte = [std::mem::MaybeUninit::<u8>::uninit()];
    socket2::SockRef::from(conn).peek(&mut byte)
}

fn zero() -> SocketAddrV4 {
    SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)
}

impl Gateway {
    fn serve_connection(&self, mut conn: UnixStream) {
        let Ok(line) = read_line(&mut conn) else {
            return;
        };
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["SOCKET", "tcp"] => return self.new_socket(conn),
            ["ACCEPT", id] => return self.accept(conn, id.parse().unwrap_or(0)),
            ["HELLO"] => Ok("netstack".to_string()),
            [op, id, rest @ ..] => match id.parse::<u64>() {
                Ok(id) => self.control(op, id, rest),
                Err(_) => Err(libc::EBADF),
            },
            _ => Err(libc::EINVAL),
        };
        let text = match reply {
            Ok(s) if s.is_empty() => "OK\n".to_string(),
            Ok(s) => format!("OK {s}\n"),
            Err(e) => format!("ERR {e}\n"),
        };
        let _ = conn.write_all(text.as_bytes());
    }

    fn control(&self, op: &str, id: u64, args: &[&str]) -> Result<String, i32> {
        let addr = || -> Result<SocketAddrV4, i32> {
            args.first()
                .and_then(|a| a.parse().ok())
                .ok_or(libc::EINVAL)
        };
        match op {
            "BIND" => self.bind(id, addr()?),
            "LISTEN" => self.listen(id),
            "CONNECT" => self.connect(id, addr()?),
            "WAIT" => self.wait(id),
            "NAME" => self.with(id, |e| {
                Ok(format!(
                    "{} {}",
                    e.local.unwrap_or_else(zero),
                    e.peer.unwrap_or_else(zero)
                ))
            }),
            "OPT" => {
                let (Some(name), Some(value)) = (args.first(), args.get(1)) else {
                    return Err(libc::EINVAL);
                };
                options::check(name, value)?;
                self.with(id, |e| {
                    e.options.set(name, value);
                    match &e.state {
                        State::Connected(s) => e.options.apply(s),
                        State::Listening { listener, .. } => e.options.apply_listener(listener),
                        _ => Ok(()),
                    }
                })?;
                Ok(String::new())
            }
            "GETOPT" => self.get_option(id, args.first().copied().unwrap_or("")),
            "SHUT" => self.with(id, |e| {
                e.write_shut.store(true, Ordering::Release);
                Ok(String::new())
            }),
            _ => Err(libc::EINVAL),
        }
    }

    /// `GETOPT`: SO_RCVBUF (`rcvbuf`) or SO_SNDBUF (`sndbuf`) as Linux's getsockopt
    /// reports them: the connection's or listener's, or before either what the socket
    /// will get.
    fn get_option(&self, id: u64, name: &str) -> Result<String, i32> {
        let err = |e: io::Error| errno::of(&e);
        let recv = match name {
            "rcvbuf" => true,
            "sndbuf" => false,
            _ => return Err(libc::ENOPROTOOPT),
        };
        let size = self.with(id, |e| match &e.state {
            State::Connected(s) if recv => s.recv_buffer_size().map_err(err),
            State::Connected(s) => s.send_buffer_size().map_err(err),
            State::Listening { listener, .. } if recv => listener.recv_buffer_size().map_err(err),
            State::Listening { listener, .. } => listener.send_buffer_size().map_err(err),
            State::Udp { .. } => Err(libc::ENOPROTOOPT),
            State::Fresh | State::Connecting(_) => {
                let s = e.options.socket(&self.net).map_err(err)?;
                if recv {
                    s.recv_buffer_size().map_err(err)
                } else {
                    s.send_buffer_size().map_err(err)
                }
            }
        })?;
        Ok(size.to_string())
    }

    fn with<R>(&self, id: u64, f: impl FnOnce(&mut Entry) -> Result<R, i32>) -> Result<R, i32> {
        let mut sockets = lock(&self.shared.sockets);
        let e = sockets.get_mut(&id).ok_or(libc::EBADF)?;
        f(e)
    }

    fn insert(&self, entry: Entry) -> Result<u64, i32> {
        let mut sockets = lock(&self.shared.sockets);
        if sockets.len() >= MAX_SOCKETS {
            return Err(libc::ENOBUFS);
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        sockets.insert(id, entry);
        Ok(id)
    }

    /// Stores `entry` and tells the program through `send` its id (`OK id` and
    /// `extra`), or why not (`ERR errno`). `None` when it could not be stored, or the
    /// program not told (then it is forgotten again).
    fn register(
        &self,
        entry: Entry,
        extra: &str,
        mut send: impl FnMut(&[u8]) -> io::Result<()>,
    ) -> Option<u64> {
        let id = match self.insert(entry) {
            Ok(id) => id,
            Err(e) => {
                let _ = send(format!("ERR {e}\n").as_bytes());
                return None;
            }
        };
        if send(format!("OK {id}{extra}\n").as_bytes()).is_err() {
            self.forget(id);
            return None;
        }
        Some(id)
    }

    fn forget(&self, id: u64) {
        lock(&self.shared.sockets).remove(&id);
    }

    /// `SOCKET tcp`: a new socket whose data connection is `conn`. A thread waits for
    /// the program to close it before it is connected or listening, to forget it then.
    fn new_socket(&self, mut conn: UnixStream) {
        let Ok(mine) = conn.try_clone() else { return };
        let entry = Entry {
            local: None,
            peer: None,
            options: options::Options::default(),
            state: State::Fresh,
            data: Some(mine),
            write_shut: Arc::default(),
        };
        let Some(id) = self.register(entry, "", |m| conn.write_all(m)) else {
            return;
        };
        // Data before a connect (or the program's close) wakes this; either way the
        // connection's own threads take over from here, unless the socket is unused.
        let _ = peek(&conn);
        let mut sockets = lock(&self.shared.sockets);
        let Some(e) = sockets.get(&id) else { return };
        match &e.state {
            State::Fresh => {
                let closed = matches!(peek(&conn), Ok(0) | Err(_));
                if closed {
                    sockets.remove(&id);
                }
            }
            State::Listening { closed, poll, .. } => {
                closed.store(true, Ordering::Release);
                poll.wake();
                sockets.remove(&id);
            }
            State::Connecting(_) | State::Connected(_) | State::Udp { .. } => {}
        }
    }

    /// `SOCKET udp` on the datagram listener: a new datagram socket on `conn`.
    fn new_dgram_socket(&self, conn: socket2::Socket) {
        let mut first = [0u8; MAX_LINE];
        let n = (&conn).read(&mut first).unwrap_or(0);
        if &first[..n] != b"SOCKET udp\n" {
            let _ = conn.send(format!("ERR {}\n", libc::EINVAL).as_bytes());
            return;
        }
        let conn = Arc::new(conn);
        let closed = Arc::new(AtomicBool::new(false));
        let entry = Entry {
            local: None,
            peer: None,
            options: options::Options::default(),
            state: State::Udp {
                socket: None,
                dgram: udp::Dgram {
                    conn: Arc::clone(&conn),
                    closed: Arc::clone(&closed),
                    bare: Arc::default(),
                },
            },
            data: None,
            write_shut: Arc::default(),
        };
        let Some(id) = self.register(entry, "", |m| conn.send(m).map(drop)) else {
            return;
        };
        udp::outbound(self, id, &conn, &closed);
    }

    fn bind(&self, id: u64, addr: SocketAddrV4) -> Result<String, i32> {
        let ours = self.net.with_stack(|s, _| s.config().addr);
        if !addr.ip().is_unspecified() && *addr.ip() != ours {
            return Err(libc::EADDRNOTAVAIL);
        }
        if self.with(id, |e| Ok(matches!(e.state, State::Udp { .. })))? {
            let socket = udp::ensure_bound(self, id, Some(addr))?;
            return Ok(socket.local_addr().map_err(|e| errno::of(&e))?.to_string());
        }
        let mut sockets = lock(&self.shared.sockets);
        let reuse = sockets.get(&id).ok_or(libc::EBADF)?.options.reuse();
        // Linux's bind rule (netstack-core's tcp/binds.rs): another program socket
        // bound to the port but not yet connected or listening is not in the stack
        // yet; it is shared only when both set SO_REUSEADDR and it does not listen.
        let taken = addr.port() != 0
            && sockets.iter().any(|(&other, e)| {
                let shared =
                    reuse && e.options.reuse() && !matches!(e.state, State::Listening { .. });
                let tcp = !matches!(e.state, State::Udp { .. });
                other != id && tcp && e.local.is_some_and(|l| l.port() == addr.port()) && !shared
            });
        let e = sockets.get_mut(&id).ok_or(libc::EBADF)?;
        if e.local.is_some() {
            return Err(libc::EINVAL);
        }
        if taken {
            return Err(libc::EADDRINUSE);
        }
        // What the stack holds: listeners, connections, TIME-WAIT.
        self.net
            .with_stack(|s, _| s.tcp().check_bind(addr, reuse))
            .map_err(|e| errno::of(&crate::net::tcp_io(e)))?;
        e.local = Some(addr);
        Ok(addr.to_string())
    }

    fn listen(&self, id: u64) -> Result<String, i32> {
        let (local, data, options) = self.with(id, |e| {
            if !matches!(e.state, State::Fresh) {
                return Err(libc::EINVAL);
            }
            let data = e.data.as_ref().ok_or(libc::EINVAL)?;
            Ok((
                e.local.unwrap_or_else(zero),
                data.try_clone().map_err(|_| libc::EMFILE)?,
                e.options.clone(),
            ))
        })?;
        let closed = Arc::new(AtomicBool::new(false));
        let (bound, pending, poll, listener) =
            tcp::listen(self, local, data, Arc::clone(&closed), &options)
                .map_err(|e| errno::of(&e))?;
        self.with(id, |e| {
            e.local = Some(bound);
            e.state = State::Listening {
                pending,
                poll,
                closed,
                listener,
            };
            Ok(bound.to_string())
        })
    }

    /// `ACCEPT <listener>`: the listener's oldest pending connection, on `conn`.
    fn accept(&self, mut conn: UnixStream, listener: u64) {
        let taken = {
            let sockets = lock(&self.shared.sockets);
            sockets
                .get(&listener)
                .and_then(|e| tcp::take_pending(&e.state).map(|s| (s, e.options.clone())))
        };
        let Some((stream, inherited)) = taken else {
            let _ = conn.write_all(format!("ERR {}\n", libc::ECONNABORTED).as_bytes());
            return;
        };
        let (local, peer) = tcp::names(&stream);
        let _ = inherited.apply(&stream);
        let entry = Entry {
            local: Some(local),
            peer: Some(peer),
            options: inherited,
            state: State::Connected(stream.clone()),
            data: None,
            write_shut: Arc::default(),
        };
        let extra = format!(" {local} {peer}");
        let Some(id) = self.register(entry, &extra, |m| conn.write_all(m)) else {
            return;
        };
        tcp::splice(self, id, stream, conn);
    }

    fn connect(&self, id: u64, remote: SocketAddrV4) -> Result<String, i32> {
        if remote.ip().is_unspecified() || remote.port() == 0 {
            return Err(libc::EINVAL);
        }
        if self.with(id, |e| Ok(matches!(e.state, State::Udp { .. })))? {
            let socket = udp::ensure_bound(self, id, None)?;
            socket.connect(remote).map_err(|e| errno::of(&e))?;
            let local = socket.local_addr().map_err(|e| errno::of(&e))?;
            self.with(id, |e| {
                e.peer = Some(remote);
                if let std::net::SocketAddr::V4(l) = local {
                    e.local = Some(l);
                }
                Ok(())
            })?;
            // Connected: bare datagrams to the program from here (udp.rs).
            let bare = self.with(id, |e| match &e.state {
                State::Udp { dgram, .. } => Ok(udp::Dgram {
                    conn: Arc::clone(&dgram.conn),
                    closed: Arc::clone(&dgram.closed),
                    bare: Arc::clone(&dgram.bare),
                }),
                _ => Err(libc::EBADF),
            })?;
            udp::go_bare(&bare);
            return Ok(local.to_string());
        }
        let (local, data, options) = self.with(id, |e| match e.state {
            State::Fresh => {
                let data = e.data.take().ok_or(libc::EINVAL)?;
                e.state = State::Connecting(Arc::default());
                e.peer = Some(remote);
                Ok((e.local, data, e.options.clone()))
            }
            State::Connecting(_) => Err(libc::EALREADY),
            State::Connected(_) => Err(libc::EISCONN),
            State::Listening { .. } | State::Udp { .. } => Err(libc::EINVAL),
        })?;
        tcp::connect(self.clone(), id, (local, remote), data, options);
        Ok(String::new())
    }

    /// Records how a background connect ended and wakes its WAIT.
    fn resolve(&self, id: u64, result: Result<TcpStream, i32>) {
        let mut sockets = lock(&self.shared.sockets);
        let Some(e) = sockets.get_mut(&id) else {
            return;
        };
        let outcome = match &result {
            Ok(s) => Ok(tcp::names(s)),
            Err(errno) => Err(*errno),
        };
        if let State::Connecting(cell) = &e.state {
            *lock(&cell.0) = Some(outcome);
            cell.1.notify_all();
        }
        if let Ok(s) = result {
            let (local, peer) = tcp::names(&s);
            e.local = Some(local);
            e.peer = Some(peer);
            e.state = State::Connected(s);
        }
    }

    /// `WAIT`: blocks until the socket's connect has an outcome.
    fn wait(&self, id: u64) -> Result<String, i32> {
        let cell = self.with(id, |e| match &e.state {
            State::Connecting(cell) => Ok(Some(Arc::clone(cell))),
            State::Connected(_) => Ok(None),
            _ => Err(libc::ENOTCONN),
        })?;
        if let Some(cell) = cell {
            let mut outcome = lock(&cell.0);
            while outcome.is_none() {
                outcome = cell.1.wait(outcome).unwrap_or_else(PoisonError::into_inner);
            }
            if let Some(Err(errno)) = *outcome {
                drop(outcome);
                self.forget(id);
                return Err(errno);
            }
        }
        self.with(id, |e| {
            Ok(format!(
                "{} {}",
                e.local.unwrap_or_else(zero),
                e.peer.unwrap_or_else(zero)
            ))
        })
    }
}

/// Closes the daemon's ends of every program socket (used when the daemon stops).
pub fn shutdown_all(control: &ControlSocket) {
    let sockets = lock(&control.gateway.shared.sockets);
    for e in sockets.values() {
        if let Some(d) = &e.data {
            let _ = d.shutdown(Shutdown::Both);
        }
    }
}
