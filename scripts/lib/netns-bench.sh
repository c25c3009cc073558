# shellcheck shell=bash
# Helpers shared by perf-check.sh and bench.sh (sourced, not run): option checks, starting
# and stopping a server in a namespace, and ping's median. The caller sets `prog`.

die() {
	# shellcheck disable=SC2154 # prog is the caller's name, set before sourcing.
	echo "$prog: $*" >&2
	exit 1
}

# Option values must exist; "--rounds --bytes" is a mistake, not a count.
need_value() {
	[[ $# -ge 2 && -n $2 && $2 != -* ]] || die "$1 needs a value (see --help)"
}

need_count() {
	[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive whole number, not '$2'"
}

# stop_server PID SECONDS: SIGTERM (so netstack prints its counters), SIGKILL if it is
# still there after SECONDS; then reaps it. Says so on stderr if it had to kill.
stop_server() {
	local pid=$1 grace=$2 waited=0
	kill -TERM "$pid" 2>/dev/null || true
	while kill -0 "$pid" 2>/dev/null && ((waited < grace * 10)); do
		sleep 0.1
		((waited += 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "  warning: the server ignored SIGTERM for ${grace}s; killing it" >&2
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# wait_http_up NS PID ADDR SECONDS: waits until http://ADDR/bytes/1 answers from inside
# NS (the HTTP server comes up last of netstack's services). Fails if PID exits first
# or SECONDS pass.
wait_http_up() {
	local ns=$1 pid=$2 addr=$3 deadline=$((SECONDS + $4))
	while ((SECONDS < deadline)); do
		kill -0 "$pid" 2>/dev/null || return 1
		if ip netns exec "$ns" curl -sf --connect-timeout 1 --max-time 2 -o /dev/null \
			"http://$addr/bytes/1" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# ping_times NS COUNT ADDR: COUNT pings 2 ms apart from inside NS; prints each reply's
# time in ms, one a line (nothing for no reply). ping's status says little (1 for no
# reply at all); the replies say it all. Its stderr goes to the caller's stderr.
ping_times() {
	ip netns exec "$1" timeout 60 ping -n -c "$2" -i 0.002 -W 1 "$3" |
		sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' || true
}

# median: the median of the numbers on stdin, one a line.
median() {
	sort -g | awk '{ v[NR] = $1 } END {
		printf "%.4f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
