//! `netstack http-get` against a web server in the Linux kernel's TCP: the server is
//! written here with `std::net`, the client is the `netstack` binary on a TAP. Each
//! test that needs the TAP runs as root in a network namespace of its own, with the
//! binary started from the namespaced thread so it lives there too; nothing reaches
//! this machine's interfaces.
//!
//! ```text
//!   kernel 10.0.0.1/24 (tap0), test server on :8080  <-- TAP -->  `netstack http-get`  10.0.0.2
//! ```
//!
//! The server's routes:
//!
//! | path         | response                                                          |
//! |--------------|-------------------------------------------------------------------|
//! | `/len`       | 1 MiB of seeded random bytes, with `Content-Length`               |
//! | `/chunked`   | the same bytes chunked, chunk sizes from 1 to 64 KiB, a trailer   |
//! | `/close`     | the same bytes delimited by closing the connection                |
//! | `/redirect`  | 302 to `/len`                                                     |
//! | `/loop`      | 302 to itself                                                     |
//! | `/missing`   | 404                                                               |
//! | `/truncated` | `Content-Length: 100000`, then 50000 bytes and a close            |

mod common;

use common::{assert_exit, in_netns, ip, netstack, text};

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

/// The kernel's side of the TAP, where the test server listens.
const SERVER: &str = "10.0.0.1:8080";

/// How long one `netstack http-get` may take before the test fails: generous, these
/// tests assert behaviour, not speed.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The size of the test bodies.
const BODY_LEN: usize = 1 << 20;

/// The seed of the test bodies' bytes (printed by a failing comparison).
const SEED: u64 = 0x6874_7470_2d67_6574;

/// `BODY_LEN` bytes from xorshift64* seeded with [`SEED`]: no pattern a framing bug
/// could accidentally preserve.
fn body() -> Vec<u8> {
    let mut state = SEED;
    let mut bytes = Vec::with_capacity(BODY_LEN + 8);
    while bytes.len() < BODY_LEN {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    bytes.truncate(BODY_LEN);
    bytes
}

/// [`common::run`] with this file's [`TIMEOUT`].
#[track_caller]
fn run(cmd: Command) -> Output {
    common::run(cmd, TIMEOUT)
}

/// Fails unless `out` is a clean failure: exit status `code`, nothing on stdout, one
/// stderr line `netstack: ...` containing `words`, no panic. Returns that line.
#[track_caller]
fn assert_fails(out: &Output, code: i32, words: &str) -> String {
    let stderr = assert_exit(out, code);
    assert!(
        out.stdout.is_empty(),
        "nothing should reach stdout, got {} bytes",
        out.stdout.len()
    );
    assert_eq!(stderr.lines().count(), 1, "one line expected:\n{stderr}");
    assert!(
        stderr.starts_with("netstack: ") && stderr.contains(words),
        "expected `netstack: ...{words}...`, got:\n{stderr}"
    );
    stderr.trim_end().to_string()
}

/// Fails unless `got` is `expected`, naming the first differing byte rather than
/// printing a megabyte.
#[track_caller]
fn assert_same_bytes(got: &[u8], expected: &[u8], what: &str) {
    if got != expected {
        let first = got
            .iter()
            .zip(expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        panic!(
            "{what}: {} bytes, expected {} (seed {SEED:#x}); first difference at byte {first}",
            got.len(),
            expected.len()
        );
    }
}

/// A path in the temp directory, removed when the test ends, pass or fail.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        TempPath(
            std::env::temp_dir().join(format!("netstack-http-get-{tag}-{}", std::process::id())),
        )
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temp path")
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The lab, in this thread's namespace: a persistent tap0 (so each `netstack` can
/// attach to it in turn) with the kernel's end at 10.0.0.1/24, IPv6 off so the link
/// stays quiet, and the test server on [`SERVER`]. Returns the requests the server
/// receives, one request head per message.
#[track_caller]
fn lab() -> mpsc::Receiver<String> {
    ip(&["link", "set", "lo", "up"]);
    ip(&["tuntap", "add", "dev", "tap0", "mode", "tap"]);
    if Path::new("/proc/sys/net/ipv6").exists() {
        // This /proc/sys/net is the namespace's.
        std::fs::write("/proc/sys/net/ipv6/conf/tap0/disable_ipv6", "1")
            .expect("turn IPv6 off on tap0");
    }
    ip(&["addr", "add", "10.0.0.1/24", "dev", "tap0"]);
    ip(&["link", "set", "tap0", "up"]);
    // Bound on the namespaced thread, so it lives in the namespace; its threads serve
    // until the test process ends.
    let listener = TcpListener::bind(SERVER).expect("bind the test server");
    let (requests, received) = mpsc::channel();
    std::thread::spawn(move || {
        let body = body();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (body, requests) = (body.clone(), requests.clone());
            std::thread::spawn(move || {
                // A failed exchange shows up in the client's result.
                let _ = serve(stream, &body, &requests);
            });
        }
    });
    received
}

