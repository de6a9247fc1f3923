#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# bench.sh — runs vds-bench's three scenarios on SQLite and on a throwaway PostgreSQL with
# moderate sizes (about 10 minutes on 2 cores) and prints a summary table.
# Usage: build-aux/bench.sh [BUILDDIR]   (default: build; run `meson setup` first)
# Sizes can be changed: A_REQUESTS, B_SECONDS, B_CLINICS_SQLITE, B_CLINICS_PG, C_BATCHES.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
A_REQUESTS=${A_REQUESTS:-2000}
B_SECONDS=${B_SECONDS:-60}
B_CLINICS_SQLITE=${B_CLINICS_SQLITE:-1000}
B_CLINICS_PG=${B_CLINICS_PG:-10000}
C_BATCHES=${C_BATCHES:-10}

ninja -C "$build" tests/bench/vds-bench syncd/vetdesk-syncd >/dev/null
bench="$build/tests/bench/vds-bench"
out=$(mktemp -d "${TMPDIR:-/tmp}/vds-bench-XXXXXX")
echo "Logs in $out. Load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)."

run () {
  name=$1
  shift
  echo
  echo "== $name: vds-bench $*"
  # A failed run still leaves its SUMMARY line (with failed=1) for the table.
  "$bench" "$@" 2>&1 | tee "$out/$name.log" || true
  grep '^SUMMARY' "$out/$name.log" | tail -n 1 >"$out/$name.sum" || echo "SUMMARY failed=1" >"$out/$name.sum"
}

run a-sqlite   --scenario a --backend sqlite   --requests "$A_REQUESTS"
run a-postgres --scenario a --backend postgres --requests "$A_REQUESTS"
run b-sqlite   --scenario b --backend sqlite   --clinics "$B_CLINICS_SQLITE" --seconds "$B_SECONDS"
run b-postgres --scenario b --backend postgres --clinics "$B_CLINICS_PG" --seconds "$B_SECONDS"
run c-sqlite   --scenario c --backend sqlite   --batches "$C_BATCHES"
run c-postgres --scenario c --backend postgres --batches "$C_BATCHES"

echo
echo "Summary ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores; targets from docs/benchmarks.md)"
for name in a-sqlite a-postgres b-sqlite b-postgres c-sqlite c-postgres; do
  awk -v name="$name" '
    function get(k) { return (k in v) ? v[k] : "-" }
    {
      for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      if ("failed" in v) { printf "%-11s FAILED (see its log)\n", name; next }
      if (name ~ /^a-/)
        printf "%-11s 20 concurrent full pulls: %s req/s, mean %s ms (target <= 5), p50 %s, p95 %s, p99 %s, errors %s, syncd RSS max %s MB; up to date: mean %s ms, bursts mean %s ms\n",
               name, get("pull_rps"), get("pull_mean_ms"), get("pull_p50_ms"), get("pull_p95_ms"),
               get("pull_p99_ms"), get("pull_errors"), get("a_rss_max_mb"), get("current_mean_ms"),
               get("current_burst_mean_ms")
      else if (name ~ /^b-/)
        printf "%-11s %s clinics: %s of %s req/s, mean %s ms, p50 %s, p95 %s, p99 %s (target <= 100), errors %s, syncd RSS max %s MB (target <= 300)\n",
               name, get("clinics"), get("all_rps"), get("target_rps"), get("all_mean_ms"),
               get("all_p50_ms"), get("all_p95_ms"), get("all_p99_ms"), get("all_errors"), get("b_rss_max_mb")
      else
        printf "%-11s merge: create %s, 5-column edit %s changes/s (target >= 25000); bare 500-row upsert %s rows/s, ratio %s (target >= 0.5); errors %s/%s\n",
               name, get("create_cps"), get("edit_cps"), get("bare500_edit_rps"),
               get("ratio500_edit"), get("create_errors"), get("edit_errors")
    }' "$out/$name.sum"
done
