//! One HTTP connection as a state machine on the event-driven server: read a head,
//! answer it (reading a POST body as it streams in, streaming a /bytes/N body as the
//! send buffer takes it), then the next head or the end.
//!
//! ```text
//!            +------+  head   +----------+ response queued  +---------+
//!   accept ->| Head |-------->| (route)  |----------------->| Respond |--keep--> Head
//!            +------+         +----------+                  +---------+
//!                                  | POST /sha256               | close
//!                                  v                            v
//!                             +--------+  body done        +--------+
//!                             | Upload |------------------>| Linger |--> closed
//!                             +--------+                   +--------+
//! ```
//!
//! Backpressure: the next request is read only once the previous response has been
//! handed to the send buffer, and a /bytes/N body is made only as the send buffer
//! takes it, so a client that sends and never reads holds at most one response here
//! (a status page, a few KiB for anything else) plus our send buffer.

use std::io::{self, Read, Write};
use std::mem;
use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use log::debug;
use netstack_core::{SocketHandle, Stack};
use sha2::{Digest, Sha256};

use super::body::{Body, Progress};
use super::conn::{Conn, Held};
use super::request::{self, Framing, Request};
use super::response::{self, Head, Persist, Status};
use super::{bytes, sha256, status};
use super::{IDLE_TIMEOUT, LINGER_BYTES, LINGER_TIME, WRITE_TIMEOUT};
use crate::net::tcp_io;
use crate::runtime::Interest;
use crate::services::server::{after, Context, Next, Session};

/// One connection.
pub struct HttpSession {
    local: SocketAddr,
    peer: SocketAddr,
    /// Bytes read and not used yet (a partial head, body bytes, a pipelined request).
    held: Held,
    /// Response bytes the send buffer has not taken yet; freed once it has.
    out: Vec<u8>,
    /// The rest of a /bytes/N body: pattern bytes `next..end`.
    pattern: Option<(u64, u64)>,
    phase: Phase,
}

/// Where the connection is (see the module's diagram).
enum Phase {
    /// Waiting for, or in the middle of, a request head.
    Head,
    /// Reading and hashing a POST /sha256 body.
    Upload(Box<Upload>),
    /// A response is queued; then another request may follow if `keep`.
    Respond { keep: bool },
    /// Our FIN is queued after the last response: reading and dropping what the client
    /// still sends until `until`, so that closing does not reset the connection under
    /// the response before the client has read it (RFC 1122 4.2.2.13).
    Linger { until: StdInstant, dropped: usize },
}

/// A POST /sha256 body being read.
struct Upload {
    progress: Progress,
    hasher: Sha256,
    persist: Persist,
}

/// What one step of a phase leads to.
enum Step {
    /// Go on with the (possibly new) phase.
    Continue,
    /// Wait for more input.
    Read,
    /// End the connection now.
    Close,
}

impl HttpSession {
    /// A new connection from `peer` to our `local` address.
    pub fn new(local: SocketAddr, peer: SocketAddr) -> HttpSession {
        HttpSession {
            local,
            peer,
            held: Held::default(),
            out: Vec::new(),
            pattern: None,
            phase: Phase::Head,
        }
    }
}

impl Session for HttpSession {
    fn drive(&mut self, cx: &mut Context<'_>) -> Next {
        if cx.timed_out {
            // Idle for IDLE_TIMEOUT, stuck for WRITE_TIMEOUT, or the linger is over.
            debug!("http {}: timed out", self.peer);
            return Next::Close;
        }
        loop {
            match self.flush(cx) {
                Ok(true) => {}
                Ok(false) => return wait(Interest::WRITABLE, after(WRITE_TIMEOUT)),
                Err(e) => {
                    debug!("http {}: {e}", self.peer);
                    return Next::Close;
                }
            }
            let step = match &mut self.phase {
                Phase::Head => self.head(cx),
                Phase::Upload(_) => self.upload(cx),
                Phase::Respond { keep: true } => {
                    self.phase = Phase::Head;
                    Step::Continue
                }
                Phase::Respond { keep: false } => {
                    let _ = cx.stack.tcp().shutdown(cx.now, cx.socket);
                    let until = StdInstant::now() + LINGER_TIME;
                    self.phase = Phase::Linger { until, dropped: 0 };
                    Step::Continue
                }
                Phase::Linger { until, dropped } => {
                    return linger(cx, *until, dropped);
                }
            };
            match step {
                Step::Continue => {}
                Step::Close => return Next::Close,
                // Output queued meanwhile (a 100 Continue) goes first.
                Step::Read if !self.out.is_empty() => {}
                Step::Read => return wait(Interest::READABLE, after(IDLE_TIMEOUT)),
            }
        }
    }
}

