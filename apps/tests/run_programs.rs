//! `netstack run -- PROGRAM`: unmodified curl, nc and python3 on netstack's TCP/IP,
//! against the kernel on the other side of a TAP, each test in a private namespace.
//!
//! ```text
//!   kernel 10.0.0.1 (curl, nc, std sockets)  <-- tap0 -->  netstack serve --control (10.0.0.2)
//!                                                            ^ Unix sockets
//!                                                          netstack run -- PROGRAM (LD_PRELOAD shim)
//! ```
//!
//! The programs are the machine's own: curl, python3 and OpenBSD netcat. Under CI=true a
//! missing one fails the test (.ci/run installs them); elsewhere the test says it skips.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_exit, in_netns, ip, netstack, text};

const STACK_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const HOST_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Generous: these tests assert behaviour, not speed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `program` runs (`probe` as its arguments); if not, fails under CI=true and
/// otherwise reports the skip.
#[track_caller]
fn have(test: &str, program: &str, probe: &[&str]) -> bool {
    match Command::new(program).args(probe).output() {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: cannot run `{program}` ({e}), and CI=true forbids skipping (.ci/run \
                 installs curl, python3 and netcat-openbsd)"
            );
            netstack_drivers::netns::report_skip(test, &format!("`{program}` is not installed"));
            false
        }
    }
}

/// tap0 with the kernel at 10.0.0.1/24, for the daemon to attach to.
fn tap_lab() {
    ip(&["link", "set", "lo", "up"]);
    ip(&["tuntap", "add", "dev", "tap0", "mode", "tap"]);
    if Path::new("/proc/sys/net/ipv6").exists() {
        // A quiet link (this /proc/sys/net is the namespace's).
        std::fs::write("/proc/sys/net/ipv6/conf/tap0/disable_ipv6", "1").expect("IPv6 off");
    }
    ip(&["addr", "add", "10.0.0.1/24", "dev", "tap0"]);
    ip(&["link", "set", "tap0", "up"]);
}

/// A child process that is killed when dropped, its stdout read line by line.
struct Proc {
    child: Child,
    what: String,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(mut cmd: Command, what: &str) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        let (tx, lines) = mpsc::channel();
        let out = child.stdout.take().expect("piped");
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc {
            child,
            what: what.to_string(),
            lines,
        }
    }

    #[track_caller]
    fn wait_for_line(&self, needle: &str) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(e) => panic!("{} printed no line with {needle:?}: {e}", self.what),
            }
        }
    }

    /// The rest of stdout once the process has exited (killed after TIMEOUT).
    #[track_caller]
    fn finish(mut self) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "{} did not exit", self.what);
            // Polling a child process, not waiting out a protocol timer.
            thread::sleep(Duration::from_millis(20));
        };
        (status.code(), self.lines.try_iter().collect())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `netstack serve --control` on tap0, answering once its banner says so.
struct Daemon {
    proc: Proc,
    control: PathBuf,
    preload: PathBuf,
}

impl Daemon {
    fn start(test: &str) -> Daemon {
        tap_lab();
        let control =
            std::env::temp_dir().join(format!("netstack-{test}-{}.sock", std::process::id()));
        let mut cmd = netstack(&["--iface", "tap0", "serve", "--control"]);
        cmd.arg(&control);
        let proc = Proc::spawn(cmd, "netstack serve --control");
        proc.wait_for_line("Programs run with");
        Daemon {
            proc,
            control,
            preload: common::preload(),
        }
    }

    /// `netstack run --control ... --preload ... -- program args`.
    fn run(&self, program: &[&str]) -> Command {
        let mut cmd = netstack(&["run", "--control"]);
        cmd.arg(&self.control)
            .arg("--preload")
            .arg(&self.preload)
            .arg("--");
        cmd.args(program);
        cmd
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.proc.child.kill();
        let _ = self.proc.child.wait();
        // Killed, the daemon could not remove its sockets' files.
        let _ = std::fs::remove_file(&self.control);
        let mut dgram = self.control.clone().into_os_string();
        dgram.push(".dgram");
        let _ = std::fs::remove_file(dgram);
    }
}

