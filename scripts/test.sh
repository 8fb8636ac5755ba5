#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test: the Swift suites
# (unit, protocol, real-socket server tests on 127.0.0.1, end to end with the real
# executables), then the interoperability suite, in which independent Python peers
# written from the protocol text talk to the Swift relay and client.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build --build-tests
swift test --skip-build "$@"
RELAY_BIN_DIR="$(swift build --show-bin-path)" python3 -m pytest -q Tests/Interop
