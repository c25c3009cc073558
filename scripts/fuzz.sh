#!/usr/bin/env bash
# Runs netstack's fuzz targets, each for a given time, with cargo-fuzz and no sanitizer
# (works on the stable toolchain; see README "Fuzzing the TCP state machine").
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 60 per target; TARGETs default to all of them. Each run starts
# from the committed seed corpus fuzz/corpus/TARGET and the working corpus
# fuzz/corpus-work/TARGET, and new inputs go to the working one only (it is not
# committed), so a run leaves git clean; scripts/fuzz-cmin.sh folds it back into a
# small committed corpus. A crash stops the script with a non-zero status and leaves
# its input in fuzz/artifacts/TARGET/. Prints each target's executions per second and
# both corpus sizes.
# SANITIZER=address asks for AddressSanitizer (it needs RUSTC_BOOTSTRAP=1 on stable).
set -euo pipefail

cd "$(dirname "$0")/../fuzz"

secs=${1:-60}
shift || true
targets=("$@")
if ((${#targets[@]} == 0)); then
	targets=(wire ingress tcp_conversation pair differential)
fi
sanitizer=${SANITIZER:-none}
if [[ $sanitizer != none ]]; then
	export RUSTC_BOOTSTRAP=1
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
	echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
	exit 1
fi

cargo fuzz build -O -s "$sanitizer"
for t in "${targets[@]}"; do
	mkdir -p "corpus/$t" "corpus-work/$t"
	log=$(mktemp)
	echo "==== $t: ${secs}s"
	# libFuzzer writes new inputs to the first directory and only reads the others.
	if ! cargo fuzz run -O -s "$sanitizer" "$t" "corpus-work/$t" "corpus/$t" -- \
		-max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
		tail -n 60 "$log"
		echo "FAILED: $t found a crash; replay it with:" >&2
		echo "  cargo run -p netstack-fuzz-harness --bin fuzz-replay -- $t fuzz/artifacts/$t/<file>" >&2
		rm -f "$log"
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	echo "$t: ${runs:-?} executions, ${rate:-?} per second," \
		"corpus $(find "corpus/$t" -type f | wc -l) committed + $(find "corpus-work/$t" -type f | wc -l) working files"
	rm -f "$log"
done
