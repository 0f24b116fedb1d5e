#!/usr/bin/env bash
# Runs the cargo-fuzz targets of media/fuzz in parallel across the cores,
# within one total time budget, seeded from the real segments.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS (default 300) is the wall-clock budget for the whole run. The
# targets (default: split join multipart roundtrip check) run one process each,
# as many at once as there are cores: with N cores and T targets, in
# ceil(T/N) waves of SECONDS/ceil(T/N) seconds.
# Properties are in media/src/fuzz.rs.
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`). libFuzzer's instrumentation
# needs nightly flags (-Zsanitizer); on a stable toolchain RUSTC_BOOTSTRAP=1
# lets rustc accept them, which is what this script does. FUZZ_SANITIZER
# (default address) is passed to `cargo fuzz run -s`; `none` runs faster,
# and the media crate has no unsafe code for ASan to watch. FUZZ_MAX_LEN
# (default 65536) caps the input size; longer seeds are cut to it.
#
# A failure prints the panic or sanitizer message first, then the tail of
# the log; the input is copied to media/fuzz/findings/TARGET-ID.bin, where
# media/tests/fuzz_findings.rs wants a row saying what it must give. The
# corpus grows in media/fuzz/corpus/TARGET/. The last line of each target
# is its count of executions.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-300}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(split join multipart roundtrip check)
cores=$(nproc)
sanitizer=${FUZZ_SANITIZER:-address}
fixtures=$(realpath "${LPBRIDGE_FIXTURES:-tests/fixtures/streamplace}")
corpus=media/fuzz/corpus
findings=media/fuzz/findings
export RUSTC_BOOTSTRAP=1

# Seeds. The real segments are 40 KB to 1.2 MB, and a fuzzer's speed goes
# with the input's size, so tiny segments of the same layouts come first
# (96x64, 0.4 s: progressive with B-frames, faststart, fragmented), made
# with ffmpeg. From both, media/examples/fuzz_seeds.rs makes the seeds of
# join (each segment split, in the target's layout) and multipart
# (go-livepeer's answer).
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds/tiny"
tiny() { # name, then muxer arguments
    local name=$1; shift
    ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=96x64:rate=30:duration=0.4 \
        -f lavfi -i sine=frequency=440:sample_rate=48000:duration=0.4 \
        -c:v libx264 -preset veryfast -bf 2 -g 6 -c:a libopus -b:a 16k "$@" "$seeds/tiny/$name.mp4"
}
tiny progressive -f mp4
tiny faststart -movflags +faststart -f mp4
tiny fragmented -movflags frag_keyframe+empty_moov+default_base_moof -f mp4
for dir in "$seeds/tiny" "$fixtures"; do
    # A target directory of its own: a build of the workspace holding the
    # main one's lock does not hold up the campaign.
    cargo run -q -p lpbridge-media --features fuzz --example fuzz_seeds --target-dir media/fuzz/target/seeds -- "$dir" "$seeds"
done

# Build every target once, before the clock starts.
(cd media && cargo fuzz build -O -s "$sanitizer")

count=${#targets[@]}
waves=$(((count + cores - 1) / cores))
seconds=$((budget / waves))
echo "== ${count} targets on ${cores} cores: ${waves} wave(s) of ${seconds}s, sanitizer ${sanitizer}"

run_target() { # target, log
    local t=$1 log=$2 seed
    rm -rf "media/fuzz/artifacts/$t"
    mkdir -p "$corpus/$t" "media/fuzz/artifacts/$t"
    case $t in
        split | roundtrip | check) seed="$seeds/tiny $fixtures" ;;
        *) seed=$seeds/$t ;;
    esac
    # shellcheck disable=SC2086 # $seed holds one or two directories
    (cd media && cargo fuzz run -O -s "$sanitizer" "$t" "fuzz/corpus/$t" $seed -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 -max_len="${FUZZ_MAX_LEN:-65536}" \
        -artifact_prefix="fuzz/artifacts/$t/") >"$log" 2>&1
}

report() { # target, log, status
    local t=$1 log=$2 rc=$3 logs execs
    logs=("$log")
    if [ "$rc" -ne 0 ]; then
        echo "== $t: FAILED"
        # The message first: a debug print of a large input would push it
        # out of any tail.
        grep -h -m3 -E "panicked at|ERROR: (AddressSanitizer|libFuzzer)|^SUMMARY" "${logs[@]}" || true
        grep -h -A3 -m1 "panicked at" "${logs[@]}" | tail -n +2 | cut -c1-300 || true
        for a in media/fuzz/artifacts/"$t"/*; do
            [ -f "$a" ] || continue
            local id
            id=$(sha1sum "$a" | cut -c1-8)
            cp "$a" "$findings/$t-$id.bin"
            echo "   input kept as $findings/$t-$id.bin: add its row to media/tests/fuzz_findings.rs"
        done
        tail -15 "$log" | cut -c1-300
        return 1
    fi
    execs=$(grep -h -E '^stat::number_of_executed_units' "${logs[@]}" | awk '{s += $2} END {print s + 0}')
    echo "== $t: ${seconds}s, ${execs} executions, no failure"
}

status=0
for ((w = 0; w < waves; w++)); do
    wave=("${targets[@]:$((w * cores)):cores}")
    pids=()
    for t in "${wave[@]}"; do
        run_target "$t" "$seeds/$t.log" &
        pids+=($!)
    done
    for i in "${!wave[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        report "${wave[$i]}" "$seeds/${wave[$i]}.log" "$rc" || status=1
    done
done
exit $status
