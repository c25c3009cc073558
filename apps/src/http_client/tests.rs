//! The client over in-memory connections: requests as sent, redirect chains, limits.

use std::cell::RefCell;
use std::io::Cursor;
use std::net::Ipv4Addr;
use std::rc::Rc;

use super::*;

/// A server: the response to a request for `target` at `addr`.
type Routes = fn(SocketAddrV4, &str) -> String;

/// In-memory "connections": port 81 refuses, every other port answers from `routes`.
/// Every request sent is logged.
struct Fake {
    routes: Routes,
    requests: Rc<RefCell<Vec<String>>>,
}

#[derive(Debug)]
struct FakeStream {
    addr: SocketAddrV4,
    routes: Routes,
    written: Vec<u8>,
    response: Option<Cursor<Vec<u8>>>,
    requests: Rc<RefCell<Vec<String>>>,
}

impl Connect for Fake {
    type Stream = FakeStream;

    fn connect(&mut self, addr: SocketAddrV4) -> io::Result<FakeStream> {
        if addr.port() == 81 {
            return Err(io::ErrorKind::ConnectionRefused.into());
        }
        Ok(FakeStream {
            addr,
            routes: self.routes,
            written: Vec::new(),
            response: None,
            requests: Rc::clone(&self.requests),
        })
    }
}

impl Write for FakeStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for FakeStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.response.is_none() {
            let request = String::from_utf8(self.written.clone()).expect("an ASCII request");
            let target = request
                .split(' ')
                .nth(1)
                .expect("a request line")
                .to_string();
            self.requests.borrow_mut().push(request);
            let response = (self.routes)(self.addr, &target);
            self.response = Some(Cursor::new(response.into_bytes()));
        }
        self.response.as_mut().expect("set above").read(buf)
    }
}

fn fake_client(routes: Routes) -> (Client<Fake>, Rc<RefCell<Vec<String>>>) {
    let requests = Rc::new(RefCell::new(Vec::new()));
    let fake = Fake {
        routes,
        requests: Rc::clone(&requests),
    };
    (Client::new(fake).hosts_file("/nonexistent/hosts"), requests)
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("a test URL")
}

fn redirect(status: u16, location: &str) -> String {
    format!("HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 5\r\n\r\nmoved")
}

