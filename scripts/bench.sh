#!/usr/bin/env bash
# The benchmark suite, one command: netstack against smoltcp (and the kernel as the
# ceiling) on a TAP in private namespaces, on the in-memory link, and under loss; medians
# of interleaved rounds and ratios taken in the same run, in one table.
set -euo pipefail

prog=$(basename "$0")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
lib=$here/bench
args="$*"

# Where setup-tap.sh puts the two ends of the link (see `netstack --help`).
readonly STACK_ADDR=10.0.0.2
readonly HOST_ADDR=10.0.0.1/24
readonly PINGS=200
# Seconds: for a server to start answering, and for it to stop after SIGTERM.
readonly START_TIMEOUT=15
readonly STOP_TIMEOUT=5
# netstack-plain is netstack with TAP offloads off (`--offload off`), run for (a) and
# (g) only: its (a) figures are the rows "offloads off" in netstack's column, and its
# (g) figures are netstack's (g), where one dropped packet must be one segment (with TSO
# the loss rule would drop a 64 KB TSO frame whole). netstack-single is netstack with
# offloads and receive coalescing off (`--offload off --coalesce off`), run for (a)
# receives only: row a_recv_single, each frame its own segment, against a_recv_off.
# netstack-mq is `netstack serve --queues 2 --offload off` on a two-queue TAP, run for
# (a) only: row a_par2, PARALLEL connections receiving at once, against a_par1 (the
# same with one queue, measured in netstack-plain's block; the kernel's in its own).
# The three after the kernel run for (h) only: netstack through AF_PACKET on a veth with
# batching on (`--batch on`, the default) and off, and on the TAP with batching off.
readonly IMPLS=(netstack netstack-plain netstack-single netstack-mq smoltcp kernel netstack-afp netstack-afp-off netstack-unbatched)
readonly PARALLEL=8

rounds=5
parts=a,b,c,d,e,f,g,h
tap_bytes=100000000
conns=2000
requests=2000
ping_count=$PINGS
mem_bytes=1073741824
loss_bytes=20000000
cg_bytes=16777216
hold=10000
lossy_bytes=20000000
lossy_deadline=30
limit=300
build=1
smoke=0

usage() {
	cat <<EOF
Usage: sudo $0 [--smoke] [--only a,b,...] [--rounds N] [sizes...]

Runs netstack's benchmarks and prints one table: per row the median over N interleaved
rounds for netstack, smoltcp and the kernel, the ratios taken in the same run, and the
project's target for the row, met or missed. Rows (see README.md, "Benchmarks"):

  a  bulk over TAP against the kernel, both directions (kernel <-> kernel over veth is
     the ceiling); netstack with TAP offloads on (TSO when it sends, GRO when it
     receives: the default) and off (--offload off), receive coalescing off too
     (--coalesce off), and 8 connections receiving at once on one queue and on two
     (--queues 2, offloads off); each technique's gain
  b  connections/s, HTTP requests/s with keep-alive and with a connection per request
  c  ping RTT median
  d  in-memory link, one process, bulk netstack <-> netstack versus smoltcp <-> smoltcp
     at MTU 1500 and 65535 (wall clock), and instructions per byte from callgrind
  e  in-memory link, goodput at 1% and 5% seeded loss with 10 ms and 100 ms round trips
     (virtual clock)
  f  10,000 connections held by netstack serve: how many, and RSS per connection
  g  bulk over TAP with 1% and 5% random loss each way, and the measured drop counts
  h  batching: bulk both directions with netstack on one end of a veth pair through
     AF_PACKET, batching on (a TPACKET_V3 receive ring, one sendmmsg per round, up to
     64 frames per wake-up) and off (--batch off: a system call per frame), against
     kernel <-> kernel over veth; and over TAP with --batch off (one frame read per
     wake-up) against (a)'s netstack; each technique's gain

  --smoke            tiny sizes and 1 round: checks that everything runs (CI)
  --only LIST        run only these parts, e.g. --only d,e (default: all)
  --rounds N         interleaved rounds (default: $rounds)
  --tap-bytes N      bytes each way for (a) (default: $tap_bytes)
  --conns N          connections for (b) conns/s (default: $conns)
  --requests N       HTTP requests for (b), each mode (default: $requests)
  --mem-bytes N      bytes for (d) (default: $mem_bytes)
  --loss-bytes N     bytes for (e) (default: $loss_bytes)
  --callgrind-bytes N  bytes for (d)'s instruction counts (default: $cg_bytes)
  --hold N           connections for (f) (default: $hold)
  --lossy-bytes N    bytes each way for (g) (default: $lossy_bytes)
  --lossy-deadline S stop a (g) transfer after S seconds and count the goodput so far,
                     marked partial (default: $lossy_deadline)
  --timeout S        give up on any one measurement after S seconds (default: $limit)
  --no-build         use the binaries already built (target/release, or
                     \$CARGO_TARGET_DIR/release)
  -h, --help         show this help

Parts a, b, c, f, g and h need root: each server runs in a private network namespace made
for it (setup-tap.sh for the TAP, a veth pair between two namespaces for the kernel),
deleted again on exit, also on Ctrl-C; the host's interfaces and sysctls are never
touched and no packet leaves the namespaces. Without root only d and e run. Missing
tools (nftables, ethtool, valgrind) are installed with apt-get. Raw results and logs stay
in a directory under /tmp, named at the end. Progress goes to stderr, the table to stdout.
EOF
}

