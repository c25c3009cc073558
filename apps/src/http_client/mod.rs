//! A small HTTP/1.1 client over netstack's own TCP: one GET per connection, redirects
//! followed, bodies framed every way RFC 9112 allows.
//!
//! - [`url`]: `http://` URLs and how a redirect's `Location` resolves against one;
//! - [`resolve`]: host names without DNS: IPv4 addresses, or names from `/etc/hosts`
//!   (netstack has no DNS client yet; loopback addresses are refused, since the kernel's
//!   loopback is out of netstack's reach);
//! - [`response`]: the status line and header fields (`httparse`);
//! - [`body`]: `Content-Length`, chunked (with trailers) and close-delimited bodies.
//!
//! [`Client::get`] sends
//!
//! ```text
//! GET /path?query HTTP/1.1
//! Host: host[:port]
//! User-Agent: netstack/<version>
//! Accept: */*
//! Connection: close
//! ```
//!
//! and follows up to [`MAX_REDIRECTS`] redirects (301, 302, 303, 307, 308). Each request
//! has a connection of its own, which the server closes after the response
//! (`Connection: close`), so no connection is ever reused. The client is written against
//! [`Connect`], so the same code runs over the socket facade ([`NetstackConnector`]) and,
//! in tests, over in-memory streams.

pub mod body;
pub mod resolve;
pub mod response;
pub mod url;

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use body::{Body, Framing};
use resolve::ResolveError;
use response::ResponseHead;
use url::{Url, UrlError};

use crate::net::TcpStream;
use crate::runtime::Handle;

/// How many redirects a request follows before giving up, as many browsers' lower
/// limits and curl's `--max-redirs` advice suggest for a short chain.
pub const MAX_REDIRECTS: usize = 5;

/// The `User-Agent` we send.
pub const USER_AGENT: &str = concat!("netstack/", env!("CARGO_PKG_VERSION"));

/// How the client opens connections: the socket facade in the binary, in-memory pipes
/// in tests.
pub trait Connect {
    /// The connection's type.
    type Stream: Read + Write;

    /// Opens a TCP connection to `addr`.
    fn connect(&mut self, addr: SocketAddrV4) -> io::Result<Self::Stream>;
}

/// Connections through netstack's socket facade on a runtime, each with `timeout` for
/// the handshake and for every read and write after it.
#[derive(Debug, Clone)]
pub struct NetstackConnector {
    net: Handle,
    timeout: Duration,
}

impl NetstackConnector {
    /// Connects through the runtime `net` reaches; `timeout` must not be zero.
    pub fn new(net: &Handle, timeout: Duration) -> NetstackConnector {
        NetstackConnector {
            net: net.clone(),
            timeout,
        }
    }
}

impl Connect for NetstackConnector {
    type Stream = TcpStream;

    fn connect(&mut self, addr: SocketAddrV4) -> io::Result<TcpStream> {
        let stream = TcpStream::connect_timeout(&self.net, &SocketAddr::V4(addr), self.timeout)?;
        stream.set_read_timeout(Some(self.timeout))?;
        stream.set_write_timeout(Some(self.timeout))?;
        Ok(stream)
    }
}

/// Why a GET failed. Every `Display` is one line; [`Error::is_usage`] says whether the
/// request was wrong from the start (nothing was, or could have been, sent).
#[derive(Debug)]
pub enum Error {
    /// A redirect's `Location` is not a URL we can fetch.
    Redirect {
        /// The `Location` value.
        location: String,
        /// Why it cannot be fetched.
        error: UrlError,
    },
    /// The host has no address netstack can reach.
    Resolve(ResolveError),
    /// The TCP connection could not be opened.
    Connect {
        /// Where to.
        addr: SocketAddrV4,
        /// What the socket said.
        error: io::Error,
        /// The connect timeout, for the message when it expired.
        timeout: Option<Duration>,
    },
    /// Sending the request failed.
    Send(io::Error),
    /// Receiving the response head failed (closed, reset, timed out).
    Receive(io::Error),
    /// The response is not HTTP/1.x we can read.
    Malformed(String),
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects {
        /// The URL the last redirect pointed to, not fetched.
        next: Url,
    },
}