/// Writes `script` to a file of its own for test `test`; the caller removes it.
fn write_script(test: &str, script: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("{test}-{}.py", std::process::id()));
    std::fs::write(&path, script).unwrap();
    path
}

/// A kernel raw TCP socket that sees every TCP segment in the namespace (to read the
/// SYN a program's connect sent), reads bounded by 50 ms.
fn kernel_raw_tcp() -> socket2::Socket {
    let raw = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::RAW,
        Some(socket2::Protocol::TCP),
    )
    .unwrap();
    raw.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    raw
}

/// Bytes no two offsets of which repeat soon: a corrupted or shifted stream shows.
fn body(len: usize) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Connects from the kernel, retrying while the program under netstack is still
/// starting (refused), up to TIMEOUT.
#[track_caller]
fn connect_when_up(addr: SocketAddrV4) -> TcpStream {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match TcpStream::connect_timeout(&addr.into(), TIMEOUT) {
            Ok(s) => return s,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("cannot connect to {addr}: {e}"),
        }
    }
}

/// A one-file HTTP/1.0 server on the kernel's side.
fn kernel_http_server(data: Vec<u8>) -> u16 {
    let listener = TcpListener::bind((HOST_IP, 8000)).expect("kernel server on 10.0.0.1:8000");
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let mut conn = conn;
            let mut head = [0u8; 4096];
            let _ = conn.read(&mut head);
            let _ = write!(
                conn,
                "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                data.len()
            );
            let _ = conn.write_all(&data);
        }
    });
    8000
}