# shellcheck source=scripts/lib/netns-bench.sh
source "$here/lib/netns-bench.sh"

only=
while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) smoke=1; shift ;;
	--only) need_value "$@"; only=$2; shift 2 ;;
	--rounds) need_value "$@"; need_count "$1" "$2"; rounds=$2; shift 2 ;;
	--tap-bytes) need_value "$@"; need_count "$1" "$2"; tap_bytes=$2; shift 2 ;;
	--conns) need_value "$@"; need_count "$1" "$2"; conns=$2; shift 2 ;;
	--requests) need_value "$@"; need_count "$1" "$2"; requests=$2; shift 2 ;;
	--mem-bytes) need_value "$@"; need_count "$1" "$2"; mem_bytes=$2; shift 2 ;;
	--loss-bytes) need_value "$@"; need_count "$1" "$2"; loss_bytes=$2; shift 2 ;;
	--callgrind-bytes) need_value "$@"; need_count "$1" "$2"; cg_bytes=$2; shift 2 ;;
	--hold) need_value "$@"; need_count "$1" "$2"; hold=$2; shift 2 ;;
	--lossy-bytes) need_value "$@"; need_count "$1" "$2"; lossy_bytes=$2; shift 2 ;;
	--lossy-deadline) need_value "$@"; need_count "$1" "$2"; lossy_deadline=$2; shift 2 ;;
	--timeout) need_value "$@"; need_count "$1" "$2"; limit=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

if ((smoke)); then
	rounds=1 tap_bytes=2000000 conns=50 requests=50 ping_count=10 mem_bytes=4000000
	loss_bytes=300000 cg_bytes=1000000 hold=100 lossy_bytes=1000000 lossy_deadline=20
	limit=60
fi
if [[ -z $only ]]; then
	if [[ $EUID -ne 0 ]]; then
		echo "$prog: not root, so only the in-memory parts d and e run (see --help)" >&2
		only=d,e
	else
		only=$parts
	fi
fi
IFS=, read -r -a selected <<<"$only"
for p in "${selected[@]}"; do
	[[ $p =~ ^[a-h]$ ]] || die "--only: unknown part '$p' (parts are a to h)"
done
wants() {
	[[ ",$only," == *",$1,"* ]]
}
needs_root=0
for p in a b c f g h; do
	if wants "$p"; then needs_root=1; fi
done
((needs_root == 0 || EUID == 0)) || die "parts a, b, c, f, g and h need root, e.g.: sudo $0${args:+ $args}"

# Tools: install what is missing (as root), else say what is.
install=()
if ((needs_root)); then
	command -v ip >/dev/null || install+=(iproute2)
	command -v ping >/dev/null || install+=(iputils-ping)
	command -v curl >/dev/null || install+=(curl)
	if wants g; then
		command -v nft >/dev/null || install+=(nftables)
		command -v ethtool >/dev/null || install+=(ethtool)
	fi
fi
if wants d; then
	command -v valgrind >/dev/null || install+=(valgrind)
