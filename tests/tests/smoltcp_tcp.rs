//! TCP interop with smoltcp over an in-memory link on a virtual clock: 10 MB each way
//! at once, checked byte for byte, then an orderly close, with our stack as client and
//! as server. No timer is waited for in real time: when nothing moves, the clock jumps to
//! the next deadline of either side.

mod common;
mod smol;

use common::random_bytes;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4};

use netstack_core::{Config, SocketHandle, TcpState};
use smol::{Link, OURS, SMOL};
use smoltcp::iface::SocketHandle as SmolHandle;
use smoltcp::socket::tcp::{self, RecvError, State as SmolState};
use smoltcp::wire::{IpAddress, IpEndpoint};

/// Bytes sent each way.
const BULK: usize = 10 * 1024 * 1024;
/// smoltcp's send and receive buffers.
const SMOL_BUFFER: usize = 256 * 1024;
/// The most the apps move per call.
const CHUNK: usize = 64 * 1024;
/// Loop rounds before the test gives up.
const MAX_ROUNDS: usize = 1_000_000;
/// Virtual time before the test gives up.
const MAX_VIRTUAL_SECS: u64 = 600;

fn smol_socket() -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; SMOL_BUFFER]),
        tcp::SocketBuffer::new(vec![0; SMOL_BUFFER]),
    )
}

/// Which side sends its FIN first; the other closes once it has read end of stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Closer {
    Ours,
    Smol,
}

/// One application's view of the connection: what it sends, what it has received.
struct App {
    out: Vec<u8>,
    sent: usize,
    got: Vec<u8>,
    eof: bool,
    closed: bool,
}

impl App {
    fn new(seed: u64) -> App {
        App {
            out: random_bytes(BULK, seed),
            sent: 0,
            got: Vec::with_capacity(BULK),
            eof: false,
            closed: false,
        }
    }

    fn next_chunk(&self) -> &[u8] {
        &self.out[self.sent..(self.sent + CHUNK).min(BULK)]
    }

    /// Time to close: everything is queued, and either we close first or the peer did.
    fn should_close(&self, first: bool) -> bool {
        !self.closed && self.sent == BULK && (first || self.eof)
    }
}

/// A connection between our stack and smoltcp, with an application on each end.
struct Session {
    link: Link,
    ours: SocketHandle,
    smol: SmolHandle,
    our_app: App,
    smol_app: App,
    closer: Closer,
    rounds: usize,
}

impl Session {
    /// Runs both applications and the link until both have read end of stream and both
    /// connections reached the states an orderly close ends in: TIME-WAIT for the side
    /// that closed first, CLOSED for the other.
    fn run(&mut self) {
        let (our_end, smol_end) = match self.closer {
            Closer::Ours => (TcpState::TimeWait, SmolState::Closed),
            Closer::Smol => (TcpState::Closed, SmolState::TimeWait),
        };
        let mut buf = vec![0u8; CHUNK];
        while self.rounds < MAX_ROUNDS {
            self.rounds += 1;
            let frames = self.link.frames;
            let moved = self.our_turn(&mut buf) + self.smol_turn(&mut buf);
            self.link.drive();
            let our_state = self.link.ours.tcp().state(self.ours).ok();
            let smol_state = self.smol_socket().state();
            if self.our_app.eof
                && self.smol_app.eof
                && our_state == Some(our_end)
                && smol_state == smol_end
            {
                return;
            }
            if moved == 0 && self.link.frames == frames {
                self.link
                    .advance_to_next_timer(netstack_core::Duration::from_secs(1));
            }
            if self.link.now.total_micros() > MAX_VIRTUAL_SECS * 1_000_000 {
                break;
            }
        }
        panic!(
            "the transfer did not finish (want ours {our_end}, smoltcp {smol_end})\n{}",
            self.describe()
        );
    }

    /// Our application: send, read, and shut down when it is time. Returns bytes moved.
    fn our_turn(&mut self, buf: &mut [u8]) -> usize {
        let (now, h) = (self.link.now, self.ours);
        let mut moved = 0;
        if self.our_app.sent < BULK {
            let n = self
                .link
                .ours
                .tcp()
                .send(now, h, self.our_app.next_chunk())
                .unwrap_or_else(|e| panic!("our send: {e}\n{}", self.describe()));
            self.our_app.sent += n;
            moved += n;
        }
        while !self.our_app.eof {
            match self.link.ours.tcp().recv(now, h, buf) {
                Ok(Some(0)) => self.our_app.eof = true,
                Ok(Some(n)) => {
                    self.our_app.got.extend_from_slice(&buf[..n]);
                    moved += n;
                }
                Ok(None) => break,
                Err(e) => panic!("our recv: {e}\n{}", self.describe()),
            }
        }
        if self.our_app.should_close(self.closer == Closer::Ours) {
            self.link
                .ours
                .tcp()
                .shutdown(now, h)
                .unwrap_or_else(|e| panic!("our shutdown: {e}\n{}", self.describe()));
            self.our_app.closed = true;
            moved += 1;
        }
        moved
    }

