#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets with clang in build-fuzz and runs fuzz-change for SECONDS
# (default 60) on a copy of its seed corpus. Exits non-zero when the fuzzer finds a crash.
set -euo pipefail

seconds="${1:-60}"
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$src/build-fuzz"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$src" -Dfuzz=true
else
  meson configure "$build" -Dfuzz=true
fi
ninja -C "$build" tests/fuzz/fuzz-change

# The seeds are copied so the fuzzer's additions never land in the source tree; the
# copy persists, so coverage grows from one run to the next.
corpus="$build/fuzz-corpus-change"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
cp "$src/tests/fuzz/corpus-change/"* "$corpus/"

export G_SLICE=always-malloc
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# libFuzzer exits non-zero on a crash, a leak, a timeout or an out-of-memory; the input
# is written to $artifacts. Its progress lines go to a log; the end of it is printed.
log="$build/fuzz-change.log"
rc=0
"$build/tests/fuzz/fuzz-change" \
  -max_total_time="$seconds" \
  -max_len=65536 \
  -timeout=10 \
  -dict="$src/tests/fuzz/change.dict" \
  -artifact_prefix="$artifacts/" \
  -print_final_stats=1 \
  "$corpus" >"$log" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
  tail -n 60 "$log"
  echo "fuzz-change failed (exit $rc); the whole log is $log, the input in $artifacts"
else
  grep -E '^(Done|stat::)' "$log" || tail -n 5 "$log"
fi
exit "$rc"
