# The progress bar: drawn on stderr when it is a terminal (a pseudo-terminal made by script(1)),
# never with --quiet; without a terminal the other cases check that stderr stays empty.

if command -v script >/dev/null 2>&1; then
    tty_run() { # tty_run FILE ARGS...: run the command with stdout and stderr on a pty
        _f=$1
        shift
        _cmd="'$VI_CLI'"
        for _w in "$@"; do _cmd="$_cmd '$_w'"; done
        script -qec "$_cmd >/dev/null" /dev/null >"$_f" 2>&1 </dev/null
    }
    tty_run "$WORK/tty.txt" embed -o "$WORK/tty.vemb" "$F/clip_a.mp4"
    check "a progress bar is drawn on a terminal" grep -q 'clip_a\.mp4 \[[#.]*\] *[0-9]*%' \
        "$WORK/tty.txt"
    check "the bar is erased when the work ends" grep -q "$(printf '\033\\[K')" "$WORK/tty.txt"
    tty_run "$WORK/tty_index.txt" index build -o "$WORK/tty.vidx" "$F/clip_a.mp4" "$F/clip_b.mp4"
    check "index build shows each input with its rank" grep -q 'clip_b (2/2) \[' \
        "$WORK/tty_index.txt"
    tty_run "$WORK/tty_q.txt" embed --quiet -o "$WORK/tty_q.vemb" "$F/clip_a.mp4"
    check "--quiet draws no bar on a terminal" test ! -s "$WORK/tty_q.txt"
else
    fail "progress bar" "script(1) is not installed (util-linux)"
fi
