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
contains "$tmp/out" "heartbeat_ms = 500" "check-config prints the [link] section"
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

# Unsigned options: a negative or wrapped number is a usage error, never 2^32-1.
for v in -1 -4294967295 4294967296 +2 " 2" 0x10; do
  expect 2 "plan --instances $v is a usage error" -- "$node" plan --config "$cfg" \
    --manifest "$svc/cloud-game.yaml" --instances "$v"
  contains "$tmp/err" "expected a whole number from 0 to 4294967295" \
    "--instances $v: the error says what is expected"
done

# A config path must be a regular, readable file: a directory is not an empty config.
expect 3 "check-config of a directory" -- "$node" check-config "$tmp"
contains "$tmp/err" "is a directory" "check-config says the path is a directory"
expect 3 "--config of a directory" -- "$node" --config "$tmp" --run-for 0.1
contains "$tmp/err" "is a directory" "--config says the path is a directory"
expect 3 "plan --config of a directory" -- "$node" plan --config "$tmp" --manifest "$svc/cloud-game.yaml"
expect 3 "plan --manifest of a directory" -- "$node" plan --config "$cfg" --manifest "$tmp"
contains "$tmp/err" "is a directory" "plan says the manifest path is a directory"

# Links: a [[peer]] needs this node's identity; check-config names the line and the key.
printf '[node]\nname = "n"\n\n[[peer]]\nname = "o"\naddress = "127.0.0.1:7400"\npublic_key = "GuMLMFdaGaExipWcQPM27wuZJDoWNTCFmfbZz2K7MVI="\n' \
  >"$tmp/noid.toml"
expect 3 "check-config of a peer without link.identity" -- "$node" check-config "$tmp/noid.toml"
contains "$tmp/err" "noid.toml:4: link.identity: required because [[peer]] entries are listed" \
  "the error names the peer's line and link.identity"
printf '[link]\nidentity = "node.key"\n' >>"$tmp/noid.toml"
expect 0 "check-config of a peer with link.identity" -- "$node" check-config "$tmp/noid.toml"
contains "$tmp/out" 'address = "127.0.0.1:7400"' "check-config prints the [[peer]]"
contains "$tmp/out" "identity = \"$tmp/node.key\"" "link.identity is resolved against the config's folder"

# What the zone registry refuses, check-config refuses first, with the line.
printf '[node]\nname = "n"\n\n[[zone]]\nname = "z"\nmemory_mb = 1024\n' >"$tmp/nocores.toml"
expect 3 "check-config of a zone without cores" -- "$node" check-config "$tmp/nocores.toml"
contains "$tmp/err" "nocores.toml:4: zone[0].cpu_cores: must be > 0 (found 0)" \
  "the error names the zone's line and the key"
printf '[node]\nname = "n"\n\n[[zone]]\nname = "z"\ncpu_cores = 4\nmemory_mb = 0\n' >"$tmp/nomem.toml"
expect 3 "check-config of a zone with 0 memory" -- "$node" check-config "$tmp/nomem.toml"
contains "$tmp/err" "nomem.toml:7: zone[0].memory_mb: must be > 0 (found 0)" "the line of the key"

# A configured service that fails to deploy makes the node exit non-zero.
printf 'general:\n  name: fusion://acme/big\ndeployment:\n  hardware:\n    gpus: 1\n' >"$tmp/gpu.yaml"
printf '[node]\nname = "n"\nroles = ["domain", "zones", "services"]\n[[zone]]\nname = "z"\ncpu_cores = 4\nmemory_mb = 4096\n[[service]]\nmanifest = "gpu.yaml"\nprovider = "acme"\ndeploy = 1\n' \
  >"$tmp/undeployable.toml"
expect 1 "a node whose configured service cannot deploy exits 1" -- "$node" --config "$tmp/undeployable.toml" --run-for 0.1
contains "$tmp/err" "fusion://acme/big" "the error names the service"

# data_dir: created (mode 0700) when missing; a path that cannot be a folder stops the node;
# a second start with the same config and data_dir comes back to the same state.
# (max_instances 1: the second start deploys again only if the first start's record is gone)
printf 'general:\n  name: fusion://acme/small\ndeployment:\n  hardware:\n    cpu_cores: 1\nbusiness:\n  max_instances: 1\n' >"$tmp/small.yaml"
printf '[node]\nname = "n"\nroles = ["domain", "zones", "services"]\ndata_dir = "%s"\n[[zone]]\nname = "z"\ncpu_cores = 4\nmemory_mb = 4096\n[[service]]\nmanifest = "small.yaml"\nprovider = "acme"\ndeploy = 1\n' \
  "$tmp/state/a" >"$tmp/durable.toml"
expect 0 "a node creates a missing data_dir" -- "$node" --config "$tmp/durable.toml" --run-for 0.1
mode=$(stat -c %a "$tmp/state/a" 2>/dev/null)
if [ "$mode" = 700 ]; then echo "ok: data_dir is created with mode 0700"; else
  echo "FAIL: data_dir mode '$mode', expected 700"; failures=$((failures + 1)); fi
expect 0 "a second start with the same data_dir succeeds" -- "$node" --config "$tmp/durable.toml" --run-for 0.1
if grep -q "duplicate" "$tmp/err"; then
  echo "FAIL: the second start reports duplicates"; sed 's/^/  stderr: /' "$tmp/err"
  failures=$((failures + 1))
else echo "ok: the second start reuses the stored zone and service"; fi
contains "$tmp/err" "instance inst-z-1 is not hosted by zone z any more: record removed" \
  "the first start's instance record is reconciled away"
touch "$tmp/plain-file"
sed "s|$tmp/state/a|$tmp/plain-file/state|" "$tmp/durable.toml" >"$tmp/nodir.toml"
expect 1 "a data_dir under a regular file stops the node" -- "$node" --config "$tmp/nodir.toml" --run-for 0.1
contains "$tmp/err" "node.data_dir \"$tmp/plain-file/state\"" "the error names node.data_dir and its path"

# Values echoed in errors are cut: a 100 kB word prints 80 characters and its length.
big=$(head -c 100000 /dev/zero | tr '\0' 'x')
expect 2 "a huge unknown command" -- "$node" "$big"
contains "$tmp/err" "(100000 bytes)" "the echoed command is cut, with its length"
expect 2 "a huge --instances value" -- "$node" plan --config "$cfg" --manifest "$svc/cloud-game.yaml" --instances "$big"
contains "$tmp/err" "(100000 bytes)" "the echoed option value is cut, with its length"
printf '[node]\nname = "%s"\n' "$big" >"$tmp/bigname.toml"
expect 3 "a huge node.name" -- "$node" check-config "$tmp/bigname.toml"
contains "$tmp/err" "(100000 bytes)" "the echoed config value is cut, with its length"
for f in err; do
  size=$(wc -c <"$tmp/$f")
  if [ "$size" -lt 1000 ]; then echo "ok: the error is short ($size bytes)"; else
    echo "FAIL: the error is $size bytes"; failures=$((failures + 1)); fi
done

finish
