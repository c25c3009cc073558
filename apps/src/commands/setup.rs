//! From options to a running runtime: check the configuration, open and wrap the device,
//! build the stack, start the loop. Every failure becomes a [`CliError`] that tells the
//! user what to do next.

use std::io;

use netstack_core::{Config, Stack};
use netstack_drivers::{AfPacketDevice, Batch, Device, Faulty, Offload, Pcap, TapDevice, Trace};

use crate::cli::{Driver, NetOptions};
use crate::error::CliError;
use crate::runtime::Runtime;
use crate::tcp_log::EventOutputs;

/// The largest MTU the stack accepts (IPv4's total length is 16 bits); a bigger link
/// MTU is used only up to this.
const MAX_STACK_MTU: usize = 65535;

/// The remedy printed under a TAP permission error.
const TAP_REMEDY: &str =
    "Create it once with: sudo scripts/setup-tap.sh (then run netstack without sudo), \
                          or try: netstack demo (no privileges needed).";

/// The seed for the stack: `--seed`, or fresh from the OS.
pub fn seed(net: &NetOptions) -> u64 {
    net.seed.unwrap_or_else(crate::seed::from_os)
}

/// The configuration from the options, checked before any device is touched.
pub fn config(net: &NetOptions) -> Result<Config, CliError> {
    let config = net.config();
    config
        .validate()
        .map_err(|err| CliError::usage(format!("bad configuration: {err}")))?;
    Ok(config)
}

/// Opens `--iface` with `--driver`, validates the configuration, and starts a runtime on
/// it with `seed`. The stack's MTU is the interface's.
pub fn start(net: &NetOptions, seed: u64) -> Result<Runtime, CliError> {
    start_with(net, seed, |_| {})
}

/// Like [`start`], with `adjust` changing the configuration first (`serve` raises the
/// socket table's bound).
pub fn start_with(
    net: &NetOptions,
    seed: u64,
    adjust: impl FnOnce(&mut Config),
) -> Result<Runtime, CliError> {
    let mut config = config(net)?;
    adjust(&mut config);
    let events = EventOutputs::from_options(net)?;
    let device = open_device_with(net, seed, &events)?;
    config.mtu = stack_mtu(device.as_ref());
    // TSO where the device (with no wrapper watching frames) segments for us.
    config.tcp.tso = device.offloads().tso;
    let stack = Stack::new(config, seed)
        .map_err(|err| CliError::usage(format!("{} cannot carry IPv4: {err}", device.name())))?;
    let runtime = spawn_batched(stack, device, net.batch)?;
    if let Some(sink) = events.sink() {
        runtime.handle().set_event_sink(sink);
    }
    Ok(runtime)
}

/// The stack's MTU on `device`: the interface's, up to what IPv4 can carry.
pub fn stack_mtu(device: &dyn Device) -> u16 {
    u16::try_from(device.mtu().min(MAX_STACK_MTU)).unwrap_or(1500)
}

/// Starts a runtime, turning the OS's refusal into a [`CliError`].
pub fn spawn(stack: Stack, device: Box<dyn Device>) -> Result<Runtime, CliError> {
    spawn_batched(stack, device, Batch::On)
}

/// Like [`spawn`], with `--batch`: up to a batch of frames read per wake-up, or one.
pub fn spawn_batched(
    stack: Stack,
    device: Box<dyn Device>,
    batch: Batch,
) -> Result<Runtime, CliError> {
    Runtime::spawn_with(stack, device, batch)
        .map_err(|err| CliError::failure(format!("cannot start the event loop: {err}")))
}

/// Opens the device the options name, wrapped for `--pcap` and `--trace`.
pub fn open_device(net: &NetOptions) -> Result<Box<dyn Device>, CliError> {
    open_device_with(net, seed(net), &EventOutputs::default())
}

