//! What an application sets on a TCP socket before it connects or listens: the sizes of
//! its buffers (SO_RCVBUF, SO_SNDBUF) and whether its port may be shared
//! (SO_REUSEADDR). They shape the SYN, so they must be known before it is sent.
//!
//! Sizes here are bytes of data. The BSD socket API's doubling and its limits
//! (`net.core.rmem_max`, SOCK_MIN_RCVBUF) are the facade's business; the stack only
//! keeps every size within its own bound, the [`TcpConfig`] size.

use super::config::TcpConfig;

/// Socket options given to [`TcpSockets::connect_with`] and
/// [`TcpSockets::listen_with`]; a listener's are inherited by the connections it
/// accepts, as Linux's are.
///
/// [`TcpSockets::connect_with`]: super::TcpSockets::connect_with
/// [`TcpSockets::listen_with`]: super::TcpSockets::listen_with
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// The receive buffer, in bytes of data: the largest window the connection ever
    /// offers, and the window scale its SYN announces (RFC 7323 2.2: "the shift count
    /// ... based on the maximum size of its receive buffer"). `None`: the stack's
    /// [`TcpConfig::recv_buffer`].
    pub recv_buffer: Option<usize>,
    /// The send buffer, in bytes of data: the most the application may have queued,
    /// sent or not, unacknowledged. `None`: [`TcpConfig::send_buffer`].
    pub send_buffer: Option<usize>,
    /// SO_REUSEADDR: the port may be bound while connections of another socket that
    /// also set it hold the port (TIME-WAIT among them), but never beside a listener.
    pub reuse_addr: bool,
}

impl SocketOptions {
    /// The connection config `config` becomes with these options: the buffer sizes,
    /// each within 1 byte and the stack's own bound (the config's size).
    pub fn apply(&self, config: &TcpConfig) -> TcpConfig {
        let mut config = config.clone();
        config.recv_buffer = clamp_buffer(self.recv_buffer, config.recv_buffer);
        config.send_buffer = clamp_buffer(self.send_buffer, config.send_buffer);
        config
    }
}

/// A buffer size asked for, kept within 1 byte and `bound` (`bound` if none was asked).
pub(crate) fn clamp_buffer(asked: Option<usize>, bound: usize) -> usize {
    asked.map_or(bound, |n| n.clamp(1, bound.max(1)))
}