impl Error {
    /// Whether the request could never have worked as asked: a host netstack cannot
    /// reach by construction (loopback, a name it cannot resolve), or an address the
    /// stack refuses to connect to. The `netstack` binary exits with status 2 for these.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Resolve(ResolveError::NotFound { .. } | ResolveError::Loopback { .. }) => true,
            Error::Connect { error, .. } => error.kind() == io::ErrorKind::InvalidInput,
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Redirect { location, error } => {
                write!(f, "cannot follow the redirect to {location:?}: {error}")
            }
            Error::Resolve(e) => write!(f, "{e}"),
            Error::Connect {
                addr,
                error,
                timeout,
            } => {
                write!(f, "cannot connect to {addr}: ")?;
                match (error.kind(), timeout) {
                    (io::ErrorKind::ConnectionRefused, _) => {
                        write!(
                            f,
                            "connection refused (nothing listens on port {})",
                            addr.port()
                        )
                    }
                    (io::ErrorKind::TimedOut, Some(t)) => {
                        write!(f, "connection timed out after {}", seconds(*t))
                    }
                    _ => write!(f, "{error}"),
                }
            }
            Error::Send(e) => write!(f, "cannot send the request: {}", io_message(e)),
            Error::Receive(e) => write!(f, "cannot read the response: {}", io_message(e)),
            Error::Malformed(why) => write!(f, "bad response: {why}"),
            Error::TooManyRedirects { next } => write!(
                f,
                "too many redirects: gave up after {MAX_REDIRECTS}, before {next}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// `e` in words, with an expired socket timeout called what it is (the facade reports
/// it as `WouldBlock`, as `std` does on Linux).
pub fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            "timed out waiting for the server".to_string()
        }
        _ => e.to_string(),
    }
}

/// `30s`, `2.5s`.
fn seconds(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// A response whose head has been read; read [`body`](Response::body) for the rest.
#[derive(Debug)]
pub struct Response<S> {
    /// The URL that gave this response, after any redirects.
    pub url: Url,
    /// The redirects followed to get here.
    pub redirects: usize,
    /// Status line and header fields.
    pub head: ResponseHead,
    /// The body.
    pub body: Body<BufReader<S>>,
}

/// An HTTP/1.1 client: what to connect with and where to look names up.
#[derive(Debug)]
pub struct Client<C> {
    connector: C,
    hosts_file: PathBuf,
    timeout: Option<Duration>,
}

impl<C: Connect> Client<C> {
    /// A client connecting with `connector`, looking names up in [`resolve::HOSTS_FILE`].
    pub fn new(connector: C) -> Client<C> {
        Client {
            connector,
            hosts_file: PathBuf::from(resolve::HOSTS_FILE),
            timeout: None,
        }
    }

    /// Looks names up in `path` instead of `/etc/hosts`.
    pub fn hosts_file(mut self, path: impl Into<PathBuf>) -> Client<C> {
        self.hosts_file = path.into();
        self
    }

    /// The connect timeout `connector` applies, for error messages.
    pub fn connect_timeout(mut self, timeout: Duration) -> Client<C> {
        self.timeout = Some(timeout);
        self
    }

    /// GETs `url`, following redirects, and returns the first response that is not a
    /// redirect (with any status: a 404 is a response, not an error). A redirect without
    /// a `Location` is returned as it is.
    pub fn get(&mut self, url: &Url) -> Result<Response<C::Stream>, Error> {
        let mut url = url.clone();
        let mut redirects = 0;
        loop {
            let (head, reader) = self.exchange(&url)?;
            let location = head.get("location").filter(|_| head.is_redirect());
            let Some(location) = location else {
                let framing = Framing::of(&head)?;
                return Ok(Response {
                    url,
                    redirects,
                    head,
                    body: Body::new(reader, framing),
                });
            };
            let next = url.join(location).map_err(|error| Error::Redirect {
                location: location.to_string(),
                error,
            })?;
            if redirects == MAX_REDIRECTS {
                return Err(Error::TooManyRedirects { next });
            }
            log::info!("{} {}: redirected to {next}", head.status, head.reason);
            redirects += 1;
            url = next;
            // `reader` drops here, closing the connection; its body is not wanted.
        }
    }

    /// One request on a fresh connection: returns the response head and the reader
    /// positioned at the body.
    fn exchange(&mut self, url: &Url) -> Result<(ResponseHead, BufReader<C::Stream>), Error> {
        let addr = resolve::resolve(url.host(), &self.hosts_file).map_err(Error::Resolve)?;
        let addr = SocketAddrV4::new(addr, url.port());
        let mut stream = self
            .connector
            .connect(addr)
            .map_err(|error| Error::Connect {
                addr,
                error,
                timeout: self.timeout,
            })?;
        stream
            .write_all(request(url).as_bytes())
            .and_then(|()| stream.flush())
            .map_err(Error::Send)?;
        let mut reader = BufReader::with_capacity(64 * 1024, stream);
        let head = response::read_head(&mut reader)?;
        Ok((head, reader))
    }
}

/// The request for `url` (RFC 9112 3: request line, then fields, then an empty line).
pub fn request(url: &Url) -> String {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        url.target(),
        url.host_header()
    )
}

#[cfg(test)]
mod tests;
