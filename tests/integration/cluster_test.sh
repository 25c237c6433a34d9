#!/usr/bin/env bash
# The three-node cluster of configs/cluster on loopback, as real fusion-node processes:
#   (a) the zone nodes link to the orchestrator, their zones register over the links, and
#       the orchestrator registers, places (explained) and deploys services on them;
#   (c) kill -9 of a zone node is noticed by the orchestrator within 3 s;
#   (d) a raw TCP client sending garbage and a node with an untrusted key are refused while
#       the remaining links stay up;
#   (e) kill -9 of the orchestrator after its registrations, then a restart with the same
#       data_dir: the services are there (registered again unchanged, reused).
# Ports are chosen by the OS and read back from the log; every process started is stopped
# by its pid, also on failure; every wait has a deadline; logs are kept on failure.
# Usage: cluster_test.sh FUSION_NODE SOURCE_DIR
set -uo pipefail
node=$1
src=$2
source "$src/tests/integration/cluster_lib.sh"

# The orchestrator listens on a port the OS picks; the zone nodes' configs get it after.
make_cluster 0 || { echo "FAIL: make-cluster"; exit 1; }
start orchestrator "$tmp/c/orchestrator.toml"
if ! await "$tmp/orchestrator.err" "listens for links on 127.0.0.1:" 20; then
  echo "FAIL: the orchestrator does not listen"; cat "$tmp/orchestrator.err"; exit 1
fi
port=$(sed -n "s/.*listens for links on 127.0.0.1:\([0-9]*\).*/\1/p" "$tmp/orchestrator.err" | head -1)
echo "ok: the orchestrator listens on port $port (chosen by the OS)"
cp "$tmp/c/orchestrator.toml" "$tmp/orchestrator-port0.toml"
make_cluster "$port"
cp "$tmp/orchestrator-port0.toml" "$tmp/c/orchestrator.toml"
start zone-node-a "$tmp/c/zone-node-a.toml"
start zone-node-b "$tmp/c/zone-node-b.toml"

# (a) placed, explained and deployed across processes
check "$tmp/orchestrator.err" "link to node 'zone-node-a'" 15 "zone-node-a links to the orchestrator"
check "$tmp/orchestrator.err" "link to node 'zone-node-b'" 15 "zone-node-b links to the orchestrator"
check "$tmp/orchestrator.out" "instances (4)" 40 "four instances are deployed (one by pre-deployment)"
contains "$tmp/orchestrator.out" "zones (2):" "both remote zones are registered"
contains "$tmp/orchestrator.out" "* bulk-dc-virginia: takes 2 of 2" "analytics is placed on zone-node-b's zone"
contains "$tmp/orchestrator.out" "* edge-brussels: takes 1 of 1" "the transcoder is placed on zone-node-a's zone"
contains "$tmp/orchestrator.out" "decision decision-" "decisions are explained from the orchestrator"
contains "$tmp/orchestrator.out" "bulk-dc-virginia slots 1/1 free" \
  "the orchestrator reads each instance's slots from the zone node's process"
if grep -q "invalid_argument\|not reachable" "$tmp/orchestrator.out"; then
  echo "FAIL: an instance could not be asked"; failures=$((failures + 1))
else echo "ok: every instance answers across processes"; fi

# (d) garbage and an untrusted node are refused; the zone links stay up
# A frame of handshake size (104 bytes) holding garbage.
exec 3<>"/dev/tcp/127.0.0.1/$port" && { printf '\000\000\000\150'; head -c 104 /dev/zero | tr '\0' x; } >&3
sleep 0.2
exec 3>&-
check "$tmp/orchestrator.err" "malformed_message" 10 "garbage bytes are refused as a malformed handshake"
"$node" keygen "$tmp/c/keys/stranger.key" >/dev/null
sed -e 's/zone-node-a/stranger/g' -e 's/edge-brussels/edge-stranger/' \
  "$tmp/c/zone-node-a.toml" >"$tmp/c/stranger.toml"
