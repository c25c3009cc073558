//! `netstack demo`: two stacks in this process joined by an in-memory cable, each under
//! its own runtime, every frame traced. A pings B three times; then B runs a TCP echo
//! service and a tiny web server, written with the socket facade, and A talks to each:
//! a line echoed over TCP, then `GET http://10.0.0.3/` with the HTTP client. At the end
//! both show what they learned. Needs no privileges: nothing touches the host's network.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use netstack_core::{Config, MacAddr, Stack, TcpState};
use netstack_drivers::{Device, Faulty, Pcap, Trace};

use crate::cli::NetOptions;
use crate::commands::{ping_error, report, setup, write_out};
use crate::error::CliError;
use crate::http_client::{self, url::Url, Client, NetstackConnector};
use crate::net::{TcpListener, TcpStream};
use crate::ping::{PingOptions, Session};
use crate::runtime::{Handle, Runtime};
use crate::services::tcp_echo;
use crate::tcp_log::EventOutputs;

/// The demo's two hosts: name, address, MAC.
const HOSTS: [(&str, Ipv4Addr, MacAddr); 2] = [
    ("A", Ipv4Addr::new(10, 0, 0, 2), MacAddr([2, 0, 0, 0, 0, 2])),
    ("B", Ipv4Addr::new(10, 0, 0, 3), MacAddr([2, 0, 0, 0, 0, 3])),
];

/// How long any one step of the TCP and HTTP sections may take: on an in-memory cable
/// each takes milliseconds, so this only stops a bug from hanging the demo.
const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// The line A sends to B's echo service.
const ECHO_LINE: &str = "hello from A\n";

/// The page B's web server serves at `/`.
const PAGE: &str = "Hello from B! This page came over netstack's TCP, on a virtual cable.\n";

/// Runs the demo. `--pcap` (a capture of A's side), `--impair` (on A's end of the
/// cable), `--tcp-log` (both hosts), `--seed`, `--cc` and `--no-sack` apply; the link
/// options do not, as the demo makes its own link.
pub fn run(net: &NetOptions) -> Result<u8, CliError> {
    let mut out = io::stdout();
    let seed = setup::seed(net);
    let (a_end, b_end) = netstack_drivers::memory::link(1500)
        .map_err(|err| CliError::failure(format!("cannot create the virtual cable: {err}")))?;

    let a_device: Box<dyn Device> = match &net.pcap {
        Some(path) => Box::new(Pcap::new(a_end, path).map_err(|err| {
            CliError::failure(format!(
                "cannot create capture file {}: {err}",
                path.display()
            ))
        })?),
        None => Box::new(a_end),
    };
    let a_device: Box<dyn Device> = match net.impair {
        Some(config) => Box::new(
            Faulty::new(a_device, config)
                .map_err(|err| CliError::usage(format!("--impair: {err}")))?,
        ),
        None => a_device,
    };
    // Both traces count from one epoch, so their clocks agree; state changes are
    // traced among the frames, and logged with `--tcp-log`.
    let events = EventOutputs::new(net.tcp_log.as_deref(), None)?;
    let (a_device, b_device) = (traced("A", a_device), traced("B", Box::new(b_end)));
    let a = start_host(0, a_device, seed, net)?;
    let b = start_host(1, b_device, seed.wrapping_add(1), net)?;
    for (name, host) in [("A", &a), ("B", &b)] {
        let trace = Box::new(LinePrefix::new(format!("  {name}")));
        if let Some(sink) = events.with_trace(trace).sink() {
            host.handle().set_event_sink(sink);
        }
    }
    let (ha, hb) = (a.handle(), b.handle());

    let [(_, a_ip, a_mac), (_, b_ip, b_mac)] = HOSTS;
    write_out(
        &mut out,
        &format!(
            "netstack demo: two hosts on one virtual cable, inside this process.\n\n\
             \x20 A  {a_ip}/24  {a_mac}\n\
             \x20 B  {b_ip}/24  {b_mac}\n\n\
             Each host is a netstack Stack driven by its own event loop thread. Every frame a\n\
             host sends (tx) or receives (rx) is printed below, after the host's letter.\n\n\
             == A pings B ==\n\
             A knows B's IP address but not its MAC address, so its first echo request waits\n\
             while A broadcasts an ARP request (\"who-has {b_ip}\"). B replies, and learns A's\n\
             address from the request as it does (RFC 826). Then the pings flow.\n\n"
        ),
    )?;

    let options = PingOptions {
        destination: b_ip,
        count: Some(3),
        size: 56,
        interval: Duration::from_millis(200),
        linger: Duration::from_secs(2),
        quiet: false,
    };
    let never = AtomicBool::new(false);
    let outcome = Session::start(&ha, options)
        .and_then(|session| session.run(&mut out, &never))
        .map_err(ping_error)?;

    // B's services: listening sends nothing, so they start quietly.
    tcp_echo::start_echo(&hb, tcp_echo::ECHO_PORT)
        .map_err(|e| CliError::failure(format!("host B: cannot start the echo service: {e}")))?;
    start_web_server(&hb)
        .map_err(|e| CliError::failure(format!("host B: cannot start the web server: {e}")))?;
    echo_over_tcp(&mut out, &ha, &hb, b_ip)?;
    fetch_page(&mut out, &ha, &hb, b_ip)?;

    write_out(
        &mut out,
        "\n== ARP tables ==\nWhat each host learned (ip neigh style). A asked; B learned A from A's request.\n",
    )?;
    for (name, handle) in [("A", &ha), ("B", &hb)] {
        write_out(&mut out, &arp_table(name, handle))?;
    }

    write_out(&mut out, "\n== Counters ==\n")?;
    for (name, handle) in [("A", &ha), ("B", &hb)] {
        let counters = handle.with_stack(|stack, _| stack.counters().clone());
        write_out(
            &mut out,
            &format!(
                "{name}: {}\n",
                report::counters_line(&counters, handle.link_drops())
            ),
        )?;
    }
    if let Some(report) = ha.faults() {
        write_out(&mut out, &format!("A: {}\n", report::faults_line(&report)))?;
    }
    if let Some(path) = &net.pcap {
        write_out(
            &mut out,
            &format!(
                "\nA's side of the cable was captured to {} (wireshark, tshark -r).\n",
                path.display()
            ),
        )?;
    }

    for (name, runtime) in [("A", a), ("B", b)] {
        runtime
            .shutdown()
            .map_err(|err| CliError::failure(format!("host {name}: {err}")))?;
    }
    Ok(if outcome.stats.received > 0 {
        0
    } else {
        crate::error::EXIT_FAILURE
    })
}

