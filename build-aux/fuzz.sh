#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets with clang in build-fuzz and runs them on copies of their
# seed corpora, SECONDS (default 60) in all: half for fuzz-change (the change codec), half
# for fuzz-http (syncd's HTTP layer). Exits non-zero when a fuzzer finds a crash.
set -euo pipefail

seconds="${1:-60}"
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$src/build-fuzz"

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" "$src" -Dfuzz=true
else
  meson configure "$build" -Dfuzz=true
fi
ninja -C "$build" tests/fuzz/fuzz-change tests/fuzz/fuzz-http

artifacts="$build/fuzz-artifacts"
mkdir -p "$artifacts"

export G_SLICE=always-malloc
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

# run NAME SECONDS: libFuzzer exits non-zero on a crash, a leak, a timeout or an
# out-of-memory; the input is written to $artifacts. Its progress lines go to a log; the
# end of it is printed. The seeds are copied so the fuzzer's additions never land in the
# source tree; the copy persists, so coverage grows from one run to the next.
run () {
  local name="$1" secs="$2" rc=0
  local corpus="$build/fuzz-corpus-$name" log="$build/fuzz-$name.log"

  mkdir -p "$corpus"
  cp "$src/tests/fuzz/corpus-$name/"* "$corpus/"
  "$build/tests/fuzz/fuzz-$name" \
    -max_total_time="$secs" \
    -max_len=65536 \
    -timeout=10 \
    -dict="$src/tests/fuzz/$name.dict" \
    -artifact_prefix="$artifacts/" \
    -print_final_stats=1 \
    "$corpus" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz-$name failed (exit $rc); the whole log is $log, the input in $artifacts"
  else
    echo "fuzz-$name:"
    grep -E '^(Done|stat::)' "$log" || tail -n 5 "$log"
  fi
  return "$rc"
}

status=0
ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
  run change "$(( seconds / 2 ))" || status=$?
# libsoup and GLib are built without frame pointers: the slow unwinder is needed for
# leaks to show whose they are (and for the suppression of libsoup's own).
ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}:fast_unwind_on_malloc=0" \
LSAN_OPTIONS="suppressions=$src/tests/fuzz/http.supp" \
  run http "$(( seconds - seconds / 2 ))" || status=$?
exit "$status"
