#!/usr/bin/env bash
# fusion-shell --config against real fusion-node processes on loopback (docs/shell.md,
# "Connecting to nodes as a principal"): an orchestrator (role domain) and two zone nodes
# (role zones, configs/cluster/zone-node-{a,b}.toml.in) keyed with fusion-node keygen; the
# shell has its own key, trusted by the orchestrator and by zone-node-a as "domain_admin",
# and lists both as [[peer]]s:
#   (a) shell/cluster_scenario.lua run with -f: the zones register (waited for), two
#       manifests of configs/services/ are registered as the principal "ops", deployed,
#       explained (chosen and refused zones), slots and a zone's information are read, a
#       session is opened and closed or refused with not_authorized (open_session names no
#       caller), bad input is named; exit 0;
#   (b) a failing fusion.check against the cluster exits 1 and names the check;
#   (c) `-e "zones --json"` prints JSON that python3 parses, naming both zones and nodes; a
#       shell that asks nothing exits at once, its links up or still in their handshake;
#   (d) the orchestrator killed with -9 under a connected shell (shell/orchestrator_lost.lua):
#       a request fails with peer_unreachable, zone-node-a still answers, the script exits 1
#       within a deadline; a shell started while the orchestrator is down says
#       peer_unreachable and exits 1 within its --timeout.
# Ports are chosen by the OS and read back from the logs; every process started is stopped
# by its pid, also on failure; every wait has a deadline; logs are kept on failure.
# Usage: shell_cluster_test.sh FUSION_NODE SOURCE_DIR [FUSION_SHELL]
# (FUSION_SHELL defaults to fusion-shell next to FUSION_NODE)
set -uo pipefail
node=$1
src=$2
shell=${3:-$(dirname "$node")/fusion-shell}
tmp_name=fusion-shell-cluster
source "$src/tests/integration/cluster_lib.sh"
dir=$src/tests/integration/shell
[ -x "$shell" ] || { echo "FAIL: no fusion-shell at $shell"; failures=1; exit 1; }

# run_shell NAME SECONDS ARGS...: runs fusion-shell --config shell.toml ARGS under a
# deadline, output in $tmp/NAME.out (stdout) and $tmp/NAME.err; sets rc (124: it hung).
run_shell() {
  local name=$1 limit=$2
  shift 2
  FUSION_MANIFESTS=$src/configs/services timeout -k 5 "$limit" \
    "$shell" --config "$tmp/shell.toml" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
  rc=$?
}

# expect_shell NAME CODE TEXT: the last run_shell exited CODE with TEXT in its output.
expect_shell() {
  if [ "$rc" -ne "$2" ]; then
    fail "$1: exit code $rc, expected $2$([ "$rc" -eq 124 ] && echo ' (it hung)')"
    tail -n 15 "$tmp/$1.out" "$tmp/$1.err" | sed 's/^/  | /'
  elif ! grep -qF -- "$3" "$tmp/$1.out" "$tmp/$1.err"; then
    fail "$1: '$3' not in its output"
    tail -n 15 "$tmp/$1.out" "$tmp/$1.err" | sed 's/^/  | /'
  else
    echo "ok: $1 exits $2 and says '$3'"
  fi
}

mkdir -p "$tmp/keys"
declare -A pub
for n in orchestrator zone-node-a zone-node-b ops; do
  pub[$n]=$(key "$n")
  [ -n "${pub[$n]}" ] || { fail "fusion-node keygen $tmp/keys/$n.key"; exit 1; }
done

# The orchestrator: the domain only (no services of its own), trusting the zone nodes as
# nodes and the shell's key as the principal "ops" (domain_admin).
cat >"$tmp/orchestrator.toml" <<EOF
[node]
name = "orchestrator"
roles = ["domain"]
data_dir = "$tmp/state/orchestrator"

[link]
address = "127.0.0.1"
port = 0
identity = "keys/orchestrator.key"

[log]
level = "info"

[[peer]]
name = "zone-node-a"
public_key = "${pub[zone-node-a]}"

[[peer]]
name = "zone-node-b"
public_key = "${pub[zone-node-b]}"

[[peer]]
name = "ops"
public_key = "${pub[ops]}"
role = "domain_admin"
EOF
start orchestrator "$tmp/orchestrator.toml"
port=$(listen_port 127.0.0.1) || { failures=$((failures + 1)); exit 1; }
echo "ok: the orchestrator listens on port $port (chosen by the OS)"

# The zone nodes of configs/cluster. zone-node-a also listens and trusts the shell, so the
# shell can ask its zone directly.
for n in zone-node-a zone-node-b; do
  sed -e "s|@HOST@|127.0.0.1|g" -e "s|@PORT@|$port|g" -e "s|@ORCHESTRATOR_KEY@|${pub[orchestrator]}|g" \
    "$src/configs/cluster/$n.toml.in" >"$tmp/$n.toml"
done
sed -i '/^identity = /a address = "127.0.0.1"\nport = 0' "$tmp/zone-node-a.toml"
printf '\n[[peer]]\nname = "ops"\npublic_key = "%s"\nrole = "domain_admin"\n' "${pub[ops]}" \
  >>"$tmp/zone-node-a.toml"
start zone-node-a "$tmp/zone-node-a.toml"
start zone-node-b "$tmp/zone-node-b.toml"
port_a=$(listen_port 127.0.0.1 zone-node-a) || { failures=$((failures + 1)); exit 1; }
echo "ok: zone-node-a listens on port $port_a (chosen by the OS)"
check "$tmp/orchestrator.err" "link to node 'zone-node-a'" 15 "zone-node-a links to the orchestrator"
check "$tmp/orchestrator.err" "link to node 'zone-node-b'" 15 "zone-node-b links to the orchestrator"

