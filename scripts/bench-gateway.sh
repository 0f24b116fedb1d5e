#!/usr/bin/env bash
# The built-in gateway's transcoder against ffmpeg/libx264 on the same job.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p lpbridge-gateway --bench transcode
