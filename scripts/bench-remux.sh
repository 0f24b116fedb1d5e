#!/usr/bin/env bash
# Prints the split/join throughput table: native, in the component, ffmpeg -c copy, gst-launch-1.0.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p lpbridge --features mimalloc --bench remux
