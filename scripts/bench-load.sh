#!/usr/bin/env bash
# Prints the load table: N sessions against a passthrough gateway on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p lpbridge-tests --bench load
