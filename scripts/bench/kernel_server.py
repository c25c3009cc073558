#!/usr/bin/env python3
"""The kernel's side of the kernel <-> kernel ceiling: the services netstack serve and
smol-tap offer, on the kernel's TCP, one thread per connection. Run inside the server
namespace; listens on ADDR (default 0.0.0.0) ports 7 (echo), 9 (discard), 19 (chargen:
the byte pattern i mod 251 until the peer goes) and 80 (HTTP GET /bytes/N, keep-alive).
"""

import socket
import sys
import threading

PATTERN = bytes(i % 251 for i in range(251 * 4096))


def echo(c):
    while True:
        data = c.recv(65536)
        if not data:
            return
        c.sendall(data)


def discard(c):
    buf = bytearray(1 << 20)
    while c.recv_into(buf):
        pass


def chargen(c):
    view = memoryview(PATTERN)
    while True:
        c.sendall(view)


def http(c):
    pending = b""
    while True:
        while b"\r\n\r\n" not in pending:
            data = c.recv(65536)
            if not data:
                return
            pending += data
        head, _, pending = pending.partition(b"\r\n\r\n")
        parts = head.split(b" ")
        path = parts[1].decode() if len(parts) > 1 else "/"
        n = int(path[len("/bytes/"):]) if path.startswith("/bytes/") else 2
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                + f"Content-Length: {n}\r\n\r\n".encode())
        # A small response goes out in one write: two would meet Nagle's algorithm.
        first = min(n, 65536)
        c.sendall(head + PATTERN[:first])
        n -= first
        while n > 0:
            k = min(n, len(PATTERN) - 251)
            c.sendall(PATTERN[:k])
            n -= k


def run(c, handler):
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with c:
            handler(c)
    except OSError:
        pass


def listen(addr, port, handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(4096)
    while True:
        c, _ = s.accept()
        threading.Thread(target=run, args=(c, handler), daemon=True).start()


def main():
    addr = sys.argv[1] if len(sys.argv) > 1 else "0.0.0.0"
    services = {7: echo, 9: discard, 19: chargen, 80: http}
    threads = [threading.Thread(target=listen, args=(addr, p, h), daemon=True)
               for p, h in services.items()]
    for t in threads:
        t.start()
    print(f"kernel_server: listening on {addr} ports 7 9 19 80", file=sys.stderr, flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
