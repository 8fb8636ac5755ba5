#!/usr/bin/env bash
# scripts/sanitize.sh address|thread
#
# Builds the tests and the executables with a sanitizer (scratch path .build-asan or
# .build-tsan, so the normal .build is untouched) and runs the Swift test suite with it. The suites start the
# sanitized relay-server and relay-client next to the test binary, so the real reactor
# is checked too; the interoperability suite (Python peers, hostile input, faults) then
# runs against the same sanitized executables.
#
# A sanitizer report fails the run even when it comes from a child process that a test
# did not watch: every report is written to a log directory (log_path) and any file
# found there at the end is printed and fails the script.
#
# Options after the sanitizer name go to `swift test` (e.g. --filter RelayServerTests).
# SANITIZE_SKIP_INTEROP=1 skips the Python suite.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/sanitize.sh address|thread [swift test options]" >&2; exit 64; }
[[ $# -ge 1 ]] || usage
sanitizer=$1
shift
case "$sanitizer" in
    address) scratch=.build-asan ;;
    thread) scratch=.build-tsan ;;
    *) usage ;;
esac

scripts/install-dependencies.sh
reports=$(mktemp -d "${TMPDIR:-/tmp}/relay-sanitize-$sanitizer.XXXXXX")
# The Swift runtime's crash handler would itself trip AddressSanitizer and hang.
export SWIFT_BACKTRACE=enable=no
# halt_on_error: the first report ends the process (the test that started it fails).
# LeakSanitizer stays off for the Swift test process: Foundation's Process and Pipe and
# the test runners keep memory to the end, and Swift packs enum tags into pointer bits
# that the scanner does not see through, so its reports there are not this project's.
# It is on for the interoperability suite, where the only instrumented processes are
# relay-server and relay-client, each checked when it exits.
asan="halt_on_error=1:log_path=$reports/asan"
export ASAN_OPTIONS="$asan:detect_leaks=0"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:log_path=$reports/tsan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan"
# Resident-memory bounds measure the sanitizer's shadow memory and quarantine, not the
# relay (an idle relay-server is 36 MB resident under ASan): the backpressure tests run
# whole but leave their memory bounds unchecked when this is set.
export RELAY_TEST_SANITIZER=$sanitizer

started=$SECONDS
# Only what the tests run: the test bundle (SwiftPM's product "<package>PackageTests") and
# the two executables it starts. `--build-tests` would also build the benchmarks, whose
# swift-crypto comparison peer (BoringSSL) is two thirds of a cold build.
for product in relayPackageTests relay-server relay-client; do
    swift build --sanitize="$sanitizer" --scratch-path "$scratch" --product "$product"
done
status=0
swift test --skip-build --sanitize="$sanitizer" --scratch-path "$scratch" "$@" || status=$?
if [[ $status -eq 0 && -z "${SANITIZE_SKIP_INTEROP:-}" ]]; then
    bin_dir=$(swift build --sanitize="$sanitizer" --scratch-path "$scratch" --show-bin-path)
    ASAN_OPTIONS="$asan:detect_leaks=1" RELAY_BIN_DIR="$bin_dir" python3 -m pytest -q Tests/Interop || status=$?
fi

if compgen -G "$reports/*" >/dev/null; then
    echo "== $sanitizer sanitizer reports:" >&2
    for report in "$reports"/*; do
        echo "---- $report" >&2
        cat "$report" >&2
    done
    status=1
fi
rm -rf "$reports"
echo "== $sanitizer sanitizer: $([[ $status -eq 0 ]] && echo passed || echo FAILED) in $((SECONDS - started)) s"
exit "$status"
