#!/usr/bin/env bash
# Runs the cargo-fuzz targets of guest/fuzz (split, join, multipart), each
# for SECONDS (default 60), seeded from the real segments.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer's instrumentation
# needs nightly flags (-Zsanitizer); on a stable toolchain RUSTC_BOOTSTRAP=1
# lets rustc accept them, which is what this script does. Crashes are kept in
# guest/fuzz/artifacts/TARGET/; the corpus grows in guest/fuzz/corpus/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(split join multipart)
fixtures=$(realpath "${LPBRIDGE_FIXTURES:-../shared/fixtures/streamplace}")
corpus=guest/fuzz/corpus
export RUSTC_BOOTSTRAP=1

# Seeds for join: each real segment split by our own CLI, laid out as the
# target reads its input (TS length, big-endian; TS; audio MP4).
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/join" "$seeds/multipart"
for f in "$fixtures"/*.mp4; do
    n=$(basename "$f" .mp4)
    cargo run -q -p lpbridge -- split "$f" --video-ts "$seeds/$n.ts" --audio-mp4 "$seeds/$n.m4a" >/dev/null
    python3 -c 'import struct,sys; ts=open(sys.argv[1],"rb").read(); a=open(sys.argv[2],"rb").read(); open(sys.argv[3],"wb").write(struct.pack(">I",len(ts))+ts+a)' \
        "$seeds/$n.ts" "$seeds/$n.m4a" "$seeds/join/$n"
done
# Seeds for multipart: go-livepeer's layout, cut in pieces of 1 and 64 bytes.
for piece in 0 63; do
    python3 -c 'import sys
b = b"0123456789abcdef0123"
part = lambda name, body: b"--" + b + b"\r\nContent-Disposition: attachment; filename=\"" + name + b"_7.ts\"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nContent-Type: video/mp2t\r\nRendition-Name: " + name + b"\r\n\r\n" + body + b"\r\n"
body = part(b"360p", bytes(range(256)) * 4) + part(b"240p", b"\x47" * 188) + b"--" + b + b"--\r\n"
open(sys.argv[2], "wb").write(bytes([int(sys.argv[1])]) + body)' "$piece" "$seeds/multipart/livepeer-$piece"
done

status=0
for t in "${targets[@]}"; do
    mkdir -p "$corpus/$t"
    case $t in
        split) seed=$fixtures ;;
        *) seed=$seeds/$t ;;
    esac
    echo "== $t: ${seconds}s"
    log=$seeds/$t.log
    (cd guest && cargo fuzz run -O "$t" "fuzz/corpus/$t" "$seed" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1) >"$log" 2>&1 || {
        status=1
        tail -40 "$log"
        continue
    }
    grep -E '^(Done|stat::(number_of_executed_units|peak_rss_mb|new_units_added))' "$log"
done
exit $status