# The shell's config: a node config with its identity and the two nodes as peers, no roles.
cat >"$tmp/shell.toml" <<EOF
[node]
name = "ops-shell"

[link]
identity = "keys/ops.key"

[log]
level = "warn"

[[peer]]
name = "orchestrator"
address = "127.0.0.1:$port"
public_key = "${pub[orchestrator]}"
role = "node"

[[peer]]
name = "zone-node-a"
address = "127.0.0.1:$port_a"
public_key = "${pub[zone-node-a]}"
role = "node"
EOF

# (a) the scenario
run_shell scenario 60 -f "$dir/cluster_scenario.lua" --allow-files
expect_shell scenario 0 "cluster scenario ok"
check_line "$tmp/orchestrator.err" "link from 127\.0\.0\.1:[0-9]+ established: ops \(domain_admin\)" 1 \
  "the orchestrator knows the shell's key as the principal ops (domain_admin)"

# (b) a failing check exits 1 and names it (the script runs to its end)
run_shell failing 30 -f "$dir/failing_check.lua"
expect_shell failing 1 "CHECK FAILED failing_check.lua:2: there are 99 services"
if grep -qF "reached the end" "$tmp/failing.out"; then echo "ok: the failing script runs to its end"
else fail "the failing script stopped at its failed check"; fi

# (c) -e zones --json
run_shell zones_json 30 -e "zones --json"
if [ "$rc" -eq 0 ] && python3 -c '
import json, sys
rows = json.loads(open(sys.argv[1]).read())
rows = rows["zones"] if isinstance(rows, dict) and "zones" in rows else rows
where = {r["parameters"]["name"]: r["manager"]["node"] for r in rows}
want = {"edge-brussels": "zone-node-a", "bulk-dc-virginia": "zone-node-b"}
sys.exit(0 if where == want else "zones: %r, expected %r" % (where, want))
' "$tmp/zones_json.out"; then
  echo "ok: -e 'zones --json' prints JSON naming both zones and their nodes"
else
  fail "-e 'zones --json' (exit $rc)"
  sed 's/^/  | /' "$tmp/zones_json.out" "$tmp/zones_json.err" | tail -10
fi

# (c2) a shell that asks no node anything exits at once, whether its links are up yet or
# still in their handshake (a link whose owner had stopped used to keep it alive for good)
quick_ok=0
for i in 1 2 3 4 5 6; do
  run_shell "quick$i" 10 -e "messages list_zones"
  [ "$rc" -eq 0 ] && quick_ok=$((quick_ok + 1))
done
if [ "$quick_ok" -eq 6 ]; then echo "ok: a shell that asks nothing exits at once (6 of 6)"
else fail "a shell that asks nothing hung or failed in $((6 - quick_ok)) of 6 runs (last exit $rc)"; fi

# (d) the orchestrator killed under a connected shell
# (not under `timeout`: the pid recorded must be the shell's own, for cleanup to kill it)
FUSION_MANIFESTS=$src/configs/services "$shell" --config "$tmp/shell.toml" \
  --timeout 1000 -f "$dir/orchestrator_lost.lua" >"$tmp/lost.out" 2>"$tmp/lost.err" </dev/null &
lost_pid=$!
pids+=("$lost_pid")
deadline=$((SECONDS + 20))
until grep -qx linked "$tmp/lost.out" || ! kill -0 "$lost_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; do
  sleep 0.05
done
if grep -qx linked "$tmp/lost.out"; then
  # shellcheck disable=SC2154  # pid_orchestrator is set by start (cluster_lib.sh)
  kill -9 "$pid_orchestrator"
  wait "$pid_orchestrator" 2>/dev/null
  killed=$SECONDS
  deadline=$((SECONDS + 30))
  while kill -0 "$lost_pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  if kill -0 "$lost_pid" 2>/dev/null; then
    kill -9 "$lost_pid"
    wait "$lost_pid" 2>/dev/null
    rc=124
  else
    wait "$lost_pid"
    rc=$?
  fi
  expect_shell lost 1 "orchestrator_lost.lua:22: peer_unreachable: node 'orchestrator' is not connected"
  echo "the shell ended $((SECONDS - killed)) s after the kill"
  if grep -qF "CHECK FAILED" "$tmp/lost.out" "$tmp/lost.err"; then
    fail "a check of orchestrator_lost.lua failed"
    grep -F "CHECK FAILED" "$tmp/lost.out" "$tmp/lost.err" | sed 's/^/  | /'
  else
    echo "ok: orchestrator_lost.lua's checks pass: peer_unreachable named, zone-node-a still answers"
  fi
  if grep -qF "unreachable: the services were listed" "$tmp/lost.out"; then
    fail "a request to the killed orchestrator succeeded"
  fi
else
  fail "orchestrator_lost.lua does not print 'linked' (it ended, or 20 s passed)"
  kill -9 "$lost_pid" 2>/dev/null
  tail -n 15 "$tmp/lost.out" "$tmp/lost.err" | sed 's/^/  | /'
  kill -9 "$pid_orchestrator"
  wait "$pid_orchestrator" 2>/dev/null
fi

# A shell started while the orchestrator is down: peer_unreachable after --timeout.
started=$(date +%s%N)
run_shell down 30 --timeout 1000 -e zones
ms=$((($(date +%s%N) - started) / 1000000))
expect_shell down 1 "peer_unreachable: node 'orchestrator' is not connected (no link up within 1000 ms)"
if [ "$rc" -ne 124 ] && [ "$ms" -le 10000 ]; then echo "ok: it gives up in $ms ms"; else
  fail "the shell takes $ms ms to give up on a node that is down"; fi
finish
