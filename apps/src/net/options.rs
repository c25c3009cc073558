//! Per-socket options the facade keeps (the stack does not need them): timeouts and
//! blocking mode, shared by every clone of a socket.

use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Default, Clone, Copy)]
struct Values {
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    nonblocking: bool,
}

/// Timeouts and blocking mode.
#[derive(Debug, Default)]
pub(crate) struct Options(Mutex<Values>);

impl Options {
    fn get(&self) -> Values {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn update(&self, f: impl FnOnce(&mut Values)) {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner));
    }

    /// std refuses a zero timeout with `InvalidInput`; so do we.
    fn check(t: Option<Duration>) -> io::Result<()> {
        if t == Some(Duration::ZERO) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot set a 0 duration timeout",
            ));
        }
        Ok(())
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        Self::check(t)?;
        self.update(|v| v.read_timeout = t);
        Ok(())
    }

    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        Self::check(t)?;
        self.update(|v| v.write_timeout = t);
        Ok(())
    }

    pub fn read_timeout(&self) -> Option<Duration> {
        self.get().read_timeout
    }

    pub fn write_timeout(&self) -> Option<Duration> {
        self.get().write_timeout
    }

    pub fn set_nonblocking(&self, on: bool) {
        self.update(|v| v.nonblocking = on);
    }

    /// How a blocking write should wait, as [`read_deadline`](Self::read_deadline).
    pub fn write_deadline(&self) -> Option<Option<Instant>> {
        let v = self.get();
        if v.nonblocking {
            None
        } else {
            Some(v.write_timeout.map(|t| Instant::now() + t))
        }
    }

    /// How a blocking read should wait: `None` = return at once (non-blocking),
    /// `Some(None)` = forever, `Some(Some(t))` = until `t`.
    pub fn read_deadline(&self) -> Option<Option<Instant>> {
        let v = self.get();
        if v.nonblocking {
            None
        } else {
            Some(v.read_timeout.map(|t| Instant::now() + t))
        }
    }
}
