#!/bin/sh
# Fetch the Debian packages whose files are the benchmark's source footage (see
# /work/shared/data/dev-videos.md, mirrored in docs/benchmarks.md) and unpack them without
# installing: apt-get download + dpkg -x into bench/data/debs/<package>/.
# Idempotent: a package already unpacked (marker file .unpacked) is skipped.
# Usage: sh bench/fetch_videos.sh [DEST]      (DEST defaults to bench/data/debs)
set -eu

DEST=${1:-$(dirname "$0")/data/debs}
# Videos: real footage of several kinds (game cut-scenes, music visualisations, street
# surveillance, film excerpt, phone clips, physics experiments). Stills: photographs that become
# pan/zoom footage for the unrelated material around partial copies.
PACKAGES="lebiniou-data planetblupi-common opencv-doc node-opencv forensics-samples-files
python3-mecavideo"

mkdir -p "$DEST/.download"
for pkg in $PACKAGES; do
    if [ -f "$DEST/$pkg/.unpacked" ]; then
        continue
    fi
    echo "fetch_videos: $pkg" >&2
    (cd "$DEST/.download" && rm -f "${pkg}"_*.deb && apt-get download -q "$pkg" >/dev/null)
    deb=$(ls "$DEST/.download/${pkg}"_*.deb | head -n 1)
    rm -rf "$DEST/$pkg"
    mkdir -p "$DEST/$pkg"
    dpkg -x "$deb" "$DEST/$pkg"
    rm -f "$deb"
    touch "$DEST/$pkg/.unpacked"
done
rmdir "$DEST/.download" 2>/dev/null || true
echo "fetch_videos: all packages in $DEST" >&2
