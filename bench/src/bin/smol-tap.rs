//! `smol-tap`: smoltcp serving chargen (19), discard (9), echo (7), HTTP (80) and ping on
//! a TAP device, for `scripts/bench.sh`. Runs until killed.

use clap::Parser;
use std::net::Ipv4Addr;

use smoltcp::wire::{EthernetAddress, IpAddress, IpCidr};

use netstack_bench::smol_tap::{self, Options};

/// smoltcp on a TAP device with the services the benchmark measures.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// The TAP device (it must exist, e.g. made by scripts/setup-tap.sh).
    #[arg(long, default_value = "tap0")]
    iface: String,
    /// Our address and prefix length.
    #[arg(long, default_value = "10.0.0.2/24", value_parser = parse_cidr)]
    addr: IpCidr,
    /// Our MAC address.
    #[arg(long, default_value = "02:00:00:00:00:02", value_parser = parse_mac)]
    mac: EthernetAddress,
    /// Buffer each way of the chargen and discard sockets, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    bulk_buffer: usize,
    /// Buffer each way of the echo and HTTP sockets, in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    small_buffer: usize,
    /// Sockets per bulk port.
    #[arg(long, default_value_t = 4)]
    bulk_pool: usize,
    /// Sockets per echo and HTTP port: the connections each takes at once.
    #[arg(long, default_value_t = 256)]
    small_pool: usize,
}

fn main() {
    let a = Args::parse();
    let opts = Options {
        iface: a.iface,
        addr: a.addr,
        mac: a.mac,
        bulk_buffer: a.bulk_buffer,
        small_buffer: a.small_buffer,
        bulk_pool: a.bulk_pool,
        small_pool: a.small_pool,
    };
    if let Err(e) = smol_tap::serve(&opts) {
        eprintln!("smol-tap: {}: {e}", opts.iface);
        std::process::exit(1);
    }
}

/// `A.B.C.D/N`.
fn parse_cidr(s: &str) -> Result<IpCidr, String> {
    let (addr, len) = s.split_once('/').ok_or("expected A.B.C.D/N")?;
    let addr: Ipv4Addr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let len: u8 = len.parse().map_err(|e| format!("{len}: {e}"))?;
    if len > 32 {
        return Err(format!("prefix length {len} is over 32"));
    }
    Ok(IpCidr::new(IpAddress::Ipv4(addr), len))
}

/// Six hex bytes separated by colons.
fn parse_mac(s: &str) -> Result<EthernetAddress, String> {
    let bytes: Vec<u8> = s
        .split(':')
        .map(|b| u8::from_str_radix(b, 16))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{s}: {e}"))?;
    let bytes: [u8; 6] = bytes
        .try_into()
        .map_err(|_| format!("{s}: not six bytes"))?;
    Ok(EthernetAddress(bytes))
}