#[test]
fn curl_under_netstack_fetches_a_kernel_file_byte_identical() {
    const TEST: &str = "curl_under_netstack_fetches_a_kernel_file_byte_identical";
    in_netns(TEST, || {
        if !have(TEST, "curl", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let file = body(1 << 20);
        let port = kernel_http_server(file.clone());
        let url = format!("http://{HOST_IP}:{port}/file");
        let out = common::run(daemon.run(&["curl", "-sS", &url]), TIMEOUT);
        assert_exit(&out, 0);
        assert!(
            out.stdout == file,
            "curl got {} bytes, not the 1 MiB file",
            out.stdout.len()
        );
    });
}

#[test]
fn python_http_server_under_netstack_serves_the_kernels_curl() {
    const TEST: &str = "python_http_server_under_netstack_serves_the_kernels_curl";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) || !have(TEST, "curl", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let dir = std::env::temp_dir().join(format!("netstack-{TEST}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = body(300_000);
        std::fs::write(dir.join("file"), &file).unwrap();
        let mut cmd = daemon.run(&["python3", "-m", "http.server", "8080"]);
        cmd.current_dir(&dir).env("PYTHONUNBUFFERED", "1");
        let server = Proc::spawn(cmd, "netstack run -- python3 -m http.server 8080");
        server.wait_for_line("Serving HTTP on 0.0.0.0 port 8080");

        let url = format!("http://{STACK_IP}:8080/file");
        let out = common::run(
            {
                let mut c = Command::new("curl");
                c.args(["-sS", "-m", "20", &url]);
                c
            },
            TIMEOUT,
        );
        assert_exit(&out, 0);
        assert!(
            out.stdout == file,
            "the kernel's curl got {} bytes",
            out.stdout.len()
        );
        // The status page lists the program's listener as netstack's own.
        let status = common::run(
            {
                let mut c = Command::new("curl");
                c.args(["-sS", "-m", "20", &format!("http://{STACK_IP}/")]);
                c
            },
            TIMEOUT,
        );
        assert!(
            text(&status.stdout).contains(":8080"),
            "no :8080 on the status page"
        );
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn nc_under_netstack_as_listener_and_as_client() {
    const TEST: &str = "nc_under_netstack_as_listener_and_as_client";
    in_netns(TEST, || {
        if !have(TEST, "nc", &["-h"]) {
            return;
        }
        let help = Command::new("nc").arg("-h").output().expect("nc -h");
        let variant = text(&help.stderr) + &text(&help.stdout);
        assert!(
            variant.contains("OpenBSD netcat"),
            "these steps use OpenBSD netcat's options (-N, -l PORT); this nc is:\n{variant}"
        );
        let daemon = Daemon::start(TEST);

        // nc -l under netstack; the kernel connects, sends a line and closes.
        let listener = Proc::spawn(
            daemon.run(&["nc", "-4", "-l", "9000"]),
            "netstack run -- nc -l",
        );
        let mut kernel = connect_when_up(SocketAddrV4::new(STACK_IP, 9000));
        kernel.write_all(b"hello from the kernel\n").unwrap();
        drop(kernel);
        let (code, lines) = listener.finish();
        assert_eq!(code, Some(0));
        assert_eq!(lines, ["hello from the kernel"]);

        // nc under netstack connects to the kernel, sends stdin, shuts down (-N).
        let server = TcpListener::bind((HOST_IP, 9001)).unwrap();
        let mut cmd = daemon.run(&["nc", "-N", "10.0.0.1", "9001"]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello from netstack\n")
            .unwrap();
        let (mut conn, peer) = server.accept().unwrap();
        assert_eq!(
            peer.ip(),
            STACK_IP,
            "the connection comes from netstack's address"
        );
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut got = String::new();
        conn.read_to_string(&mut got).unwrap();
        assert_eq!(got, "hello from netstack\n");
        drop(conn);
        assert!(child.wait().unwrap().success());
    });
}

#[test]
fn a_python_socket_program_runs_unchanged() {
    const TEST: &str = "a_python_socket_program_runs_unchanged";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/socket_program.py");
        let kernel_server = TcpListener::bind((HOST_IP, 7002)).unwrap();
        let mut cmd = daemon.run(&["python3", script.to_str().unwrap()]);
        cmd.env("PYTHONUNBUFFERED", "1");
        let program = Proc::spawn(cmd, "netstack run -- python3 socket_program.py");
        program.wait_for_line("listening on ('0.0.0.0', 7000) ('0.0.0.0', 7001)");

        // TCP: socket, bind, listen, accept.
        let mut tcp = connect_when_up(SocketAddrV4::new(STACK_IP, 7000));
        tcp.write_all(b"shout this").unwrap();
        tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut upper = String::new();
        tcp.read_to_string(&mut upper).unwrap();
        assert_eq!(upper, "SHOUT THIS");

        // UDP: recvfrom, sendto.
        let udp = UdpSocket::bind((HOST_IP, 0)).unwrap();
        udp.set_read_timeout(Some(TIMEOUT)).unwrap();
        udp.send_to(b"backwards", (STACK_IP, 7001)).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = udp.recv_from(&mut buf).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"sdrawkcab"[..], (STACK_IP, 7001).into())
        );

        // And a client: connect, getsockname.
        let (mut conn, _) = kernel_server.accept().unwrap();
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut hello = String::new();
        conn.read_to_string(&mut hello).unwrap();
        assert!(hello.starts_with("hello from 10.0.0.2:"), "{hello}");

        let (code, lines) = program.finish();
        assert_eq!(code, Some(0));
        assert_eq!(lines, ["tcp peer 10.0.0.1 udp peer 10.0.0.1"]);
    });
}

#[test]
fn run_misuse_is_one_line_and_nonzero() {
    // No program: clap's usage error.
    let out = common::run(netstack(&["run"]), TIMEOUT);
    let err = assert_exit(&out, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // A program that does not exist: the shell's 127.
    let out = common::run(netstack(&["run", "--", "no-such-program-xyz"]), TIMEOUT);
    let err = assert_exit(&out, 127);
    assert_eq!(
        err.trim(),
        "netstack: run: no-such-program-xyz: command not found"
    );

    // No daemon on the control socket.
    let out = common::run(
        netstack(&[
            "run",
            "--control",
            "/nonexistent/netstack.sock",
            "--",
            "true",
        ]),
        TIMEOUT,
    );
    let err = assert_exit(&out, 1);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("no netstack daemon on /nonexistent/netstack.sock"),
        "{err}"
    );
}

/// Options a program sets reach its netstack connection, and behave as on Linux: a TTL
/// the kernel reads off the segments, TCP_CONGESTION read back and an unknown one
/// refused with ENOENT, and SO_LINGER 0 closing with a reset.
#[test]
fn socket_options_set_by_a_program_act_on_netstack() {
    const TEST: &str = "socket_options_set_by_a_program_act_on_netstack";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let script = r#"
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 5)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"reno")
print("congestion", s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0").decode())
try:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"no-such-cc")
except OSError as e:
    print("unknown congestion:", e.errno == 2)
