//! The HTTP side of `smol-tap`: HTTP/1.1 `GET /bytes/N` (N bytes of the pattern; any
//! other path gets 2 bytes) with keep-alive, one request at a time, which is all the
//! harness asks of it. Not a general HTTP server.

use smoltcp::socket::tcp::Socket;

use crate::pattern;

/// The longest request head accepted; a longer one closes the connection.
const MAX_HEAD: usize = 8 * 1024;

/// One connection's HTTP state: the request head read so far, the response left to send.
#[derive(Default)]
pub struct Http {
    head: Vec<u8>,
    /// Response header bytes not yet queued.
    header: Vec<u8>,
    /// Body bytes queued so far and in all.
    body_sent: u64,
    body_len: u64,
}

impl Http {
    /// Reads requests and writes responses; returns the bytes moved.
    pub fn serve(&mut self, socket: &mut Socket<'_>, scratch: &mut [u8]) -> usize {
        let mut moved = self.write(socket);
        while self.idle() && socket.can_recv() {
            let n = socket.recv_slice(scratch).unwrap_or(0);
            if n == 0 {
                break;
            }
            self.head.extend_from_slice(&scratch[..n]);
            moved += n;
            self.take_request(socket);
            moved += self.write(socket);
        }
        moved
    }

    fn idle(&self) -> bool {
        self.header.is_empty() && self.body_sent == self.body_len
    }

    /// Starts the response to the first complete request head, if one has arrived.
    fn take_request(&mut self, socket: &mut Socket<'_>) {
        let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.head.len() > MAX_HEAD {
                socket.abort();
            }
            return;
        };
        let head = String::from_utf8_lossy(&self.head[..end]).into_owned();
        self.head.drain(..end + 4);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let len = path
            .strip_prefix("/bytes/")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(2);
        self.header = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"
        )
        .into_bytes();
        self.body_sent = 0;
        self.body_len = len;
    }

    /// Queues as much of the response as fits.
    fn write(&mut self, socket: &mut Socket<'_>) -> usize {
        let mut moved = 0;
        if !self.header.is_empty() {
            let n = socket.send_slice(&self.header).unwrap_or(0);
            self.header.drain(..n);
            moved += n;
        }
        while self.header.is_empty() && self.body_sent < self.body_len && socket.can_send() {
            let room = socket.send_capacity() - socket.send_queue();
            let want = (self.body_len - self.body_sent).min(room as u64) as usize;
            let n = socket
                .send_slice(pattern::slice(self.body_sent, want))
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            self.body_sent += n as u64;
            moved += n;
        }
        moved
    }
}
