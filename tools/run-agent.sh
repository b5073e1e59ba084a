#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs what is needed, builds, and starts the agent on its embedded
# defaults (database in the user data folder, bay "Bay 1").
set -eu
cd "$(dirname "$0")/.."
./tools/install-deps.sh
./tools/build.sh
exec ./_build/src/agent/fitclip-agent --headless "$@"
