#!/bin/sh
# Make docs/report-example.png: a screenshot of `vinfringe report` on a real match, the README
# demo's disguised copy against its original (and an unrelated video), rendered by headless
# Chromium.
#
#   sh docs/make_report_screenshot.sh [BUILD_DIR]      (after `make`; needs chromium, ffmpeg)
#
# The demo's videos come from Debian packages (examples/demo.sh fetches them). The page is
# rendered at 1000 px wide; the screenshot keeps its top (the summary, the first reference's
# timeline, curve and frames) and is reduced to a 64-colour palette by ffmpeg to stay small.
set -eu
build=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
work="$build/demo"
sh "$src/examples/demo.sh" "$build" >/dev/null
"$build/vinfringe" report -q --frames 4 --top 2 -o "$work/report.html" \
    "$work/copy.mp4" "$work/original.mp4" "$work/unrelated.mov"

. "$src/test/browser.sh"
trap 'browser_cleanup' EXIT
page="file://$(cd "$work" && pwd)/report.html"
browser_run "$work/shot.log" 120 --window-size=1000,1450 --screenshot="$work/report-full.png" \
    "$page"
test -z "$(browser_left)"
ffmpeg -nostdin -v error -y -i "$work/report-full.png" \
    -vf "scale=800:-1:flags=area,split[a][b];[a]palettegen=max_colors=64[p];[b][p]paletteuse" \
    "$src/docs/report-example.png"
echo "wrote docs/report-example.png ($(wc -c <"$src/docs/report-example.png") bytes): $(
    python3 "$src/test/png_stats.py" "$src/docs/report-example.png")"
