//! `netstack serve`: answer ARP and ping, and run the services (TCP and UDP echo on port
//! 7, TCP discard on 9, chargen on 19, HTTP on 80), on the interface until Ctrl-C or
//! SIGTERM, then print what happened in one line.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cli::{NetOptions, ServeArgs};
use crate::commands::{queues, report, setup, write_out};
use crate::error::CliError;
use crate::runtime::{Handle, Runtime};
use crate::signals;
use netstack_core::Config;

/// Sockets `serve` holds at once, per protocol (`Config::max_sockets`; the library's
/// default is 4,096): enough for 10,000 concurrent clients and then some.
///
/// What the bound allows in memory: an idle established connection costs its state
/// in the stack and its service, under 2 KiB in all (`apps/tests/serve_at_scale.rs`
/// measures it), so 16,384 of them take some 32 MiB. Buffers come on top only while
/// data is in flight: a connection's send and receive buffers (at most 4 MiB each,
/// `TcpConfig`) take memory as data is queued and give it back once it is acknowledged
/// or read. So the table bounds the worst case too, every connection with both buffers
/// full, at 16,384 x 8 MiB = 128 GiB, which only peers that send without reading, on
/// every connection at once, could approach; lower `TcpConfig`'s buffers to bound it
/// tighter. UDP sockets are bounded the same way, each holding at most
/// `Config::udp_recv_buffer` (256 KiB) of datagrams.
pub const MAX_SOCKETS: usize = 16_384;

/// Runs the command; the exit status is 0 after Ctrl-C, 1 if the device failed.
pub fn run(net: &NetOptions, args: &ServeArgs) -> Result<u8, CliError> {
    queues::check(net, args.queues, args.control.is_some())?;
    let bound = |config: &mut Config| config.max_sockets = MAX_SOCKETS;
    let runtimes = if args.queues > 1 {
        queues::start(net, setup::seed(net), args.queues, bound)?
    } else {
        vec![setup::start_with(net, setup::seed(net), bound)?]
    };
    let handles: Vec<Handle> = runtimes.iter().map(Runtime::handle).collect();
    Handle::share_arp_replies(&handles);
    let handle = handles[0].clone();

    let stop = Arc::new(AtomicBool::new(false));
    let (flag, waiters) = (Arc::clone(&stop), handles.clone());
    signals::on_interrupt(move || {
        flag.store(true, Ordering::Release);
        for waiter in &waiters {
            waiter.notify_waiters();
        }
    })?;

    // The same services on every shard.
    let mut services = Vec::new();
    for h in &handles {
        services.extend(
            crate::services::start_all(h)
                .map_err(|err| CliError::failure(format!("cannot start the services: {err}")))?,
        );
    }
    let names: Vec<String> = services
        .iter()
        .take(services.len() / handles.len())
        .map(|s| s.name.clone())
        .collect();
    let control = match &args.control {
        Some(path) => Some(crate::gateway::start(&handle, path).map_err(|err| {
            CliError::failure(format!(
                "cannot open the control socket {}: {err}",
                path.display()
            ))
        })?),
        None => None,
    };
    let config = handle.with_stack(|stack, _| stack.config().clone());
    let mut out = io::stdout();
    let device = match handles.len() {
        1 => handle.device_name().to_string(),
        n => format!("{} ({n} queues, a stack on each)", handle.device_name()),
    };
    write_out(&mut out, &banner(&config, &device, &names))?;
    if let Some(path) = &args.control {
        write_out(
            &mut out,
            &format!(
                "Programs run with `netstack run --control {} -- PROGRAM` use this stack.\n",
                path.display()
            ),
        )?;
    }

    // Returns on Ctrl-C, or at once if the loop stops on its own (device failure).
    handle.wait_for_notice(|| stop.load(Ordering::Acquire));

    if let Some(control) = &control {
        crate::gateway::shutdown_all(control);
    }
    drop(control);
    let lines: Vec<String> = handles
        .iter()
        .map(|h| {
            let counters = h.with_stack(|stack, _| stack.counters().clone());
            report::counters_line(&counters, h.link_drops())
        })
        .collect();
    let faults = handle.faults();
    let mut stopped = Ok(());
    for runtime in runtimes {
        stopped = stopped.and(runtime.shutdown());
    }
    for service in services {
        // Each service's socket call fails once the loop stops, which ends its thread.
        if let Some(thread) = service.thread {
            let _ = thread.join();
        }
    }
    if let [line] = &lines[..] {
        write_out(&mut out, &format!("\nnetstack stopped: {line}\n"))?;
    } else {
        write_out(&mut out, "\nnetstack stopped.\n")?;
        for (i, line) in lines.iter().enumerate() {
            write_out(&mut out, &format!("queue {i}: {line}\n"))?;
        }
    }
    if let Some(report) = faults {
        write_out(&mut out, &format!("{}\n", report::faults_line(&report)))?;
    }
    out.flush().ok();
    stopped.map_err(|err| CliError::failure(err.to_string()))?;
    Ok(0)
}

/// What `serve` prints once it is answering: who it is, what runs, what to try.
fn banner(config: &Config, device: &str, services: &[String]) -> String {
    let addr = config.addr;
    let gateway = config
        .gateway
        .map_or_else(|| "<host address>".to_string(), |g| g.to_string());
    format!(
        "netstack {addr}/{} ({}) on {device}\n\
         Answering ARP and ping. Services: {}.\n\
         From the host, try:\n\
         \x20 ping {addr}\n\
         \x20 curl http://{addr}/\n\
         \x20 nc {addr} 7          (echo; add -u for UDP)\n\
         Ctrl-C to stop. (To have netstack ping the host instead, stop this and run: \
         netstack ping {gateway})\n",
        config.prefix_len,
        config.mac,
        services.join(", "),
    )
}
