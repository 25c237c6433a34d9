#!/usr/bin/env bash
# scripts/setup shows its progress: a line per step and apt's own line per package, never
# minutes of silence. apt-get, dpkg-query and id are stand-ins on PATH: nothing is installed.
# Usage: setup_test.sh SOURCE_DIR
set -uo pipefail
src=$1
tmp=$(mktemp -d /tmp/fusion-setup-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
source "$src/tests/support/cli.sh"

mkdir -p "$tmp/bin"
cat >"$tmp/bin/apt-get" <<'FAKE'
#!/usr/bin/env bash
echo "apt-get $*" >>"$FAKE_LOG"
case " $* " in
  *" update "*) echo "Hit:1 http://deb.example bookworm InRelease" ;;
  *" install "*) for p in "$@"; do
      case $p in -*|install) ;; *) echo "Get:1 http://deb.example bookworm/main $p 1.0 [10 kB]"
        echo "Setting up $p (1.0) ..." ;; esac
    done ;;
esac
FAKE
# Package 'cmake' is installed; every other one is missing.
cat >"$tmp/bin/dpkg-query" <<'FAKE'
#!/usr/bin/env bash
[ "${@: -1}" = cmake ] && { printf 'install ok installed'; exit 0; }
exit 1
FAKE
printf '#!/usr/bin/env bash\necho 0\n' >"$tmp/bin/id"
chmod +x "$tmp/bin/"*
export FAKE_LOG=$tmp/apt.log

expect 0 "setup installs the missing packages" -- env PATH="$tmp/bin:$PATH" bash "$src/scripts/setup"
contains "$tmp/out" "setup: [1/2] updating the package lists" "setup announces the update step"
contains "$tmp/out" "Hit:1 http://deb.example" "apt's update lines are shown"
contains "$tmp/out" "setup: [2/2] downloading and installing" "setup announces the install step"
contains "$tmp/out" "Get:1 http://deb.example bookworm/main libcaf-dev" "each download is shown"
contains "$tmp/out" "Setting up libcaf-dev" "each installed package is shown"
contains "$tmp/out" "setup: done" "setup says when it is done"
if grep -q " cmake" <(grep install "$tmp/apt.log"); then
  echo "FAIL: an installed package is installed again"; failures=$((failures + 1))
else
  echo "ok: only missing packages are installed"
fi

# Everything present: silent, exit 0.
printf '#!/usr/bin/env bash\nprintf "install ok installed"\n' >"$tmp/bin/dpkg-query"
expect 0 "setup with every package present" -- env PATH="$tmp/bin:$PATH" bash "$src/scripts/setup"
if [ -s "$tmp/out" ]; then echo "FAIL: setup printed: $(cat "$tmp/out")"; failures=$((failures + 1)); else
  echo "ok: nothing to do prints nothing"; fi

finish
