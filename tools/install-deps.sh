#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what building and testing FitClip Agent needs on Debian 12 /
# Ubuntu 22.04 or newer. Runs apt-get through sudo when not root.
set -eu

PACKAGES="
  build-essential pkg-config meson ninja-build python3
  libglib2.0-dev libjson-glib-dev libsqlite3-dev libsoup-3.0-dev
  libssl-dev openssl glib-networking
  libsecret-1-dev gnome-keyring dbus libsecret-tools
  gettext desktop-file-utils appstream
  iproute2
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

# Node.js and npm for the reference tus server (@tus/server, pinned in
# tests/tus-interop/package-lock.json) used by the tus interop tests and
# bench-tus. A Node the machine already has is used; otherwise Debian's
# nodejs and npm (Node 18, which the pinned @tus/server 1.x supports).
if ! command -v node >/dev/null 2>&1; then
  echo "Installing: nodejs npm"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm
elif ! command -v npm >/dev/null 2>&1 && dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q "install ok installed" \
     && dpkg-query -W -f='${Version}' nodejs | grep -q dfsg; then
  # Debian's own nodejs ships npm separately.
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm
fi
tus_dir="$(dirname "$0")/../tests/tus-interop"
if command -v npm >/dev/null 2>&1; then
  if ! cmp -s "$tus_dir/package-lock.json" "$tus_dir/node_modules/.fitclip-lock"; then
    echo "Installing the tus interop server's npm packages (npm ci)"
    if (cd "$tus_dir" && npm ci --no-audit --no-fund --loglevel=error); then
      cp "$tus_dir/package-lock.json" "$tus_dir/node_modules/.fitclip-lock"
    else
      echo "warning: npm ci failed in tests/tus-interop; the tus interop tests will not run" >&2
    fi
  fi
else
  echo "warning: no npm; the tus interop tests will not run" >&2
fi