fi
if ((${#install[@]})); then
	((EUID == 0)) || die "missing ${install[*]}; install them or run as root"
	echo "$prog: installing ${install[*]} with apt-get" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${install[@]}" >&2
fi
command -v python3 >/dev/null || die "python3 is missing"

target_dir=${CARGO_TARGET_DIR:-$root/target}
if ((build)); then
	echo "$prog: building (cargo build --release -p netstack -p netstack-bench)" >&2
	(cd "$root" && cargo build --release --quiet -p netstack -p netstack-bench) >&2
fi
bin=$target_dir/release
for b in netstack smol-tap inmem; do
	[[ -x $bin/$b ]] || die "$bin/$b is missing (build it, or drop --no-build)"
done

out=$(mktemp -d "/tmp/bench.XXXXXX")
results=$out/results
# Why a measurement failed, one line each ("ROW IMPL reason"), for the table's notes.
notes=$out/notes
: >"$results"
: >"$notes"
# shellcheck source=scripts/bench/loss.sh
source "$lib/loss.sh"

# What is running now, so that the EXIT trap can undo it.
namespaces=()
server=

# Stops the server (SIGTERM, SIGKILL if it will not go) and deletes the namespaces.
# Safe to call twice.
stop_block() {
	if [[ -n $server ]]; then
		stop_server "$server" "$STOP_TIMEOUT"
		server=
	fi
	local n
	for n in "${namespaces[@]}"; do
		ip netns del "$n" 2>/dev/null || true
	done
	namespaces=()
}
trap stop_block EXIT
trap 'echo "$prog: interrupted" >&2; exit 130' INT TERM

record() {
	printf '%s %s %s\n' "$1" "$2" "$3" >>"$results"
}

new_ns() {
	local name=$1
	if ip netns list | awk '{print $1}' | grep -qxF -- "$name"; then
		die "namespace $name already exists"
	fi
	namespaces+=("$name")
	ip netns add "$name"
	ip -n "$name" link set lo up
}

# The namespace the clients run in and the device they reach the server through; for
# the kernel, the server's namespace and device too (else empty).
cns=
dev=
sns=
sdev=

# Starts implementation $1 for round $2: a TAP namespace with netstack or smol-tap on
# it, or for the kernel two namespaces joined by a veth pair with kernel_server.py, or
# for (h) one namespace with a veth pair, netstack on veth0 through AF_PACKET.
start_block() {
	local impl=$1 round=$2 log=$3
	cns=nsb-$$-r$round-$impl
	sns=""
	sdev=""
	case $impl in
	netstack-afp | netstack-afp-off)
		new_ns "$cns"
		dev=veth1
		ip -n "$cns" link add veth0 type veth peer name veth1
		ip -n "$cns" addr add "$HOST_ADDR" dev veth1
		ip -n "$cns" link set veth0 up
		ip -n "$cns" link set veth1 up
		local cmd=("$bin/netstack" serve --driver af-packet --iface veth0)
		[[ $impl != netstack-afp-off ]] || cmd+=(--batch off)
		ip netns exec "$cns" "${cmd[@]}" >"$log.server" 2>&1 &
		server=$!
		;;
	netstack | netstack-plain | netstack-single | netstack-mq | netstack-unbatched | smoltcp)
		namespaces+=("$cns")
		local queues=1
		[[ $impl != netstack-mq ]] || queues=2
		"$here/setup-tap.sh" --netns "$cns" --user root --host-addr "$HOST_ADDR" --queues "$queues" >"$log.setup" 2>&1 ||
			die "setup-tap.sh failed: $(tail -3 "$log.setup")"
		dev=tap0
		local cmd=("$bin/netstack" serve)
		[[ $impl != netstack-plain ]] || cmd+=(--offload off)
		[[ $impl != netstack-single ]] || cmd+=(--offload off --coalesce off)
		[[ $impl != netstack-mq ]] || cmd+=(--offload off --queues 2)
		[[ $impl != netstack-unbatched ]] || cmd+=(--batch off)
		[[ $impl != smoltcp ]] || cmd=("$bin/smol-tap" --iface tap0)
		# Not through a function: `ip netns exec` execs the server, so $! is the server.
		ip netns exec "$cns" "${cmd[@]}" >"$log.server" 2>&1 &
		server=$!
		;;
	kernel)
		sns=$cns-srv sdev=veth1
		new_ns "$cns"
		new_ns "$sns"
		dev=veth0
		ip link add veth0 netns "$cns" type veth peer name veth1 netns "$sns"
		ip -n "$cns" addr add "$HOST_ADDR" dev veth0
		ip -n "$sns" addr add "$STACK_ADDR/24" dev veth1
		ip -n "$sns" link set veth1 address 02:00:00:00:00:02
		ip -n "$cns" link set veth0 up
		ip -n "$sns" link set veth1 up
		ip netns exec "$sns" python3 "$lib/kernel_server.py" >"$log.server" 2>&1 &
		server=$!
		;;
	esac
	wait_http_up "$cns" "$server" "$STACK_ADDR" "$START_TIMEOUT" && return 0
	echo "  $impl did not start answering; log: $log.server" >&2
	tail -5 "$log.server" | sed 's/^/    /' >&2
	return 1
}

