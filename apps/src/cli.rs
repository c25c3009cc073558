//! The command line, as clap derives it, and the parsers for its values.
//!
//! Every malformed value is refused by clap with a one-line reason; what is well formed
//! but makes no sense together (a gateway off our prefix) is refused later by
//! `Config::validate`.

use std::fmt;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use netstack_core::tcp::Algorithm;
use netstack_core::{Config, MacAddr};
use netstack_drivers::{Batch, FaultConfig, Offload};

use crate::http_client::url::Url;

/// The address and prefix the project uses by default.
pub const DEFAULT_ADDR: &str = "10.0.0.2/24";
/// The gateway used when `--gateway` is not given and it lies on our prefix.
pub const DEFAULT_GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);

/// netstack: a userspace IPv4 stack on a TAP interface.
#[derive(Debug, Parser)]
#[command(
    name = "netstack",
    version,
    about = "A userspace TCP/IP stack (Ethernet, ARP, IPv4, ICMP, UDP, TCP) on a TAP interface: \
             serves echo, discard, chargen and HTTP, and pings, echoes and fetches as a client",
    after_help = "With no command, `serve` runs. `netstack demo` needs no privileges.\n\
                  Create tap0 once with: sudo scripts/setup-tap.sh\n\
                  Logging: RUST_LOG=debug netstack ..."
)]
pub struct Cli {
    /// Where the stack lives and how it is seen.
    #[command(flatten)]
    pub net: NetOptions,

    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options shared by every command: the link, the stack's addresses, diagnostics.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Stack options (any command)")]
pub struct NetOptions {
    /// Interface to attach to
    #[arg(long, global = true, value_name = "NAME", default_value = "tap0")]
    pub iface: String,

    /// A TAP made by scripts/setup-tap.sh, af-packet on an existing interface, or memory:
    /// a cable to a second netstack in this process at 10.0.0.1 running serve's
    /// services (no root needed)
    #[arg(long, global = true, value_enum, default_value_t = Driver::Tap)]
    pub driver: Driver,

    /// The stack's own address and prefix length
    #[arg(long, global = true, value_name = "A.B.C.D/N", default_value = DEFAULT_ADDR, value_parser = parse_cidr)]
    pub addr: Cidr,

    /// Next hop for off-prefix destinations, or "none" [default: 10.0.0.1 when it is on
    /// our prefix, else none]
    #[arg(long, global = true, value_name = "A.B.C.D|none", value_parser = parse_gateway)]
    pub gateway: Option<Gateway>,

    /// The stack's Ethernet address
    #[arg(long, global = true, value_name = "MAC", default_value = "02:00:00:00:00:02", value_parser = parse_mac)]
    pub mac: MacAddr,

    /// Record every frame received and sent to this pcap file (Wireshark, tshark)
    #[arg(long, global = true, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Print one line per frame received and sent, and per TCP state change, on stderr
    #[arg(long, global = true)]
    pub trace: bool,

    /// Write one JSON line per TCP connection event (state, segment sent, ACK, loss,
    /// timeout, cwnd) to FILE, for `netstack plot`
    #[arg(long, global = true, value_name = "FILE")]
    pub tcp_log: Option<PathBuf>,

    /// Seed the stack's random numbers with N, to replay a run exactly [default: from the OS]
    #[arg(long, global = true, value_name = "N")]
    pub seed: Option<u64>,

    /// TCP congestion control: cubic (RFC 9438) or reno (NewReno, RFC 5681 and 6582)
    #[arg(long, global = true, value_name = "ALGORITHM", default_value = "cubic", value_parser = parse_cc)]
    pub cc: Algorithm,

    /// TAP offloads: on (the virtio-net header; the kernel and the stack exchange TCP
    /// segments of up to 64 KB and leave checksums to each other, TSO and GRO) or off
    /// (plain frames of at most the MTU, one segment each)
    #[arg(long, global = true, value_name = "on|off", default_value = "on", value_parser = parse_offload)]
    pub offload: Offload,

    /// Receive coalescing: on (consecutive in-order TCP segments read in one wake-up are
    /// joined before TCP sees them, a software GRO, and TCP sends what the wake-up made
    /// it decide at its end: fewer segments to process, fewer ACKs, larger TSO frames)
    /// or off (each frame is its own segment, and TCP sends as it decides)
    #[arg(long, global = true, value_name = "on|off", default_value = "on", action = clap::ArgAction::Set, value_parser = parse_on_off)]
    pub coalesce: bool,

