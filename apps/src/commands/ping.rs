//! `netstack ping HOST`: ping(8) on our own stack. The output matches iputils' line for
//! line; the exit status too: 0 if any reply came, 1 if none, 2 for usage errors.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cli::{NetOptions, PingArgs};
use crate::commands::{ping_error, setup};
use crate::error::{CliError, EXIT_FAILURE};
use crate::ping::{Ending, PingOptions, Session, HEADERS_LEN};
use crate::signals;

/// Runs the command.
pub fn run(net: &NetOptions, args: &PingArgs) -> Result<u8, CliError> {
    let runtime = setup::start(net, setup::seed(net))?;
    let handle = runtime.handle();

    let size = usize::from(args.size);
    // Larger requests leave in fragments; 65507 is the most an IPv4 datagram carries.
    if size + HEADERS_LEN > 65535 {
        return Err(CliError::usage(format!(
            "packet size {size} is too large: at most {} bytes of data fit an IPv4 datagram",
            65535 - HEADERS_LEN
        )));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let (flag, waiter) = (Arc::clone(&stop), handle.clone());
    signals::on_interrupt(move || {
        flag.store(true, Ordering::Release);
        waiter.notify_waiters();
    })?;

    let options = PingOptions {
        destination: args.host,
        count: args.count,
        size,
        interval: args.interval,
        linger: args.timeout,
        quiet: args.quiet,
    };
    let outcome = Session::start(&handle, options)
        .and_then(|session| session.run(&mut io::stdout(), &stop))
        .map_err(ping_error)?;
    setup::report_faults(&handle);
    let stopped = runtime.shutdown();
    if outcome.ending == Ending::RuntimeStopped {
        if let Err(err) = stopped {
            return Err(CliError::failure(err.to_string()));
        }
    }
    Ok(if outcome.stats.received > 0 {
        0
    } else {
        EXIT_FAILURE
    })
}
