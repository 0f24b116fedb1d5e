#!/usr/bin/env bash
# `lpbridge probe` against `ffprobe -show_streams` on the same 2 s segment,
# in one run: the first probe after a fresh cache (compiling the component),
# then warm runs of each, and their ratio.
#
#   scripts/bench-probe.sh [SEGMENT] [RUNS]
#
# SEGMENT defaults to the real sample-segment.mp4; RUNS (default 30) is the
# number of warm runs of each command.
set -euo pipefail
cd "$(dirname "$0")/.."
segment=${1:-$(realpath "${LPBRIDGE_FIXTURES:-tests/fixtures/streamplace}")/sample-segment.mp4}
runs=${2:-30}
cargo build -q --release -p lpbridge
bin=target/release/lpbridge
cache=$(mktemp -d)
trap 'rm -rf "$cache"' EXIT

ms() { # command...: wall time of one run, ms
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

first=$(ms "$bin" --cache-dir "$cache" probe "$segment")
ours=$(for _ in $(seq "$runs"); do ms "$bin" --cache-dir "$cache" probe "$segment"; done | median)
theirs=$(for _ in $(seq "$runs"); do ms ffprobe -v error -show_streams "$segment"; done | median)
awk -v first="$first" -v ours="$ours" -v theirs="$theirs" -v name="$(basename "$segment")" 'BEGIN {
    printf "%-34s %10s\n", "command (" name ")", "median ms"
    printf "%-34s %10.1f\n", "lpbridge probe, first (compiles)", first / 1000
    printf "%-34s %10.1f\n", "lpbridge probe, cached", ours / 1000
    printf "%-34s %10.1f\n", "ffprobe -show_streams", theirs / 1000
    printf "lpbridge probe / ffprobe: %.2fx\n", ours / theirs
}'
