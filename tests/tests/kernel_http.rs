//! netstack's HTTP service against kernel clients, over a TAP in a private namespace:
//! the status page, 50 MB downloads checked byte by byte, 20 MB uploads hashed (with
//! Content-Length and chunked), hundreds of clients at once, errors, keep-alive.
//!
//! ```text
//!   kernel 10.0.0.1 (std::net, raw HTTP)  <-- tap0 -->  netstack 10.0.0.2:80 (netstack::services::http)
//! ```
//!
//! The client is written here, by hand, on `std::net`: it parses responses with its own
//! code and checks SHA-256 with `common::sha256`, so no server code checks itself. When
//! `curl` is installed, one more test talks to the service with it. Every wait is
//! bounded by [`TIMEOUT`]; no test sleeps.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddrV4, TcpStream as KernelStream};
use std::process::Command;
use std::thread;

use common::netstack::Netstack;
use common::random_bytes;
use common::sha256::sha256_hex;
use common::{have_tool, in_netns, tap_lab, HOST_IP, STACK_IP, TIMEOUT};
use netstack::services::http;

/// The service's address.
const HTTP: SocketAddrV4 = SocketAddrV4::new(STACK_IP, http::PORT);

/// Runs `body` in a new namespace with netstack on tap0 serving HTTP on port 80.
fn lab(test: &str, body: impl FnOnce(&Netstack) + Send) {
    in_netns(test, || {
        let net = Netstack::start(tap_lab());
        http::start(net.handle(), http::PORT).expect("start the HTTP service");
        body(&net);
        net.stop();
    });
}

/// Byte `i` of `/bytes/N`.
fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

/// A response head: status code and header fields, as sent.
#[derive(Debug)]
struct Head {
    status: u16,
    fields: Vec<(String, String)>,
}

impl Head {
    /// The first value of field `name` (case-insensitive).
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Content-Length, which every response of this service carries.
    #[track_caller]
    fn content_length(&self) -> u64 {
        self.field("content-length")
            .unwrap_or_else(|| panic!("no Content-Length in {self:?}"))
            .parse()
            .unwrap_or_else(|e| panic!("bad Content-Length in {self:?}: {e}"))
    }

