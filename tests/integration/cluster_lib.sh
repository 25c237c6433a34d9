# shellcheck shell=bash
# Helpers of the cluster tests (sourced by cluster_test.sh, netns_test.sh, gossip_test.sh and
# shell_cluster_test.sh after they set $node, the fusion-node to run, and $src, the source
# directory). Makes $tmp; on exit stops
# every process started by its pid, runs the commands in $at_exit (after the processes are
# gone), and removes $tmp unless a check failed (then it says where the logs are).
tmp=$(mktemp -d "/tmp/${tmp_name:-fusion-cluster}-XXXXXX")
source "$src/tests/support/cli.sh"
pids=()
at_exit=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  for c in "${at_exit[@]}"; do eval "$c"; done
  if [ "$failures" -eq 0 ]; then rm -rf "$tmp"; else echo "logs kept in $tmp"; fi
}
trap cleanup EXIT
# A signal (ctest's timeout, ^C) exits through the same cleanup.
trap 'exit 143' TERM
trap 'exit 130' INT

# start NAME CONFIG [PREFIX...]: starts a node in the background, its output in
# $tmp/NAME.{out,err}, its pid in pid_NAME (dashes as underscores). PREFIX is a command that
# execs the node, e.g. `ip netns exec NS`: the pid recorded is then the node's own.
start() {
  "${@:3}" "$node" --config "$2" >"$tmp/$1.out" 2>"$tmp/$1.err" </dev/null &
  pids+=($!)
  eval "pid_$(tr - _ <<<"$1")=$!"
}

# await FILE TEXT SECONDS: waits until FILE contains TEXT; false after SECONDS.
await() {
  local deadline=$((SECONDS + $3))
  until grep -qF -- "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

# check FILE TEXT SECONDS DESCRIPTION: await, counted as a test.
check() {
  if await "$1" "$2" "$3"; then echo "ok: $4"; else
    echo "FAIL: $4: '$2' not in $1 within $3 s"
    sed 's/^/  | /' "$1" | tail -20
    failures=$((failures + 1))
  fi
}

# stop NAME: SIGTERM to a node started by `start`, awaited (SIGKILL after 10 s).
stop() {
  local pid_var="pid_$(tr - _ <<<"$1")"
  kill -TERM "${!pid_var}" 2>/dev/null
  local deadline=$((SECONDS + 10))
  while kill -0 "${!pid_var}" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.05; done
  kill -9 "${!pid_var}" 2>/dev/null
  wait "${!pid_var}" 2>/dev/null
}

# check_line FILE REGEX SECONDS DESCRIPTION: like check, for an extended regular expression.
check_line() {
  local deadline=$((SECONDS + $3))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "FAIL: $4: no line matching '$2' in $1 within $3 s"
      sed 's/^/  | /' "$1" | tail -20
      failures=$((failures + 1))
      return
    fi
    sleep 0.05
  done
  echo "ok: $4"
}

# make_cluster PORT [HOST]: the cluster's keys and configs in $tmp/c, the orchestrator
# listening on HOST:PORT (127.0.0.1 unless given).
make_cluster() {
  "$src/configs/cluster/make-cluster" --node "$node" --host "${2:-127.0.0.1}" --port "$1" \
    "$tmp/c" >/dev/null
}

# listen_port HOST [NAME]: the port node NAME (the orchestrator unless given; started with
# port 0) listens on, read back from its log; fails, showing the log, if it does not listen
# within 20 s.
listen_port() {
  local log="$tmp/${2:-orchestrator}.err"
  if ! await "$log" "listens for links on $1:" 20; then
    echo "FAIL: ${2:-the orchestrator} does not listen on $1" >&2; cat "$log" >&2
    return 1
  fi
  sed -n "s/.*listens for links on $1:\([0-9]*\).*/\1/p" "$log" | head -1
}

# fail TEXT: a failed check, counted.
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# key NAME: makes $tmp/keys/NAME.key with fusion-node keygen; prints its public key.
key() {
  "$node" keygen "$tmp/keys/$1.key" >/dev/null || return 1
  sed -n 's/^public *= *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$tmp/keys/$1.key"
}

# check_deployed: (a) of issue 9 on the orchestrator's log: both zone nodes linked, their
# zones registered, the services placed (explained) and deployed on them, and every
# instance's slots read from the zone node's process.
check_deployed() {
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
}