/// Reads one request head and answers it by its path.
fn serve(stream: TcpStream, body: &[u8], requests: &mpsc::Sender<String>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(TIMEOUT))?;
    let mut reader = BufReader::new(&stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let path = head.split(' ').nth(1).unwrap_or_default().to_string();
    let _ = requests.send(head);
    let mut out = &stream;
    match path.as_str() {
        "/len" => {
            write!(out, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())?;
            out.write_all(body)?;
        }
        "/chunked" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Length\r\n\r\n")?;
            let sizes = [1, 2, 15, 16, 100, 1000, 4096, 16384, 65536, 3, 40000];
            let mut rest = body;
            for (i, size) in sizes.iter().cycle().enumerate() {
                if rest.is_empty() {
                    break;
                }
                let (chunk, after) = rest.split_at((*size).min(rest.len()));
                // Upper- and lowercase hex, and now and then an extension to ignore.
                match i % 3 {
                    0 => write!(out, "{:x}\r\n", chunk.len())?,
                    1 => write!(out, "{:X};name=value\r\n", chunk.len())?,
                    _ => write!(out, "{:x} ; ext\r\n", chunk.len())?,
                }
                out.write_all(chunk)?;
                out.write_all(b"\r\n")?;
                rest = after;
            }
            write!(out, "0\r\nX-Length: {}\r\n\r\n", body.len())?;
        }
        "/close" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")?;
            out.write_all(body)?;
        }
        "/redirect" => {
            out.write_all(b"HTTP/1.1 302 Found\r\nLocation: /len\r\nContent-Length: 0\r\n\r\n")?
        }
        "/loop" => out.write_all(
            b"HTTP/1.1 302 Found\r\nLocation: http://10.0.0.1:8080/loop\r\nContent-Length: 0\r\n\r\n",
        )?,
        "/truncated" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")?;
            out.write_all(&body[..50_000])?;
        }
        _ => out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n",
        )?,
    }
    // Everything sent; the FIN follows it (Connection: close).
    stream.shutdown(Shutdown::Write)
}

/// `netstack http-get URL ARGS` on tap0.
fn http_get(path: &str, args: &[&str]) -> Output {
    let url = format!("http://{SERVER}{path}");
    let mut all = vec!["--iface", "tap0", "http-get", url.as_str()];
    all.extend_from_slice(args);
    run(netstack(&all))
}