s.connect(("10.0.0.1", 7100))
s.sendall(b"ttl five")
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
print("ttl", s.getsockopt(socket.IPPROTO_IP, socket.IP_TTL))
s.close()
"#;
        let path = write_script(TEST, script);
        let kernel_raw = kernel_raw_tcp();
        let server = TcpListener::bind((HOST_IP, 7100)).unwrap();
        let out = common::run(daemon.run(&["python3", path.to_str().unwrap()]), TIMEOUT);
        let _ = std::fs::remove_file(&path);
        assert_exit(&out, 0);
        assert_eq!(
            text(&out.stdout),
            "congestion reno\nunknown congestion: True\nttl 5\n"
        );
        let (mut conn, _) = server.accept().unwrap();
        conn.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut got = vec![0u8; 8];
        conn.read_exact(&mut got).unwrap();
        assert_eq!(got, b"ttl five");
        // SO_LINGER 0: the close was a reset, not a FIN.
        let end = conn.read(&mut [0u8; 16]);
        assert_eq!(
            end.map_err(|e| e.kind()),
            Err(std::io::ErrorKind::ConnectionReset),
            "a FIN (read 0) instead of a reset"
        );
        // The data segment carried TTL 5.
        let mut buf = [0u8; 2048];
        let deadline = Instant::now() + TIMEOUT;
        let ttl = loop {
            assert!(
                Instant::now() < deadline,
                "no data segment on the raw socket"
            );
            if let Ok(n) = (&kernel_raw).read(&mut buf) {
                if buf[..n].ends_with(b"ttl five") {
                    break buf[8];
                }
            }
        };
        assert_eq!(ttl, 5);
    });
}

/// SO_RCVBUF, SO_SNDBUF, SO_REUSEADDR and bind() before connect() set by a program
/// under netstack act on netstack's socket: the sizes read back as the kernel's do (the
/// same script run without netstack prints the same), the SYN offers the window scale
/// of the receive buffer, the connection leaves from the bound port, and a listening
/// port is not shared even with SO_REUSEADDR.
#[test]
fn buffer_sizes_reuseaddr_and_bind_before_connect_from_a_program() {
    const TEST: &str = "buffer_sizes_reuseaddr_and_bind_before_connect_from_a_program";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let script = r#"
import errno, socket, sys
SOL, S = socket.SOL_SOCKET, socket
def sizes(s):
    return s.getsockopt(SOL, S.SO_RCVBUF), s.getsockopt(SOL, S.SO_SNDBUF)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(SOL, S.SO_RCVBUF, 8192)
s.setsockopt(SOL, S.SO_SNDBUF, 1)
print("before", *sizes(s))
s.bind(("0.0.0.0", int(sys.argv[1])))
s.connect(("10.0.0.1", 7200))
print("after", *sizes(s))
print("from", s.getsockname()[1])
s.sendall(b"hello")
s.close()
l = socket.socket()
l.setsockopt(SOL, S.SO_REUSEADDR, 5)
print("reuseaddr", l.getsockopt(SOL, S.SO_REUSEADDR))
l.bind(("0.0.0.0", int(sys.argv[2])))
l.listen(4)
other = socket.socket()
other.setsockopt(SOL, S.SO_REUSEADDR, 1)
try:
    other.bind(("0.0.0.0", int(sys.argv[2])))
    print("beside a listener: bound")
except OSError as e:
    print("beside a listener:", errno.errorcode[e.errno])
"#;
        let path = write_script(TEST, script);
        let kernel_raw = kernel_raw_tcp();
        let server = TcpListener::bind((HOST_IP, 7200)).unwrap();
        let script_path = path.to_str().unwrap();
        let kernel_out = common::run(
            {
                let mut cmd = Command::new("python3");
                cmd.args([script_path, "7211", "7212"]);
                cmd
            },
            TIMEOUT,
        );
        let out = common::run(
            daemon.run(&["python3", script_path, "7201", "7202"]),
            TIMEOUT,
        );
        let _ = std::fs::remove_file(&path);
        assert_exit(&kernel_out, 0);
        assert_exit(&out, 0);
        let expected = "before 16384 4608\nafter 16384 4608\nfrom PORT\nreuseaddr 1\n\
                        beside a listener: EADDRINUSE\n";
        assert_eq!(text(&kernel_out.stdout), expected.replace("PORT", "7211"));
        assert_eq!(text(&out.stdout), expected.replace("PORT", "7201"));
        let (_, kernel_peer) = server.accept().unwrap();
        let (_, peer) = server.accept().unwrap();
        assert_eq!((kernel_peer.port(), peer.port()), (7211, 7201));
        // Our SYN offered the window scale of an 8 KiB buffer: none needed.
        let mut buf = [0u8; 2048];
        let deadline = Instant::now() + TIMEOUT;
        let wscale = loop {
            assert!(
                Instant::now() < deadline,
                "no SYN from netstack on the raw socket"
            );
            let Ok(n) = (&kernel_raw).read(&mut buf) else {
                continue;
            };
            let d = &buf[..n];
            let tcp = &d[usize::from(d[0] & 0x0f) * 4..];
            if d[12..16] == STACK_IP.octets() && tcp[13] == 0x02 {
                break syn_option(tcp, 3);
            }
        };
        assert_eq!(wscale, Some(vec![0]));
    });
}

