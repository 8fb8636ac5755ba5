#!/usr/bin/env bash
# Builds one fuzz target with libFuzzer and AddressSanitizer and runs it for a while.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#
# TARGET is FrameDecoder, Open, RecordOpen or LegacyHandshake (or the full FuzzFrameDecoder, ...).
# The build goes to its own scratch path, .build-fuzz, so the normal .build is left
# alone. The seed corpus Fuzz/corpus/TARGET is copied to a temporary working corpus, so
# the repository's seeds stay small; set FUZZ_CORPUS_OUT=DIR to keep what the run grew.
# A crash (or a failed invariant) stops the run: the input is kept under
# .build-fuzz/artifacts/TARGET/, the script prints its path and exits non-zero. Replay it
# with the plain debug build: `swift build --product FuzzTARGET && .build/debug/FuzzTARGET FILE`.
#
# Environment: FUZZ_CONFIGURATION (release, or debug for assertions in the libraries;
# default release), FUZZ_JOBS (build jobs, default 2).
set -euo pipefail

if [[ $# -lt 2 || ! $2 =~ ^[0-9]+$ ]]; then
    echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]   (TARGET: FrameDecoder, Open, RecordOpen, LegacyHandshake)" >&2
    exit 64
fi
name=${1#Fuzz}
seconds=$2
shift 2
product=Fuzz$name
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ ! -f Fuzz/$product/$product.swift ]]; then
    echo "fuzz.sh: no target $product (see Fuzz/)" >&2
    exit 64
fi

configuration=${FUZZ_CONFIGURATION:-release}
scratch=.build-fuzz
build_log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$work" "$build_log"' EXIT

echo "== building $product ($configuration, -sanitize=fuzzer,address) in $scratch"
build=(swift build -c "$configuration" --scratch-path "$scratch" --product "$product" -j "${FUZZ_JOBS:-2}"
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING
       -Xcc -fsanitize=fuzzer-no-link,address)
if ! "${build[@]}" >"$build_log" 2>&1; then
    cat "$build_log" >&2
    echo "fuzz.sh: build failed" >&2
    exit 1
fi
binary=$(swift build -c "$configuration" --scratch-path "$scratch" --show-bin-path)/$product

artifacts=$scratch/artifacts/$name
mkdir -p "$artifacts"
if [[ -d Fuzz/corpus/$name ]]; then cp Fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true; fi
seeds=$(find "$work" -type f | wc -l)

echo "== fuzzing $product for ${seconds}s ($seeds seed inputs)"
log=$scratch/$name.log
set +e
# Swift's crash backtracer reads the crashed stack from a helper thread, which ASan
# reports as a stack-buffer-underflow (and its process can hold the output pipe open);
# libFuzzer's own handler reports a failed invariant well enough.
SWIFT_BACKTRACE=enable=no "$binary" "$work" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" 2>&1 | tee "$log" | grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|==[0-9]+==|stat::|SUMMARY|Fatal|.*invariant failed|Test unit written)'
status=${PIPESTATUS[0]}
set -e

executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
corpus=$(find "$work" -type f | wc -l)
if [[ -n ${FUZZ_CORPUS_OUT:-} ]]; then
    mkdir -p "$FUZZ_CORPUS_OUT"
    cp "$work"/* "$FUZZ_CORPUS_OUT"/ 2>/dev/null || true
fi
echo "== $product: ${seconds}s, ${executions:-?} executions, ${rate:-?} exec/s, corpus $seeds -> $corpus inputs, log $log"
if [[ $status -ne 0 ]]; then
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "fuzz.sh: $product FAILED (exit $status); input kept at ${crash:-$artifacts}" >&2
    exit "$status"
fi
echo "== $product: no crash, no failed invariant"
