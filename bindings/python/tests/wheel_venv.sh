#!/bin/sh
# A fresh virtual environment installs the wheel made by `make wheel` without any network and
# runs the Python example with it, with no VINFRINGE_LIBRARY, LD_LIBRARY_PATH or PYTHONPATH: the
# package must find the library it bundles. (Issue 17: both install ways the docs gave failed in
# a fresh venv, and an installed package could not find the library.)
#   sh bindings/python/tests/wheel_venv.sh WHEEL VENV_DIR       (make check-wheel)
# Needs Debian's python3-venv. pip runs inside a new network namespace (unshare -n) when the
# system allows it, so any attempt to reach an index fails; otherwise --no-index keeps it offline.
set -u
wheel=$1
venv=$2
py=${WHEEL_PY:-/usr/bin/python3}
: "${VI_FIXTURES:?set VI_FIXTURES to the directory made by test/data/make_fixtures.sh}"
src=${VI_SRCDIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   wheel: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL wheel: $1"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

rm -rf "$venv"
if "$py" -m venv "$venv" >"$work/venv.log" 2>&1; then
    ok "python3 -m venv made a fresh environment"
else
    bad "python3 -m venv failed (is python3-venv installed?): $(tail -n 3 "$work/venv.log")"
    exit 1
fi
offline=
if unshare -n true 2>/dev/null; then
    offline="unshare -n"
    ok "pip runs without a network (unshare -n)"
fi
# A clean environment: nothing points at the build tree.
clean="env -u VINFRINGE_LIBRARY -u LD_LIBRARY_PATH -u PYTHONPATH -u PYTHONHOME PIP_NO_INDEX=1 \
PIP_DISABLE_PIP_VERSION_CHECK=1"
if $clean $offline "$venv/bin/python" -m pip install --no-index --no-deps "$wheel" \
    >"$work/pip.log" 2>&1; then
    ok "pip install --no-index of $(basename "$wheel")"
else
    bad "pip install failed: $(tail -n 5 "$work/pip.log")"
    exit 1
fi

cd "$work" || exit 1 # away from the source tree: only the installed package can be imported
$clean "$venv/bin/python" -c 'import os, vinfringe
print(vinfringe.library_path)
print(os.path.dirname(vinfringe.__file__))
print(vinfringe.version_string())
print(vinfringe.ffmpeg_license())' >"$work/import.out" 2>"$work/import.err"
if [ $? -eq 0 ]; then
    lib=$(sed -n 1p "$work/import.out")
    pkg=$(sed -n 2p "$work/import.out")
    case $pkg in "$venv"/*) ok "imports the installed package ($pkg)" ;;
        *) bad "imported $pkg, not the venv's copy" ;; esac
    [ "$(dirname "$lib")" = "$pkg" ] && ok "loads the library it bundles ($lib)" ||
        bad "loaded $lib instead of the bundled library in $pkg"
    [ -n "$(sed -n 4p "$work/import.out")" ] && ok "ffmpeg_license: $(sed -n 4p "$work/import.out")" ||
        bad "ffmpeg_license is empty"
    [ -f "$pkg/licenses/LICENSE" ] && ok "LICENSE installed in $pkg/licenses" ||
        bad "no LICENSE in $pkg/licenses"
else
    bad "import vinfringe failed: $(tail -n 3 "$work/import.err")"
fi

# The example, as a user runs it: a folder of references, one query that copies clip_a.
mkdir -p "$work/refs"
for c in clip_a.mp4 clip_b.mp4 text.mp4; do ln -s "$VI_FIXTURES/$c" "$work/refs/$c"; done
if $clean "$venv/bin/python" "$src/examples/index_folder.py" "$work/refs" \
    "$VI_FIXTURES/clip_a_copy.mp4" >"$work/ex.out" 2>"$work/ex.err"; then
    ok "examples/index_folder.py ran with the installed package"
    first=$(awk '/clip_a_copy.mp4:/ {getline; print $2; exit}' "$work/ex.out")
    [ "$first" = clip_a ] && ok "its first hit for clip_a_copy is clip_a" ||
        bad "first hit for clip_a_copy is '$first': $(cat "$work/ex.out")"
else
    bad "examples/index_folder.py failed: $(tail -n 5 "$work/ex.err")"
fi
echo "wheel: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
