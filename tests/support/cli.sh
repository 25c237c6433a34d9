# Helpers for the command-line tests (sourced). Set $tmp before sourcing; `failures` counts.
failures=0

# expect CODE DESCRIPTION -- COMMAND...: runs COMMAND, checks its exit code; its output is
# left in $tmp/out and $tmp/err.
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

# finish: prints the count and sets the exit status.
finish() {
  echo "$failures failure(s)"
  [ "$failures" -eq 0 ]
}