/// SO_LINGER 0 makes close(2) reset, but shutdown(SHUT_WR) is still a FIN, as on
/// Linux: the kernel's side reads the end of the stream, answers, and the program
/// reads the answer.
#[test]
fn linger_zero_then_shutdown_is_a_fin_not_a_reset() {
    const TEST: &str = "linger_zero_then_shutdown_is_a_fin_not_a_reset";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let script = r#"
import socket, struct
s = socket.create_connection(("10.0.0.1", 7300))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.sendall(b"question")
s.shutdown(socket.SHUT_WR)
answer = b""
while True:
    chunk = s.recv(100)
    if not chunk:
        break
    answer += chunk
print(answer.decode())
s.close()
"#;
        let path = write_script(TEST, script);
        let server = TcpListener::bind((HOST_IP, 7300)).unwrap();
        let kernel = thread::spawn(move || {
            let (mut conn, _) = server.accept().unwrap();
            conn.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut got = Vec::new();
            let end = conn.read_to_end(&mut got).map_err(|e| e.kind());
            let _ = conn.write_all(b"answer");
            (end, got)
        });
        let out = common::run(daemon.run(&["python3", path.to_str().unwrap()]), TIMEOUT);
        let _ = std::fs::remove_file(&path);
        let (end, got) = kernel.join().unwrap();
        assert_eq!(
            end,
            Ok(8),
            "the kernel saw a FIN after the question, not a reset"
        );
        assert_eq!(got, b"question");
        assert_exit(&out, 0);
        assert_eq!(text(&out.stdout), "answer\n");
    });
}

/// A connected UDP socket under netstack carries bare datagrams on its descriptor, as
/// on Linux: os.read() and os.write() (which the shim never sees) exchange datagrams
/// with the peer, a zero-length one included, and recv/recvfrom still name the peer.
#[test]
fn read_and_write_on_a_connected_udp_socket_carry_bare_datagrams() {
    const TEST: &str = "read_and_write_on_a_connected_udp_socket_carry_bare_datagrams";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let script = r#"
import os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("10.0.0.1", 7400))
os.write(s.fileno(), b"")
os.write(s.fileno(), b"ping")
print(os.read(s.fileno(), 100))
s.send(b"again")
data, peer = s.recvfrom(100)
print(data, peer)
"#;
        let path = write_script(TEST, script);
        let kernel = UdpSocket::bind((HOST_IP, 7400)).unwrap();
        kernel.set_read_timeout(Some(TIMEOUT)).unwrap();
        let echo = thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = [0u8; 100];
            for _ in 0..3 {
                let (n, from) = kernel.recv_from(&mut buf).unwrap();
                got.push(buf[..n].to_vec());
                if n > 0 {
                    let reply = [b"pong:", &buf[..n]].concat();
                    kernel.send_to(&reply, from).unwrap();
                }
            }
            got
        });
        let out = common::run(daemon.run(&["python3", path.to_str().unwrap()]), TIMEOUT);
        let _ = std::fs::remove_file(&path);
        assert_exit(&out, 0);
        assert_eq!(
            text(&out.stdout),
            "b'pong:ping'\nb'pong:again' ('10.0.0.1', 7400)\n"
        );
        let got = echo.join().unwrap();
        assert_eq!(got, vec![b"".to_vec(), b"ping".to_vec(), b"again".to_vec()]);
    });
}

