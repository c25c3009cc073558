//! `netstack serve --queues N`: one stack per queue of a multi-queue TAP, each on its own
//! event-loop thread (a shard), so N cores can carry traffic.
//!
//! The shards are N copies of one host: the same address and MAC, the same services on
//! the same ports. The kernel keeps each flow on one queue (tun's "automq": a flow's
//! packets go to the queue that last wrote one of its packets, a new flow's to the queue
//! its hash picks), so a connection lives and dies in the shard that saw its SYN. What
//! the shards must not share they split: each allocates ephemeral ports from its own
//! part of the range, so two shards never pick the same 4-tuple. Each shard resolves
//! ARP for itself; the kernel's answer comes back to the queue that asked. ICMP echo is
//! answered by whichever shard the kernel picks.
//!
//! Not with `--pcap`, `--trace`, `--impair`, `--tcp-log` or `--control`, which each
//! describe one stack (run those with one queue), and only on the TAP driver.

use std::ops::RangeInclusive;

use netstack_core::{Config, Stack};
use netstack_drivers::{Device, TapDevice};

use crate::cli::{Driver, NetOptions};
use crate::commands::setup;
use crate::error::CliError;
use crate::runtime::Runtime;

/// The most queues `--queues` takes (the kernel allows 256; more shards than cores only
/// add context switches).
pub const MAX_QUEUES: u16 = 16;

/// Refuses the options that need one stack, in one line each.
pub fn check(net: &NetOptions, queues: u16, control: bool) -> Result<(), CliError> {
    let single = [
        (net.driver != Driver::Tap, "the TAP driver"),
        (net.pcap.is_some(), "no --pcap"),
        (net.trace, "no --trace"),
        (net.impair.is_some(), "no --impair"),
        (net.tcp_log.is_some(), "no --tcp-log"),
        (control, "no --control"),
    ];
    match single.iter().find(|(refused, _)| queues > 1 && *refused) {
        Some((_, needs)) => Err(CliError::usage(format!(
            "--queues {queues} needs {needs} (each of those describes one stack; run it with one queue)"
        ))),
        None => Ok(()),
    }
}

/// Part `i` of `n` of `ports`: the ephemeral ports shard `i` allocates from.
pub fn port_share(ports: &RangeInclusive<u16>, i: usize, n: usize) -> RangeInclusive<u16> {
    let (start, len) = (usize::from(*ports.start()), ports.len());
    let share = len / n;
    let first = start + i * share;
    let last = if i + 1 == n {
        usize::from(*ports.end())
    } else {
        first + share - 1
    };
    // Both stay within `ports`, so within u16.
    first as u16..=last as u16
}

/// Opens `queues` queues of `--iface` and starts one stack on each, with `adjust`
/// applied to every configuration and seeds `seed`, `seed + 1`, ...
pub fn start(
    net: &NetOptions,
    seed: u64,
    queues: u16,
    adjust: impl Fn(&mut Config),
) -> Result<Vec<Runtime>, CliError> {
    let n = usize::from(queues);
    let devices = TapDevice::open_existing_queues(&net.iface, net.offload, n)
        .map_err(|err| setup::explain_open_error(net, &err))?;
    let mut runtimes = Vec::with_capacity(n);
    for (i, device) in devices.into_iter().enumerate() {
        let mut config = setup::config(net)?;
        adjust(&mut config);
        config.ephemeral_ports = port_share(&config.ephemeral_ports, i, n);
        config.mtu = setup::stack_mtu(&device);
        config.tcp.tso = device.offloads().tso;
        let stack = Stack::new(config, seed.wrapping_add(i as u64)).map_err(|err| {
            CliError::usage(format!("{} cannot carry IPv4: {err}", device.name()))
        })?;
        runtimes.push(setup::spawn_batched(stack, Box::new(device), net.batch)?);
    }
    Ok(runtimes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ephemeral_range_is_split_without_overlap_or_gap() {
        let ports = 49152..=65535;
        for n in 1..=MAX_QUEUES as usize {
            let shares: Vec<_> = (0..n).map(|i| port_share(&ports, i, n)).collect();
            assert_eq!(*shares[0].start(), 49152);
            assert_eq!(*shares[n - 1].end(), 65535);
            for w in shares.windows(2) {
                assert_eq!(*w[0].end() + 1, *w[1].start(), "{n} shares: {shares:?}");
            }
            assert!(shares.iter().all(|s| !s.is_empty()));
        }
    }
}
