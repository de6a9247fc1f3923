#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The README's test command: installs what is missing, builds, runs every test suite and
# ends with the line "N passed, N failed[, N skipped]". Exit status 0 only when none failed.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
builddir=${VD_BUILDDIR:-build-test}

bash build-aux/deps.sh || { echo "deps: installing packages failed"; echo "0 passed, 1 failed"; exit 1; }

if [ ! -d "$builddir" ]; then
  meson setup "$builddir" -Dpostgres_tests=enabled -Dui_tests=auto || { echo "0 passed, 1 failed"; exit 1; }
fi
ninja -C "$builddir" || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

# UI tests need a display and a session bus (libsecret's keyring): run the whole suite
# under Xvfb and a private D-Bus session.
runner=(meson test -C "$builddir" --print-errorlogs --num-processes 2)
if command -v xvfb-run >/dev/null && command -v dbus-run-session >/dev/null; then
  runner=(xvfb-run -a -s "-screen 0 1440x900x24" dbus-run-session -- "${runner[@]}")
fi
"${runner[@]}"
meson_rc=$?

fuzz_pass=0 fuzz_fail=0
if [ "${VD_FUZZ_SECONDS:-60}" -gt 0 ] && [ -x build-aux/fuzz.sh ]; then
  if bash build-aux/fuzz.sh "${VD_FUZZ_SECONDS:-60}"; then fuzz_pass=1; else fuzz_fail=1; fi
fi

python3 - "$builddir/meson-logs/testlog.json" "$fuzz_pass" "$fuzz_fail" <<'PY'
import json, sys
passed = failed = skipped = 0
failed_names = []
try:
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            r = rec.get("result", "")
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
                failed_names.append(f"{rec.get('name', '?')} ({r})")
                # The fuzz run's output follows the suite's: repeat the end of each
                # failed test's log here so the tail of a CI log says what broke.
                tail = (rec.get("stdout") or "").splitlines()[-40:]
                print(f"--- end of the log of {rec.get('name', '?')} ({r}) ---")
                print("\n".join(tail))
except FileNotFoundError:
    failed += 1
    failed_names.append("meson test log missing")
if int(sys.argv[3]):
    failed_names.append("fuzz")
for name in failed_names:
    print(f"failed: {name}")
passed += int(sys.argv[2])
failed += int(sys.argv[3])
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(1 if failed else 0)
PY
summary_rc=$?
[ $meson_rc -ne 0 ] && [ $summary_rc -eq 0 ] && exit 1
exit $summary_rc
