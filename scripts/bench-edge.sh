#!/usr/bin/env bash
# Prints the edge table: POST /live through every wasi:http host (wasmtime
# serve, jco, workerd, Deno, Bun) against a passthrough gateway on
# loopback, with `lpbridge serve` in the same run as the reference.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p lpbridge
exec cargo bench -p lpbridge-tests --bench edge