    /// Impair our end of the link, both ways (tx: or rx: before a field: one way), e.g.
    /// loss=5%,dup=1%,reorder=2%,corrupt=0.5%,delay=10ms,jitter=2ms,rate=100mbit,seed=7
    /// (also burst=1%/25% and queue=1000; README: Impairing the link)
    #[arg(long, global = true, value_name = "SPEC", value_parser = parse_impair)]
    pub impair: Option<FaultConfig>,

    /// Do not offer selective acknowledgments (RFC 2018): recover from loss with
    /// NewReno's fast recovery alone
    #[arg(long, global = true)]
    pub no_sack: bool,

    /// Batching: on (up to 64 frames read per wake-up; with af-packet, a TPACKET_V3
    /// receive ring and one sendmmsg per round) or off (one frame per wake-up and per
    /// system call)
    #[arg(long, global = true, value_name = "on|off", default_value = "on", value_parser = parse_batch)]
    pub batch: Batch,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve until Ctrl-C (the default): ARP and ping; TCP and UDP echo (7), TCP discard (9),
    /// chargen (19), and HTTP (80: a status page, /bytes/N, POST /sha256); with --control,
    /// also the sockets of programs started with `netstack run`
    Serve(ServeArgs),
    /// Run PROGRAM with its IPv4 TCP sockets on netstack (needs `netstack serve
    /// --control`): `netstack run -- curl http://10.0.0.1/`
    #[command(after_help = RUN_HELP)]
    Run(RunArgs),
    /// Send ICMP echo requests and print the replies, like ping(8)
    Ping(PingArgs),
    /// Copy stdin to an echo server over TCP (or each line as a UDP datagram with --udp) and print what comes back
    Echo(EchoArgs),
    /// Fetch an http:// URL with HTTP/1.1 GET over netstack's TCP; the body goes to stdout
    #[command(after_help = HTTP_GET_HELP)]
    HttpGet(HttpGetArgs),
    /// Two stacks in this process on a virtual cable: A pings B, echoes over TCP and fetches a page (no privileges needed)
    Demo,
    /// Draw one connection of a --tcp-log file as an SVG chart: cwnd, ssthresh and bytes
    /// in flight (the default), or a tcptrace-style time-sequence plot (--kind seq)
    Plot(PlotArgs),
}

/// `netstack plot`'s options.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// A log written by --tcp-log
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The SVG file to write
    #[arg(short = 'o', long = "output", value_name = "OUT.svg")]
    pub output: PathBuf,

    /// What to draw
    #[arg(long, value_enum, default_value_t = PlotKind::Cwnd)]
    pub kind: PlotKind,

    /// The connection to draw: any part of its `local>remote` in the log, such as
    /// `10.0.0.1:80>` [default: the one that sent the most data]
    #[arg(long, value_name = "TEXT")]
    pub conn: Option<String>,
}

/// `netstack plot --kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlotKind {
    // No doc comments here: clap would switch the whole help to its long layout.
    Cwnd,
    Seq,
}

/// What `netstack http-get --help` says after the options.
const HTTP_GET_HELP: &str = "\
Host names: HOST is an IPv4 address, or a name listed in /etc/hosts (IPv4 lines
only). netstack has no DNS client yet, so no other name resolves. Loopback
addresses (localhost is 127.0.0.1) are the kernel's own and out of netstack's
reach: use the kernel's address on the link, such as 10.0.0.1.

Redirects (301, 302, 303, 307, 308) are followed, up to 5.

Exit status, like curl -f: 0 for a 2xx response; 1 for any other status (nothing
is written, and the error says `HTTP 404 Not Found`), too many redirects, or a
connection refused, reset or timed out; 2 for a malformed URL or a host netstack
cannot reach. With -o, a failed download leaves no partial file behind.";

/// `netstack http-get`'s options.
#[derive(Debug, Clone, Args)]
pub struct HttpGetArgs {
    /// The URL to fetch.
    #[arg(
        value_name = "URL",
        value_parser = parse_url,
        help = "http://HOST[:PORT][/PATH][?QUERY] (HOST: an IPv4 address or a name in /etc/hosts)"
    )]
    pub url: Url,

    /// Write the body to FILE instead of stdout (removed again if the download fails)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Seconds to wait for the connection, and then for each read or write
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// `netstack echo`'s options.
#[derive(Debug, Clone, Args)]
pub struct EchoArgs {
    /// The echo server's IPv4 address
    #[arg(value_name = "HOST", value_parser = parse_host)]
    pub host: Ipv4Addr,

