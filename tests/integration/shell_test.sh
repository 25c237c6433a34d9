#!/usr/bin/env bash
# fusion-shell against an embedded topology (docs/shell.md):
#   (a) the Lua scenarios of tests/integration/shell/ run with `fusion-shell -f`: a scenario
#       whose checks pass exits 0 (the demo driven; a zone crashed under sessions and its
#       instances placed again); a failing check, a syntax error (its line shown) and a
#       runaway loop (stopped by --instructions) exit 1; io is out of reach unless allowed;
#   (b) the interactive shell and its Lua mode driven through a pseudo-terminal
#       (shell/pty_drive.py): what the screen shows after completion, commands, bad input;
#       the history file written;
#   (c) -e commands with --json, and a usage error (exit 2).
# Every process runs under a deadline (timeout); output is kept in $tmp on failure.
# Usage: shell_test.sh FUSION_SHELL SOURCE_DIR
set -uo pipefail
shell=$1
src=$2
dir=$src/tests/integration/shell
tmp=$(mktemp -d /tmp/fusion-shell-XXXXXX)
failures=0
cleanup() {
  if [ "$failures" -eq 0 ]; then rm -rf "$tmp"; else echo "logs kept in $tmp"; fi
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# script NAME CODE TEXT [ARGS...]: runs NAME.lua with -f; expects exit CODE and TEXT in its
# output (stdout and stderr).
script() {
  local name=$1 code=$2 text=$3
  shift 3
  timeout 120 "$shell" --embedded -f "$dir/$name.lua" "$@" >"$tmp/$name.out" 2>&1
  local rc=$?
  if [ "$rc" -ne "$code" ]; then
    fail "$name.lua: exit code $rc, expected $code"
    sed 's/^/  | /' "$tmp/$name.out" | tail -15
  elif ! grep -qF -- "$text" "$tmp/$name.out"; then
    fail "$name.lua: '$text' not in its output"
    sed 's/^/  | /' "$tmp/$name.out" | tail -15
  else
    echo "ok: $name.lua exits $code and says '$text'"
  fi
}

# (a) scripts
script scenario 0 "scenario ok"
script zone_failure 0 "zone failure ok"
script failing_check 1 "CHECK FAILED failing_check.lua:2: there are 99 services"
script syntax_error 1 "syntax_error.lua:3:"
script runaway 1 "instruction budget" --instructions 1000000
cat >"$tmp/files.lua" <<'LUA'
fusion.check(io ~= nil and os.remove ~= nil, "io and os with --allow-files")
LUA
if timeout 120 "$shell" --embedded -f "$tmp/files.lua" --allow-files >"$tmp/files.out" 2>&1; then
  echo "ok: --allow-files opens io and os"
else
  fail "--allow-files: $(tail -3 "$tmp/files.out")"
fi

# (b) the interactive shell through a pseudo-terminal
if timeout 180 python3 "$dir/pty_drive.py" "$dir/interactive.steps" -- \
  "$shell" --embedded --history "$tmp/history" >"$tmp/pty.out" 2>&1; then
  echo "ok: interactive shell ($(grep -c '^ok:' "$tmp/pty.out") screen checks)"
else
  fail "interactive shell"
  sed 's/^/  | /' "$tmp/pty.out" | tail -30
fi
if grep -q 'zones\\040--json' "$tmp/history" 2>/dev/null; then
  echo "ok: the history file holds the commands typed"
else
  fail "history file $tmp/history lacks 'zones --json'"
fi
if timeout 180 python3 "$dir/pty_drive.py" "$dir/lua.steps" -- \
  "$shell" --embedded lua --history "$tmp/history-lua" >"$tmp/lua.out" 2>&1; then
  echo "ok: Lua prompt ($(grep -c '^ok:' "$tmp/lua.out") screen checks)"
else
  fail "Lua prompt"
  sed 's/^/  | /' "$tmp/lua.out" | tail -30
fi

# (c) -e and --json; usage errors
timeout 120 "$shell" --embedded -e "services --json" -e "messages deploy_service --json" \
  >"$tmp/e.out" 2>&1
rc=$?
if [ "$rc" -eq 0 ] && grep -qF '"fusion://acme/analytics"' "$tmp/e.out" &&
  grep -qF '"deploy":"deploy_parameters"' "$tmp/e.out"; then
  echo "ok: -e commands print JSON"
else
  fail "-e --json (exit $rc)"
  sed 's/^/  | /' "$tmp/e.out" | tail -10
fi
timeout 120 "$shell" --embedded -e "request domain/deployment deploy_service deploy.instances=x" \
  >"$tmp/bad.out" 2>&1
rc=$?
if [ "$rc" -eq 1 ] && grep -qF "deploy_service.deploy.instances: expected an unsigned integer, found 'x'" "$tmp/bad.out"; then
  echo "ok: a malformed field value is refused with where and why"
else
  fail "malformed field (exit $rc)"
  sed 's/^/  | /' "$tmp/bad.out" | tail -10
fi
timeout 30 "$shell" --bogus >"$tmp/usage.out" 2>&1
rc=$?
if [ "$rc" -eq 2 ]; then echo "ok: an unknown option exits 2"; else fail "unknown option: exit $rc"; fi

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all shell checks passed"
