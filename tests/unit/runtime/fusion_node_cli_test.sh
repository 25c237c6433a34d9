#!/usr/bin/env bash
# fusion-node's command line: exit codes, check-config, --run-for and SIGTERM.
# Usage: fusion_node_cli_test.sh PATH/TO/fusion-node SOURCE_DIR
set -uo pipefail
node=$1
src=$2
tmp=$(mktemp -d /tmp/fusion-cli-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failures=0

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit code.
expect() {
  local want=$1 what=$2
  shift 3
  "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL: $what: exit $got, expected $want"
    sed 's/^/  stdout: /' "$tmp/out"
    sed 's/^/  stderr: /' "$tmp/err"
    failures=$((failures + 1))
  else
    echo "ok: $what"
  fi
}

# contains FILE TEXT DESCRIPTION
contains() {
  if grep -qF -- "$2" "$1"; then
    echo "ok: $3"
  else
    echo "FAIL: $3: '$2' not in $(cat "$1")"
    failures=$((failures + 1))
  fi
}

expect 0 "--version" -- "$node" --version
contains "$tmp/out" "fusion-node " "--version names the program"
contains "$tmp/out" "(CAF 0.17.6)" "--version names the CAF version"
expect 0 "--help" -- "$node" --help
contains "$tmp/out" "3 invalid config" "--help documents the exit codes"
expect 2 "unknown option" -- "$node" --frobnicate
expect 2 "unknown command" -- "$node" frobnicate
expect 2 "check-config without FILE" -- "$node" check-config
expect 2 "check-config with --run-for" -- "$node" check-config "$src/configs/reference.toml" --run-for 1
expect 2 "negative --run-for" -- "$node" --run-for -1
expect 2 "--run-for that is not a number" -- "$node" --run-for soon

expect 0 "check-config reference.toml" -- "$node" check-config "$src/configs/reference.toml"
contains "$tmp/out" "k = 16" "check-config prints the effective config"
cp "$tmp/out" "$tmp/effective.toml"
expect 0 "check-config accepts its own output" -- "$node" check-config "$tmp/effective.toml"

printf '[node]\nname = "n"\n\n[placement]\nk = 0\n' >"$tmp/bad.toml"
expect 3 "check-config of an out-of-range value" -- "$node" check-config "$tmp/bad.toml"
contains "$tmp/err" "bad.toml:5: placement.k: expected an integer from 1 to 1024, found 0" \
  "the error names file, line and key"
expect 3 "running with an invalid config" -- "$node" --config "$tmp/bad.toml"
expect 3 "a missing config file" -- "$node" --config "$tmp/missing.toml"

printf '[node]\nname = "cli-test"\nroles = []\n[scheduler]\nthreads = 1\n' >"$tmp/bare.toml"
expect 0 "--run-for stops the node cleanly" -- "$node" --config "$tmp/bare.toml" --run-for 0.2
contains "$tmp/err" "node 'cli-test' stopped" "the node logs its clean stop"

# SIGTERM: start, wait for the "started" line, terminate, expect exit 0.
"$node" --config "$tmp/bare.toml" >/dev/null 2>"$tmp/sig.err" </dev/null &
pid=$!
for _ in $(seq 1 200); do
  grep -q "started" "$tmp/sig.err" && break
  sleep 0.05
done
kill -TERM "$pid"
wait "$pid"
got=$?
if [ "$got" -eq 0 ] && grep -q "stopping (signal SIGTERM)" "$tmp/sig.err"; then
  echo "ok: SIGTERM stops the node cleanly"
else
  echo "FAIL: SIGTERM: exit $got"; sed 's/^/  stderr: /' "$tmp/sig.err"; failures=$((failures + 1))
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