    /// smoltcp's application: the same, through its socket API.
    fn smol_turn(&mut self, buf: &mut [u8]) -> usize {
        let first = self.closer == Closer::Smol;
        let app = &mut self.smol_app;
        let socket = self.link.sockets.get_mut::<tcp::Socket<'_>>(self.smol);
        let mut moved = 0;
        if app.sent < BULK && socket.can_send() {
            let n = socket
                .send_slice(&app.out[app.sent..(app.sent + CHUNK).min(BULK)])
                .expect("smoltcp can_send said yes");
            app.sent += n;
            moved += n;
        }
        while !app.eof {
            match socket.recv_slice(buf) {
                Ok(0) => break,
                Ok(n) => {
                    app.got.extend_from_slice(&buf[..n]);
                    moved += n;
                }
                Err(RecvError::Finished) => app.eof = true,
                // Not open yet (or reset: `run` reports the state when it gives up).
                Err(RecvError::InvalidState) => break,
            }
        }
        if app.should_close(first) {
            socket.close();
            app.closed = true;
            moved += 1;
        }
        moved
    }

    fn smol_socket(&mut self) -> &mut tcp::Socket<'static> {
        self.link.sockets.get_mut::<tcp::Socket<'static>>(self.smol)
    }

    /// Progress on both sides, our sockets and smoltcp's, for failure messages.
    fn describe(&mut self) -> String {
        let mut out = format!(
            "after {} rounds, virtual time {}, {} frames\n",
            self.rounds, self.link.now, self.link.frames
        );
        for (name, app) in [("ours", &self.our_app), ("smoltcp", &self.smol_app)] {
            let _ = writeln!(
                out,
                "  {name}: sent {}/{BULK}, received {}, eof {}, closed {}",
                app.sent,
                app.got.len(),
                app.eof,
                app.closed
            );
        }
        let socket = self.link.sockets.get::<tcp::Socket<'_>>(self.smol);
        let _ = writeln!(
            out,
            "smoltcp socket: {} send_queue={} recv_queue={}",
            socket.state(),
            socket.send_queue(),
            socket.recv_queue()
        );
        out.push_str("our TCP sockets:\n");
        for row in self.link.ours.tcp().sockets() {
            let _ = writeln!(
                out,
                "  {} {} -> {} send_q={} recv_q={} {:?} {:?}",
                row.state,
                row.local,
                row.remote,
                row.send_queue,
                row.recv_queue,
                row.counters,
                row.details
            );
        }
        let _ = writeln!(out, "our TIME-WAIT: {:?}", self.link.ours.tcp().time_wait());
        let _ = writeln!(out, "our counters: {:?}", self.link.ours.counters());
        out
    }

    /// Both streams arrived whole and in order.
    #[track_caller]
    fn assert_integrity(&mut self) {
        let state = self.describe();
        for (what, got, want) in [
            ("smoltcp -> ours", &self.our_app.got, &self.smol_app.out),
            ("ours -> smoltcp", &self.smol_app.got, &self.our_app.out),
        ] {
            if got != want {
                let first = got.iter().zip(want.iter()).position(|(a, b)| a != b);
                let (got_len, want_len) = (got.len(), want.len());
                panic!(
                    "{what}: got {got_len} bytes, want {want_len}; first difference at byte \
                     {first:?}\n{state}",
                );
            }
        }
    }

    /// The link loses nothing, so our side never retransmitted.
    #[track_caller]
    fn assert_no_retransmissions(&mut self) {
        let row = self
            .link
            .ours
            .tcp()
            .sockets()
            .into_iter()
            .find(|r| r.handle == self.ours)
            .expect("our connection is still in the table");
        assert_eq!(
            row.counters.retransmits,
            0,
            "retransmissions on a lossless link\n{}",
            self.describe()
        );
    }

    /// Lets virtual time pass, `secs` seconds in one-second steps.
    fn wait_virtual(&mut self, secs: u64) {
        for _ in 0..secs {
            self.link.advance(1000);
        }
    }
}

/// Our client against a smoltcp server: 10 MB each way at once; we close first, end in
/// TIME-WAIT, and the entry expires after 2*MSL; smoltcp ends CLOSED via LAST-ACK.
#[test]
fn our_client_and_a_smoltcp_server_move_10_mb_each_way() {
    let session = our_client_session(Link::new());
    let ours = session.ours;
    let remote = SocketAddrV4::new(Ipv4Addr::from(SMOL), 7);
    finish_with_time_wait(session, ours, remote);
}