# Runs the client in the client namespace; prints its result line. Its stderr goes to
# $client_log.
client() {
	local status=0
	ip netns exec "$cns" timeout "$limit" python3 "$lib/client.py" "$@" 2>>"$client_log" || status=$?
	((status != 124)) || echo "client $1: still running after ${limit}s (--timeout); stopped" >>"$client_log"
	return "$status"
}

# measure ROW IMPL CLIENT-ARGS...: runs the client and records its number under ROW
# ("fail" if it failed); a partial result is recorded as ROW~ too, to be noted.
measure() {
	local row=$1 impl=$2 value
	shift 2
	if value=$(client "$@") && [[ -n $value ]]; then
		record "$row" "$impl" "${value%% *}"
		[[ $value != *partial ]] || record "$row~" "$impl" "${value%% *}"
		summary+=("$row ${value%% *}")
	else
		record "$row" "$impl" fail
		summary+=("$row FAILED")
		echo "$row $impl $(tail -1 "$client_log")" >>"$notes"
		echo "  $impl $row failed: $(tail -1 "$client_log")" >&2
	fi
}

ping_rtt() {
	local impl=$1 replies value
	replies=$(ping_times "$cns" "$ping_count" "$STACK_ADDR" 2>>"$client_log")
	if [[ -n $replies ]]; then
		value=$(median <<<"$replies")
		record ping_ms "$impl" "$value"
		summary+=("ping ${value}ms")
	else
		record ping_ms "$impl" fail
		summary+=("ping FAILED")
	fi
}

# (g): both directions under PERCENT loss, with the drop counts.
lossy() {
	local impl=$1 percent=$2 counts
	loss_on "$cns" "$dev" "$percent"
	[[ -z $sns ]] || offloads "$sns" "$sdev" off
	measure "g${percent}_send" "$impl" source "$STACK_ADDR" 19 "$lossy_bytes" --deadline "$lossy_deadline"
	measure "g${percent}_recv" "$impl" sink "$STACK_ADDR" 9 "$lossy_bytes" --deadline "$lossy_deadline"
	counts=$(loss_counts "$cns")
	read -r in_seen in_dropped out_seen out_diverted dead <<<"$counts"
	record "g${percent}_in_loss" "$impl" "$(awk -v d="$in_dropped" -v s="$in_seen" 'BEGIN { printf "%.3f", s ? 100 * d / s : 0 }')"
	record "g${percent}_out_loss" "$impl" "$(awk -v d="$out_diverted" -v s="$out_seen" 'BEGIN { printf "%.3f", s ? 100 * d / s : 0 }')"
	echo "  $impl at $percent% loss: dropped $in_dropped of $in_seen packets in, diverted $out_diverted of $out_seen out (the dead device has swallowed $dead in all this block)" >&2
	loss_off "$cns" "$dev"
	[[ -z $sns ]] || offloads "$sns" "$sdev" on
}