#[test]
fn downloads_are_byte_identical_however_the_body_is_framed() {
    in_netns(
        "downloads_are_byte_identical_however_the_body_is_framed",
        || {
            let requests = lab();
            let expected = body();
            for path in ["/len", "/chunked", "/close", "/redirect"] {
                let file = TempPath::new(&path[1..]);
                let out = http_get(path, &["-o", file.arg()]);
                let stderr = text(&out.stderr);
                assert!(
                    out.status.success(),
                    "{path}: exit status {}; stderr:\n{stderr}",
                    out.status
                );
                // Not a terminal: no progress bar, nothing at all on stderr or stdout.
                assert!(stderr.is_empty(), "{path}: unexpected stderr:\n{stderr}");
                assert!(out.stdout.is_empty(), "{path}: the body went to stdout too");
                let saved =
                    std::fs::read(&file.0).unwrap_or_else(|e| panic!("{path}: read -o file: {e}"));
                assert_same_bytes(&saved, &expected, path);
            }

            // Without -o the body is stdout, byte for byte.
            let out = http_get("/chunked", &[]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            assert_same_bytes(&out.stdout, &expected, "/chunked on stdout");

            // What the kernel received: a plain HTTP/1.1 GET, and the redirect followed.
            let heads: Vec<String> = requests.try_iter().collect();
            let paths: Vec<&str> = heads
                .iter()
                .map(|h| h.split(' ').nth(1).unwrap_or_default())
                .collect();
            assert_eq!(
                paths,
                [
                    "/len",
                    "/chunked",
                    "/close",
                    "/redirect",
                    "/len",
                    "/chunked"
                ]
            );
            let first = &heads[0];
            assert!(first.starts_with("GET /len HTTP/1.1\r\n"), "{first}");
            for field in [
                "\r\nHost: 10.0.0.1:8080\r\n",
                &format!("\r\nUser-Agent: netstack/{}\r\n", env!("CARGO_PKG_VERSION")),
                "\r\nAccept: */*\r\n",
                "\r\nConnection: close\r\n",
            ] {
                assert!(
                    first.contains(field),
                    "no {field:?} in the request:\n{first}"
                );
            }
        },
    );
}

#[test]
fn failures_exit_1_with_one_line_and_leave_no_file() {
    in_netns("failures_exit_1_with_one_line_and_leave_no_file", || {
        let _requests = lab();
        let file = TempPath::new("failure");

        let line = assert_fails(
            &http_get("/loop", &["-o", file.arg()]),
            1,
            "too many redirects",
        );
        assert!(line.contains("after 5"), "{line}");
        assert!(!file.0.exists(), "/loop created the output file");

        let line = assert_fails(&http_get("/missing", &["-o", file.arg()]), 1, "HTTP 404");
        assert_eq!(line, "netstack: HTTP 404 Not Found");
        assert!(!file.0.exists(), "a 404 created the output file");
        assert_fails(&http_get("/missing", &[]), 1, "HTTP 404 Not Found");

        // The body ends early: an error, and the partial file is removed.
        let line = assert_fails(&http_get("/truncated", &["-o", file.arg()]), 1, "cut short");
        assert!(line.contains("50000 of 100000"), "{line}");
        assert!(!file.0.exists(), "the partial file was left behind");

        // Nothing listens on 8081: the kernel answers the SYN with a reset.
        let out = run(netstack(&[
            "--iface",
            "tap0",
            "http-get",
            "http://10.0.0.1:8081/",
        ]));
        assert_fails(&out, 1, "connection refused");

        // Nobody has 10.0.0.99: no ARP reply, so no handshake within the timeout.
        let out = run(netstack(&[
            "--iface",
            "tap0",
            "http-get",
            "--timeout",
            "2",
            "http://10.0.0.99/",
        ]));
        assert_fails(&out, 1, "cannot connect to 10.0.0.99:80");
    });
}

#[test]
fn bad_urls_and_unreachable_hosts_exit_2_before_touching_a_device() {
    // No namespace and no privileges needed: each is refused before any device opens.
    for (url, words) in [
        ("https://10.0.0.1/", "no TLS"),
        ("ftp://10.0.0.1/", "only http://"),
        ("10.0.0.1/index.html", "starting with http://"),
        ("http://10.0.0.1:99999/", "from 1 to 65535"),
        (
            "http://10.0.0.300/",
            "neither an IPv4 address nor a valid host name",
        ),
        ("http://[::1]/", "IPv4 only"),
        ("http://h/a b", "percent-encoded"),
    ] {
        let out = run(netstack(&["--iface", "no-such-tap", "http-get", url]));
        assert_fails(&out, 2, words);
    }
    let out = run(netstack(&[
        "--iface",
        "no-such-tap",
        "http-get",
        "http://127.0.0.1/",
    ]));
    assert_fails(&out, 2, "loopback");
    // localhost is 127.0.0.1 in any /etc/hosts that lists it; without the line it is an
    // unknown name. Either way netstack cannot use it, and says which.
    let out = run(netstack(&[
        "--iface",
        "no-such-tap",
        "http-get",
        "http://localhost/",
    ]));
    assert_fails(&out, 2, "localhost");
    let out = run(netstack(&[
        "--iface",
        "no-such-tap",
        "http-get",
        "http://no-such-host.invalid/",
    ]));
    assert_fails(&out, 2, "no DNS client");
}
