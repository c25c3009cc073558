//! An HTTP/1.1 server (RFC 9110, RFC 9112) on the socket facade: one thread per
//! connection, persistent connections, written as any `std::net` server would be.
//!
//! | Request              | Response                                                  |
//! |----------------------|-----------------------------------------------------------|
//! | `GET /`              | the status page: configuration, counters, ARP, sockets    |
//! | `GET /bytes/N`       | N bytes (N up to 10^12), byte i = i mod 251               |
//! | `POST /sha256`       | the body's SHA-256 in hex; Content-Length or chunked      |
//!
//! HEAD works wherever GET does. Limits: a request head of at most 8 KiB (else 431, or
//! 414 for an overlong request line) and 64 header fields (else 431); request bodies are
//! streamed, so their size is not limited (no 413). Malformed requests get 400 and the
//! connection is closed; an idle connection is closed quietly after 30 s.

mod body;
mod bytes;
mod conn;
mod request;
mod response;
mod sha256;
mod status;

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use log::{debug, warn};

use self::conn::Conn;
use self::request::{HeadError, Request};
use self::response::{Persist, Status};
use super::Service;
use crate::net::{TcpListener, TcpStream};
use crate::runtime::Handle;

/// The HTTP port.
pub const PORT: u16 = 80;

/// How long a connection may sit idle, between requests or in the middle of one,
/// before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a write may wait for a client that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// After a response that ends the connection, how long unread request bytes are read
/// and dropped (so that closing does not reset the connection under the response
/// before the client has read it), and how many at most.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1024 * 1024;

/// Listens on `port` and serves each connection on a thread of its own until the
/// runtime stops. The status page reads the stack through `net`.
pub fn start(net: &Handle, port: u16) -> io::Result<Service> {
    let listener = TcpListener::bind(net, ("0.0.0.0", port))?;
    let net = net.clone();
    let thread = thread::Builder::new()
        .name(format!("http-{port}"))
        .spawn(move || loop {
            match listener.accept() {
                Ok((stream, peer)) => {
                    let net = net.clone();
                    let spawned =
                        thread::Builder::new()
                            .name(format!("http-{peer}"))
                            .spawn(move || {
                                if let Err(e) = serve(stream, peer, &net) {
                                    debug!("http {peer}: {e}");
                                }
                            });
                    if let Err(e) = spawned {
                        warn!("http: cannot start a thread for {peer}: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return, // stack stopped
                Err(e) => warn!("http: accept: {e}"),
            }
        })?;
    Ok(Service {
        name: format!("http on port {port}"),
        thread,
    })
}

/// Serves requests on one connection until either side ends it.
fn serve(stream: TcpStream, peer: SocketAddr, net: &Handle) -> io::Result<()> {
    let local = stream.local_addr()?;
    // Responses go out in whole writes (head and small bodies together), so Nagle's
    // algorithm would only delay the last segment of each.
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    let mut conn = Conn::new(&stream);
    loop {
        let request = match request::read_head(&mut conn) {
            Ok(Some(request)) => request,
            Ok(None) => return Ok(()),
            Err(HeadError::Reject(status)) => {
                debug!("http {peer}: {} {}", status.code(), status.reason());
                response::send_status(&mut conn, status, Persist::Close, None, false)?;
                break;
            }
            Err(HeadError::Io(e)) => return Err(e),
        };
        debug!("http {peer}: {} {}", request.method, request.target);
        let connection = Connection { local, peer, net };
        if !connection.respond(&mut conn, &request)? {
            break;
        }
    }
    drop(conn);
    linger_close(&stream)
}

/// The connection's addresses and the stack, for the routes that need them.
struct Connection<'a> {
    local: SocketAddr,
    peer: SocketAddr,
    net: &'a Handle,
}

impl Connection<'_> {
    /// Answers `request`; returns whether the connection carries on.
    fn respond<S: io::Read + io::Write>(
        &self,
        conn: &mut Conn<S>,
        request: &Request,
    ) -> io::Result<bool> {
        let path = request.path();
        let method = request.method.as_str();
        let head_only = method == "HEAD";
        // Routes other than POST /sha256 leave a body unread: then we close (RFC 9112
        // section 9.3 lets us), rather than read and drop a body of any size.
        let keep = request.keep_alive && !request.has_body();
        let persist = persistence(request, keep);
        let allow = match path {
            "/sha256" => "POST",
            "/" => "GET, HEAD",
            _ if path.starts_with("/bytes/") => "GET, HEAD",
            _ => {
                response::send_status(conn, Status::NotFound, persist, None, head_only)?;
                return Ok(keep);
            }
        };
        if !allow.split(", ").any(|m| m == method) {
            response::send_status(
                conn,
                Status::MethodNotAllowed,
                persist,
                Some(allow),
                head_only,
            )?;
            return Ok(keep);
        }
        match path {
            "/sha256" => sha256::serve(conn, request, persistence(request, request.keep_alive)),
            "/" => {
                let snapshot = status::Snapshot::take(self.net);
                let page = status::render(&snapshot, self.peer, self.local);
                let head = response::Head {
                    status: Status::Ok,
                    content_type: "text/html; charset=utf-8",
                    content_length: page.len() as u64,
                    persist,
                    allow: None,
                };
                response::send(conn, &head, page.as_bytes(), head_only)?;
                Ok(keep)
            }
            _ => {
                let count = path.strip_prefix("/bytes/").unwrap_or_default();
                bytes::serve(conn, count, persist, head_only)?;
                Ok(keep)
            }
        }
    }
}

/// What the response says about the connection, given whether it stays open.
fn persistence(request: &Request, keep: bool) -> Persist {
    match (keep, request.http10) {
        (false, _) => Persist::Close,
        (true, false) => Persist::KeepAlive,
        (true, true) => Persist::KeepAlive10,
    }
}

/// Ends the connection after a response that said so: our FIN goes out after the
/// response, then whatever the client still sends is read and dropped for a moment.
/// Closing with unread data would reset the connection (RFC 1122 4.2.2.13), and a
/// reset can destroy the response before the client reads it.
fn linger_close(stream: &TcpStream) -> io::Result<()> {
    stream.shutdown(Shutdown::Write)?;
    let deadline = Instant::now() + LINGER_TIME;
    let mut discard = vec![0u8; 16 * 1024];
    let mut total = 0;
    let mut reader = stream;
    while total < LINGER_BYTES {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        stream.set_read_timeout(Some(left))?;
        match reader.read(&mut discard) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(())
}
