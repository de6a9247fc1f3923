#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The README's run command: installs what is missing, builds, starts vetdesk-syncd on its
# embedded SQLite database with the demo clinics loaded, prints how to sign in, and opens
# the desktop app connected to it. Ctrl+C (or closing the app) stops both.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
builddir=${VD_BUILDDIR:-build-run}

bash build-aux/deps.sh
[ -d "$builddir" ] || meson setup "$builddir" >/dev/null
ninja -C "$builddir"

state=${XDG_STATE_HOME:-$HOME/.local/state}/vetdesk-demo
mkdir -p "$state"
syncd=("$builddir/syncd/vetdesk-syncd")
db="sqlite:$state/vetdesk.db"
listen=${VD_LISTEN:-127.0.0.1:8443}

"${syncd[@]}" migrate --database "$db" >/dev/null
if [ ! -f "$state/demo-users.txt" ]; then
  "${syncd[@]}" load-demo --database "$db" | tee "$state/demo-users.txt"
else
  cat "$state/demo-users.txt"
fi

"${syncd[@]}" serve --database "$db" --listen "$listen" --data-dir "$state" > "$state/syncd.log" 2>&1 &
syncd_pid=$!
trap 'kill $syncd_pid 2>/dev/null; wait $syncd_pid 2>/dev/null' EXIT INT TERM

for _ in $(seq 1 100); do
  grep -q "listening on" "$state/syncd.log" && break
  kill -0 $syncd_pid 2>/dev/null || { cat "$state/syncd.log"; exit 1; }
  sleep 0.1
done
grep -E "fingerprint|listening on" "$state/syncd.log" || true
echo "Server log: $state/syncd.log"

app="$builddir/client/vetdesk"
# Run from the build tree: the app's settings schema is compiled there.
export GSETTINGS_SCHEMA_DIR="$top/$builddir/data"
export VETDESK_LOCALEDIR="$top/$builddir/po"
# LANGUAGE=es translates the words only; dates, weekday names and the calendar's first day
# come from the locale, C.UTF-8 on a fresh machine: the app gets es_ES.UTF-8 (deps.sh
# generates it) unless the locale is Spanish already.
app_env=()
case "${LANGUAGE:-}" in
  es|es_*|es:*)
    current=${LC_ALL:-${LC_TIME:-${LANG:-C}}}
    case "$current" in
      es_*) ;;
      *) app_env=(env LANG=es_ES.UTF-8 LC_ALL=es_ES.UTF-8) ;;
    esac
    ;;
esac
if [ -x "$app" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "Opening VetDesk: sign in at https://$listen with one of the demo users above."
  "${app_env[@]}" "$app" --server "https://$listen"
else
  [ -x "$app" ] || echo "The desktop app is not built yet."
  [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || echo "No display: the app needs a desktop session."
  echo "vetdesk-syncd is running at https://$listen — press Ctrl+C to stop it."
  wait $syncd_pid
fi
