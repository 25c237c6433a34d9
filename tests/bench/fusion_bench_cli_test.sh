#!/usr/bin/env bash
# fusion-bench's command line: subcommands, option errors, and small real runs that print
# their figures as JSON lines.
# Usage: fusion_bench_cli_test.sh PATH/TO/fusion-bench SOURCE_DIR
set -uo pipefail
bench=$1
src=$2
tmp=$(mktemp -d /tmp/fusion-bench-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/support/cli.sh"

expect 0 "list names the subcommands" -- "$bench" list
contains "$tmp/out" "placement" "list has placement"
contains "$tmp/out" "codec" "list has codec"
if grep -q "link_peer" "$tmp/out"; then echo "FAIL: list shows the hidden link_peer"
  failures=$((failures + 1)); else echo "ok: list hides link_peer"; fi
expect 0 "a subcommand's --help lists its options" -- "$bench" placement --help
contains "$tmp/out" "--services" "placement --help lists --services"
expect 2 "an unknown subcommand is a usage error" -- "$bench" nosuch
expect 2 "an unknown option is a usage error" -- "$bench" placement --bogus 3
contains "$tmp/err" "--bogus" "the error names the option"
# Negative or wrapped numbers are usage errors for every unsigned option (Boost alone
# reads -1 as 2^64-1 and -18446744073709551615 as 1).
for opt in "placement --zones" "placement --placements" "placement --window" "placement --k" \
  "placement --services" "placement --threads" "placement --placement-workers" \
  "placement --zone-nodes" \
  "codec --iterations" "link --messages" "link --handshakes" "link --window" "link --pings" \
  "link --rounds" "registrar --registrations" "registrar --providers" "registrar --single" \
  "sessions --sessions" "sessions --window" "sessions --slots" "slots --zones" "slots --routers" \
  "slots --churn" "slots --interval-ms" "slots --seconds" "gossip --members" \
  "gossip --loss-seconds" "gossip --seed"; do
  read -r cmd flag <<<"$opt"
  for v in -1 -18446744073709551615 18446744073709551616 +3 " 3" 0x10; do
    expect 2 "$cmd $flag $v is refused" -- "$bench" "$cmd" "$flag=$v"
    contains "$tmp/err" "expected a whole number" "$cmd $flag $v: the error says what is expected"
  done
done
expect 2 "a zero count is refused" -- "$bench" placement --zones=0
contains "$tmp/err" "--zones must be between 1" "the error says the range"
expect 2 "a word where a number belongs is refused" -- "$bench" codec --iterations abc
expect 2 "a stray positional word is refused" -- "$bench" codec extra
expect 2 "an unknown scheduler policy is refused" -- "$bench" placement --policy fifo
contains "$tmp/err" "'stealing' or 'sharing'" "the error lists the policies"

expect 0 "a small codec run" -- "$bench" codec --iterations 2000
contains "$tmp/out" '"figure": "codec_msgs_per_s"' "codec prints its rate"
contains "$tmp/out" '"figure": "caf_request_response_per_s"' "codec prints the CAF rate"
expect 0 "a small link run (in memory, then over loopback to a peer process)" -- \
  "$bench" link --messages 3000 --handshakes 20 --window 256 --pings 50 --rounds 2
contains "$tmp/out" '"figure": "link_sealed_msgs_per_s_batched"' "link prints the in-memory batched rate"
contains "$tmp/out" '"figure": "link_sealed_msgs_per_s_unbatched"' "link prints the in-memory unbatched rate"
contains "$tmp/out" '"figure": "link_handshakes_per_s"' "link prints the handshake rate"
contains "$tmp/out" '"transport": "memory"' "in-memory figures say so"
contains "$tmp/out" '"figure": "sealed_msgs_per_s_batched"' "link prints the loopback batched rate"
contains "$tmp/out" '"figure": "sealed_msgs_per_s_unbatched"' "link prints the loopback unbatched rate"
contains "$tmp/out" '"rounds": 2, "min": ' "the sealed rates are medians of --rounds, with min and max"
contains "$tmp/out" '"figure": "rtt_us"' "link prints the round trip"
contains "$tmp/out" '"figure": "basp_msgs_per_s"' "link prints CAF BASP's rate"
contains "$tmp/out" '"figure": "raw_tcp_msgs_per_s"' "link prints raw TCP's rate"
contains "$tmp/out" '"transport": "loopback"' "loopback figures say so"
contains "$tmp/out" '"window": 256' "with their window"
contains "$tmp/out" '"figure": "loopback_failures", "value": 0,' "no link fault over loopback"
expect 1 "a peer process that dies before it is ready fails the run" -- \
  "$bench" link --messages 100 --handshakes 1 --peer-fault exit
contains "$tmp/err" "ended before it was ready (exit status 3)" "the error says the peer ended"
expect 1 "a failed handshake with the peer process fails the run" -- \
  "$bench" link --messages 100 --handshakes 1 --peer-fault handshake
contains "$tmp/err" "the sealed link to the peer failed" "the error says the link failed"
expect 0 "a small sessions run" -- "$bench" sessions --zones 3 --instances 2 --slots 50 \
  --sessions 3000 --decisions 10000
contains "$tmp/out" '"figure": "session_setups_per_s"' "sessions prints its setup rate"
contains "$tmp/out" '"figure": "sessions_refused", "value": 0,' "no session was refused"
contains "$tmp/out" '"figure": "router_decisions_per_s"' "sessions prints the decision rate"
contains "$tmp/out" '"figure": "caf_request_response_per_s"' "sessions prints the CAF rate"
expect 0 "a small slots run" -- "$bench" slots --zones 4 --instances 5 --routers 2 --slots 20 \
  --churn 50 --ramp-intervals 4 --seconds 1
contains "$tmp/out" '"figure": "staleness_p50_intervals"' "slots prints the median staleness"
contains "$tmp/out" '"figure": "staleness_p99_intervals"' "slots prints the p99 staleness"
contains "$tmp/out" '"figure": "update_msgs_per_zone_interval"' "slots prints the update rate"
contains "$tmp/out" '"figure": "sessions_refused", "value": 0,' "no session was refused"
contains "$tmp/out" '"routers": 2' "with its configuration"
if grep -qF '"figure": "staleness_samples", "value": 0,' "$tmp/out"; then
  echo "FAIL: slots took no staleness sample"; failures=$((failures + 1))
else echo "ok: slots sampled the routers"; fi
expect 2 "slots refuses a refresh shorter than the interval" -- "$bench" slots --interval-ms 100 \
  --refresh-ms 50
contains "$tmp/err" "--refresh-ms must be at least --interval-ms" "the error says what to fix"
expect 2 "slots refuses a swing larger than a zone's slots" -- "$bench" slots --instances 2 --slots 2
contains "$tmp/err" "it must be 1 to the zone's 4 slots" "the error gives the zone's slots"
expect 0 "a small gossip run" -- "$bench" gossip --members 50 --loss-seconds 5
contains "$tmp/out" '"figure": "dissemination_rounds"' "gossip prints the dissemination rounds"
contains "$tmp/out" '"figure": "bytes_per_member_s"' "gossip prints the bytes per member"
contains "$tmp/out" '"figure": "detection_s"' "gossip prints the detection time"
contains "$tmp/out" '"figure": "false_positives"' "gossip prints the false positives"
contains "$tmp/out" '"figure": "wall_s"' "gossip prints its wall-clock time"
contains "$tmp/out" '"members_reached": 50,' "the advertisement reached every member"
contains "$tmp/out" '"members_reached": 49,' "every live member saw the crash"
contains "$tmp/out" '"start": "preseeded views, join news spent"' "gossip says how it started"
expect 2 "gossip refuses fewer than 3 members" -- "$bench" gossip --members 2
contains "$tmp/err" "at least 3" "the error says the minimum"
expect 0 "a small placement run" -- "$bench" placement --zones 40 --placements 300 --k 4 --services 3
contains "$tmp/out" '"figure": "placements_per_s"' "placement prints its rate"
contains "$tmp/out" '"figure": "failed_placements", "value": 0,' "no placement failed"
contains "$tmp/out" '"figure": "offers_per_placement", "value": 4,' "each placement got k offers"
contains "$tmp/out" '"services": 3' "the configuration is printed with the figure"
# A Lua evaluator beside the generic one, in the same run.
expect 0 "a placement run with a Lua evaluator" -- "$bench" placement --zones 40 --placements 300 \
  --k 4 --evaluator lua
contains "$tmp/out" '"evaluator": "lua:near_users.lua"' "the Lua figures say their evaluator"
contains "$tmp/out" '"figure": "lua_to_generic_rate"' "the two rates are compared"
if grep -F '"figure": "failed_placements"' "$tmp/out" | grep -qvF '"value": 0,'; then
  echo "FAIL: a placement failed: $(cat "$tmp/out")"; failures=$((failures + 1))
else echo "ok: no placement failed with either evaluator"; fi
printf 'function evaluate(\n' > "$tmp/broken.lua"
expect 2 "a Lua evaluator that does not compile is refused" -- "$bench" placement --zones 40 \
  --placements 300 --evaluator lua --evaluator-script "$tmp/broken.lua"
contains "$tmp/err" "broken.lua:2:" "the error names the script's line"
expect 2 "an unknown evaluator is refused" -- "$bench" placement --evaluator python
expect 2 "a script without --evaluator lua is refused" -- "$bench" placement --evaluator-script x.lua
# Across processes: the zones in two fusion-node processes (found next to fusion-bench).
# both FILE TEXT1 TEXT2 DESCRIPTION: one line of FILE holds both texts.
both() {
  if grep -F -- "$2" "$1" | grep -qF -- "$3"; then echo "ok: $4"; else
    echo "FAIL: $4: no line with '$2' and '$3' in $(cat "$1")"
    failures=$((failures + 1))
  fi
}
expect 0 "a small placement run across processes" -- "$bench" placement --zone-nodes 2 --zones 8 \
  --placements 300 --k 2
both "$tmp/out" '"figure": "placements_per_s"' '"zone_nodes": 0,' "the in-process rate"
both "$tmp/out" '"figure": "placements_per_s"' '"zone_nodes": 2,' "the rate across processes"
both "$tmp/out" '"figure": "failed_placements", "value": 0,' '"zone_nodes": 0,' \
  "no in-process placement failed"
both "$tmp/out" '"figure": "failed_placements", "value": 0,' '"zone_nodes": 2,' \
  "no placement across processes failed"
both "$tmp/out" '"figure": "offers_per_placement", "value": 2,' '"zone_nodes": 2,' \
  "each placement across processes got k offers"
expect 2 "too many zone nodes are refused" -- "$bench" placement --zone-nodes 17
expect 1 "a missing fusion-node is a clear error" -- "$bench" placement --zone-nodes 2 --zones 4 \
  --placements 10 --k 2 --fusion-node "$tmp/no-such-node"
contains "$tmp/err" "no fusion-node at" "the error names the missing program"

expect 0 "a small registrar run" -- "$bench" registrar --registrations 400 --providers 20 --single 50 \
  --data-dir "$tmp"
contains "$tmp/out" '"figure": "registrations_per_s"' "registrar prints the grouped rate"
contains "$tmp/out" '"in_flight": 20' "with the providers in flight"
contains "$tmp/out" '"figure": "registrations_per_s_single"' "registrar prints the one-in-flight rate"
contains "$tmp/out" '"figure": "fsyncs_per_s"' "registrar prints the disk's fsync rate"
contains "$tmp/out" '"figure": "failed_registrations", "value": 0,' "no registration failed"
if [ -s "$tmp/grouped.db" ]; then echo "ok: the store is a file in --data-dir"; else
  echo "FAIL: no $tmp/grouped.db"; failures=$((failures + 1)); fi

finish
