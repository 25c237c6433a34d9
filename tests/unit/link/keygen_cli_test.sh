#!/usr/bin/env bash
# fusion-node keygen: the key file is created with mode 600, its public key is printed, an
# existing file is never overwritten, and usage errors exit 2.
# Usage: keygen_cli_test.sh PATH/TO/fusion-node SOURCE_DIR
set -uo pipefail
node=$1
src=$2
tmp=$(mktemp -d /tmp/fusion-keygen-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/support/cli.sh"

(umask 000 && "$node" keygen "$tmp/node.key" >"$tmp/out" 2>"$tmp/err" </dev/null)
if [ $? -eq 0 ]; then echo "ok: keygen FILE"; else
  echo "FAIL: keygen FILE"; sed 's/^/  stderr: /' "$tmp/err"; failures=$((failures + 1)); fi
mode=$(stat -c %a "$tmp/node.key" 2>/dev/null)
if [ "$mode" = 600 ]; then echo "ok: the key file has mode 600 (even under umask 000)"; else
  echo "FAIL: key file mode '$mode', expected 600"; failures=$((failures + 1)); fi
if grep -Eq '^public = [A-Za-z0-9+/]{43}=$' "$tmp/out" && [ "$(wc -l <"$tmp/out")" -eq 1 ]; then
  echo "ok: keygen prints one public key line"; else
  echo "FAIL: keygen output: $(cat "$tmp/out")"; failures=$((failures + 1)); fi
contains "$tmp/node.key" "$(cat "$tmp/out")" "the printed line is the file's public key line"
if grep -q "secret" "$tmp/out"; then
  echo "FAIL: keygen printed the secret"; failures=$((failures + 1)); else
  echo "ok: keygen does not print the secret"; fi

cp "$tmp/node.key" "$tmp/before"
expect 1 "keygen refuses an existing file" -- "$node" keygen "$tmp/node.key"
contains "$tmp/err" "already exists; refusing to overwrite" "the error says why"
if cmp -s "$tmp/node.key" "$tmp/before"; then echo "ok: the existing key is untouched"; else
  echo "FAIL: the existing key was changed"; failures=$((failures + 1)); fi
expect 1 "keygen into a missing folder fails" -- "$node" keygen "$tmp/no/such/dir.key"
contains "$tmp/err" "cannot create the identity file" "the error names the cause"

expect 0 "a second key in another file" -- "$node" keygen "$tmp/other.key"
if [ "$(cat "$tmp/out")" != "$(grep '^public' "$tmp/node.key")" ]; then
  echo "ok: every keygen makes a new key"; else echo "FAIL: same key twice"; failures=$((failures + 1)); fi

expect 2 "keygen without FILE" -- "$node" keygen
expect 2 "keygen with two files" -- "$node" keygen "$tmp/a.key" "$tmp/b.key"
expect 2 "keygen with --config" -- "$node" keygen "$tmp/c.key" --config "$tmp/x.toml"
expect 0 "--help lists keygen" -- "$node" --help
contains "$tmp/out" "fusion-node keygen FILE" "--help documents keygen"

finish