/// smoltcp offers window scaling and timestamps too: with each of ours alone and all off,
/// the 10 MB each way arrive whole without a retransmission.
#[test]
fn each_tcp_option_on_and_off_with_smoltcp() {
    for (window_scaling, timestamps, sack) in [
        (false, false, false),
        (true, false, false),
        (false, true, false),
        (false, false, true),
    ] {
        let mut config = Config::default();
        config.tcp.window_scaling = window_scaling;
        config.tcp.timestamps = timestamps;
        config.tcp.sack = sack;
        let session = our_client_session(Link::with_config(config));
        eprintln!("ws {window_scaling}, ts {timestamps}, sack {sack}: whole");
        drop(session);
    }
}

/// Our client against a smoltcp server on `link`: 10 MB each way, checked whole.
fn our_client_session(mut link: Link) -> Session {
    let mut server = smol_socket();
    server.listen(7).unwrap();
    let smol = link.sockets.add(server);
    let remote = SocketAddrV4::new(Ipv4Addr::from(SMOL), 7);
    let ours = link.ours.tcp().connect(link.now, remote).unwrap();
    let mut session = Session {
        link,
        ours,
        smol,
        our_app: App::new(1),
        smol_app: App::new(2),
        closer: Closer::Ours,
        rounds: 0,
    };
    session.run();
    session.assert_integrity();
    session.assert_no_retransmissions();
    eprintln!(
        "10 MB each way in {} rounds, {} frames, virtual {}",
        session.rounds, session.link.frames, session.link.now
    );
    session
}

/// Closing the handle keeps the 4-tuple in the buffer-less TIME-WAIT list until 2*MSL.
fn finish_with_time_wait(mut session: Session, ours: SocketHandle, remote: SocketAddrV4) {
    let link = &mut session.link;
    let local = link.ours.tcp().local_addr(ours).unwrap();
    link.ours.tcp().close(link.now, ours).unwrap();
    assert_eq!(link.ours.tcp().time_wait(), vec![(local, remote)]);
    assert!(link.ours.tcp().sockets().is_empty());
    let msl2 = link.ours.config().tcp.msl.saturating_mul(2).total_millis();
    session.wait_virtual(msl2 / 1000 + 1);
    assert!(
        session.link.ours.tcp().time_wait().is_empty(),
        "TIME-WAIT outlived 2*MSL\n{}",
        session.describe()
    );
}

/// A smoltcp client against our server: 10 MB each way at once; smoltcp closes first and
/// ends in TIME-WAIT; we read end of stream, close, and end CLOSED via LAST-ACK.
#[test]
fn a_smoltcp_client_and_our_server_move_10_mb_each_way() {
    let mut link = Link::new();
    let listener = link
        .ours
        .tcp()
        .listen("0.0.0.0:7".parse().unwrap(), 8)
        .unwrap();
    let to_us = IpEndpoint::new(IpAddress::v4(OURS[0], OURS[1], OURS[2], OURS[3]), 7);
    let mut client = smol_socket();
    client
        .connect(link.smol.context(), to_us, 49152)
        .expect("smoltcp connect");
    let smol = link.sockets.add(client);
    let mut accepted = None;
    for _ in 0..100 {
        link.drive();
        accepted = link.ours.tcp().accept(listener).unwrap();
        if accepted.is_some() {
            break;
        }
        link.advance_to_next_timer(netstack_core::Duration::from_secs(1));
    }
    let ours = accepted.unwrap_or_else(|| {
        panic!(
            "no connection to accept by {}; our sockets: {:?}",
            link.now,
            link.ours.tcp().sockets()
        )
    });
    let mut session = Session {
        link,
        ours,
        smol,
        our_app: App::new(3),
        smol_app: App::new(4),
        closer: Closer::Smol,
        rounds: 0,
    };
    session.run();
    session.assert_integrity();
    session.assert_no_retransmissions();
    eprintln!(
        "10 MB each way in {} rounds, {} frames, virtual {}",
        session.rounds, session.link.frames, session.link.now
    );

    // The passive closer keeps nothing: closing the handle frees the connection.
    let link = &mut session.link;
    link.ours.tcp().close(link.now, ours).unwrap();
    let left: Vec<_> = link
        .ours
        .tcp()
        .sockets()
        .into_iter()
        .filter(|r| r.handle != listener)
        .collect();
    assert!(left.is_empty(), "sockets left: {left:?}");
    assert!(link.ours.tcp().time_wait().is_empty());
    // smoltcp's TIME-WAIT (10 s) ends too.
    session.wait_virtual(11);
    let state = session.smol_socket().state();
    assert_eq!(state, SmolState::Closed, "{}", session.describe());
}