    /// The server's port
    #[arg(long, short = 'p', default_value_t = 7)]
    pub port: u16,

    /// Use UDP: one datagram per line (default: TCP)
    #[arg(long)]
    pub udp: bool,

    /// Seconds to wait for each reply
    #[arg(short = 'W', long = "timeout", value_name = "SECONDS", default_value = "2", value_parser = parse_timeout)]
    pub timeout: Duration,
}

/// Where `serve --control` and `run` meet when neither is told.
pub const DEFAULT_CONTROL: &str = "/tmp/netstack.sock";

/// `netstack serve`'s options.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Also accept programs started with `netstack run` on this Unix socket
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = DEFAULT_CONTROL)]
    pub control: Option<PathBuf>,

    /// Run one stack per queue of a multi-queue TAP, each on its own thread (make the TAP
    /// with `scripts/setup-tap.sh --queues N`); the kernel keeps each flow on one queue
    #[arg(long, value_name = "N", default_value = "1",
          value_parser = clap::value_parser!(u16).range(1..=crate::commands::queues::MAX_QUEUES as i64))]
    pub queues: u16,
}

const RUN_HELP: &str =
    "PROGRAM's AF_INET TCP sockets (socket, bind, listen, accept, connect, ...) \
                        go to the netstack daemon through a preloaded library \
                        (libnetstack_preload.so); loopback, AF_UNIX and IPv6 stay with the \
                        kernel. Start the daemon first: sudo netstack serve --control";

/// `netstack run`'s options.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The daemon's control socket [default: $NETSTACK_CONTROL, else /tmp/netstack.sock]
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,

    /// The shim library [default: $NETSTACK_PRELOAD, else libnetstack_preload.so next to
    /// the netstack binary]
    #[arg(long, value_name = "LIB")]
    pub preload: Option<PathBuf>,

    /// The program and its arguments
    #[arg(value_name = "PROGRAM", required = true, num_args = 1.., trailing_var_arg = true,
          allow_hyphen_values = true)]
    pub program: Vec<std::ffi::OsString>,
}

/// `netstack ping`'s options, named as ping(8)'s.
#[derive(Debug, Clone, Args)]
pub struct PingArgs {
    /// The IPv4 address to ping
    #[arg(value_name = "HOST", value_parser = parse_host)]
    pub host: Ipv4Addr,

    /// Stop after COUNT replies (or when the last request has timed out)
    #[arg(short = 'c', value_name = "COUNT", value_parser = clap::value_parser!(u32).range(1..))]
    pub count: Option<u32>,

    /// Bytes of data per request
    #[arg(short = 's', value_name = "SIZE", default_value_t = 56)]
    pub size: u16,

    /// Seconds between requests (fractions allowed, at least 0.01)
    #[arg(short = 'i', value_name = "SECONDS", allow_negative_numbers = true, default_value = "1", value_parser = parse_interval)]
    pub interval: Duration,

    /// Seconds to wait for a reply after the last request, when none has come
    #[arg(short = 'W', value_name = "TIMEOUT", allow_negative_numbers = true, default_value = "10", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Quiet: print only the header and the summary
    #[arg(short = 'q')]
    pub quiet: bool,
}

/// Which driver opens `--iface`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Driver {
    // No doc comments here: clap would switch the whole help to its long layout.
    Tap,
    AfPacket,
    Memory,
}

/// An address with its prefix length, as `10.0.0.2/24`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The address.
    pub addr: Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub prefix_len: u8,
}

/// `--gateway`'s value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gateway {
    /// `none`: only on-link destinations are reachable.
    None,
    /// A next hop.
    Addr(Ipv4Addr),
}

impl NetOptions {
    /// The stack configuration these options describe (MTU and tunables at their
    /// defaults). Not validated: `Config::validate` says what is wrong with it.
    pub fn config(&self) -> Config {
        let mut config = Config {
            mac: self.mac,
            addr: self.addr.addr,
            prefix_len: self.addr.prefix_len,
            gateway: None,
            ..Config::default()
        };
        config.tcp.congestion = self.cc;
        config.tcp.sack = !self.no_sack;
        config.rx_coalesce = self.coalesce;
        config.gateway = match self.gateway {
            Some(Gateway::None) => None,
            Some(Gateway::Addr(gateway)) => Some(gateway),
            // The default only where it can be right, so `--addr 192.168.7.2/24` alone
            // works (on-link only) instead of failing on a gateway nobody asked for.
            None => (config.on_link(DEFAULT_GATEWAY) && config.addr != DEFAULT_GATEWAY)
                .then_some(DEFAULT_GATEWAY),
        };
        config
    }
}

