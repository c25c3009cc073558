#!/usr/bin/env python3
"""The benchmark's client: the kernel's TCP, measuring one server (netstack, smol-tap or
the kernel) from inside a private namespace. Each mode prints one result line on stdout
and gives a reason on stderr and exits 1 on failure. Every socket operation times out.

  source HOST PORT N   read N bytes from a chargen-like port, then close: the server's
                       sending rate, Mbit/s
  sink HOST PORT N     write N bytes to a discard port, shut down, wait for the server's
                       FIN (so every byte reached its application): Mbit/s
  sinks HOST PORT N K  K connections at once, each writing N/K bytes as sink does
                       (threads): the total Mbit/s
  conns HOST PORT N    N times: connect, 1 byte to echo and back, close: connections/s
  http HOST PORT N ka|close
                       N requests of GET /bytes/1: on one keep-alive connection (ka), or a
                       new connection each (close): requests/s
  hold HOST PORT N PID open N connections to echo (each proven by a 1-byte round trip)
                       and keep them all; prints held, and PID's VmRSS growth per
                       connection held (KiB)

source and sink take --deadline S: past it they stop and print the goodput so far,
followed by the word "partial".
"""

import resource
import socket
import sys
import threading
import time

OP_TIMEOUT = 10.0


def connect(host, port, timeout=OP_TIMEOUT):
    return socket.create_connection((host, port), timeout=timeout)


def mbps(n, start):
    return n * 8 / (time.perf_counter() - start) / 1e6


def source(host, port, n, deadline):
    start = time.perf_counter()
    s = connect(host, port)
    got = 0
    buf = bytearray(1 << 20)
    try:
        while got < n:
            if time.perf_counter() - start > deadline:
                print(f"{mbps(got, start):.3f} partial")
                return
            k = s.recv_into(buf, min(len(buf), n - got))
            if k == 0:
                sys.exit(f"the server closed after {got} of {n} bytes")
            got += k
    except OSError as e:
        sys.exit(f"after {got} of {n} bytes: {e}")
    print(f"{mbps(got, start):.3f}")
    s.close()


def sink(host, port, n, deadline):
    chunk = memoryview(bytearray(1 << 16))
    start = time.perf_counter()
    s = connect(host, port)
    left = n
    try:
        while left > 0:
            if time.perf_counter() - start > deadline:
                print(f"{mbps(n - left, start):.3f} partial")
                return
            k = s.send(chunk[: min(left, len(chunk))])
            left -= k
        s.shutdown(socket.SHUT_WR)
        while s.recv(65536):
            pass
    except OSError as e:
        sys.exit(f"after {n - left} of {n} bytes: {e}")
    print(f"{mbps(n, start):.3f}")
    s.close()


def sinks(host, port, n, k):
    each = n // k
    errors = []
    ready = threading.Barrier(k + 1)

    def one():
        chunk = memoryview(bytearray(1 << 16))
        try:
            s = connect(host, port)
        except OSError as e:
            errors.append(str(e))
            ready.abort()
            return
        try:
            ready.wait()
            left = each
            while left > 0:
                left -= s.send(chunk[: min(left, len(chunk))])
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except (OSError, threading.BrokenBarrierError) as e:
            errors.append(str(e))
        finally:
            s.close()

    threads = [threading.Thread(target=one) for _ in range(k)]
    for t in threads:
        t.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        pass
    start = time.perf_counter()
    for t in threads:
        t.join()
    if errors:
        sys.exit(f"{len(errors)} of {k} connections failed: {errors[0]}")
    print(f"{mbps(each * k, start):.3f}")


def conns(host, port, n):
    start = time.perf_counter()
    for i in range(n):
        try:
            s = connect(host, port)
            s.sendall(b"x")
            if s.recv(1) != b"x":
                sys.exit(f"connection {i + 1} of {n}: the echo did not come back")
            s.close()
        except OSError as e:
            sys.exit(f"connection {i + 1} of {n}: {e}")
    print(f"{n / (time.perf_counter() - start):.1f}")


def read_response(s, pending):
    """Reads one HTTP response whose body has a Content-Length; returns the leftover."""
    while b"\r\n\r\n" not in pending:
        data = s.recv(65536)
        if not data:
            raise OSError("connection closed before the response head")
        pending += data
    head, _, rest = pending.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise OSError(f"unexpected response: {head[:40]!r}")
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise OSError("no Content-Length")
    while len(rest) < length:
        data = s.recv(65536)
        if not data:
            raise OSError("connection closed inside the body")
        rest += data
    return rest[length:]


def http(host, port, n, mode):
    keep = b"GET /bytes/1 HTTP/1.1\r\nHost: bench\r\n\r\n"
    close = b"GET /bytes/1 HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    start = time.perf_counter()
    s = None
    try:
        for i in range(n):
            if mode == "ka":
                if s is None:
                    s = connect(host, port)
                    pending = b""
                s.sendall(keep)
                pending = read_response(s, pending)
            else:
                c = connect(host, port)
                c.sendall(close)
                read_response(c, b"")
                c.close()
    except OSError as e:
        sys.exit(f"request {i + 1} of {n}: {e}")
    print(f"{n / (time.perf_counter() - start):.1f}")


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise OSError(f"no VmRSS for pid {pid}")


def hold(host, port, n, pid):
    want = n + 64
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    before = vm_rss_kib(pid)
    held, failures, why = [], 0, ""
    for _ in range(n):
        try:
            s = connect(host, port, timeout=2.0)
            s.sendall(b"x")
            if s.recv(1) != b"x":
                raise OSError("the echo did not come back")
            held.append(s)
        except OSError as e:
            failures += 1
            why = str(e)
            # A server that has stopped taking connections will not start again.
            if failures >= 20:
                break
    time.sleep(1.0)
    after = vm_rss_kib(pid)
    per = (after - before) / len(held) if held else 0.0
    print(f"held={len(held)} of={n} rss_before_kib={before} rss_after_kib={after} "
          f"kib_per_conn={per:.2f}")
    if why:
        print(f"hold: {failures} connections failed, the last: {why}", file=sys.stderr)
    for s in held:
        s.close()


def main(argv):
    deadline = float("inf")
    if "--deadline" in argv:
        i = argv.index("--deadline")
        deadline = float(argv[i + 1])
        del argv[i : i + 2]
    if len(argv) < 4:
        sys.exit(__doc__)
    mode, host, port, n = argv[0], argv[1], int(argv[2]), int(argv[3])
    if mode == "source":
        source(host, port, n, deadline)
    elif mode == "sink":
        sink(host, port, n, deadline)
    elif mode == "sinks" and len(argv) == 5:
        sinks(host, port, n, int(argv[4]))
    elif mode == "conns":
        conns(host, port, n)
    elif mode == "http" and len(argv) == 5 and argv[4] in ("ka", "close"):
        http(host, port, n, argv[4])
    elif mode == "hold" and len(argv) == 5:
        hold(host, port, n, int(argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