/// The TCP section: A connects to B's echo service, sends a line, reads it back and
/// closes; both ends finish closing before the story goes on.
fn echo_over_tcp(
    out: &mut dyn Write,
    a: &Handle,
    b: &Handle,
    b_ip: Ipv4Addr,
) -> Result<(), CliError> {
    write_out(
        out,
        &format!(
            "\n== A opens a TCP connection to B's echo service ==\n\
             B listens on TCP port {port} (echo, RFC 862). A connects with the three-way\n\
             handshake (RFC 9293 3.5): SYN (Flags [S]), SYN-ACK ([S.]), ACK ([.]). A sends a\n\
             line ([P.]) and B sends it back. Then A closes its side with a FIN ([F.]); B,\n\
             having nothing more to echo, closes too, and each FIN is acknowledged.\n\n",
            port = tcp_echo::ECHO_PORT
        ),
    )?;
    let failed = |what: &str| {
        let what = what.to_string();
        move |e: io::Error| CliError::failure(format!("A: {what}: {e}"))
    };
    let server = SocketAddr::from((b_ip, tcp_echo::ECHO_PORT));
    let stream = TcpStream::connect_timeout(a, &server, STEP_TIMEOUT)
        .map_err(failed("cannot connect to B's echo service"))?;
    stream
        .set_read_timeout(Some(STEP_TIMEOUT))
        .map_err(failed("set a read timeout"))?;
    (&stream)
        .write_all(ECHO_LINE.as_bytes())
        .map_err(failed("cannot send"))?;
    // Read the echo before closing, so the trace shows the line go and come back first.
    let mut reader = BufReader::new(&stream);
    let mut echoed = String::new();
    reader
        .read_line(&mut echoed)
        .map_err(failed("no echo from B"))?;
    stream
        .shutdown(Shutdown::Write)
        .map_err(failed("cannot close"))?;
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(failed("B did not close"))?;
    drop(reader);
    drop(stream);
    settle(a, b);
    write_out(
        out,
        &format!("\nA sent {ECHO_LINE:?} and read back {echoed:?}.\n"),
    )?;
    if echoed != ECHO_LINE || !rest.is_empty() {
        return Err(CliError::failure(format!(
            "B's echo service sent back {echoed:?} instead of {ECHO_LINE:?}"
        )));
    }
    Ok(())
}

/// The HTTP section: A fetches B's page with the HTTP client and prints what came back.
fn fetch_page(out: &mut dyn Write, a: &Handle, b: &Handle, b_ip: Ipv4Addr) -> Result<(), CliError> {
    let url = Url::parse(&format!("http://{b_ip}/"))
        .map_err(|e| CliError::failure(format!("the demo's URL: {e}")))?;
    write_out(
        out,
        &format!(
            "\n== A fetches {url} ==\n\
             B also runs a tiny web server on TCP port 80, written with the same sockets. A\n\
             connects (a new handshake, from a new port), sends an HTTP/1.1 GET request\n\
             (RFC 9112), and B answers with a status line, header fields and the page, then\n\
             closes the connection, as the request's \"Connection: close\" asked.\n\n"
        ),
    )?;
    let mut client = Client::new(NetstackConnector::new(a, STEP_TIMEOUT));
    let mut response = client
        .get(&url)
        .map_err(|e| CliError::failure(format!("A: {url}: {e}")))?;
    let mut page = String::new();
    response
        .body
        .read_to_string(&mut page)
        .map_err(|e| CliError::failure(format!("A: {url}: {e}")))?;
    let head = response.head.clone();
    drop(response);
    settle(a, b);

    let mut text = String::from("\nWhat A sent (>) and B answered (<), as curl -v shows it:\n");
    for line in http_client::request(&url)
        .lines()
        .take_while(|l| !l.is_empty())
    {
        text.push_str(&format!("  > {line}\n"));
    }
    text.push_str(&format!("  < {}\n", head.status_line()));
    for field in &head.headers {
        let value = String::from_utf8_lossy(&field.value);
        text.push_str(&format!("  < {}: {value}\n", field.name));
    }
    text.push_str("  <\n");
    for line in page.lines() {
        text.push_str(&format!("  < {line}\n"));
    }
    write_out(out, &text)?;
    if head.status != 200 || page != PAGE {
        return Err(CliError::failure(format!(
            "A: {url}: expected 200 and B's page, got {}",
            head.status_line()
        )));
    }
    Ok(())
}