# One implementation's TAP (or veth) block in one round: parts a, b, c and g.
tap_block() {
	local impl=$1 round=$2
	local log=$out/r$round-$impl
	if [[ $impl == netstack-plain ]]; then
		if wants a || wants g; then plain_block "$round"; fi
		return 0
	fi
	if [[ $impl == netstack-single ]]; then
		if wants a; then one_row_block "$round" "$impl" a_recv_single sink "$STACK_ADDR" 9 "$tap_bytes"; fi
		return 0
	fi
	if [[ $impl == netstack-mq ]]; then
		if wants a; then one_row_block "$round" "$impl" a_par2 sinks "$STACK_ADDR" 9 "$tap_bytes" "$PARALLEL"; fi
		return 0
	fi
	client_log=$log.client
	: >"$client_log"
	summary=()
	if ! start_block "$impl" "$round" "$log"; then
		for row in ping_ms a_send a_recv b_conns b_http_ka b_http_close g1_send g1_recv g5_send g5_recv; do
			record "$row" "$impl" fail
		done
		stop_block
		return
	fi
	if wants c; then ping_rtt "$impl"; fi
	# The kernel's (a) figures are (h)'s reference too.
	if wants a || { wants h && [[ $impl == kernel ]]; }; then
		measure a_send "$impl" source "$STACK_ADDR" 19 "$tap_bytes"
		measure a_recv "$impl" sink "$STACK_ADDR" 9 "$tap_bytes"
		if wants a && [[ $impl == kernel ]]; then
			measure a_par1 "$impl" sinks "$STACK_ADDR" 9 "$tap_bytes" "$PARALLEL"
		fi
	fi
	if wants b; then
		measure b_http_ka "$impl" http "$STACK_ADDR" 80 "$requests" ka
		measure b_http_close "$impl" http "$STACK_ADDR" 80 "$requests" close
		measure b_conns "$impl" conns "$STACK_ADDR" 7 "$conns"
	fi
	if wants g && [[ $impl != netstack ]]; then
		lossy "$impl" 1
		lossy "$impl" 5
	fi
	kill -0 "$server" 2>/dev/null || echo "  $impl: the server exited during the tests; log: $log.server" >&2
	stop_block
	echo "round $round $impl: ${summary[*]}" >&2
}

# netstack with offloads off: (a) once more, rows a_send_off and a_recv_off; and (g),
# netstack's rows.
plain_block() {
	local round=$1 impl=netstack-plain
	local log=$out/r$round-$impl
	client_log=$log.client
	: >"$client_log"
	summary=()
	if ! start_block "$impl" "$round" "$log"; then
		for row in a_send_off a_recv_off g1_send g1_recv g5_send g5_recv; do
			record "$row" netstack fail
		done
		stop_block
		return
	fi
	if wants a; then
		measure a_send_off netstack source "$STACK_ADDR" 19 "$tap_bytes"
		measure a_recv_off netstack sink "$STACK_ADDR" 9 "$tap_bytes"
		measure a_par1 netstack sinks "$STACK_ADDR" 9 "$tap_bytes" "$PARALLEL"
	fi
	if wants g; then
		lossy netstack 1
		lossy netstack 5
	fi
	stop_block
	echo "round $round $impl: ${summary[*]}" >&2
}

# one_row_block ROUND IMPL ROW CLIENT-ARGS...: starts IMPL and measures one of
# netstack's rows with the client: netstack-single (offloads and coalescing off) for
# a_recv_single, netstack-mq (two queues, offloads off) for a_par2.
one_row_block() {
	local round=$1 impl=$2 row=$3
	shift 3
	local log=$out/r$round-$impl
	client_log=$log.client
	: >"$client_log"
	summary=()
	if start_block "$impl" "$round" "$log"; then
		measure "$row" netstack "$@"
	else
		record "$row" netstack fail
	fi
	stop_block
	echo "round $round $impl: ${summary[*]}" >&2
}

# (h): one batching block, rows by implementation: AF_PACKET with batching on
# (h_send, h_recv) and off (h_send_off, h_recv_off), and the TAP with batching off
# (h_tap_send_off, h_tap_recv_off).
batch_block() {
	local impl=$1 round=$2 rows
	local log=$out/r$round-$impl
	case $impl in
	netstack-afp) rows=(h_send h_recv) ;;
	netstack-afp-off) rows=(h_send_off h_recv_off) ;;
	*) rows=(h_tap_send_off h_tap_recv_off) ;;
	esac
	client_log=$log.client
	: >"$client_log"
	summary=()
	if ! start_block "$impl" "$round" "$log"; then
		for row in "${rows[@]}"; do
			record "$row" netstack fail
		done
		stop_block
		return
	fi
	measure "${rows[0]}" netstack source "$STACK_ADDR" 19 "$tap_bytes"
	measure "${rows[1]}" netstack sink "$STACK_ADDR" 9 "$tap_bytes"
	kill -0 "$server" 2>/dev/null || echo "  $impl: the server exited during the tests; log: $log.server" >&2
	stop_block
	echo "round $round $impl: ${summary[*]}" >&2
}