fn ok(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn body_of<S: Read>(response: &mut Response<S>) -> String {
    let mut text = String::new();
    response
        .body
        .read_to_string(&mut text)
        .expect("the body reads");
    text
}

#[test]
fn the_request_is_a_plain_http_1_1_get() {
    assert_eq!(
        request(&url("http://10.0.0.1:8000/a?b=c#frag")),
        format!(
            "GET /a?b=c HTTP/1.1\r\nHost: 10.0.0.1:8000\r\nUser-Agent: netstack/{}\r\n\
             Accept: */*\r\nConnection: close\r\n\r\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert!(
        request(&url("http://Kernel.Lab")).starts_with("GET / HTTP/1.1\r\nHost: kernel.lab\r\n")
    );
}

#[test]
fn redirects_are_followed_relative_and_absolute() {
    let (mut client, requests) = fake_client(|addr, target| match (addr.port(), target) {
        (80, "/start") => redirect(302, "next?x=1"),
        (80, "/next?x=1") => redirect(301, "http://10.0.0.9:8080/far"),
        (8080, "/far") => redirect(303, "/../end"),
        (8080, "/end") => redirect(307, "//10.0.0.1/last"),
        (80, "/last") => ok("arrived"),
        _ => "HTTP/1.1 500 Wrong Turn\r\n\r\n".to_string(),
    });
    let mut response = client.get(&url("http://10.0.0.1/start")).unwrap();
    assert_eq!(response.head.status, 200);
    assert_eq!(response.url.to_string(), "http://10.0.0.1/last");
    assert_eq!(response.redirects, 4);
    assert_eq!(body_of(&mut response), "arrived");
    let log = requests.borrow();
    assert_eq!(log.len(), 5, "{log:#?}");
    assert!(
        log[2].starts_with("GET /far HTTP/1.1\r\nHost: 10.0.0.9:8080\r\n"),
        "{}",
        log[2]
    );
}

/// `/r/N` redirects to `/r/N+1` up to `/r/10`, which answers.
fn counting(_: SocketAddrV4, target: &str) -> String {
    let n: u32 = target.trim_start_matches("/r/").parse().expect("/r/N");
    if n < 10 {
        redirect(302, &format!("/r/{}", n + 1))
    } else {
        ok("ten")
    }
}

#[test]
fn five_redirects_are_followed_and_a_sixth_is_refused() {
    let (mut client, _) = fake_client(counting);
    let mut response = client.get(&url("http://10.0.0.1/r/5")).unwrap();
    assert_eq!(
        (response.redirects, body_of(&mut response).as_str()),
        (5, "ten")
    );

    let (mut client, requests) = fake_client(counting);
    let err = client.get(&url("http://10.0.0.1/r/4")).unwrap_err();
    let Error::TooManyRedirects { next } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(next.to_string(), "http://10.0.0.1/r/10");
    assert_eq!(
        requests.borrow().len(),
        6,
        "the sixth redirect's target is not fetched"
    );
    assert_eq!(
        err.to_string(),
        "too many redirects: gave up after 5, before http://10.0.0.1/r/10"
    );
    assert!(!err.is_usage());

    let (mut client, requests) = fake_client(|_, _| redirect(302, "/loop"));
    let err = client.get(&url("http://10.0.0.1/loop")).unwrap_err();
    assert!(matches!(err, Error::TooManyRedirects { .. }), "{err:?}");
    assert_eq!(requests.borrow().len(), 6);
}

#[test]
fn statuses_are_responses_not_errors() {
    let (mut client, _) = fake_client(|_, target| match target {
        "/missing" => "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope".to_string(),
        "/nowhere" => "HTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n".to_string(),
        _ => "HTTP/1.1 204 No Content\r\n\r\n".to_string(),
    });
    let mut response = client.get(&url("http://10.0.0.1/missing")).unwrap();
    assert_eq!(response.head.status_line(), "HTTP/1.1 404 Not Found");
    assert_eq!(body_of(&mut response), "nope");
    // A redirect without a Location cannot be followed: it is the response.
    let response = client.get(&url("http://10.0.0.1/nowhere")).unwrap();
    assert_eq!((response.head.status, response.redirects), (302, 0));
    let mut response = client.get(&url("http://10.0.0.1/")).unwrap();
    assert_eq!(body_of(&mut response), "");
}

#[test]
fn redirects_elsewhere_than_http_are_errors() {
    let (mut client, _) = fake_client(|_, target| match target {
        "/tls" => redirect(301, "https://10.0.0.1/"),
        _ => redirect(301, "mailto:someone@example.com"),
    });
    let err = client.get(&url("http://10.0.0.1/tls")).unwrap_err();
    assert!(matches!(err, Error::Redirect { .. }), "{err:?}");
    assert!(err.to_string().contains("no TLS"), "{err}");
    let err = client.get(&url("http://10.0.0.1/mail")).unwrap_err();
    assert!(err.to_string().contains("\"mailto\""), "{err}");
}

#[test]
fn connection_failures_say_what_happened() {
    let (client, _) = fake_client(|_, _| ok("unused"));
    let mut client = client.connect_timeout(Duration::from_secs(30));
    let err = client.get(&url("http://10.0.0.1:81/")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot connect to 10.0.0.1:81: connection refused (nothing listens on port 81)"
    );
    assert!(!err.is_usage());
    let timed_out = Error::Connect {
        addr: SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80),
        error: io::ErrorKind::TimedOut.into(),
        timeout: Some(Duration::from_millis(2500)),
    };
    assert_eq!(
        timed_out.to_string(),
        "cannot connect to 10.0.0.1:80: connection timed out after 2.5s"
    );
    let refused_by_us = Error::Connect {
        addr: SocketAddrV4::new(Ipv4Addr::BROADCAST, 80),
        error: io::Error::new(io::ErrorKind::InvalidInput, "invalid address"),
        timeout: None,
    };
    assert!(refused_by_us.is_usage());
    let stalled = Error::Receive(io::Error::new(io::ErrorKind::WouldBlock, "timed out"));
    assert_eq!(
        stalled.to_string(),
        "cannot read the response: timed out waiting for the server"
    );

    let (mut client, _) = fake_client(|_, target| match target {
        "/silent" => String::new(),
        _ => "HTTP/1.1 200 OK\r\nContent-".to_string(),
    });
    let err = client.get(&url("http://10.0.0.1/silent")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bad response: the server closed the connection without a response"
    );
    let err = client.get(&url("http://10.0.0.1/cut")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot read the response: the connection closed in the middle of the response head"
    );
}

#[test]
fn names_come_from_the_hosts_file_given() {
    let hosts = std::env::temp_dir().join(format!("netstack-client-hosts-{}", std::process::id()));
    std::fs::write(&hosts, "127.0.0.1 localhost\n10.0.0.7 web.lab web\n").unwrap();
    let (client, requests) = fake_client(|addr, _| {
        if *addr.ip() == Ipv4Addr::new(10, 0, 0, 7) {
            ok("found")
        } else {
            ok("wrong address")
        }
    });
    let mut client = client.hosts_file(&hosts);
    let mut response = client.get(&url("http://WEB:8080/")).unwrap();
    assert_eq!(body_of(&mut response), "found");
    assert!(requests.borrow()[0].contains("\r\nHost: web:8080\r\n"));

    let err = client.get(&url("http://example.com/")).unwrap_err();
    assert!(
        matches!(err, Error::Resolve(_)) && err.is_usage(),
        "{err:?}"
    );
    assert!(err.to_string().contains("no DNS client"), "{err}");
    let err = client.get(&url("http://localhost/")).unwrap_err();
    assert!(err.is_usage(), "{err:?}");
    assert!(
        err.to_string().starts_with("localhost is 127.0.0.1"),
        "{err}"
    );
    let _ = std::fs::remove_file(&hosts);
}