/// Like [`open_device`]; `seed` and `events` serve `--driver memory`'s peer.
fn open_device_with(
    net: &NetOptions,
    seed: u64,
    events: &EventOutputs,
) -> Result<Box<dyn Device>, CliError> {
    let opened: io::Result<Box<dyn Device>> = match net.driver {
        Driver::Memory => {
            let link = super::peer::open(net, seed, events)?;
            return wrap(Box::new(link), net);
        }
        // An impairment decides frame by frame: with offloads one frame could be 45
        // segments, so `--impair` turns them off (its loss rate is then per segment).
        Driver::Tap => TapDevice::open_existing(
            &net.iface,
            if net.impair.is_some() {
                Offload::Off
            } else {
                net.offload
            },
        )
        .map(|d| Box::new(d) as Box<dyn Device>),
        Driver::AfPacket => {
            AfPacketDevice::open_with(&net.iface, net.batch).map(|d| Box::new(d) as Box<dyn Device>)
        }
    };
    let device = opened.map_err(|err| explain_open_error(net, &err))?;
    wrap(device, net)
}

/// Adds the capture, the impairment and the trace the options ask for, in that order
/// from the device: the capture records what the wire carries (after the impairment
/// on the way out, before it on the way in), the trace what the stack sees.
pub fn wrap(device: Box<dyn Device>, net: &NetOptions) -> Result<Box<dyn Device>, CliError> {
    let device: Box<dyn Device> = match &net.pcap {
        Some(path) => Box::new(Pcap::new(device, path).map_err(|err| {
            CliError::failure(format!(
                "cannot create capture file {}: {err}",
                path.display()
            ))
        })?),
        None => device,
    };
    let device: Box<dyn Device> = match net.impair {
        // The parser validated the configuration; a refusal here is a bug, said plainly.
        Some(config) => Box::new(
            Faulty::new(device, config)
                .map_err(|err| CliError::usage(format!("--impair: {err}")))?,
        ),
        None => device,
    };
    Ok(if net.trace {
        let stderr = Box::new(io::stderr());
        Box::new(Trace::with_start(device, stderr, crate::tcp_log::epoch()))
    } else {
        device
    })
}

/// Prints what `--impair` did on stderr, if it was given: the commands other than
/// `serve` and `demo` print no counters, but a lab wants to see what was injected.
pub fn report_faults(handle: &crate::runtime::Handle) {
    if let Some(report) = handle.faults() {
        eprintln!(
            "netstack: {}",
            crate::commands::report::faults_line(&report)
        );
    }
}

/// The driver's message (which names the interface and the cause) plus what to do.
pub fn explain_open_error(net: &NetOptions, err: &io::Error) -> CliError {
    let iface = &net.iface;
    let remedy = match net.driver {
        _ if netstack_drivers::is_busy(err) => {
            format!(
                "Is another netstack using {iface}? Only one process at a time can attach to it."
            )
        }
        Driver::Tap
            if netstack_drivers::is_permission_problem(err)
                || netstack_drivers::is_missing_interface(err) =>
        {
            TAP_REMEDY.to_string()
        }
        Driver::Tap | Driver::Memory if netstack_drivers::is_missing_tun(err) => {
            "Or try: netstack demo (no privileges needed).".to_string()
        }
        Driver::AfPacket if netstack_drivers::is_permission_problem(err) => {
            "Or use the TAP driver (the default), or try: netstack demo (no privileges needed)."
                .to_string()
        }
        _ if err.kind() == io::ErrorKind::InvalidInput => return CliError::usage(err.to_string()),
        _ => return CliError::failure(err.to_string()),
    };
    CliError::failure(format!("{err}.\n{remedy}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn net(args: &[&str]) -> NetOptions {
        crate::cli::Cli::try_parse_from(std::iter::once("netstack").chain(args.iter().copied()))
            .expect("test arguments parse")
            .net
    }

    #[test]
    fn a_gateway_off_the_prefix_is_a_usage_error_before_any_device_is_opened() {
        // tap0 may not exist here; the configuration is refused first.
        let err = start(&net(&["--gateway", "192.168.1.1"]), 1).expect_err("refused");
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE);
        assert_eq!(
            err.message(),
            "bad configuration: gateway 192.168.1.1 is not another host on our prefix"
        );
        let err = config(&net(&["--mac", "01:00:5e:00:00:01"])).unwrap_err();
        assert!(err.message().contains("not a unicast address"), "{err}");
    }

    #[test]
    fn an_overlong_interface_name_is_a_usage_error() {
        let err = open_device(&net(&["--iface", "a-very-long-interface-name"]))
            .err()
            .expect("refused");
        assert_eq!(err.exit_code(), crate::error::EXIT_USAGE, "{err}");
        assert!(err.message().contains("longer than"), "{err}");
    }
}