# (f): netstack serve holds N connections to echo; RSS per connection.
hold_block() {
	local round=$1 value
	local log=$out/r$round-hold
	client_log=$log.client
	: >"$client_log"
	if ! start_block netstack "$round" "$log"; then
		record f_held netstack fail
		record f_kib netstack fail
		stop_block
		return
	fi
	if value=$(client hold "$STACK_ADDR" 7 "$hold" "$server"); then
		local held kib
		held=$(sed -n 's/.*held=\([0-9]*\).*/\1/p' <<<"$value")
		kib=$(sed -n 's/.*kib_per_conn=\([0-9.]*\).*/\1/p' <<<"$value")
		record f_held netstack "$held"
		record f_kib netstack "$kib"
		echo "round $round hold: $value" >&2
	else
		record f_held netstack fail
		record f_kib netstack fail
		echo "  hold failed: $(tail -1 "$client_log")" >&2
	fi
	stop_block
}

# inmem ROW IMPL ARGS...: one in-memory transfer; records FIELD (wall_mbps or
# virtual_mbps) under ROW.
inmem() {
	local row=$1 impl=$2 field=$3 line value
	shift 3
	if line=$(timeout "$limit" "$bin/inmem" --stack "$impl" "$@" 2>>"$out/inmem.log"); then
		value=$(sed -n "s/.* $field=\([0-9.]*\).*/\1/p" <<<"$line")
		record "$row" "$impl" "$value"
		echo "$row $line" >>"$out/inmem.log"
		summary+=("$row $value")
	else
		record "$row" "$impl" fail
		echo "$row $impl $(tail -1 "$out/inmem.log")" >>"$notes"
		summary+=("$row FAILED")
	fi
}

mem_block() {
	local round=$1 impl mtu rtt loss
	summary=()
	for impl in netstack smoltcp; do
		if wants d; then
			for mtu in 1500 65535; do
				inmem "d_mem$mtu" "$impl" wall_mbps --mtu "$mtu" --bytes "$mem_bytes"
			done
		fi
		if wants e; then
			for rtt in 10 100; do
				for loss in 1 5; do
					inmem "e${loss}_rtt$rtt" "$impl" virtual_mbps --bytes "$loss_bytes" \
						--loss "0.0$loss" --rtt-ms "$rtt" --rate-mbps 1000 --seed "$round"
				done
			done
		fi
	done
	echo "round $round in-memory: ${summary[*]}" >&2
}

# (d)'s instructions per byte: callgrind over a whole run (both ends, the simulated
# link and the checking of every byte, the same harness for both stacks).
callgrind_block() {
	local impl mtu cg
	for impl in netstack smoltcp; do
		for mtu in 1500 65535; do
			cg=$out/callgrind.$impl.$mtu
			if timeout "$((limit * 4))" valgrind --tool=callgrind --callgrind-out-file="$cg" \
				"$bin/inmem" --stack "$impl" --mtu "$mtu" --bytes "$cg_bytes" >"$cg.log" 2>&1; then
				local ir
				ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$cg")
				record "d_ipb$mtu" "$impl" "$(awk -v i="$ir" -v b="$cg_bytes" 'BEGIN { printf "%.2f", i / b }')"
			else
				record "d_ipb$mtu" "$impl" fail
			fi
		done
	done
}

echo "$prog: parts $only, $rounds rounds; logs in $out" >&2
start=$SECONDS
for ((round = 1; round <= rounds; round++)); do
	for impl in "${IMPLS[@]}"; do
		case $impl in
		netstack-afp | netstack-afp-off | netstack-unbatched)
			if wants h; then batch_block "$impl" "$round"; fi
			;;
		*)
			if wants a || wants b || wants c || wants g || { wants h && [[ $impl == kernel ]]; }; then
				tap_block "$impl" "$round"
			fi
			;;
		esac
	done
	if wants d || wants e; then mem_block "$round"; fi
	if wants f; then hold_block "$round"; fi
done
if wants d; then
	echo "$prog: callgrind, $cg_bytes bytes per stack and MTU" >&2
	callgrind_block
fi
echo "$prog: done in $((SECONDS - start))s; logs and raw results in $out" >&2

echo
echo "netstack benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(uname -r); $rounds rounds$( ((smoke)) && echo ', SMOKE sizes')"
echo "sizes: TAP $tap_bytes B each way, $conns conns, $requests requests; in-memory $mem_bytes B, loss runs $loss_bytes B; lossy TAP $lossy_bytes B each way (deadline ${lossy_deadline}s); hold $hold"
echo
python3 "$lib/table.py" "$results" "$rounds" "$hold" "$notes"
