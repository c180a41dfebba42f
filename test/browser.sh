# test/browser.sh - headless Chromium (Debian's `chromium`) for the tests and docs scripts that
# render an HTML page. Source it, then:
#
#   browser_run OUT SECONDS ARGS...   run chromium headless with ARGS (e.g. --dump-dom URL or
#                                     --screenshot=FILE URL), its stdout in OUT; 0 if it ended
#                                     by itself within SECONDS
#   browser_left                      prints the processes of the last run still alive (none
#                                     after browser_run returns)
#   browser_cleanup                   kill what is left of every run (for an EXIT trap)
#
# Each run gets a new profile directory and its own session (setsid), and browser_run kills the
# whole session before it returns, timeout or not: no Chromium process outlives the call. The
# flags keep it off the network (no first-run, sync, component updates or QUIC).

BROWSER=${BROWSER:-chromium}
BROWSER_SESSIONS=
BROWSER_LAST=

browser_run() {
    _out=$1 _secs=$2
    shift 2
    _profile=$(mktemp -d "${TMPDIR:-/tmp}/vinfringe-chromium.XXXXXX") || return 1
    # A background job of a non-interactive shell is not a group leader: setsid execs in
    # place, so $! is the browser, and its pid is the id of its new session.
    setsid "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --disable-dev-shm-usage --hide-scrollbars --user-data-dir="$_profile" "$@" \
        >"$_out" 2>"$_profile.log" </dev/null &
    BROWSER_LAST=$!
    BROWSER_SESSIONS="$BROWSER_SESSIONS $BROWSER_LAST"
    _ticks=0 _rc=0
    while kill -0 "$BROWSER_LAST" 2>/dev/null; do
        if [ "$_ticks" -ge $((_secs * 5)) ]; then
            echo "browser_run: chromium still running after $_secs s; killed" >&2
            _rc=1
            break
        fi
        sleep 0.2
        _ticks=$((_ticks + 1))
    done
    pkill -KILL -s "$BROWSER_LAST" 2>/dev/null
    wait "$BROWSER_LAST" 2>/dev/null || _rc=1
    _n=0
    while [ -n "$(browser_left)" ] && [ "$_n" -lt 25 ]; do sleep 0.2; _n=$((_n + 1)); done
    rm -rf "$_profile" "$_profile.log"
    return $_rc
}

browser_left() {
    [ -n "$BROWSER_LAST" ] || return 0
    # Zombies are already dead (their parent reaps them): only live processes count.
    ps -eo sid=,stat=,pid=,comm= | awk -v s="$BROWSER_LAST" '$1 == s && $2 !~ /^Z/'
}

browser_cleanup() {
    for _s in $BROWSER_SESSIONS; do pkill -KILL -s "$_s" 2>/dev/null; done
    return 0
}
