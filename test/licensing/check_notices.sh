#!/bin/sh
# Check that an installed tree or a Python wheel carries LICENSE and every third-party notice,
# byte for byte as in the source tree (test/licensing/expected.txt lists them).
#   sh test/licensing/check_notices.sh dir  PREFIX/share/doc/libvinfringe
#   sh test/licensing/check_notices.sh wheel build/wheel/vinfringe-X-py3-none-linux_x86_64.whl
# The wheel holds them under vinfringe/licenses/ (LICENSE also in its .dist-info).
set -u
mode=$1
where=$2
src=${VI_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
list=$src/test/licensing/expected.txt
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $mode in
dir) root=$where ;;
wheel)
    # A wheel is a zip file; Python's zipfile reads it (no unzip needed).
    if ! /usr/bin/python3 -m zipfile -e "$where" "$tmp/w" 2>"$tmp/err"; then
        echo "FAIL cannot open the wheel $where: $(cat "$tmp/err")"
        exit 1
    fi
    # The package carries the install's share/doc layout in vinfringe/licenses/; the wheel's
    # metadata names the licence and carries LICENSE too.
    root=$tmp/w/vinfringe/licenses
    info=$(ls -d "$tmp"/w/*.dist-info 2>/dev/null | head -n 1)
    if [ -n "$info" ] && cmp -s "$info/LICENSE" "$src/LICENSE"; then
        ok "wheel: LICENSE in $(basename "$info")"
    else
        bad "wheel: no LICENSE in the .dist-info folder"
    fi
    if [ -n "$info" ] && grep -q '^License: MIT' "$info/METADATA"; then
        ok "wheel: METADATA says License: MIT"
    else
        bad "wheel: METADATA has no 'License: MIT'"
    fi
    ;;
*) echo "usage: $0 dir|wheel PATH" >&2; exit 2 ;;
esac

grep -v '^#' "$list" | while read -r rel from; do echo "$rel $from"; done > "$tmp/list"
while read -r rel from; do
    if [ ! -f "$root/$rel" ]; then
        bad "$mode: $rel is missing from $where"
    elif ! cmp -s "$root/$rel" "$src/$from"; then
        bad "$mode: $rel differs from $from"
    else
        ok "$mode: $rel"
    fi
done < "$tmp/list"
# Every notice of the source tree is listed (a new notice cannot be forgotten by the list).
for f in "$src"/notices/*; do
    n=notices/$(basename "$f")
    if grep -q "^$n " "$tmp/list"; then ok "listed: $n"; else bad "notices/$(basename "$f") is not in $list"; fi
done
echo "licensing ($mode): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