impl FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Cidr, String> {
        let (addr, len) = s
            .split_once('/')
            .ok_or("expected A.B.C.D/N, for example 10.0.0.2/24")?;
        let addr = addr
            .parse()
            .map_err(|_| format!("{addr:?} is not an IPv4 address"))?;
        let prefix_len = len
            .parse()
            .ok()
            .filter(|&n: &u8| n <= 32)
            .ok_or_else(|| format!("prefix length {len:?} is not a number from 0 to 32"))?;
        Ok(Cidr { addr, prefix_len })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

fn parse_cidr(s: &str) -> Result<Cidr, String> {
    s.parse()
}

fn parse_impair(s: &str) -> Result<FaultConfig, String> {
    s.parse()
        .map_err(|e: netstack_drivers::FaultSpecError| e.to_string())
}

fn parse_offload(s: &str) -> Result<Offload, String> {
    match s {
        "on" => Ok(Offload::On),
        "off" => Ok(Offload::Off),
        _ => Err(format!("{s:?} is not on or off")),
    }
}

fn parse_on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(format!("{s:?} is not on or off")),
    }
}

fn parse_batch(s: &str) -> Result<Batch, String> {
    match s {
        "on" => Ok(Batch::On),
        "off" => Ok(Batch::Off),
        _ => Err(format!("{s:?} is not on or off")),
    }
}

fn parse_cc(s: &str) -> Result<Algorithm, String> {
    Algorithm::from_name(s).ok_or_else(|| format!("{s:?} is not cubic or reno"))
}

fn parse_gateway(s: &str) -> Result<Gateway, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(Gateway::None);
    }
    s.parse()
        .map(Gateway::Addr)
        .map_err(|_| "expected an IPv4 address or \"none\"".to_string())
}

fn parse_mac(s: &str) -> Result<MacAddr, String> {
    s.parse().map_err(|_| {
        "expected six hex bytes separated by colons, for example 02:00:00:00:00:02".to_string()
    })
}

fn parse_host(s: &str) -> Result<Ipv4Addr, String> {
    s.parse().map_err(|_| {
        "expected an IPv4 address such as 10.0.0.1 (netstack resolves no names)".to_string()
    })
}

