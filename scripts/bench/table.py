#!/usr/bin/env python3
"""The table of scripts/bench.sh: reads its "ROW IMPL VALUE" lines (VALUE "fail" for a
failed measurement; a row named ROW~ marks a value of ROW as a partial transfer) and
prints, per row, the median over the rounds for each implementation, the ratios
netstack/smoltcp and netstack/kernel, and the project's target: met, MISSED (also when
netstack failed every round), or "-" when a side needed for the target is missing. NOTES has "ROW IMPL reason" lines for failures; each
distinct reason is printed once. Usage: table.py RESULTS ROUNDS HOLD_TARGET [NOTES]
"""

import statistics
import sys

IMPLS = ("netstack", "smoltcp", "kernel")


def at_least(ratio_name, bound):
    def check(v):
        r = v[ratio_name]
        return None if r is None else r >= bound
    return check


def ping_target(v):
    ns, smol, kern = v["netstack"], v["smoltcp"], v["kernel"]
    if ns is None or smol is None or kern is None:
        return None
    return ns <= smol and ns <= 1.5 * kern


def lossy_target(v):
    a, b = v["ns/smol"], v["ns/kernel"]
    if a is None or b is None:
        return None
    return a >= 2 and b >= 1 / 3


def hold_target(n):
    def check(v):
        return None if v["netstack"] is None else v["netstack"] >= n
    return check


def kib_target(v):
    return None if v["netstack"] is None else v["netstack"] <= 4


