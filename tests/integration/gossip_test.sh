#!/usr/bin/env bash
# Gossip membership (SWIM, [gossip] mode = "on") among real fusion-node processes on loopback:
# an orchestrator (role "domain", its domain agent domain/orchestrator) and three zone nodes
# (role "zones", one [[zone]] each, agent zone/<zone>) that know only the orchestrator's
# address and key, and no zone registry:
#   1. every zone joins through its seed, finds its domain from the signed advertisement and
#      registers with the domain's zone registry; the orchestrator's gossip sees it join;
#   2. kill -9 of one zone node: the orchestrator's gossip declares its zone dead within 3 s
#      (the figure is printed, from the log's timestamp) and the zone registry fences it;
#   3. the zone node started again (same config, same key) joins again and registers under
#      its ZoneID with a later start; the registry says it is back;
#   4. the two other zones are never declared dead, and no node gets a message it has no
#      handler for.
# Ports are chosen by the OS and read back from the log; every process started is stopped
# by its pid, also on failure; every wait has a deadline; logs are kept on failure and their
# tails printed.
# Usage: gossip_test.sh FUSION_NODE SOURCE_DIR
set -uo pipefail
node=$1
src=$2
tmp_name=fusion-gossip
source "$src/tests/integration/cluster_lib.sh"

nodes=(zone-node-a zone-node-b zone-node-c)
zones=(edge-brussels bulk-dc-virginia metro-frankfurt)
victim=1  # zone-node-b is killed and started again
limit_s=3 # most seconds from a kill -9 to the death declared by gossip