/// Waits (a moment, on this cable) until neither host has a connection still closing,
/// so the last ACK's trace lines come before the next part of the story. A's side ends
/// in TIME-WAIT, which the socket table no longer lists.
fn settle(a: &Handle, b: &Handle) {
    let deadline = Instant::now() + STEP_TIMEOUT;
    for host in [a, b] {
        host.wait_until(Some(deadline), |stack| {
            let sockets = stack.tcp().sockets();
            sockets
                .iter()
                .all(|s| s.state == TcpState::Listen)
                .then_some(())
        });
    }
}

/// B's web server: one route, `GET /`, answered with [`PAGE`]; anything else is a 404.
/// One connection at a time, each closed after its response. The thread ends when B's
/// runtime stops.
fn start_web_server(net: &Handle) -> io::Result<()> {
    let listener = TcpListener::bind(net, ("0.0.0.0", 80))?;
    std::thread::Builder::new()
        .name("demo-http".to_string())
        .spawn(move || {
            while let Ok((stream, peer)) = listener.accept() {
                if let Err(e) = answer(&stream) {
                    log::debug!("demo web server, {peer}: {e}");
                }
            }
        })?;
    Ok(())
}

/// Reads one request head and answers it.
fn answer(stream: &TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(STEP_TIMEOUT))?;
    let mut reader = BufReader::new(stream).take(16 * 1024);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The header fields are not needed: read up to the empty line that ends them.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    let (status, body) = match request_line.split(' ').take(2).collect::<Vec<_>>()[..] {
        ["GET", "/"] => ("200 OK", PAGE),
        _ => ("404 Not Found", "Not found: this server has only /.\n"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut writer = stream;
    writer.write_all(response.as_bytes())?;
    stream.shutdown(Shutdown::Write)
}

/// `device` with every frame printed on stdout after `name`.
fn traced(name: &str, device: Box<dyn Device>) -> Box<dyn Device> {
    Box::new(Trace::with_start(
        device,
        Box::new(LinePrefix::new(format!("  {name}"))),
        crate::tcp_log::epoch(),
    ))
}

/// Builds host `index` of [`HOSTS`] on `device` and starts its loop. TCP runs as
/// `--cc` and `--no-sack` say.
fn start_host(
    index: usize,
    device: Box<dyn Device>,
    seed: u64,
    net: &NetOptions,
) -> Result<Runtime, CliError> {
    let (name, addr, mac) = HOSTS[index];
    let config = Config {
        addr,
        mac,
        prefix_len: 24,
        gateway: None,
        tcp: net.config().tcp,
        ..Config::default()
    };
    // Fixed, valid addresses: a failure here is a bug in this file.
    let stack =
        Stack::new(config, seed).map_err(|err| CliError::failure(format!("host {name}: {err}")))?;
    setup::spawn(stack, device)
}

/// One host's ARP cache, a line per entry.
fn arp_table(name: &str, handle: &Handle) -> String {
    let (entries, now) = handle.with_stack(|stack, now| (stack.arp_entries(), now));
    let mut text = format!("{name}:\n");
    if entries.is_empty() {
        text.push_str("  (empty)\n");
    }
    for entry in &entries {
        text.push_str(&format!("  {}\n", report::arp_entry_line(entry, now)));
    }
    text
}

/// A writer for [`Trace`] that puts `prefix` before every line and writes each line to
/// stdout whole, so the two hosts' traces and the story interleave line by line.
/// Write errors are ignored (see `write`).
struct LinePrefix {
    prefix: String,
    pending: Vec<u8>,
}

impl LinePrefix {
    fn new(prefix: String) -> LinePrefix {
        LinePrefix {
            prefix,
            pending: Vec::new(),
        }
    }
}

impl Write for LinePrefix {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let mut whole = self.prefix.clone().into_bytes();
            whole.extend_from_slice(&line);
            // If stdout is gone the story ends at its next line; the trace need not
            // complain about it too.
            let _ = io::stdout().write_all(&whole);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = io::stdout().flush();
        Ok(())
    }
}
