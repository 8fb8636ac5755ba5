#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test (unit, protocol,
# real-socket server tests on 127.0.0.1, end to end with the real executables).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-dependencies.sh
swift build --build-tests
swift test --skip-build "$@"
