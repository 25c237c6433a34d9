#!/usr/bin/env bash
# Times `fusion-node plan` over a generated config of N zones (issue 8 item 11: every zone
# registered, the plan in <= 10 s for 100,000 zones) and prints the figure as a JSON line,
# with the number of zones the decision says are known. Nothing is asserted on time.
# Usage: tests/bench/plan_scale.sh [ZONES] [PATH/TO/fusion-node]   (default 100000)
set -euo pipefail
zones=${1:-100000}
node=${2:-build/nodes/fusion-node}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/fusion-plan-scale-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
{
  printf '[node]\nname = "plan-scale"\n\n'
  awk -v n="$zones" 'BEGIN {
    split("eu-west eu-central us-east us-west ap-east", regions, " ")
    for (i = 0; i < n; i++) {
      printf "[[zone]]\nname = \"zone-%d\"\nregion = \"%s\"\nlatitude = %.2f\nlongitude = %.2f\n", \
        i, regions[i % 5 + 1], (i * 7) % 120 - 60, (i * 13) % 360 - 180
      printf "cpu_cores = %d\nmemory_mb = %d\ncost_per_instance_hour = %.2f\n\n", \
        64 + i % 448, 262144, 0.05 + (i % 100) / 100
    }
  }'
} >"$tmp/zones.toml"
start=$(date +%s.%N)
"$node" plan --config "$tmp/zones.toml" --manifest "$src/configs/services/analytics.yaml" \
  >"$tmp/out" 2>"$tmp/err" || true
end=$(date +%s.%N)
known=$(sed -n 's/.* \([0-9]*\) zones known.*/\1/p' "$tmp/out" | head -1)
if [ -z "$known" ]; then
  echo "plan_scale: plan printed no decision; its errors:" >&2
  head -20 "$tmp/err" >&2
  exit 1
fi
printf '{"bench": "plan_scale", "figure": "plan_seconds", "value": %.2f, "unit": "s", "zones": %d, "zones_known": %d, "config_bytes": %d}\n' \
  "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$zones" "$known" "$(wc -c <"$tmp/zones.toml")"