    /// Whether the server says it closes the connection.
    fn closes(&self) -> bool {
        self.field("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// A response with its body.
#[derive(Debug)]
struct Response {
    head: Head,
    body: Vec<u8>,
}

impl Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One kernel connection to the service, speaking HTTP/1.1 by hand.
struct Client {
    reader: BufReader<KernelStream>,
    local_port: u16,
}

impl Client {
    /// Connects, with read and write timeouts of [`TIMEOUT`].
    fn connect() -> io::Result<Client> {
        let stream = KernelStream::connect_timeout(&HTTP.into(), TIMEOUT)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        let local_port = stream.local_addr()?.port();
        Ok(Client {
            reader: BufReader::with_capacity(64 * 1024, stream),
            local_port,
        })
    }

    #[track_caller]
    fn open(net: &Netstack) -> Client {
        Client::connect().unwrap_or_else(|e| panic!("connect to {HTTP}: {e}\n{}", net.describe()))
    }

    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.reader.get_mut().write_all(bytes)
    }

    /// Sends `method path` with a Host field and `extra` fields (each ending in CRLF).
    fn send_request(&mut self, method: &str, path: &str, extra: &str) -> io::Result<()> {
        let head = format!("{method} {path} HTTP/1.1\r\nHost: {STACK_IP}\r\n{extra}\r\n");
        self.send(head.as_bytes())
    }

    /// Reads a status line and header fields, up to the empty line.
    fn read_head(&mut self) -> io::Result<Head> {
        let mut line = String::new();
        self.read_line(&mut line)?;
        let mut words = line.trim_end().splitn(3, ' ');
        let (Some("HTTP/1.1"), Some(code)) = (words.next(), words.next()) else {
            return Err(bad(format!("bad status line {line:?}")));
        };
        let status = code
            .parse()
            .map_err(|_| bad(format!("bad status line {line:?}")))?;
        let mut fields = Vec::new();
        loop {
            line.clear();
            self.read_line(&mut line)?;
            let field = line
                .strip_suffix("\r\n")
                .ok_or_else(|| bad(format!("field line without CRLF: {line:?}")))?;
            if field.is_empty() {
                return Ok(Head { status, fields });
            }
            let (name, value) = field
                .split_once(':')
                .ok_or_else(|| bad(format!("bad field line {line:?}")))?;
            fields.push((name.to_string(), value.trim().to_string()));
        }
    }

    fn read_line(&mut self, line: &mut String) -> io::Result<()> {
        if self.reader.read_line(line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(())
    }

    /// Reads a whole response; `head_only` for the answer to a HEAD.
    fn read_response(&mut self, head_only: bool) -> io::Result<Response> {
        let head = self.read_head()?;
        let len = if head_only { 0 } else { head.content_length() };
        let mut body = vec![0u8; len as usize];
        self.reader.read_exact(&mut body)?;
        Ok(Response { head, body })
    }

    /// Sends `method path` and reads the response.
    #[track_caller]
    fn request(&mut self, method: &str, path: &str, extra: &str) -> Response {
        self.send_request(method, path, extra)
            .and_then(|()| self.read_response(method == "HEAD"))
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// Reads the pattern body of `/bytes/len` and checks every byte.
    fn check_pattern(&mut self, len: u64) -> Result<(), String> {
        let mut at = 0u64;
        while at < len {
            let buf = self
                .reader
                .fill_buf()
                .map_err(|e| format!("at byte {at} of {len}: {e}"))?;
            if buf.is_empty() {
                return Err(format!("end of stream at byte {at} of {len}"));
            }
            let n = buf.len().min((len - at) as usize);
            if let Some(i) = (0..n).find(|&i| buf[i] != pattern(at + i as u64)) {
                return Err(format!(
                    "byte {} is {}, not {}",
                    at + i as u64,
                    buf[i],
                    pattern(at + i as u64)
                ));
            }
            self.reader.consume(n);
            at += n as u64;
        }
        Ok(())
    }

    /// Checks that the server has closed the connection: nothing more, then end of stream.
    #[track_caller]
    fn expect_end(&mut self) {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .unwrap_or_else(|e| panic!("waiting for the server's FIN: {e}"));
        assert!(
            rest.is_empty(),
            "bytes after the response: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

fn bad(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

#[test]
fn the_sha256_helper_gives_the_fips_answers() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(
        sha256_hex(b""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

#[test]
fn the_status_page_lists_the_connection_asking_for_it() {
    lab(
        "the_status_page_lists_the_connection_asking_for_it",
        |net| {
            let mut client = Client::open(net);
            let response = client.request("GET", "/", "");
            assert_eq!(response.head.status, 200, "{response:?}");
            assert_eq!(response.head.field("server"), Some("netstack"));
            let content_type = response.head.field("content-type").unwrap_or_default();
            assert!(content_type.starts_with("text/html"), "{content_type}");
            let page = response.text();
            let me = format!("{HOST_IP}:{}", client.local_port);
            for needle in [
                "10.0.0.2/24",
                "02:00:00:00:00:02",
                "1500",
                "rx_frames",
                "LISTEN",
                "ESTABLISHED",
                &me,
            ] {
                assert!(page.contains(needle), "{needle:?} not on the page:\n{page}");
            }
            // The kernel's MAC is in the ARP table: it had to be resolved to answer.
            let kernel_mac = common::kernel_mac("tap0").to_string();
            assert!(
                page.contains(&kernel_mac),
                "no ARP entry {kernel_mac}:\n{page}"
            );
            // HEAD: the same head, no body.
            let head = client.request("HEAD", "/", "");
            assert_eq!(head.head.status, 200);
            assert!(head.head.content_length() > 0);
        },
    );
}

#[test]
fn fifty_megabytes_arrive_exactly() {
    const LEN: u64 = 50_000_000;
    lab("fifty_megabytes_arrive_exactly", |net| {
        let mut client = Client::open(net);
        client
            .send_request("GET", &format!("/bytes/{LEN}"), "")
            .unwrap();
        let head = client.read_head().expect("the response head");
        assert_eq!(head.status, 200, "{head:?}");
        assert_eq!(head.content_length(), LEN);
        assert_eq!(head.field("content-type"), Some("application/octet-stream"));
        if let Err(e) = client.check_pattern(LEN) {
            panic!("/bytes/{LEN}: {e}\n{}", net.describe());
        }
        // The connection carries on: HEAD, an empty body, a bad count.
        let head = client.request("HEAD", "/bytes/10000000000", "");
        assert_eq!(
            (head.head.status, head.head.content_length()),
            (200, 10_000_000_000)
        );
        let empty = client.request("GET", "/bytes/0", "");
        assert_eq!((empty.head.status, empty.body.len()), (200, 0));
        for bad in ["/bytes/1000000000001", "/bytes/12x", "/bytes/"] {
            assert_eq!(client.request("GET", bad, "").head.status, 400, "{bad}");
        }
    });
}

#[test]
fn twenty_megabyte_uploads_are_hashed_with_length_and_chunked() {
    const LEN: usize = 20 * 1024 * 1024;
    lab(
        "twenty_megabyte_uploads_are_hashed_with_length_and_chunked",
        |net| {
            let data = random_bytes(LEN, 7);
            let want = format!("{}\n", sha256_hex(&data));
            let mut client = Client::open(net);

            // Content-Length, after waiting for 100 Continue as curl does.
            client
                .send_request(
                    "POST",
                    "/sha256",
                    &format!("Content-Length: {LEN}\r\nExpect: 100-continue\r\n"),
                )
                .unwrap();
            let interim = client.read_head().expect("100 Continue");
            assert_eq!(interim.status, 100, "{interim:?}");
            client.send(&data).unwrap();
            let response = client.read_response(false).expect("the hash");
            assert_eq!(response.head.status, 200, "{response:?}");
            assert_eq!(response.text(), want, "Content-Length upload");

            // Chunked on the same connection: uneven chunk sizes, an extension, a trailer.
            client
                .send_request("POST", "/sha256", "Transfer-Encoding: chunked\r\n")
                .unwrap();
            let sizes = [1, 4093, 65_536, 100_003, 7, 1_000_000];
            let (mut at, mut turn) = (0, 0);
            while at < LEN {
                let size = sizes[turn % sizes.len()].min(LEN - at);
                let ext = if turn % 3 == 0 { ";name=value" } else { "" };
                let mut chunk = format!("{size:x}{ext}\r\n").into_bytes();
                chunk.extend_from_slice(&data[at..at + size]);
                chunk.extend_from_slice(b"\r\n");
                client.send(&chunk).unwrap();
                at += size;
                turn += 1;
            }
            client.send(b"0\r\nX-Trailer: done\r\n\r\n").unwrap();
            let response = client.read_response(false).expect("the hash");
            assert_eq!(response.head.status, 200, "{response:?}");
            assert_eq!(response.text(), want, "chunked upload");

            // A small one to finish: the connection still works after both.
            let response = client.request("POST", "/sha256", "Content-Length: 3\r\n\r\nabc");
            assert_eq!(
                response.text(),
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
            );
        },
    );
}

#[test]
fn two_hundred_clients_download_at_once() {
    const CLIENTS: usize = 200;
    const LEN: u64 = 100_000;
    lab("two_hundred_clients_download_at_once", |net| {
        let results: Vec<Result<(), String>> = thread::scope(|scope| {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|i| {
                    thread::Builder::new()
                        .name(format!("client-{i}"))
                        .stack_size(256 * 1024)
                        .spawn_scoped(scope, move || -> Result<(), String> {
                            let mut client =
                                Client::connect().map_err(|e| format!("connect: {e}"))?;
                            client
                                .send_request(
                                    "GET",
                                    &format!("/bytes/{LEN}"),
                                    "Connection: close\r\n",
                                )
                                .map_err(|e| format!("send: {e}"))?;
                            let head = client.read_head().map_err(|e| format!("head: {e}"))?;
                            if head.status != 200 || head.content_length() != LEN || !head.closes()
                            {
                                return Err(format!("unexpected head {head:?}"));
                            }
                            client.check_pattern(LEN)?;
                            let mut rest = Vec::new();
                            client
                                .reader
                                .read_to_end(&mut rest)
                                .map_err(|e| format!("waiting for FIN: {e}"))?;
                            if !rest.is_empty() {
                                return Err(format!("{} bytes after the body", rest.len()));
                            }
                            Ok(())
                        })
                        .expect("spawn a client thread")
                })
                .collect();
            clients.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let failures: Vec<String> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| format!("client {i}: {e}")))
            .collect();
        assert!(
            failures.is_empty(),
            "{} of {CLIENTS} clients failed:\n{}\n{}",
            failures.len(),
            failures[..failures.len().min(20)].join("\n"),
            net.describe()
        );
    });
}

#[test]
fn a_thousand_connections_are_served_at_once() {
    const CLIENTS: usize = 1000;
    let limit = netstack_drivers::limits::raise_open_files_limit().unwrap_or(0);
    if limit < CLIENTS as u64 + 100 {
        // Only a machine whose hard limit is this low; CI must not quietly skip.
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the open files limit ({limit}) is below {}: raise `ulimit -Hn`",
            CLIENTS + 100
        );
        netstack_drivers::netns::report_skip(
            "a_thousand_connections_are_served_at_once",
            &format!(
                "the open files limit ({limit}) is below {} (ulimit -Hn)",
                CLIENTS + 100
            ),
        );
        return;
    }
    lab("a_thousand_connections_are_served_at_once", |net| {
        // Every connection is open, with its request sent, before any is read: the
        // service holds a thousand connections (and threads) at once.
        let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::open(net)).collect();
        for (i, client) in clients.iter_mut().enumerate() {
            client
                .send_request("GET", &format!("/bytes/{}", 1000 + i), "")
                .unwrap_or_else(|e| panic!("client {i}: {e}"));
        }
        // Accepted or still queued, every connection is in the stack's socket table.
        net.wait_for("a thousand connections on port 80", |stack| {
            let held = stack
                .tcp()
                .sockets()
                .iter()
                .filter(|row| row.local.port() == http::PORT && row.remote.port() != 0)
                .count();
            (held >= CLIENTS).then_some(())
        });
        for (i, client) in clients.iter_mut().enumerate() {
            let head = client
                .read_head()
                .unwrap_or_else(|e| panic!("client {i}: {e}\n{}", net.describe()));
            assert_eq!(head.status, 200, "client {i}: {head:?}");
            let len = 1000 + i as u64;
            assert_eq!(head.content_length(), len);
            client
                .check_pattern(len)
                .unwrap_or_else(|e| panic!("client {i}: {e}"));
        }
        // The page lists them all, and is still quick to make.
        let mut client = Client::open(net);
        let page = client.request("GET", "/", "").text();
        let listed = clients
            .iter()
            .filter(|c| page.contains(&format!("{HOST_IP}:{}<", c.local_port)))
            .count();
        assert_eq!(listed, CLIENTS, "connections missing from the status page");
    });
}

#[test]
fn a_malformed_request_gets_400_and_the_next_connection_is_served() {
    lab(
        "a_malformed_request_gets_400_and_the_next_connection_is_served",
        |net| {
            for garbage in [
                &b"THIS IS NOT HTTP\r\n\r\n"[..],
                b"GET / HTTP/1.1\r\n\r\n", // HTTP/1.1 without Host
                b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                b"GET / HTTP/1.1\r\nHost: x\r\nBad Field\r\n\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", // a TLS hello
            ] {
                let mut client = Client::open(net);
                client.send(garbage).unwrap();
                let response = client.read_response(false).expect("a response to garbage");
                assert_eq!(
                    response.head.status,
                    400,
                    "{:?}",
                    String::from_utf8_lossy(garbage)
                );
                assert!(response.head.closes(), "{response:?}");
                client.expect_end();
            }
            let mut client = Client::open(net);
            let response = client.request("GET", "/bytes/10", "");
            assert_eq!(response.head.status, 200);
            assert_eq!(response.body, (0..10).collect::<Vec<u8>>());
        },
    );
}

#[test]
fn errors_404_405_411_414_431() {
    lab("errors_404_405_411_414_431", |net| {
        // 404, 405 and 411 keep the connection.
        let mut client = Client::open(net);
        let response = client.request("GET", "/nope", "");
        assert_eq!(response.head.status, 404, "{response:?}");
        let response = client.request("POST", "/", "Content-Length: 0\r\n");
        assert_eq!(response.head.status, 405, "{response:?}");
        assert_eq!(response.head.field("allow"), Some("GET, HEAD"));
        let response = client.request("GET", "/sha256", "");
        assert_eq!(response.head.status, 405, "{response:?}");
        assert_eq!(response.head.field("allow"), Some("POST"));
        let response = client.request("POST", "/sha256", "");
        assert_eq!(response.head.status, 411, "{response:?}");
        assert!(!response.head.closes());

        // A body the route does not read: answered, then the connection closes.
        let response = client.request("POST", "/bytes/5", "Content-Length: 4\r\n\r\nbody");
        assert_eq!(response.head.status, 405, "{response:?}");
        assert!(response.head.closes());
        client.expect_end();

        // 10 KiB of header fields: 431, and the connection closes.
        let mut client = Client::open(net);
        let big = format!("X-Big: {}\r\n", "b".repeat(10 * 1024));
        let response = client.request("GET", "/", &big);
        assert_eq!(response.head.status, 431, "{response:?}");
        assert!(response.head.closes());
        client.expect_end();

        // 65 fields: 431 too.
        let mut client = Client::open(net);
        let many: String = (0..65).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(client.request("GET", "/", &many).head.status, 431);

        // A 9 KiB target: 414.
        let mut client = Client::open(net);
        let long = format!("/{}", "a".repeat(9 * 1024));
        let response = client.request("GET", &long, "");
        assert_eq!(response.head.status, 414, "{response:?}");
        client.expect_end();
    });
}

#[test]
fn keep_alive_pipelining_and_close() {
    lab("keep_alive_pipelining_and_close", |net| {
        let mut client = Client::open(net);
        let me = format!("{HOST_IP}:{}", client.local_port);
        // Two requests, one after the other, on one connection.
        for round in 0..2 {
            let response = client.request("GET", "/", "");
            assert_eq!(response.head.status, 200);
            assert!(!response.head.closes());
            assert!(
                response.text().contains(&me),
                "round {round}: {me} not listed"
            );
        }
        // Two requests in one write: two responses, in order.
        client
            .send(
                format!(
                    "GET /bytes/3 HTTP/1.1\r\nHost: {STACK_IP}\r\n\r\n\
                     GET /bytes/300 HTTP/1.1\r\nHost: {STACK_IP}\r\n\r\n"
                )
                .as_bytes(),
            )
            .unwrap();
        for len in [3, 300] {
            let response = client.read_response(false).unwrap();
            assert_eq!(response.body, (0..len).map(pattern).collect::<Vec<u8>>());
        }
        // Connection: close is honoured.
        let response = client.request("GET", "/bytes/1", "Connection: close\r\n");
        assert_eq!(response.body, [0]);
        assert!(response.head.closes());
        client.expect_end();

        // HTTP/1.0 closes unless asked to keep the connection.
        let mut client = Client::open(net);
        client
            .send(b"GET /bytes/2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap();
        let response = client.read_response(false).unwrap();
        assert_eq!(response.head.field("connection"), Some("keep-alive"));
        client.send(b"GET /bytes/2 HTTP/1.0\r\n\r\n").unwrap();
        let response = client.read_response(false).unwrap();
        assert_eq!(response.body, [0, 1]);
        assert!(response.head.closes());
        client.expect_end();
    });
}

#[test]
fn curl_downloads_and_uploads() {
    if !have_tool("curl_downloads_and_uploads", "curl") {
        return;
    }
    lab("curl_downloads_and_uploads", |net| {
        let dir = std::env::temp_dir().join(format!("netstack-http-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let curl = |args: &[&str]| -> Vec<u8> {
            let out = Command::new("curl")
                .args(["--silent", "--show-error", "--fail", "--max-time", "60"])
                .args(args)
                .output()
                .expect("run curl");
            assert!(
                out.status.success(),
                "curl {args:?}: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                net.describe()
            );
            out.stdout
        };
        let page = String::from_utf8(curl(&[&format!("http://{STACK_IP}/")])).unwrap();
        assert!(page.contains("ESTABLISHED"), "{page}");

        let body = curl(&[&format!("http://{STACK_IP}/bytes/3000000")]);
        assert_eq!(body.len(), 3_000_000);
        assert!(body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == pattern(i as u64)));

        // Over 1 MB, curl asks for 100 Continue first.
        let data = random_bytes(3_000_000, 11);
        let file = dir.join("upload");
        std::fs::write(&file, &data).unwrap();
        let upload = format!("@{}", file.display());
        let want = format!("{}\n", sha256_hex(&data));
        let url = format!("http://{STACK_IP}/sha256");
        assert_eq!(
            String::from_utf8(curl(&["--data-binary", &upload, &url])).unwrap(),
            want
        );
        let chunked = [
            "-H",
            "Transfer-Encoding: chunked",
            "--data-binary",
            &upload,
            &url,
        ];
        assert_eq!(String::from_utf8(curl(&chunked)).unwrap(), want);
        std::fs::remove_dir_all(&dir).ok();
    });
}