start stranger "$tmp/c/stranger.toml"
check "$tmp/orchestrator.err" "untrusted_peer" 10 "a node whose key is not trusted is refused"
if grep -q "link to node 'zone-node-b' .* is down" "$tmp/orchestrator.err"; then
  echo "FAIL: the refusals took zone-node-b's link down"; failures=$((failures + 1))
else echo "ok: zone-node-b's link stays up through the refusals"; fi
kill -9 "$pid_stranger" 2>/dev/null

# (c) kill -9 of a zone node is noticed within 3 s
kill -9 "$pid_zone_node_a" && wait "$pid_zone_node_a" 2>/dev/null
killed_at=$(date +%s%N)
if await "$tmp/orchestrator.err" "link to node 'zone-node-a' (" 5 &&
  grep -q "link to node 'zone-node-a' .* is down" "$tmp/orchestrator.err"; then
  noticed_ms=$((($(date +%s%N) - killed_at) / 1000000))
  if [ "$noticed_ms" -le 3000 ]; then echo "ok: the lost zone node is noticed in $noticed_ms ms"
  else echo "FAIL: the lost zone node is noticed in $noticed_ms ms (> 3 s)"; failures=$((failures + 1)); fi
else
  check "$tmp/orchestrator.err" "is down" 3 "the lost zone node is noticed within 3 s"
fi

# (e) kill -9 of the orchestrator, restart with the same data_dir: the services are there
kill -9 "$pid_orchestrator"
mv "$tmp/orchestrator.err" "$tmp/orchestrator-1.err"
mv "$tmp/orchestrator.out" "$tmp/orchestrator-1.out"
sed -i "s/^port = 0$/port = $port/" "$tmp/c/orchestrator.toml"
sed -i "s/^await_zones = 2$/await_zones = 0/; s/^deploy = .*/deploy = 0/" "$tmp/c/orchestrator.toml"
start orchestrator "$tmp/c/orchestrator.toml"
check "$tmp/orchestrator.err" "fusion://acme/analytics (svc-1) registered again by its owner, unchanged; reused" 30 \
  "after kill -9 and a restart the orchestrator still has the registered service"
check "$tmp/orchestrator.err" "link to node 'zone-node-b'" 15 "zone-node-b links to the restarted orchestrator"

# (c) a hung zone node (SIGSTOP: its socket stays open) is noticed by heartbeats within 3 s
kill -STOP "$pid_zone_node_b"
stopped_at=$(date +%s%N)
if await "$tmp/orchestrator.err" "peer silent" 4; then
  noticed_ms=$((($(date +%s%N) - stopped_at) / 1000000))
  if [ "$noticed_ms" -le 3000 ]; then echo "ok: the hung zone node is noticed in $noticed_ms ms"
  else echo "FAIL: the hung zone node is noticed in $noticed_ms ms (> 3 s)"; failures=$((failures + 1)); fi
else
  echo "FAIL: the hung zone node is not noticed within 4 s"; failures=$((failures + 1))
fi
kill -CONT "$pid_zone_node_b"

# Every node stops cleanly on SIGTERM, links and all, within 10 s.
for name in orchestrator zone_node_b; do
  pid_var="pid_$name"
  kill -TERM "${!pid_var}"
  deadline=$((SECONDS + 10))
  while kill -0 "${!pid_var}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  if kill -0 "${!pid_var}" 2>/dev/null; then
    echo "FAIL: $name does not stop within 10 s of SIGTERM"; failures=$((failures + 1))
  else
    wait "${!pid_var}"
    code=$?
    if [ "$code" -eq 0 ]; then echo "ok: $name stops cleanly on SIGTERM"; else
      echo "FAIL: $name exits $code on SIGTERM"; failures=$((failures + 1)); fi
  fi
done
finish
