#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Idle cost of the headless agent with three listeners and no traffic
# (issue "launch monitors", benchmark c). Linux: reads /proc.
#   bench/bench-agent-idle.sh [SECONDS]   (default 30; run from the checkout after building)
set -eu
cd "$(dirname "$0")/.."
seconds=${1:-30}
dir=$(mktemp -d)
./_build/src/agent/fitclip-agent --headless --db "$dir/idle.db" \
  --open-connect 127.0.0.1:0 --open-connect 127.0.0.1:0 --e6 127.0.0.1:0 \
  >"$dir/agent.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
sleep 3   # start-up (store open, listeners) is not idle time
ticks=$(getconf CLK_TCK)
cpu0=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep "$seconds"
cpu1=$(awk '{print $14 + $15}' /proc/$pid/stat)
rss_kb=$(awk '/^VmRSS:/ {print $2}' /proc/$pid/status)
listeners=$(grep -c "listening on port" "$dir/agent.log" || true)
echo "idle_listeners $listeners"
echo "idle_seconds $seconds"
echo "idle_cpu_percent_of_core $(echo "$cpu0 $cpu1 $ticks $seconds" | awk '{printf "%.3f", ($2 - $1) / $3 / $4 * 100}')"
echo "idle_rss_mb $(echo "$rss_kb" | awk '{printf "%.1f", $1 / 1024}')"
