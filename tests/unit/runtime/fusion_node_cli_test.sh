#!/usr/bin/env bash
# fusion-node's command line: exit codes, check-config, --run-for and SIGTERM.
# Usage: fusion_node_cli_test.sh PATH/TO/fusion-node SOURCE_DIR
set -uo pipefail
node=$1
src=$2
tmp=$(mktemp -d /tmp/fusion-cli-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/support/cli.sh"

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

# The embedded default: a whole demo domain that registers, deploys, reports and ends.
expect 0 "the embedded default runs and ends cleanly" -- "$node" --run-for 0.2
contains "$tmp/out" "zones (4):" "the demo lists its zones"
contains "$tmp/out" "registered fusion://acme/cloud-game" "the demo registers its services"
contains "$tmp/out" "* edge-ghent:" "the demo shows the chosen zone of each decision"
contains "$tmp/out" "excluded: has no GPU" "the demo shows why zones were excluded"
contains "$tmp/out" "instances (7):" "the demo lists every instance with its slots"

# plan: a dry-run placement with its reasons, as text and JSON.
cfg=$src/configs/embedded.toml
svc=$src/configs/services
expect 0 "plan places a service" -- "$node" plan --config "$cfg" --manifest "$svc/cloud-game.yaml"
contains "$tmp/out" "* edge-ghent:" "plan marks the chosen zone"
contains "$tmp/out" "edge-brussels: excluded: has no GPU" "plan says why a zone was excluded"
expect 0 "plan --json" -- "$node" plan --config "$cfg" --manifest "$svc/cloud-game.yaml" --json
contains "$tmp/out" '"satisfied": true' "plan --json reports the decision"
contains "$tmp/out" "\"reason\": \"region 'us-east' is not in security.allowed_regions" \
  "plan --json carries every zone's reason"
printf 'general:\n  name: fusion://acme/big\ndeployment:\n  hardware:\n    gpus: 1\n    min_shader_model: 9.5\n' \
  >"$tmp/big.yaml"
expect 1 "plan of an impossible service exits 1" -- "$node" plan --config "$cfg" --manifest "$tmp/big.yaml"
contains "$tmp/out" "not placed" "plan prints the decision of an impossible placement"
printf 'general:\n  nme: x\n' >"$tmp/bad.yaml"
expect 3 "plan of an invalid manifest exits 3" -- "$node" plan --config "$cfg" --manifest "$tmp/bad.yaml"
contains "$tmp/err" "bad.yaml:2" "plan names the manifest line"
expect 2 "plan without --manifest is a usage error" -- "$node" plan --config "$cfg"
expect 2 "--json outside plan is a usage error" -- "$node" --json

finish
