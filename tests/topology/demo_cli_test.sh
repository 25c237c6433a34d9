#!/usr/bin/env bash
# The embedded demo as a newcomer reads it (docs/placement.md, "Reading a decision"): every
# placement decision shown once, in the order it happened, pre-deployments included; a legend
# for `*`; each policy explained once; numbers for people.
# Usage: demo_cli_test.sh PATH/TO/fusion-node SOURCE_DIR
set -uo pipefail
node=$1
src=$2
tmp=$(mktemp -d /tmp/fusion-demo-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/support/cli.sh"

expect 0 "the embedded demo runs" -- "$node" --run-for 0.2
contains "$tmp/out" "* marks a chosen zone" "the demo explains the * once"
contains "$tmp/out" "pre-deployment:" "the demo shows pre-deployment decisions"
contains "$tmp/out" "4 zone(s) found domain 'fusion-demo' by its signed advertisement" \
  "the demo's zones find the domain by gossip"

# Decision ids in the order printed: decision-1, decision-2, … each once, none missing.
grep -o '^ *decision decision-[0-9]*:' "$tmp/out" | grep -o '[0-9]*' >"$tmp/ids"
seq 1 "$(wc -l <"$tmp/ids")" >"$tmp/want"
if [ -s "$tmp/ids" ] && cmp -s "$tmp/ids" "$tmp/want"; then
  echo "ok: every decision is shown once, in order ($(wc -l <"$tmp/ids") decisions)"
else
  echo "FAIL: decisions shown: $(tr '\n' ' ' <"$tmp/ids")"; failures=$((failures + 1))
fi
# Registrations and deployments each come with their decisions.
deploys=$(grep -c 'registered fusion://' "$tmp/out")
if [ "$(wc -l <"$tmp/ids")" -ge "$deploys" ]; then
  echo "ok: at least one decision per registered service ($deploys)"
else
  echo "FAIL: $deploys services, $(wc -l <"$tmp/ids") decisions"; failures=$((failures + 1))
fi

for policy in best_total lowest_cost lowest_latency; do
  n=$(grep -c "(policy $policy:" "$tmp/out")
  if [ "$n" -le 1 ]; then
    echo "ok: policy $policy explained at most once ($n)"
  else
    echo "FAIL: policy $policy explained $n times"; failures=$((failures + 1))
  fi
done
if grep -q '[0-9]\.[0-9]*00000' "$tmp/out"; then
  echo "FAIL: numbers with trailing zeros: $(grep -m3 '[0-9]\.[0-9]*00000' "$tmp/out")"
  failures=$((failures + 1))
else
  echo "ok: numbers for people"
fi
if grep -q 'latency 0 ms\|latency=0ms' "$tmp/out"; then
  echo "FAIL: a latency of 0 ms is printed as a measurement"; failures=$((failures + 1))
else
  echo "ok: no 0 ms latency printed"
fi
# Chosen zones come first in each decision: no `*` line after an unmarked zone line.
if awk '/decision decision-/ {seen = 0} /^ +[^ *(d].*: (offer|refused|excluded)/ {seen = 1}
        /^ +\* / && seen {bad = 1} END {exit bad}' "$tmp/out"; then
  echo "ok: chosen zones are listed first"
else
  echo "FAIL: a chosen zone listed after others"; failures=$((failures + 1))
fi
# The demo clients: a line every half second, where sessions went, the scaling decisions
# with their reasons (which ones depends on timing: only their form is checked).
n=$(grep -c '^ *[0-9]\.[05]s ' "$tmp/out")
if grep -q '^sessions: 12 demo clients open and close sessions of fusion://acme/cloud-game' \
  "$tmp/out" && [ "$n" -eq 10 ]; then
  echo "ok: demo clients ran with a line every half second"
else
  echo "FAIL: demo clients: header or $n of 10 lines"; failures=$((failures + 1))
fi
if grep -q '^  routed: [0-9]* to ' "$tmp/out" && grep -q '^scaling decisions' "$tmp/out"; then
  echo "ok: routing choices and scaling decisions are shown"
else
  echo "FAIL: no routing choices or scaling decisions"; failures=$((failures + 1))
fi
if grep -E '^  zone [^:]*: scale_(out|in) ' "$tmp/out" | grep -v -q 'slot utilisation [0-9]*%'; then
  echo "FAIL: a scaling decision without its reason"; failures=$((failures + 1))
else
  echo "ok: every scaling decision gives its reason"
fi
finish
