//! Lab 8 (docs/labs/08-sockets.md): a server of your own on netstack's std::net-shaped
//! sockets, and a client, on two stacks joined by an in-memory cable. No root needed:
//!
//! ```text
//! cargo run -p netstack --example lab8_server
//! ```
//!
//! B (10.0.0.3) runs an "uppercase" service on TCP port 5000: one thread per
//! connection, blocking reads, each line sent back in capitals. A (10.0.0.2) connects
//! twice: once with a blocking stream, once non-blocking, where a read that would wait
//! returns `WouldBlock` instead, and the program polls. Change `serve_one` and see.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown};
use std::time::{Duration, Instant};

use netstack::net::{TcpListener, TcpStream};
use netstack::runtime::Runtime;
use netstack_core::{Config, MacAddr, Stack};

const PORT: u16 = 5000;

fn main() -> io::Result<()> {
    let (a_end, b_end) = netstack_drivers::memory::link(1500)?;
    let a = host(Ipv4Addr::new(10, 0, 0, 2), 2, a_end)?;
    let b = host(Ipv4Addr::new(10, 0, 0, 3), 3, b_end)?;

    // B: bind, listen, accept in a loop, a thread per connection.
    let listener = TcpListener::bind(&b.handle(), ("0.0.0.0", PORT))?;
    println!("B: listening on {}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    std::thread::spawn(move || serve_one(stream));
                }
                // The stack stopped: the program is over.
                Err(_) => return,
            }
        }
    });

    // A, blocking: connect, write, read a line back; the calls wait as std's do.
    let stream = TcpStream::connect(&a.handle(), ("10.0.0.3", PORT))?;
    println!(
        "A: connected from {} to {}",
        stream.local_addr()?,
        stream.peer_addr()?
    );
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(&stream);
    for line in ["hello, netstack\n", "sockets from the application's side\n"] {
        (&stream).write_all(line.as_bytes())?;
        let mut reply = String::new();
        reader.read_line(&mut reply)?;
        print!("A: sent {:?}, got back {reply}", line.trim_end());
    }
    stream.shutdown(Shutdown::Write)?;
    let mut rest = String::new();
    reader.read_to_string(&mut rest)?;
    println!("A: the server closed (read returned 0)");

    // A, non-blocking: a read with nothing to read says WouldBlock at once.
    let stream = TcpStream::connect(&a.handle(), ("10.0.0.3", PORT))?;
    stream.set_nonblocking(true)?;
    let mut buf = [0u8; 64];
    match (&stream).read(&mut buf) {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            println!("A: non-blocking read before sending: WouldBlock")
        }
        other => println!("A: non-blocking read before sending: {other:?}"),
    }
    (&stream).write_all(b"polled\n")?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut polls = 0;
    let n = loop {
        match (&stream).read(&mut buf) {
            Ok(n) => break n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                polls += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => return Err(e),
        }
    };
    println!(
        "A: non-blocking read got {:?} after {} WouldBlock polls",
        String::from_utf8_lossy(&buf[..n]).trim_end(),
        if polls > 0 { "some" } else { "no" }
    );
    drop(stream);
    a.shutdown().map_err(io::Error::from)?;
    b.shutdown().map_err(io::Error::from)?;
    Ok(())
}

/// The service: read lines, send each back in capitals, close when the client does.
/// This is the function to make your own.
fn serve_one(stream: TcpStream) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("B: accepted {peer}");
    let mut reader = BufReader::new(&stream);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {
                if (&stream).write_all(line.to_uppercase().as_bytes()).is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
}

/// A stack at `addr` with MAC 02:00:00:00:00:`last`, running on `device`.
fn host(addr: Ipv4Addr, last: u8, device: netstack_drivers::MemoryDevice) -> io::Result<Runtime> {
    let config = Config {
        addr,
        mac: MacAddr([2, 0, 0, 0, 0, last]),
        prefix_len: 24,
        gateway: None,
        ..Config::default()
    };
    let stack = Stack::new(config, u64::from(last)).map_err(io::Error::other)?;
    Runtime::spawn(stack, device)
}
