#!/usr/bin/env bash
# Minimizes the committed seed corpus: for each TARGET (default: all), merges
# fuzz/corpus/TARGET and the working corpus fuzz/corpus-work/TARGET (what
# scripts/fuzz.sh found) into the fewest, smallest inputs that keep every edge either
# reached, replaces fuzz/corpus/TARGET with them, and adds the seeds back (fuzz-seeds:
# the synthesized conversations and the converted captures of fuzz/captures, which
# cost little and hold every RFC 9293 transition), and, for the conversation targets,
# an input for each transition (of RFC 9293's diagram or not) that the merge dropped.
# Prints sizes before and after.
#
#   scripts/fuzz-cmin.sh [TARGET...]
#
# Edges, not libFuzzer's features (-use_counters=0): features count how often each edge
# ran, and keeping them all kept thousands of inputs; the committed corpus is a small
# starting point, and the working corpus keeps everything for long runs.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"

targets=("$@")
if ((${#targets[@]} == 0)); then
	targets=(wire ingress tcp_conversation pair differential)
fi
sanitizer=${SANITIZER:-none}

size() { printf '%s files, %s bytes' "$(find "$1" -type f | wc -l)" "$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')"; }

cargo fuzz build -O -s "$sanitizer"
seeds=$(mktemp -d)
cargo run -q -p netstack-fuzz-harness --bin fuzz-seeds -- "$seeds" captures >/dev/null
for t in "${targets[@]}"; do
	mkdir -p "corpus/$t" "corpus-work/$t"
	out=$(mktemp -d)
	before=$(size "corpus/$t")
	cargo fuzz run -O -s "$sanitizer" "$t" "$out" "corpus/$t" "corpus-work/$t" "$seeds/$t" -- \
		-merge=1 -use_counters=0 >/dev/null 2>&1
	if [[ $t == tcp_conversation || $t == differential ]]; then
		# Edges are not transitions: keep an input for each RFC 9293 transition too.
		cargo run -q -p netstack-fuzz-harness --bin fuzz-coverage -- \
			--keep "$out" "corpus/$t" "corpus-work/$t" | sed -n 1p
	fi
	rm -rf "corpus/$t"
	mv "$out" "corpus/$t"
	cp "$seeds/$t"/* "corpus/$t/" 2>/dev/null || true
	echo "$t: $before -> $(size "corpus/$t")"
done
rm -rf "$seeds"