impl HttpSession {
    /// Hands queued output to the send buffer: the response bytes, then pattern bytes.
    /// True when all of it was taken.
    fn flush(&mut self, cx: &mut Context<'_>) -> io::Result<bool> {
        if !self.out.is_empty() {
            let n = cx.send(&self.out)?;
            if n < self.out.len() {
                self.out.drain(..n);
                return Ok(false);
            }
            self.out = Vec::new();
        }
        while let Some((next, end)) = self.pattern {
            let len = (end - next).min(bytes::CHUNK as u64) as usize;
            let n = cx.send(bytes::slice(next, len))?;
            if n == 0 {
                return Ok(false);
            }
            let next = next + n as u64;
            self.pattern = (next < end).then_some((next, end));
        }
        Ok(true)
    }

    /// Reads and answers the next request head, if it is all there.
    fn head(&mut self, cx: &mut Context<'_>) -> Step {
        let mut conn = Conn::resume(socket_io(cx, &mut self.out), mem::take(&mut self.held));
        let step = loop {
            match request::try_head(conn.buffered()) {
                Ok(Some((len, request))) => {
                    conn.consume(len);
                    break Ok(request);
                }
                Ok(None) => {}
                Err(status) => break Err(Some(status)),
            }
            match conn.fill() {
                Ok(0) if request::nothing_yet(conn.buffered()) => break Err(None),
                // The client closed in the middle of a head.
                Ok(0) => break Err(Some(Status::BadRequest)),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.held = conn.suspend();
                    return Step::Read;
                }
                Err(e) => {
                    debug!("http {}: {e}", self.peer);
                    break Err(None);
                }
            }
        };
        self.held = conn.suspend();
        match step {
            Ok(request) => {
                debug!("http {}: {} {}", self.peer, request.method, request.target);
                self.respond(cx, &request);
                Step::Continue
            }
            Err(Some(status)) => {
                debug!("http {}: {} {}", self.peer, status.code(), status.reason());
                self.status(status, Persist::Close, None, false);
                self.phase = Phase::Respond { keep: false };
                Step::Continue
            }
            Err(None) => Step::Close,
        }
    }

    /// Queues the answer to `request` and moves to the phase that follows it.
    fn respond(&mut self, cx: &mut Context<'_>, request: &Request) {
        let path = request.path();
        let method = request.method.as_str();
        let head_only = method == "HEAD";
        // Routes other than POST /sha256 leave a body unread: then we close (RFC 9112
        // section 9.3 lets us), rather than read and drop a body of any size.
        let keep = request.keep_alive && !request.has_body();
        let persist = persistence(request, keep);
        self.phase = Phase::Respond { keep };
        let allow = match path {
            "/sha256" => "POST",
            "/" => "GET, HEAD",
            _ if path.starts_with("/bytes/") => "GET, HEAD",
            _ => return self.status(Status::NotFound, persist, None, head_only),
        };
        if !allow.split(", ").any(|m| m == method) {
            return self.status(Status::MethodNotAllowed, persist, Some(allow), head_only);
        }
        match path {
            "/sha256" => {
                let persist = persistence(request, request.keep_alive);
                if request.framing == Framing::None {
                    // RFC 9110 section 15.5.12: we want the length (or chunked) up front.
                    self.phase = Phase::Respond {
                        keep: persist != Persist::Close,
                    };
                    return self.status(Status::LengthRequired, persist, None, false);
                }
                self.phase = Phase::Upload(Box::new(Upload {
                    progress: Progress::new(request.framing, request.expect_continue),
                    hasher: Sha256::new(),
                    persist,
                }));
            }
            "/" => {
                // Copied and rendered with the stack locked, as the whole round is: a
                // few milliseconds with 10,000 sockets in the table.
                let snapshot = status::Snapshot::of(cx.stack, cx.now, cx.net);
                let page = status::render(&snapshot, self.peer, self.local);
                let html = "text/html; charset=utf-8";
                // Writing to a Vec cannot fail.
                let _ = response::send_ok(&mut self.out, html, page.as_bytes(), persist, head_only);
            }
            _ => {
                let segment = path.strip_prefix("/bytes/").unwrap_or_default();
                let Some(count) = bytes::parse_count(segment) else {
                    return self.status(Status::BadRequest, persist, None, head_only);
                };
                let head = Head {
                    status: Status::Ok,
                    content_type: "application/octet-stream",
                    content_length: count,
                    persist,
                    allow: None,
                };
                self.out.extend_from_slice(&head.encode());
                if !head_only && count > 0 {
                    self.pattern = Some((0, count));
                }
            }
        }
    }

    /// Reads and hashes as much of the POST body as has arrived; at its end, queues
    /// the digest.
    fn upload(&mut self, cx: &mut Context<'_>) -> Step {
        let Phase::Upload(upload) = &mut self.phase else {
            return Step::Continue;
        };
        let Context {
            stack,
            now,
            socket,
            scratch,
            ..
        } = cx;
        let io = SocketIo {
            stack,
            now: *now,
            socket: *socket,
            out: &mut self.out,
        };
        let mut conn = Conn::resume(io, mem::take(&mut self.held));
        let mut body = Body::resume(&mut conn, upload.progress);
        let result = loop {
            match body.read(scratch) {
                Ok(0) => break Ok(()),
                Ok(n) => upload.hasher.update(&scratch[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        upload.progress = body.progress();
        self.held = conn.suspend();
        match result {
            Ok(()) => {
                let persist = upload.persist;
                let digest: [u8; 32] = mem::take(&mut upload.hasher).finalize().into();
                let text = format!("{}\n", sha256::hex(&digest));
                let plain = "text/plain; charset=utf-8";
                let _ = response::send_ok(&mut self.out, plain, text.as_bytes(), persist, false);
                self.phase = Phase::Respond {
                    keep: persist != Persist::Close,
                };
                Step::Continue
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Step::Read,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                self.status(Status::BadRequest, Persist::Close, None, false);
                self.phase = Phase::Respond { keep: false };
                Step::Continue
            }
            // Cut short by the client, or reset.
            Err(e) => {
                debug!("http {}: {e}", self.peer);
                Step::Close
            }
        }
    }

    /// Queues a short text response for `status`.
    fn status(&mut self, status: Status, persist: Persist, allow: Option<&str>, head_only: bool) {
        // Writing to a Vec cannot fail.
        let _ = response::send_status(&mut self.out, status, persist, allow, head_only);
    }
}

/// After our FIN: reads and drops what the client sends until its FIN, `until`, or
/// [`LINGER_BYTES`] in all; then the connection is over.
fn linger(cx: &mut Context<'_>, until: StdInstant, dropped: &mut usize) -> Next {
    loop {
        match cx.recv_scratch() {
            Ok(None) => return wait(Interest::READABLE, Some(until)),
            Ok(Some(0)) | Err(_) => return Next::Close,
            Ok(Some(n)) => {
                *dropped += n;
                if *dropped >= LINGER_BYTES {
                    return Next::Close;
                }
            }
        }
    }
}

fn wait(interest: Interest, deadline: Option<StdInstant>) -> Next {
    Next::Wait { interest, deadline }
}

/// What the response says about the connection, given whether it stays open.
fn persistence(request: &Request, keep: bool) -> Persist {
    match (keep, request.http10) {
        (false, _) => Persist::Close,
        (true, false) => Persist::KeepAlive,
        (true, true) => Persist::KeepAlive10,
    }
}

/// The socket as a non-blocking stream for the length of one event: reads take
/// received data (`WouldBlock` when there is none), writes queue output in `out`.
struct SocketIo<'a> {
    stack: &'a mut Stack,
    now: netstack_core::Instant,
    socket: SocketHandle,
    out: &'a mut Vec<u8>,
}

fn socket_io<'a>(cx: &'a mut Context<'_>, out: &'a mut Vec<u8>) -> SocketIo<'a> {
    SocketIo {
        stack: cx.stack,
        now: cx.now,
        socket: cx.socket,
        out,
    }
}

impl Read for SocketIo<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.stack.tcp().recv(self.now, self.socket, buf) {
            Ok(Some(n)) => Ok(n),
            Ok(None) => Err(io::ErrorKind::WouldBlock.into()),
            Err(e) => Err(tcp_io(e)),
        }
    }
}

impl Write for SocketIo<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
