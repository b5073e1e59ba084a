#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what is needed, builds, runs every test, and ends with the line
# "N passed, N failed, N skipped" counting individual test cases.
# Exits non-zero when anything failed.
set -eu
cd "$(dirname "$0")/.."
./tools/install-deps.sh
./tools/build.sh
status=0
meson test -C _build --print-errorlogs "$@" || status=$?
python3 tools/test-summary.py _build/meson-logs/testlog.json || status=1
exit $status
