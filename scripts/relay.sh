#!/usr/bin/env bash
# Runs the relay: installs what is missing, builds in release mode, and starts
# relay-server on 127.0.0.1:12345 (arguments are passed on, e.g. --port 0 or --help).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build -c release --product relay-server >&2
exec .build/release/relay-server "$@"