# dump_logs: the tail of every log, when a check failed.
dump_logs() {
  local f
  for f in "$tmp"/*.err "$tmp"/*.out; do
    [ -s "$f" ] || continue
    echo "--- $f (last 25 lines)"
    tail -25 "$f" | sed 's/^/  | /'
  done
}
# shellcheck disable=SC2016  # evaluated by cleanup, once the processes are gone
at_exit+=('[ "$failures" -eq 0 ] || dump_logs')

# epoch_of_line FILE TEXT: the time (s since the epoch) the first line of FILE holding TEXT
# was logged, from its UTC timestamp (the line's first field).
epoch_of_line() {
  local line
  line=$(grep -F -m1 -- "$2" "$1") || return 1
  date -u -d "${line%% *}" +%s.%N
}

# remaining DEADLINE: seconds left until DEADLINE (in $SECONDS), at least 0.
remaining() {
  local left=$(($1 - SECONDS))
  echo $((left > 0 ? left : 0))
}

# forget PID: drops a reaped pid from the ones cleanup kills (it may be reused).
forget() {
  local p kept=()
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

mkdir -p "$tmp/keys"
declare -A node_key
for n in orchestrator "${nodes[@]}"; do
  node_key[$n]=$(key "$n")
  [ -n "${node_key[$n]}" ] || { fail "fusion-node keygen $tmp/keys/$n.key"; exit 1; }
done
orchestrator_key=${node_key[orchestrator]}

# The orchestrator trusts the three zone nodes' keys; they dial it (no address here).
{
  cat <<EOF
[node]
name = "orchestrator"
roles = ["domain"]

[link]
address = "127.0.0.1"
port = 0
identity = "$tmp/keys/orchestrator.key"

[gossip]
mode = "on"

[log]
level = "info"
EOF
  for n in "${nodes[@]}"; do
    printf '\n[[peer]]\nname = "%s"\npublic_key = "%s"\n' "$n" "${node_key[$n]}"
  done
} >"$tmp/orchestrator.toml"

expect 0 "fusion-node accepts a [gossip] section" -- "$node" check-config "$tmp/orchestrator.toml"
[ "$failures" -eq 0 ] || exit 1

start orchestrator "$tmp/orchestrator.toml"
port=$(listen_port 127.0.0.1) || { failures=$((failures + 1)); exit 1; }
echo "ok: the orchestrator listens on port $port (chosen by the OS)"

# zone_config INDEX: a zone node that knows only the orchestrator (address and key). The
# first two join through the default seeds (every [[peer]] with an address), the third
# names its seed.
zone_config() {
  local n=${nodes[$1]} seeds=""
  [ "$1" -eq 2 ] && seeds='seeds = ["orchestrator"]'
  cat <<EOF
[node]
name = "$n"
roles = ["zones"]

[link]
identity = "$tmp/keys/$n.key"

[gossip]
mode = "on"
$seeds

[log]
level = "info"

[[peer]]
name = "orchestrator"
address = "127.0.0.1:$port"
public_key = "$orchestrator_key"

[[zone]]
name = "${zones[$1]}"
region = "eu-west"
latitude = 50.85
longitude = 4.35
cpu_cores = 32
memory_mb = 131072
cost_per_instance_hour = 0.40
cost_per_core_hour = 0.05
EOF
}
for i in "${!nodes[@]}"; do
  zone_config "$i" >"$tmp/${nodes[$i]}.toml"
  start "${nodes[$i]}" "$tmp/${nodes[$i]}.toml"
done

# 1. every zone joins, finds its domain and registers, within 20 s of the start
deadline=$((SECONDS + 20))
for i in "${!nodes[@]}"; do
  n=${nodes[$i]} z=${zones[$i]}
  check "$tmp/$n.err" "zone $z found its domain 'orchestrator' by gossip: registering with the zone registry of node 'orchestrator'" \
    "$(remaining $deadline)" "zone $z finds its domain by gossip"
  check_line "$tmp/$n.err" "zone $z registered as [^ ]+ \(start [0-9]+\) with the zone registry of node 'orchestrator'" \
    "$(remaining $deadline)" "zone $z registers with the orchestrator's zone registry"
  check "$tmp/orchestrator.err" ": zone/$z joined" "$(remaining $deadline)" \
    "the orchestrator's gossip sees zone/$z join"
done
[ "$failures" -eq 0 ] || exit 1

vn=${nodes[$victim]} vz=${zones[$victim]}
read -r zone_id start1 < <(sed -n "s/.*zone $vz registered as \([^ ]*\) (start \([0-9]*\)).*/\1 \2/p" \
  "$tmp/$vn.err" | tail -1)
echo "ok: zone $vz is $zone_id (start $start1)"
# A first join is logged as "joined", a return from the dead as "came back".
joins() { grep -cE ": zone/$vz (joined|came back) " "$tmp/orchestrator.err"; }
joins_before=$(joins)

# 2. kill -9 of a zone node: declared dead by gossip within 3 s, and fenced
pid_var="pid_$(tr - _ <<<"$vn")"
killed_at=$(date +%s.%N)
kill -9 "${!pid_var}"
wait "${!pid_var}" 2>/dev/null
forget "${!pid_var}"
dead_line=": zone/$vz declared dead ("
if await "$tmp/orchestrator.err" "$dead_line" 10; then
  polled=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  logged_at=$(epoch_of_line "$tmp/orchestrator.err" "$dead_line")
  detection=$(awk -v a="$killed_at" -v b="$logged_at" 'BEGIN { printf "%.2f", b - a }')
  suspect=""
  if suspect_at=$(epoch_of_line "$tmp/orchestrator.err" ": zone/$vz is suspect"); then
    suspect=$(awk -v a="$killed_at" -v b="$suspect_at" 'BEGIN { printf ", suspect after %.2f s", b - a }')
  fi
  echo "detection: $detection s (from the log's timestamp; seen by polling after $polled s$suspect)"
  if awk -v d="$detection" -v l="$limit_s" 'BEGIN { exit !(d <= l) }'; then
    echo "ok: the orchestrator's gossip declares zone/$vz dead $detection s after kill -9 (<= $limit_s s)"
  else
    fail "the orchestrator's gossip declares zone/$vz dead $detection s after kill -9 (> $limit_s s)"
  fi
else
  fail "the orchestrator's gossip does not declare zone/$vz dead within 10 s of kill -9"
fi
check_line "$tmp/orchestrator.err" \
  "zone $vz \($zone_id\) declared dead by gossip \(member zone/$vz, incarnation [0-9]+\): fenced at start $start1" \
  2 "the zone registry fences zone $vz at start $start1"

# 3. started again with the same config and key: it joins again and is no longer fenced
mv "$tmp/$vn.err" "$tmp/$vn-1.err"
mv "$tmp/$vn.out" "$tmp/$vn-1.out"
start "$vn" "$tmp/$vn.toml"
deadline=$((SECONDS + 20))
check "$tmp/$vn.err" "zone $vz found its domain 'orchestrator' by gossip" "$(remaining $deadline)" \
  "the restarted zone $vz finds its domain by gossip again"
check_line "$tmp/$vn.err" "zone $vz registered as $zone_id \(start [0-9]+\)" "$(remaining $deadline)" \
  "the restarted zone $vz registers again under its ZoneID $zone_id"
start2=$(sed -n "s/.*zone $vz registered as [^ ]* (start \([0-9]*\)).*/\1/p" "$tmp/$vn.err" | tail -1)
if [ -n "$start2" ] && [ "$start2" -gt "$start1" ]; then
  echo "ok: its start goes from $start1 to $start2"
else
  fail "the restarted zone $vz registers with start '${start2}', not after $start1"
fi
check "$tmp/orchestrator.err" "zone $vz ($zone_id) is back (start ${start2:-?}): no longer fenced" \
  "$(remaining $deadline)" "the zone registry says zone $vz is back and no longer fenced"
until [ "$(joins)" -gt "$joins_before" ]; do
  [ "$(remaining $deadline)" -gt 0 ] || break
  sleep 0.05
done
if [ "$(joins)" -gt "$joins_before" ]; then
  echo "ok: the orchestrator's gossip sees zone/$vz join again"
else
  fail "the orchestrator's gossip does not see zone/$vz join again within 20 s"
  grep -F "zone/$vz" "$tmp/orchestrator.err" | tail -10 | sed 's/^/  | /'
fi

# 4. nobody else was declared dead; the killed zone only once
for i in "${!nodes[@]}"; do
  [ "$i" -eq "$victim" ] && continue
  n=${nodes[$i]} z=${zones[$i]}
  if grep -qF ": zone/$z declared dead" "$tmp/orchestrator.err" ||
    grep -qE "zone $z \(.*declared dead by gossip" "$tmp/orchestrator.err" ||
    grep -qF "was declared dead by others" "$tmp/$n.err"; then
    fail "zone $z, whose node ran throughout, was declared dead"
    grep -E "zone/$z|zone $z |declared dead" "$tmp/orchestrator.err" "$tmp/$n.err" | sed 's/^/  | /'
  else
    echo "ok: zone $z, whose node ran throughout, is never declared dead ($(grep -cF ": zone/$z is suspect" "$tmp/orchestrator.err") suspicion(s) on the orchestrator)"
  fi
done
deaths=$(grep -cF ": zone/$vz declared dead" "$tmp/orchestrator.err")
if [ "$deaths" -eq 1 ]; then echo "ok: zone/$vz is declared dead once, after its kill"; else
  fail "zone/$vz is declared dead $deaths times (once expected)"
  grep -F "zone/$vz" "$tmp/orchestrator.err" | sed 's/^/  | /'
fi
# CAF prints a message no handler takes on stdout: none is expected.
if grep -qF "unexpected message" "$tmp"/*.out "$tmp"/*.err; then
  fail "a node received a message it has no handler for"
  grep -F "unexpected message" "$tmp"/*.out "$tmp"/*.err | cut -c1-300 | sed 's/^/  | /'
else echo "ok: no node received a message it has no handler for"; fi
finish
