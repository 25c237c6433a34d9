#!/usr/bin/env bash
# The three-node cluster of configs/cluster on loopback, as real fusion-node processes:
#   (a) the zone nodes link to the orchestrator, their zones register over the links, and
#       the orchestrator registers, places (explained) and deploys services on them;
#   (p) the provider acme's own node registers and deploys its services over a link keyed
#       with the provider's key;
#   (c) kill -9 of a zone node is noticed by the orchestrator within 3 s, and placement goes
#       on with the other zone;
#   (d) a raw TCP client sending garbage and a node with an untrusted key are refused while
#       the remaining links stay up;
#   (e) kill -9 of the orchestrator after its registrations, then a restart with the same
#       data_dir: the services are there (registered again unchanged, reused) and nothing
#       is deployed twice.
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
port=$(listen_port 127.0.0.1) || exit 1
echo "ok: the orchestrator listens on port $port (chosen by the OS)"
cp "$tmp/c/orchestrator.toml" "$tmp/orchestrator-port0.toml"
make_cluster "$port"
cp "$tmp/orchestrator-port0.toml" "$tmp/c/orchestrator.toml"
start zone-node-a "$tmp/c/zone-node-a.toml"
start zone-node-b "$tmp/c/zone-node-b.toml"

# (a) placed, explained and deployed across processes
check_deployed

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

# (p) the provider's own node: its services registered and deployed over its link
start provider "$tmp/c/provider.toml"
check_line "$tmp/provider.out" "ar-assistant on node zone-node-a: .*\(deployed now\)" 30 \
  "the provider's node deploys its service on zone-node-a's zone through the orchestrator"
contains "$tmp/provider.out" "registered fusion://acme/ar-assistant as svc-3 (provider acme)" \
  "the provider's node registers its service"
stop provider
# A service both zones can host, closer to zone-node-a's users.
printf '%s\n' 'general:' '  name: fusion://acme/edge-cache' 'deployment:' '  hardware:' \
  '    cpu_cores: 1' 'mapping:' '  policy: lowest_latency' '  user_locations:' \
  '    - {region: eu-west, latitude: 50.85, longitude: 4.35}' >"$tmp/edge-cache.yaml"
sed -e "s|^manifest = .*|manifest = \"$tmp/edge-cache.yaml\"|" "$tmp/c/provider.toml" \
  >"$tmp/c/edge-cache.toml"
mv "$tmp/provider.out" "$tmp/provider-1.out"
start provider "$tmp/c/edge-cache.toml"
check_line "$tmp/provider.out" "edge-cache on node zone-node-a: .*\(deployed now\)" 30 \
  "the edge cache goes to the zone nearest its users, on zone-node-a"
stop provider

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
# Two edge caches wanted now: the one on record stays counted (its zone cannot say it is
# gone), the other is placed on the zone still there.
sed -i "s/^deploy = 1$/deploy = 2/" "$tmp/c/edge-cache.toml"
mv "$tmp/provider.out" "$tmp/provider-2.out"
start provider "$tmp/c/edge-cache.toml"
check "$tmp/provider.out" "deploy 2 instance(s): 1 already on record, 1 deployed" 30 \
  "the provider's node tops the edge cache up to two"
check_line "$tmp/provider.out" "edge-cache on node zone-node-b: .*\(deployed now\)" 1 \
  "with zone-node-a gone, placement goes on with zone-node-b's zone"
stop provider

# (e) kill -9 of the orchestrator, restart with the same data_dir: the services are there
kill -9 "$pid_orchestrator"
mv "$tmp/orchestrator.err" "$tmp/orchestrator-1.err"
mv "$tmp/orchestrator.out" "$tmp/orchestrator-1.out"
sed -i "s/^port = 0$/port = $port/" "$tmp/c/orchestrator.toml"
sed -i "s/^await_zones = 2$/await_zones = 1/" "$tmp/c/orchestrator.toml"  # zone-node-a is gone
start orchestrator "$tmp/c/orchestrator.toml"
check "$tmp/orchestrator.err" "fusion://acme/analytics (svc-1) registered again by its owner, unchanged; reused" 30 \
  "after kill -9 and a restart the orchestrator still has the registered service"
check "$tmp/orchestrator.out" "instances (4)" 30 "the restarted orchestrator lists the four instances on record"
contains "$tmp/orchestrator.out" "fusion://acme/analytics          zone bulk-dc-virginia slots 1/1 free" \
  "it waits for zone-node-b's link (node.await_zones = 1) and reads its instances"
contains "$tmp/orchestrator.out" "inst-edge-brussels-1: not reachable (node zone-node-a)" \
  "the instances of the killed zone node are shown as not reachable"
if [ "$(grep -c "deploy [12] instance(s): 2 already on record, 0 deployed" "$tmp/orchestrator.out")" -eq 2 ]; then
  echo "ok: started again with its config, the orchestrator deploys nothing twice"
else
  echo "FAIL: the restarted orchestrator deployed again"; sed 's/^/  | /' "$tmp/orchestrator.out"
  failures=$((failures + 1))
fi
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