fn parse_url(s: &str) -> Result<Url, String> {
    Url::parse(s).map_err(|e| e.to_string())
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| "expected a number of seconds, such as 1 or 0.2".to_string())?;
    Duration::try_from_secs_f64(secs)
        .map_err(|_| "expected a non-negative number of seconds".to_string())
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let interval = parse_seconds(s)?;
    if interval < Duration::from_millis(10) {
        return Err(
            "the interval must be at least 0.01 seconds (netstack does not flood)".to_string(),
        );
    }
    Ok(interval)
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let timeout = parse_seconds(s)?;
    if timeout.is_zero() {
        return Err("the timeout must be more than 0 seconds".to_string());
    }
    Ok(timeout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("netstack").chain(args.iter().copied()))
    }

    #[track_caller]
    fn refused(args: &[&str]) -> String {
        match parse(args) {
            Ok(cli) => panic!("{args:?} was accepted as {cli:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn defaults_are_the_project_conventions() {
        let cli = parse(&[]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.net.iface, "tap0");
        assert_eq!(cli.net.driver, Driver::Tap);
        assert_eq!(cli.net.config(), Config::default());
        assert!(!cli.net.trace && cli.net.pcap.is_none() && cli.net.seed.is_none());
    }

    #[test]
    fn offloads_are_on_unless_turned_off() {
        assert_eq!(parse(&[]).unwrap().net.offload, Offload::On);
        assert_eq!(
            parse(&["--offload", "off"]).unwrap().net.offload,
            Offload::Off
        );
        assert!(refused(&["--offload", "maybe"]).contains("\"maybe\" is not on or off"));
        assert!(parse(&[]).unwrap().net.config().rx_coalesce);
        assert!(
            !parse(&["--coalesce", "off"])
                .unwrap()
                .net
                .config()
                .rx_coalesce
        );
        assert!(refused(&["--coalesce", "1"]).contains("\"1\" is not on or off"));
    }

    #[test]
    fn global_options_go_before_or_after_the_command() {
        let before = parse(&[
            "--iface", "tap7", "--seed", "42", "ping", "-c", "3", "10.0.0.1",
        ])
        .unwrap();
        let after = parse(&[
            "ping", "10.0.0.1", "-c", "3", "--iface", "tap7", "--seed", "42",
        ])
        .unwrap();
        for cli in [before, after] {
            assert_eq!(cli.net.iface, "tap7");
            assert_eq!(cli.net.seed, Some(42));
            let Some(Command::Ping(ping)) = cli.command else {
                panic!("not ping: {cli:?}")
            };
            assert_eq!(ping.host, Ipv4Addr::new(10, 0, 0, 1));
            assert_eq!(ping.count, Some(3));
        }
    }

    #[test]
    fn ping_options_read_like_ping8() {
        let cli = parse(&[
            "ping", "-c", "5", "-s", "100", "-i", "0.2", "-W", "2.5", "-q", "10.0.0.1",
        ])
        .unwrap();
        let Some(Command::Ping(p)) = cli.command else {
            panic!("not ping")
        };
        assert_eq!(p.count, Some(5));
        assert_eq!(p.size, 100);
        assert_eq!(p.interval, Duration::from_millis(200));
        assert_eq!(p.timeout, Duration::from_millis(2500));
        assert!(p.quiet);

        let cli = parse(&["ping", "10.0.0.1"]).unwrap();
        let Some(Command::Ping(p)) = cli.command else {
            panic!("not ping")
        };
        assert_eq!(
            (p.count, p.size, p.interval, p.timeout, p.quiet),
            (
                None,
                56,
                Duration::from_secs(1),
                Duration::from_secs(10),
                false
            )
        );
    }

    #[test]
    fn nonsense_values_get_one_line_reasons() {
        assert!(refused(&["--addr", "10.0.0.2"]).contains("expected A.B.C.D/N"));
        assert!(refused(&["--addr", "10.0.0.300/24"]).contains("is not an IPv4 address"));
        assert!(refused(&["--addr", "10.0.0.2/33"]).contains("from 0 to 32"));
        assert!(refused(&["--mac", "02:00:00:00:02"]).contains("six hex bytes"));
        assert!(refused(&["--gateway", "router"]).contains("IPv4 address or \"none\""));
        assert!(refused(&["--driver", "pcap"]).contains("possible values: tap, af-packet, memory"));
        assert!(refused(&["ping", "example.com"]).contains("resolves no names"));
        assert!(refused(&["ping", "-i", "0.001", "10.0.0.1"]).contains("at least 0.01"));
        assert!(refused(&["ping", "-i", "-1", "10.0.0.1"]).contains("non-negative"));
        assert!(refused(&["ping", "-W", "0", "10.0.0.1"]).contains("more than 0"));
        assert!(refused(&["ping", "-c", "0", "10.0.0.1"]).contains("0"));
        assert!(refused(&["ping", "-s", "70000", "10.0.0.1"]).contains("70000"));
        let err = parse(&["ping"]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::MissingRequiredArgument);
        assert!(refused(&["http-get", "https://10.0.0.1/"]).contains("no TLS"));
        assert!(refused(&["http-get", "10.0.0.1"]).contains("starting with http://"));
        assert!(refused(&["http-get", "http://h:0/"]).contains("from 1 to 65535"));
        assert!(refused(&["http-get", "--timeout", "0", "http://h/"]).contains("more than 0"));
        let err = refused(&["--impair", "loss=5%,delay=10", "serve"]);
        assert!(
            err.contains("bad impairment field `delay=10`: expected a duration"),
            "{err}"
        );
    }

    #[test]
    fn impair_goes_with_every_command() {
        for command in [
            &["serve"][..],
            &["ping", "10.0.0.1"],
            &["echo", "10.0.0.1"],
            &["http-get", "http://10.0.0.1/"],
            &["demo"],
        ] {
            let mut args = command.to_vec();
            args.extend(["--impair", "tx:loss=5%,rx:delay=10ms,seed=3"]);
            let impair = parse(&args).unwrap().net.impair.expect("parsed");
            assert_eq!(impair.tx.loss, 0.05);
            assert_eq!(impair.rx.delay, Duration::from_millis(10));
            assert_eq!(impair.seed, 3);
        }
        assert!(parse(&[]).unwrap().net.impair.is_none());
    }

    #[test]
    fn http_get_takes_a_url_an_output_file_and_a_timeout() {
        let cli = parse(&["http-get", "http://10.0.0.1:8000/x", "-o", "/tmp/x"]).unwrap();
        let Some(Command::HttpGet(args)) = cli.command else {
            panic!("not http-get")
        };
        assert_eq!(args.url.to_string(), "http://10.0.0.1:8000/x");
        assert_eq!(args.output, Some(PathBuf::from("/tmp/x")));
        assert_eq!(args.timeout, Duration::from_secs(30));
        let cli = parse(&["http-get", "--timeout", "2.5", "--output", "f", "http://h/"]).unwrap();
        let Some(Command::HttpGet(args)) = cli.command else {
            panic!("not http-get")
        };
        assert_eq!(args.timeout, Duration::from_millis(2500));
        assert_eq!(args.output, Some(PathBuf::from("f")));
    }

    #[test]
    fn lab_options_go_with_every_command_and_plot_takes_a_log() {
        let cli = parse(&[
            "--driver",
            "memory",
            "--tcp-log",
            "t.jsonl",
            "--no-sack",
            "--cc",
            "reno",
            "http-get",
            "http://10.0.0.1/",
        ])
        .unwrap();
        assert_eq!(cli.net.driver, Driver::Memory);
        assert_eq!(cli.net.tcp_log, Some(PathBuf::from("t.jsonl")));
        let config = cli.net.config();
        assert!(!config.tcp.sack);
        assert_eq!(config.tcp.congestion, Algorithm::NewReno);
        assert!(parse(&[]).unwrap().net.config().tcp.sack);

        let cli = parse(&["plot", "t.jsonl", "-o", "seq.svg", "--kind", "seq"]).unwrap();
        let Some(Command::Plot(plot)) = cli.command else {
            panic!("not plot")
        };
        assert_eq!(
            (plot.file, plot.output, plot.kind, plot.conn),
            (
                PathBuf::from("t.jsonl"),
                PathBuf::from("seq.svg"),
                PlotKind::Seq,
                None
            )
        );
        assert!(refused(&["plot", "t.jsonl"]).contains("--output"));
        assert!(refused(&["plot", "t.jsonl", "-o", "x", "--kind", "pie"]).contains("cwnd, seq"));
    }

    #[test]
    fn help_and_version_are_not_errors() {
        assert_eq!(
            parse(&["--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
        assert_eq!(
            parse(&["--version"]).unwrap_err().kind(),
            ErrorKind::DisplayVersion
        );
        assert_eq!(
            parse(&["ping", "--help"]).unwrap_err().kind(),
            ErrorKind::DisplayHelp
        );
    }

    #[test]
    fn gateway_defaults_to_10_0_0_1_only_where_it_is_on_link() {
        let net = parse(&["--addr", "192.168.7.2/24"]).unwrap().net;
        assert_eq!(net.config().gateway, None);
        let net = parse(&["--addr", "10.0.0.1/24"]).unwrap().net;
        assert_eq!(net.config().gateway, None);
        let net = parse(&["--gateway", "none"]).unwrap().net;
        assert_eq!(net.config().gateway, None);
        let net = parse(&["--addr", "10.0.0.7/8", "--gateway", "10.1.1.1"])
            .unwrap()
            .net;
        let config = net.config();
        assert_eq!(
            (config.addr, config.prefix_len, config.gateway),
            (
                Ipv4Addr::new(10, 0, 0, 7),
                8,
                Some(Ipv4Addr::new(10, 1, 1, 1))
            )
        );
        // Well formed but wrong: refused by the stack's validation, not by clap.
        let net = parse(&["--gateway", "192.168.1.1"]).unwrap().net;
        assert!(net.config().validate().is_err());
    }

    #[test]
    fn batching_is_on_unless_turned_off() {
        assert_eq!(parse(&[]).unwrap().net.batch, Batch::On);
        let net = parse(&["--driver", "af-packet", "--batch", "off"])
            .unwrap()
            .net;
        assert_eq!(net.batch, Batch::Off);
        let err = refused(&["--batch", "64"]);
        assert!(err.contains("\"64\" is not on or off"), "{err}");
    }
}
