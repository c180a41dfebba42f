#!/bin/sh
# Fetch the Debian packages whose files are the benchmark's source footage (see
# /work/shared/data/dev-videos.md, mirrored in docs/benchmarks.md) and unpack them without
# installing: apt-get download + dpkg -x into bench/data/debs/<package>/.
# Idempotent: a package already unpacked (marker file .unpacked) is skipped.
# Usage: sh bench/fetch_videos.sh [DEST]      (DEST defaults to bench/data/debs)
set -eu

DEST=${1:-$(dirname "$0")/data/debs}
# Real footage of several kinds: game cut-scenes, music visualisations, a fixed surveillance
# camera, a film excerpt, phone and lab clips. opencv-doc also brings the photographs that become
# the pan-and-zoom "unrelated footage" around partial copies and behind picture-in-picture.
PACKAGES="lebiniou-data planetblupi-common opencv-doc node-opencv forensics-samples-files
python3-mecavideo gimp-help-en gnome-backgrounds"

mkdir -p "$DEST/.download"
for pkg in $PACKAGES; do
    if [ -f "$DEST/$pkg/.unpacked" ]; then
        continue
    fi
    echo "fetch_videos: $pkg" >&2
    if ! (cd "$DEST/.download" && rm -f "${pkg}"_*.deb && apt-get download -q "$pkg" >/dev/null)
    then
        echo "fetch_videos: apt-get download $pkg failed (run apt-get update first?)" >&2
        exit 1
    fi
    deb=$(ls "$DEST/.download/${pkg}"_*.deb | head -n 1)
    rm -rf "$DEST/$pkg"
    mkdir -p "$DEST/$pkg"
    dpkg -x "$deb" "$DEST/$pkg"
    dpkg-deb -f "$deb" Version > "$DEST/$pkg/.version"
    rm -f "$deb"
    touch "$DEST/$pkg/.unpacked"
done
rmdir "$DEST/.download" 2>/dev/null || true
echo "fetch_videos: all packages in $DEST" >&2
