#!/usr/bin/env bash
# Runs fusion-bench placement three times per configuration (one service; 4, 16 and 64
# services; 64 services on 1 and 4 placement workers besides the default 2; one service on
# one worker; the sharing scheduler) and prints one
# line per run: the figures behind docs/benchmarks.md. Takes about 3 minutes.
# Usage: [PLACEMENTS=N] tests/bench/placement_series.sh [PATH/TO/fusion-bench]
set -euo pipefail
bench=${1:-build/nodes/fusion-bench}
placements=${PLACEMENTS:-30000}
figure() { sed -n "s/.*\"figure\": \"$1\", \"value\": \([0-9.e+]*\).*/\1/p"; }
for cfg in "1 2 stealing" "4 2 stealing" "16 2 stealing" "64 2 stealing" "64 1 stealing" \
  "64 4 stealing" "1 1 stealing" "1 2 sharing"; do
  read -r services workers policy <<<"$cfg"
  for run in 1 2 3; do
    out=$("$bench" placement --zones 5000 --placements "$placements" --services "$services" \
      --placement-workers "$workers" --policy "$policy")
    printf 'services=%s workers=%s policy=%s run=%s placements_per_s=%s per_cpu_s=%s caf_rr_per_s=%s failed=%s\n' \
      "$services" "$workers" "$policy" "$run" "$(figure placements_per_s <<<"$out")" \
      "$(figure placements_per_cpu_s <<<"$out")" "$(figure caf_request_response_per_s <<<"$out")" \
      "$(figure failed_placements <<<"$out")"
  done
done
