//! `inmem`: one bulk transfer between two stacks of one kind on the simulated in-memory
//! link; prints one line of `key=value` pairs for `scripts/bench.sh`. Exits 1 if the
//! transfer stalls or the stack refuses the configuration, 2 if the bytes differ.

use clap::{Parser, ValueEnum};

use netstack_bench::bulk;
use netstack_bench::host::{Host, HostParams};
use netstack_bench::netstack_host::NetstackHost;
use netstack_bench::smol_host::SmolHost;
use netstack_bench::wire::LinkParams;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Kind {
    Netstack,
    Smoltcp,
}

/// Bulk transfer between two stacks of one kind on a simulated link with a virtual clock.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Which stack runs on both ends.
    #[arg(long, value_enum)]
    stack: Kind,
    /// Stream bytes from client to server.
    #[arg(long, default_value_t = 1 << 30)]
    bytes: u64,
    /// IP MTU of the link.
    #[arg(long, default_value_t = 1500)]
    mtu: usize,
    /// Send and receive buffer of each socket, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    buffer: usize,
    /// Chance that an IPv4 frame is lost, each direction (0.05 is 5%).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Round-trip time of the link in milliseconds (half each way).
    #[arg(long, default_value_t = 0.0)]
    rtt_ms: f64,
    /// Link rate in Mbit/s; 0 is unlimited.
    #[arg(long, default_value_t = 0)]
    rate_mbps: u64,
    /// Seed of the loss.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let args = Args::parse();
    let params = HostParams {
        mtu: args.mtu,
        buffer: args.buffer,
    };
    let link = LinkParams {
        delay_us: (args.rtt_ms * 500.0) as u64,
        rate_bps: args.rate_mbps * 1_000_000,
        loss: args.loss,
    };
    let hosts = match args.stack {
        Kind::Netstack => pair(NetstackHost::client(params), || {
            NetstackHost::server(params)
        }),
        Kind::Smoltcp => pair(SmolHost::client(params), || SmolHost::server(params)),
    };
    let (mut client, mut server) = hosts.unwrap_or_else(|e| fail(&e));
    let out = bulk::run(
        client.as_mut(),
        server.as_mut(),
        link,
        args.bytes,
        args.seed,
    )
    .unwrap_or_else(|e| fail(&e));
    let virtual_secs = out.virtual_us as f64 / 1e6;
    let mbps = |secs: f64| {
        if secs > 0.0 {
            out.bytes as f64 * 8.0 / secs / 1e6
        } else {
            0.0
        }
    };
    println!(
        "stack={:?} mtu={} bytes={} intact={} wall_s={:.4} wall_mbps={:.1} virtual_s={:.4} \
         virtual_mbps={:.2} frames={}/{} dropped={}/{} {}",
        args.stack,
        args.mtu,
        out.bytes,
        out.intact,
        out.wall_secs,
        mbps(out.wall_secs),
        virtual_secs,
        mbps(virtual_secs),
        out.frames[0],
        out.frames[1],
        out.dropped[0],
        out.dropped[1],
        out.counters.as_deref().unwrap_or("retransmits=-"),
    );
    if !out.intact {
        eprintln!("inmem: the received bytes differ from the bytes sent");
        std::process::exit(2);
    }
}

/// Both ends of the link, boxed so the rest of `main` is the same for every stack.
type Pair = (Box<dyn Host>, Box<dyn Host>);

fn pair<H: Host + 'static>(
    client: Result<H, String>,
    server: impl FnOnce() -> Result<H, String>,
) -> Result<Pair, String> {
    Ok((Box::new(client?), Box::new(server()?)))
}

fn fail(why: &str) -> ! {
    eprintln!("inmem: {why}");
    std::process::exit(1);
}
