#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# check-extract.sh — xgettext reads every C file of po/POTFILES without cutting a message
# short. A GLib printf macro inside _() (G_GINT64_FORMAT, G_GUINT64_FORMAT…) ends the msgid
# at the macro, so the catalogue never matches the string at run time; the <inttypes.h>
# macros (PRId64, PRIu64…) are the ones gettext understands. Argument: the source root.
set -eu
cd "$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep '\.c$' po/POTFILES > "$tmp/files"
xgettext --files-from="$tmp/files" --from-code=UTF-8 --language=C \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dngettext:2,3 --keyword=ngettext:1,2 \
  --flag=g_strdup_printf:1:c-format --flag=g_set_error:4:c-format \
  --flag=g_printerr:1:c-format --flag=g_print:1:c-format \
  --flag=g_string_append_printf:2:c-format --flag=g_prefix_error:2:c-format \
  --flag=g_task_return_new_error:4:c-format --flag=g_error_new:3:c-format \
  --output="$tmp/check.pot" 2> "$tmp/warnings"
if grep -A1 'not a valid C format string' "$tmp/warnings"; then
  echo "A message above is cut short: use PRId64/PRIu64, not G_G*_FORMAT, inside _()." >&2
  exit 1
fi
echo "Every message of po/POTFILES's C files is extracted whole."
