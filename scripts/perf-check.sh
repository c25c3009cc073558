#!/usr/bin/env bash
# Compare netstack binaries (say, before and after a refactor) in one run. Every round
# starts each binary in turn in a private network namespace and measures ping RTT, TCP
# throughput both ways and connections per second against it; at the end one table gives
# each binary's median over the rounds and its ratio to the first binary. Interleaving the
# binaries spreads the machine's drift (other load, clocks, caches) over all of them.
set -euo pipefail

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
args="$*"

# Where setup-tap.sh puts the two ends of the link (see `netstack --help`).
readonly STACK_ADDR=10.0.0.2
readonly HOST_ADDR=10.0.0.1/24
readonly PINGS=200
# Seconds: for the stack to start answering, and for it to stop after SIGTERM.
readonly START_TIMEOUT=15
readonly STOP_TIMEOUT=5

rounds=5
bytes=200000000
conns=2000
limit=120

usage() {
	cat <<EOF
Usage: sudo $0 [--rounds N] [--bytes N] [--conns N] [--timeout S] BIN [BIN...]

Compare netstack binaries. Each round runs every BIN in turn (round 1: A, B; round 2:
A, B; ...), each time in a fresh network namespace of its own with tap0 made by
setup-tap.sh, and measures against \`BIN serve\` at $STACK_ADDR, from inside the namespace:

  ping RTT       median of $PINGS pings 2 ms apart (ms)
  stack sends    curl GET /bytes/N from the HTTP server (Gbit/s, curl's average)
  stack recvs    N bytes to TCP discard (port 9), until the stack's FIN (Gbit/s)
  conns/s        sequential connect, 1 byte to echo (port 7) and back, close

Then prints one table: per BIN, median over the rounds [min-max], and the ratio of
each BIN's median to the first BIN's. Progress goes to stderr, the table to stdout.

  --rounds N     rounds (default: $rounds)
  --bytes N      bytes per throughput test (default: $bytes)
  --conns N      connections for conns/s (default: $conns)
  --timeout S    give up on any one measurement after S seconds (default: $limit)
  -h, --help     show this help

The host's own interfaces are never touched: every device, address and packet lives in
the namespaces, which are deleted again, also on Ctrl-C. Server logs and raw results are
kept in a directory under /tmp, named at the end.
EOF
}

# shellcheck source=scripts/lib/netns-bench.sh
source "$here/lib/netns-bench.sh"

bins=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds) need_value "$@"; need_count "$1" "$2"; rounds=$2; shift 2 ;;
	--bytes) need_value "$@"; need_count "$1" "$2"; bytes=$2; shift 2 ;;
	--conns) need_value "$@"; need_count "$1" "$2"; conns=$2; shift 2 ;;
	--timeout) need_value "$@"; need_count "$1" "$2"; limit=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; bins+=("$@"); break ;;
	-*) die "unknown option '$1' (see --help)" ;;
	*) bins+=("$1"); shift ;;
	esac
done

[[ ${#bins[@]} -gt 0 ]] || die "no BIN given (see --help)"
[[ $EUID -eq 0 ]] || die "must be run as root, e.g.: sudo $0${args:+ $args}"
for tool in ip curl ping python3 timeout; do
	command -v "$tool" >/dev/null || die "$tool is missing"
done
[[ -x $here/setup-tap.sh ]] || die "$here/setup-tap.sh is missing; keep this script beside it"
# The clients, run inside the namespace (shared with bench.sh; see its --help).
client_py=$here/bench/client.py
[[ -f $client_py ]] || die "$client_py is missing; keep this script beside it"
for i in "${!bins[@]}"; do
	bin=${bins[$i]}
	[[ -f $bin && -x $bin ]] || die "$bin: not an executable file"
	bins[i]=$(realpath -- "$bin")
	[[ $("${bins[$i]}" --version 2>/dev/null) == netstack* ]] || die "$bin: not netstack (\`$bin --version\`)"
done

# The table: reads "bin metric value" lines (value "fail" for a failed measurement).
readonly TABLE_PY='
import statistics, sys

nbins, rounds = int(sys.argv[2]), int(sys.argv[3])
metrics = [
    ("ping_ms", "ping RTT, ms", "lower"),
    ("send_gbps", "stack sends, Gbit/s", "higher"),
    ("recv_gbps", "stack recvs, Gbit/s", "higher"),
    ("conns_s", "conns/s", "higher"),
    ("ping_lost", "pings lost", "lower"),
]
values = {}
fails = {}
for line in open(sys.argv[1]):
    b, m, v = line.split()
    key = (int(b), m)
    if v == "fail":
        fails[key] = fails.get(key, 0) + 1
    else:
        values.setdefault(key, []).append(float(v))

def fmt(v):
    if v >= 100 or v == 0:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"

header = ["metric", "better"]
for b in range(nbins):
    header.append(f"B{b + 1} median [min-max]")
    if b > 0:
        header.append(f"B{b + 1}/B1")
rows = [header]
notes = []
for key, label, better in metrics:
    row = [label, better]
    base = None
    for b in range(nbins):
        vs = values.get((b, key), [])
        failed = fails.get((b, key), 0)
        if failed:
            notes.append(f"B{b + 1} {label}: {failed} of {rounds} rounds failed")
        if vs:
            med = statistics.median(vs)
            cell = f"{fmt(med)} [{fmt(min(vs))}-{fmt(max(vs))}]"
        else:
            med = None
            cell = "failed"
        row.append(cell)
        if b == 0:
            base = med
        else:
            row.append(f"{med / base:.3f}" if med is not None and base else "-")
    rows.append(row)

widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
for r in rows:
    print("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
for n in notes:
    print("note: " + n)
'

out=$(mktemp -d "/tmp/perf-check.XXXXXX")
results=$out/results
: >"$results"

# What is running now, so that the EXIT trap can undo it.
ns=
server=

# Stops the stack (SIGTERM, so it prints its counters; SIGKILL if it will not go) and
# deletes the namespace. Safe to call twice.
stop_block() {
	if [[ -n $server ]]; then
		stop_server "$server" "$STOP_TIMEOUT"
		server=
	fi
	if [[ -n $ns ]]; then
		ip netns del "$ns" 2>/dev/null || true
		ns=
	fi
}
trap stop_block EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

in_ns() {
	ip netns exec "$ns" "$@"
}

# Runs a client in the namespace for at most --timeout seconds; its stderr goes to
# $client_log, with a line of our own if it had to be stopped.
client() {
	local status=0
	in_ns timeout "$limit" "$@" 2>>"$client_log" || status=$?
	((status != 124)) || echo "$1: still running after ${limit}s (--timeout); stopped" >>"$client_log"
	return "$status"
}

record() {
	printf '%s %s %s\n' "$1" "$2" "$3" >>"$results"
}

# One block: binary number $1 in round $2, in a namespace of its own.
run_block() {
	local b=$1 round=$2
	local bin=${bins[$b]} log=$out/r$round-b$((b + 1))
	# What setup-tap.sh said, what the stack said, what the clients complained of.
	local setup_log=$log.setup.log server_log=$log.server.log client_log=$log.client.log
	local label="round $round/$rounds B$((b + 1))"
	local summary=() value

	ns=nsperf-$$-r$round-b$((b + 1))
	if ip netns list | awk '{print $1}' | grep -qxF -- "$ns"; then
		local taken=$ns
		ns=
		die "namespace $taken already exists"
	fi
	if ! "$here/setup-tap.sh" --netns "$ns" --user root --host-addr "$HOST_ADDR" >"$setup_log" 2>&1; then
		cat "$setup_log" >&2
		die "setup-tap.sh failed (above)"
	fi
	# Not through in_ns: `ip netns exec` execs BIN, so $! is the stack itself.
	ip netns exec "$ns" "$bin" serve >"$server_log" 2>&1 &
	server=$!
	: >"$client_log"
	if ! wait_http_up "$ns" "$server" "$STACK_ADDR" "$START_TIMEOUT"; then
		if kill -0 "$server" 2>/dev/null; then
			echo "$label: the stack did not answer HTTP within ${START_TIMEOUT}s; log: $server_log" >&2
		else
			local status=0
			wait "$server" || status=$?
			server=
			echo "$label: the stack exited (status $status) before answering; log: $server_log" >&2
		fi
		tail -5 "$server_log" | sed 's/^/    /' >&2
		for m in ping_ms ping_lost send_gbps recv_gbps conns_s; do record "$b" "$m" fail; done
		stop_block
		return
	fi

	# (1) Ping RTT: the median of the per-reply times, and how many got no reply.
	local replies
	replies=$(ping_times "$ns" "$PINGS" "$STACK_ADDR" 2>>"$client_log")
	if [[ -n $replies ]]; then
		value=$(median <<<"$replies")
		record "$b" ping_ms "$value"
		record "$b" ping_lost $((PINGS - $(wc -l <<<"$replies")))
		summary+=("ping $value ms, $((PINGS - $(wc -l <<<"$replies"))) lost")
	else
		record "$b" ping_ms fail
		record "$b" ping_lost fail
		summary+=("ping FAILED")
	fi

	# (2) The stack sends: curl's average download speed, in bytes per second.
	local got
	if got=$(client curl -sS -o /dev/null \
		-w '%{http_code} %{size_download} %{speed_download}' \
		"http://$STACK_ADDR/bytes/$bytes") &&
		[[ $got == "200 $bytes "* ]]; then
		value=$(awk '{ printf "%.4f", $3 * 8 / 1e9 }' <<<"$got")
		record "$b" send_gbps "$value"
		summary+=("sends $value Gbit/s")
	else
		echo "  $label: GET /bytes/$bytes failed (code, bytes, speed: ${got:-none}): $(tail -1 "$client_log") (log: $client_log)" >&2
		record "$b" send_gbps fail
		summary+=("sends FAILED")
	fi

	# (3) The stack receives: bytes to discard.
	if value=$(client python3 "$client_py" sink "$STACK_ADDR" 9 "$bytes"); then
		value=$(awk '{ printf "%.4f", $1 / 1000 }' <<<"$value") # Mbit/s to Gbit/s
		record "$b" recv_gbps "$value"
		summary+=("recvs $value Gbit/s")
	else
		echo "  $label: discard test failed: $(tail -1 "$client_log") (log: $client_log)" >&2
		record "$b" recv_gbps fail
		summary+=("recvs FAILED")
	fi

	# (4) Connections per second, last: its TIME-WAITs die with the namespace.
	if value=$(client python3 "$client_py" conns "$STACK_ADDR" 7 "$conns"); then
		record "$b" conns_s "$value"
		summary+=("$value conns/s")
	else
		echo "  $label: connection test failed: $(tail -1 "$client_log") (log: $client_log)" >&2
		record "$b" conns_s fail
		summary+=("conns FAILED")
	fi

	if ! kill -0 "$server" 2>/dev/null; then
		echo "  $label: the stack exited during the tests; log: $server_log" >&2
	fi
	stop_block
	local line=$label: part
	for part in "${summary[@]}"; do
		line+=" $part;"
	done
	echo "${line%;}" >&2
	local counters
	counters=$(sed -n 's/^netstack stopped: //p' "$server_log")
	echo "  stack: ${counters:-no counters line in $server_log}" >&2
}

echo "$prog: $rounds rounds x ${#bins[@]} binaries; $bytes bytes each way, $conns connections" >&2
for b in "${!bins[@]}"; do
	echo "  B$((b + 1)) = ${bins[$b]}" >&2
done
start=$SECONDS
for ((round = 1; round <= rounds; round++)); do
	for b in "${!bins[@]}"; do
		run_block "$b" "$round"
	done
done
echo "$prog: done in $((SECONDS - start))s; logs and raw results in $out" >&2

echo
echo "netstack perf-check: $rounds rounds, $bytes bytes, $conns connections, median [min-max] over rounds"
for b in "${!bins[@]}"; do
	echo "  B$((b + 1)) = ${bins[$b]}"
done
echo
python3 -c "$TABLE_PY" "$results" "${#bins[@]}" "$rounds"