# (key, label, unit, better, target text, check or None)
ROWS = [
    ("a_send", "(a) TAP, stack sends", "Mbit/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("a_recv", "(a) TAP, stack receives", "Mbit/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("a_send_off", "(a) sends, offloads off", "Mbit/s", "higher", "(comparison)", None),
    ("a_recv_off", "(a) receives, offloads off", "Mbit/s", "higher", "(comparison)", None),
    ("a_recv_single", "(a) receives, offloads and coalescing off", "Mbit/s", "higher", "(comparison)", None),
    ("a_par1", "(a) receives, 8 conns, offloads off, 1 queue", "Mbit/s", "higher", "(comparison)", None),
    ("a_par2", "(a) receives, 8 conns, offloads off, 2 queues", "Mbit/s", "higher", "(comparison)", None),
    ("b_conns", "(b) connections/s", "conn/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("b_http_ka", "(b) HTTP keep-alive", "req/s", "higher", "", None),
    ("b_http_close", "(b) HTTP conn per request", "req/s", "higher", "", None),
    ("ping_ms", "(c) ping RTT median", "ms", "lower", "<= smoltcp, <= 1.5x kernel", ping_target),
    ("d_mem1500", "(d) in-memory MTU 1500", "Mbit/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("d_mem65535", "(d) in-memory MTU 65535", "Mbit/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("d_ipb1500", "(d) instructions/byte, 1500", "Ir/B", "lower", "", None),
    ("d_ipb65535", "(d) instructions/byte, 65535", "Ir/B", "lower", "", None),
    ("e1_rtt10", "(e) 1% loss, 10 ms RTT", "Mbit/s", "higher", "", None),
    ("e5_rtt10", "(e) 5% loss, 10 ms RTT", "Mbit/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("e1_rtt100", "(e) 1% loss, 100 ms RTT", "Mbit/s", "higher", "", None),
    ("e5_rtt100", "(e) 5% loss, 100 ms RTT", "Mbit/s", "higher", ">= 2x smoltcp", at_least("ns/smol", 2)),
    ("f_held", "(f) connections held", "conns", "higher", None, None),
    ("f_kib", "(f) RSS per connection", "KiB", "lower", "<= 4 KiB", kib_target),
    ("g1_send", "(g) 1% loss, stack sends", "Mbit/s", "higher", "", None),
    ("g1_recv", "(g) 1% loss, stack receives", "Mbit/s", "higher", "", None),
    ("g5_send", "(g) 5% loss, stack sends", "Mbit/s", "higher", ">= 2x smoltcp, >= kernel/3", lossy_target),
    ("g5_recv", "(g) 5% loss, stack receives", "Mbit/s", "higher", ">= 2x smoltcp, >= kernel/3", lossy_target),
    ("g1_in_loss", "(g) 1%: measured loss in", "%", "", "", None),
    ("g1_out_loss", "(g) 1%: measured loss out", "%", "", "", None),
    ("g5_in_loss", "(g) 5%: measured loss in", "%", "", "", None),
    ("g5_out_loss", "(g) 5%: measured loss out", "%", "", "", None),
    ("h_send", "(h) AF_PACKET veth, stack sends", "Mbit/s", "higher", "(vs kernel veth)", None),
    ("h_recv", "(h) AF_PACKET veth, stack receives", "Mbit/s", "higher", "(vs kernel veth)", None),
    ("h_send_off", "(h) AF_PACKET sends, batch off", "Mbit/s", "higher", "(comparison)", None),
    ("h_recv_off", "(h) AF_PACKET receives, batch off", "Mbit/s", "higher", "(comparison)", None),
    ("h_tap_send_off", "(h) TAP sends, batch off", "Mbit/s", "higher", "(comparison)", None),
    ("h_tap_recv_off", "(h) TAP receives, batch off", "Mbit/s", "higher", "(comparison)", None),
]


def fmt(v):
    if v is None:
        return "-"
    if v >= 100 or v == 0:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


# Rows measured for netstack only, compared with another row's figures from the same
# rounds, for the implementations named: (a) with TAP offloads off or coalescing off, on
# two queues, and (h)'s TAP rows, with (a)'s smoltcp and kernel; (h)'s AF_PACKET rows
# with the kernel over veth only (smoltcp has no AF_PACKET driver).
BOTH = ("smoltcp", "kernel")
BASE = {"a_send_off": ("a_send", BOTH), "a_recv_off": ("a_recv", BOTH),
        "a_recv_single": ("a_recv", BOTH), "a_par2": ("a_par1", BOTH),
        "h_tap_send_off": ("a_send", BOTH), "h_tap_recv_off": ("a_recv", BOTH),
        "h_send": ("a_send", ("kernel",)), "h_recv": ("a_recv", ("kernel",)),
        "h_send_off": ("a_send", ("kernel",)), "h_recv_off": ("a_recv", ("kernel",))}
# What each technique's gain is the ratio of: row with it, row without, which switch.
GAINS = [("TSO + checksum offload (stack sends)", "a_send", "a_send_off",
          "offloads on / off"),
         ("GRO + checksum offload (stack receives)", "a_recv", "a_recv_off",
          "offloads on / off"),
         ("receive coalescing (stack receives, offloads off)", "a_recv_off",
          "a_recv_single", "coalescing on / off"),
         ("multi-queue (8 connections received, offloads off)", "a_par2", "a_par1",
          "2 queues / 1"),
         ("AF_PACKET batching, sendmmsg + ring (stack sends)", "h_send", "h_send_off",
          "--batch on / off"),
         ("AF_PACKET batching, ring + sendmmsg (stack receives)", "h_recv", "h_recv_off",
          "--batch on / off"),
         ("64 frames per wake-up on TAP (stack sends)", "a_send", "h_tap_send_off",
          "--batch on / off"),
         ("64 frames per wake-up on TAP (stack receives)", "a_recv", "h_tap_recv_off",
          "--batch on / off")]


def main():
    path, rounds, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    values, fails, partial = {}, {}, {}
    for line in open(path):
        row, impl, v = line.split()
        if row.endswith("~"):
            partial[(row[:-1], impl)] = partial.get((row[:-1], impl), 0) + 1
        elif v == "fail":
            fails[(row, impl)] = fails.get((row, impl), 0) + 1
        else:
            values.setdefault((row, impl), []).append(float(v))

    header = ["row", "unit", "better", "netstack", "smoltcp", "kernel", "ns/smol", "ns/kernel", "target", "met"]
    table = [header]
    notes = []
    for key, label, unit, better, target, check in ROWS:
        if target is None:
            target = f">= {hold}"
            check = hold_target(hold)
        v = {}
        seen = False
        for impl in IMPLS:
            source, compared = BASE.get(key, (key, IMPLS))
            if impl == "netstack":
                source = key
            elif impl not in compared:
                source = None
            vs = values.get((source, impl), [])
            v[impl] = statistics.median(vs) if vs else None
            # A row compared with another's figures shows only once measured itself.
            if impl == "netstack" or key not in BASE:
                seen |= bool(vs) or (key, impl) in fails
            if (key, impl) in fails:
                notes.append(f"{label}, {impl}: {fails[(key, impl)]} run(s) failed")
            if (key, impl) in partial:
                notes.append(f"{label}, {impl}: {partial[(key, impl)]} run(s) hit the deadline (goodput so far counted)")
        if not seen:
            continue
        ns = v["netstack"]
        ratios = better != ""
        v["ns/smol"] = ns / v["smoltcp"] if ratios and ns is not None and v["smoltcp"] else None
        v["ns/kernel"] = ns / v["kernel"] if ratios and ns is not None and v["kernel"] else None
        if check is None:
            met = ""
        elif ns is None and (key, "netstack") in fails:
            met = "MISSED"  # netstack could not run it at all
        else:
            met = {None: "-", True: "met", False: "MISSED"}[check(v)]
        cells = [label, unit, better] + [fmt(v[i]) for i in IMPLS]
        cells += [f"{v['ns/smol']:.2f}" if v["ns/smol"] is not None else "-",
                  f"{v['ns/kernel']:.2f}" if v["ns/kernel"] is not None else "-",
                  target, met]
        table.append(cells)

    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    numeric = range(3, 8)
    for r in table:
        print("  ".join(c.rjust(w) if i in numeric else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    print(f"\nmedians over {rounds} interleaved rounds; ratios are of those medians; "
          "'-' is not measured or not applicable")
    if len(sys.argv) > 4:
        labels = {key: label for key, label, *_ in ROWS}
        seen = set()
        for line in open(sys.argv[4]):
            row, impl, why = (line.rstrip("\n").split(" ", 2) + ["", ""])[:3]
            if (row, impl, why) not in seen:
                seen.add((row, impl, why))
                notes.append(f"{labels.get(row, row)}, {impl} failed: {why}")
    for label, on, off, how in GAINS:
        with_it, without = values.get((on, "netstack")), values.get((off, "netstack"))
        if with_it and without:
            gain = statistics.median(with_it) / statistics.median(without)
            print(f"gain of {label}: {gain:.2f}x (netstack, {how})")
    for n in notes:
        print("note: " + n)


if __name__ == "__main__":
    main()
