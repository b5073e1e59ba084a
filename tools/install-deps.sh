#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what building and testing FitClip Agent needs on Debian 12 /
# Ubuntu 22.04 or newer. Runs apt-get through sudo when not root.
set -eu

PACKAGES="
  build-essential pkg-config meson ninja-build python3
  libglib2.0-dev libjson-glib-dev libsqlite3-dev libsoup-3.0-dev
  libssl-dev
  libsecret-1-dev gnome-keyring dbus libsecret-tools
  gettext desktop-file-utils appstream
"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

missing=""
for p in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "Installing:$missing"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
fi
