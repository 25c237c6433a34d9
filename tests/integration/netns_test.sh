#!/usr/bin/env bash
# The three-node cluster of configs/cluster on three emulated machines: each fusion-node runs
# in a network namespace of its own (its own interfaces, addresses, routes and ports), and
# the three are joined by veth pairs onto a bridge that lives in a fourth namespace, so the
# host's network is left as it was. The orchestrator listens on its namespace's address only;
# the zone nodes reach it across the bridge. Checks (a) of issue 9 as cluster_test.sh does on
# loopback: links, zones, placement (explained), deployment and instance slots across
# processes; and that the links really cross namespaces (remote addresses, `ip netns
# identify` of each pid).
# Exits 77 (ctest: skipped) where namespaces cannot be made: not root, no `ip`, or the kernel
# refuses a namespace, a bridge or a veth pair. Every process is stopped by its pid and every
# namespace (with its links) deleted, also on failure; logs are kept on failure.
# Usage: netns_test.sh FUSION_NODE SOURCE_DIR
set -uo pipefail
node=$1
src=$2
skip_code=77
skip() {
  echo "SKIPPED: $*"
  exit "$skip_code"
}
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root (running as uid $(id -u))"
command -v ip >/dev/null || skip "no 'ip' command (iproute2)"
tmp_name=fusion-netns
source "$src/tests/integration/cluster_lib.sh"

# Names and a /24 unique per run, so that runs in parallel do not meet (the addresses live in
# the run's own namespaces only; the subnet differs anyway, for readable logs).
run=fz-$$-$RANDOM
net=10.199.$((RANDOM % 254 + 1))
bridge_ns=$run-br
nodes=(orchestrator zone-node-a zone-node-b)
declare -A ns=([orchestrator]=$run-orch [zone-node-a]=$run-a [zone-node-b]=$run-b)
declare -A addr=([orchestrator]=$net.1 [zone-node-a]=$net.2 [zone-node-b]=$net.3)
declare -A port_name=([orchestrator]=v-orch [zone-node-a]=v-a [zone-node-b]=v-b)
made=()
# Deleting a namespace deletes its interfaces: the bridge, and each veth pair with either end.
delete_namespaces() {
  local n
  for n in "${made[@]}"; do
    ip netns del "$n" 2>/dev/null || echo "warning: could not delete namespace $n"
  done
  made=()
}
at_exit+=(delete_namespaces)

# need WHAT IP-ARGS...: an `ip` step the kernel may refuse here (skipped, saying why).
need() {
  local what=$1
  shift
  ip "$@" 2>"$tmp/ip.err" || skip "$what refused: ip $*: $(cat "$tmp/ip.err")"
}
# give_up WHY: a failure after which the test cannot go on (the logs are kept).
give_up() {
  echo "FAIL: $*"
  failures=$((failures + 1))
  exit 1
}
# must IP-ARGS...: an `ip` step that has to work once the above did (a failure).
must() { ip "$@" 2>"$tmp/ip.err" || give_up "ip $*: $(cat "$tmp/ip.err")"; }

# Namespaces left by an earlier run killed before its cleanup could run (SIGKILL): its script
# (the pid in their names) is gone; its nodes, if any still run there, are stopped first.
stale=$(ip netns list 2>/dev/null | sed -n 's/^\(fz-[0-9]*-[0-9]*-[a-z]*\)\( .*\)\{0,1\}$/\1/p')
for old in $stale; do
  old_pid=${old#fz-}
  [ -e "/proc/${old_pid%%-*}" ] && continue
  for p in $(ip netns pids "$old" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
  ip netns del "$old" 2>/dev/null && echo "deleted namespace $old of an earlier run"
done

need "a network namespace" netns add "$bridge_ns" && made+=("$bridge_ns")
need "a bridge" -n "$bridge_ns" link add br0 type bridge
must -n "$bridge_ns" link set br0 up
for i in "${!nodes[@]}"; do
  name=${nodes[$i]}
  need "a network namespace" netns add "${ns[$name]}" && made+=("${ns[$name]}")
  need "a veth pair" -n "$bridge_ns" link add "${port_name[$name]}" type veth \
    peer name eth0 netns "${ns[$name]}"
  must -n "$bridge_ns" link set "${port_name[$name]}" master br0 up
  must -n "${ns[$name]}" link set lo up
  must -n "${ns[$name]}" addr add "${addr[$name]}/24" dev eth0
  must -n "${ns[$name]}" link set eth0 up
done
echo "ok: namespaces ${ns[orchestrator]}, ${ns[zone-node-a]}, ${ns[zone-node-b]}" \
  "on a bridge in $bridge_ns, subnet $net.0/24"

# The orchestrator listens on its own address, on a port the OS picks; the zone nodes'
# configs get both after.
make_cluster 0 "${addr[orchestrator]}" || give_up make-cluster
start orchestrator "$tmp/c/orchestrator.toml" ip netns exec "${ns[orchestrator]}"
port=$(listen_port "${addr[orchestrator]}") || give_up "no port read back"
echo "ok: the orchestrator listens on ${addr[orchestrator]}:$port (port chosen by the OS)"
make_cluster "$port" "${addr[orchestrator]}" || give_up make-cluster
start zone-node-a "$tmp/c/zone-node-a.toml" ip netns exec "${ns[zone-node-a]}"
start zone-node-b "$tmp/c/zone-node-b.toml" ip netns exec "${ns[zone-node-b]}"

# (a) placed, explained and deployed across processes on three emulated machines
check_deployed

# The links cross the bridge: each side sees the other's namespace address.
for name in zone-node-a zone-node-b; do
  contains "$tmp/orchestrator.err" "link to node '$name' (${addr[$name]}:" \
    "the orchestrator sees $name's link coming from ${addr[$name]}"
  check "$tmp/$name.err" "link to node 'orchestrator' (${addr[orchestrator]}:$port" 5 \
    "$name dials the orchestrator at ${addr[orchestrator]}:$port"
done
# Each recorded pid is the fusion-node itself (ip netns exec execs it), in its own namespace.
real_node=$(readlink -f "$node")
for name in "${nodes[@]}"; do
  pid_var="pid_$(tr - _ <<<"$name")"
  pid=${!pid_var}
  exe=$(readlink -f "/proc/$pid/exe" 2>/dev/null)
  in_ns=$(ip netns identify "$pid" 2>/dev/null)
  if [ "$exe" = "$real_node" ] && [ "$in_ns" = "${ns[$name]}" ]; then
    echo "ok: $name is pid $pid, a fusion-node in namespace $in_ns"
  else
    echo "FAIL: pid $pid of $name runs '$exe' in namespace '$in_ns'" \
      "(expected $real_node in ${ns[$name]})"
    failures=$((failures + 1))
  fi
done
if ip -o addr show | grep -qF " $net."; then
  echo "FAIL: the host has an address in $net.0/24"; failures=$((failures + 1))
else echo "ok: the host has no address of the emulated machines"; fi

# Stop the nodes, delete the namespaces, and see that nothing is left.
for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
pids=()
delete_namespaces
if ip netns list | grep -q "^$run-"; then
  echo "FAIL: namespaces left behind: $(ip netns list | grep "^$run-" | tr '\n' ' ')"
  failures=$((failures + 1))
else echo "ok: every namespace, bridge and veth pair of the run is deleted"; fi
finish
