#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs every Debian 12 package VetDesk needs to build, run and test.
# The one list used by the README's commands and by CI.
set -euo pipefail

PACKAGES=(
  # toolchain and build
  gcc clang libclang-rt-14-dev meson ninja-build pkg-config gettext
  # libraries
  libglib2.0-dev libglib2.0-bin glib-networking libgtk-4-dev libgtk-4-bin libadwaita-1-dev
  libsoup-3.0-dev libjson-glib-dev libsqlite3-dev libsecret-1-dev libpq-dev
  libsodium-dev libgnutls28-dev
  # servers and tools the tests start
  postgresql postgresql-client xvfb xauth dbus dbus-x11 gnome-keyring
  desktop-file-utils appstream imagemagick fonts-cantarell adwaita-icon-theme poppler-utils
  # the accessibility test (tests/ui/a11y-day-view.py): the AT-SPI bus and pyatspi
  at-spi2-core python3-pyatspi
  openssl curl ca-certificates
  # es_ES.UTF-8 for the Spanish demo (dates, weekdays, the calendar's first day)
  locales
)

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

# The Spanish demo (LANGUAGE=es bash build-aux/run.sh) formats dates in es_ES.UTF-8: a
# fresh Debian has only C.UTF-8, where LANGUAGE translates the words but not the dates.
ensure_spanish_locale () {
  locale -a 2>/dev/null | grep -qix 'es_ES.utf8' && return 0
  echo "deps: generating the es_ES.UTF-8 locale"
  if grep -q '^# *es_ES.UTF-8 UTF-8' /etc/locale.gen; then
    $SUDO sed -i 's/^# *\(es_ES.UTF-8 UTF-8\)/\1/' /etc/locale.gen
  elif ! grep -q '^es_ES.UTF-8 UTF-8' /etc/locale.gen; then
    echo 'es_ES.UTF-8 UTF-8' | $SUDO tee -a /etc/locale.gen >/dev/null
  fi
  $SUDO locale-gen >/dev/null
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages present"
else
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
ensure_spanish_locale