/// The value of TCP option `kind` in segment `tcp`, if it carries it.
fn syn_option(tcp: &[u8], kind: u8) -> Option<Vec<u8>> {
    let end = usize::from(tcp[12] >> 4) * 4;
    let mut opts = &tcp[20..end.min(tcp.len())];
    while let [k, rest @ ..] = opts {
        match *k {
            0 => return None,
            1 => opts = rest,
            _ => {
                let len = usize::from(*rest.first()?);
                if len < 2 || len > opts.len() {
                    return None;
                }
                if *k == kind {
                    return Some(opts[2..len].to_vec());
                }
                opts = &opts[len..];
            }
        }
    }
    None
}

/// The program's descriptors are real ones, so the kernel's readiness calls work on
/// them untouched: asyncio (epoll and a non-blocking connect finished through
/// SO_ERROR) as a client, select() and a non-blocking accept (EAGAIN) as a server.
#[test]
fn epoll_select_and_nonblocking_calls_work_on_netstack_sockets() {
    const TEST: &str = "epoll_select_and_nonblocking_calls_work_on_netstack_sockets";
    in_netns(TEST, || {
        if !have(TEST, "python3", &["--version"]) {
            return;
        }
        let daemon = Daemon::start(TEST);
        let script = r#"
import asyncio, selectors, socket
async def main():
    r, w = await asyncio.open_connection("10.0.0.1", 7200)
    w.write(b"via epoll\n")
    await w.drain()
    print("asyncio got:", (await r.readline()).decode().strip())
    w.close()
    await w.wait_closed()
asyncio.run(main())
srv = socket.socket()
srv.bind(("0.0.0.0", 7201))
srv.listen()
srv.setblocking(False)
try:
    srv.accept()
except BlockingIOError:
    print("accept: EAGAIN")
sel = selectors.SelectSelector()
sel.register(srv, selectors.EVENT_READ)
print("ready")
sel.select(timeout=30)
conn, peer = srv.accept()
print("select saw", peer[0])
"#;
        let path = write_script(TEST, script);
        let server = TcpListener::bind((HOST_IP, 7200)).unwrap();
        let echo = thread::spawn(move || {
            let (mut conn, _) = server.accept().unwrap();
            conn.set_read_timeout(Some(TIMEOUT)).unwrap();
            let mut line = String::new();
            BufReader::new(&conn).read_line(&mut line).unwrap();
            conn.write_all(line.as_bytes()).unwrap();
            line
        });
        let mut cmd = daemon.run(&["python3", path.to_str().unwrap()]);
        cmd.env("PYTHONUNBUFFERED", "1");
        let program = Proc::spawn(cmd, "netstack run -- python3 (asyncio, select)");
        assert_eq!(
            program.wait_for_line("asyncio got"),
            "asyncio got: via epoll"
        );
        assert_eq!(program.wait_for_line("accept"), "accept: EAGAIN");
        program.wait_for_line("ready");
        assert_eq!(echo.join().unwrap(), "via epoll\n");
        drop(connect_when_up(SocketAddrV4::new(STACK_IP, 7201)));
        let (code, lines) = program.finish();
        let _ = std::fs::remove_file(&path);
        assert_eq!(code, Some(0));
        assert_eq!(lines, ["select saw 10.0.0.1"]);
    });
}
