#!/bin/sh
# Make the training footage of the default model's DMI head (docs/training.md), never from the
# benchmark's test split:
#  - every development video of /work/shared/data/dev-videos.md whose source is not in the
#    benchmark's test split (and not derived from one: Megamind_bugy.avi is a damaged copy of
#    Megamind.avi, node-opencv's output-*.avi are processed motion.mov; python3-sage's 84x33
#    clips are left out, the package is huge);
#  - photographs turned into 8 s pan/zoom clips (FFmpeg zoompan, three camera paths): opencv-doc
#    (minus the photos behind the benchmark's fillers), gnome-backgrounds, povray-examples'
#    rendered previews;
#  - for each source, copy-style versions made by FFmpeg's filters (the edits the trainer's own
#    pixel augmentations cannot make): faster and slower playback at other frame rates, a
#    temporal crop, picture-in-picture over another photo, a logo and a caption band, and a
#    low-quality re-encode.
# Writes OUT/clips/*.mp4 and OUT/groups.txt (one line per source: its versions, the labelled
# near-duplicate groups `vinfringe train --groups` reads), and OUT/groups-heldout.txt, the same
# without the benchmark's train-split sources. Media is not committed: rerun this.
#
#   sh bench/fetch_videos.sh && sh models/make_footage.sh /tmp/footage bench/work/ds/manifest.json
#
# Needs ffmpeg, ffprobe, apt-get (downloads gnome-backgrounds, povray-examples, devede into
# OUT/debs) and /usr/bin/python3. PHOTOS_PER_SET (default 30) photos of each photo set.
set -eu
out=${1:?usage: make_footage.sh OUT_DIR MANIFEST.json}
manifest=${2:?usage: make_footage.sh OUT_DIR MANIFEST.json}
debs=${DEBS:-bench/data/debs}
per_set=${PHOTOS_PER_SET:-30}
mkdir -p "$out/clips" "$out/debs/.download"
ff="ffmpeg -nostdin -hide_banner -loglevel error -y"
enc="-an -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p"

for pkg in gnome-backgrounds povray-examples devede; do
    [ -f "$out/debs/$pkg/.unpacked" ] && continue
    (cd "$out/debs/.download" && rm -f "${pkg}"_*.deb && apt-get download -q "$pkg" >/dev/null)
    mkdir -p "$out/debs/$pkg"
    dpkg -x "$out/debs/.download/${pkg}"_*.deb "$out/debs/$pkg"
    rm -f "$out/debs/.download/${pkg}"_*.deb
    touch "$out/debs/$pkg/.unpacked"
done

# Sources: "name<TAB>file" lines; one group each.
/usr/bin/python3 - "$manifest" "$debs" "$out" "$per_set" > "$out/sources.txt" <<'PY'
import glob, json, os, sys
man, debs, out, per_set = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
m = json.load(open(man))
test = {s["package"] + "/" + s["path"] for s in m["sources"] if s["split"] == "test"}
filler_photos = {f["photo"] for f in m["fillers"]}
videos = {
    "lebiniou-data": "usr/share/lebiniou/vue/media/*.mp4",
    "planetblupi-common": "usr/share/planetblupi/movie/*.mkv",
    "opencv-doc": "usr/share/doc/opencv-doc/examples/data/*.avi",
    "forensics-samples-files": "usr/share/forensics-samples/original-files/movie*/*",
    "python3-mecavideo": "usr/share/pymecavideo/data/video/*",
}
derived = ("Megamind_bugy.avi",)
seen = set()
for pkg, pat in videos.items():
    for f in sorted(glob.glob(os.path.join(debs, pkg, pat))):
        rel = os.path.relpath(f, debs)
        if rel in test or os.path.basename(f) in derived:
            continue
        name = os.path.splitext(os.path.basename(f))[0]
        if name in seen:  # movie-hello.{avi,mp4,mpeg}: one content, kept once
            continue
        seen.add(name)
        print("v-%s\t%s" % (name, f))
for f in sorted(glob.glob(os.path.join(out, "debs/devede/usr/share/devedeng/*.mpg"))):
    print("v-%s\t%s" % (os.path.splitext(os.path.basename(f))[0], f))
def photos(pattern, exclude=()):
    fs = [f for f in sorted(glob.glob(pattern)) if os.path.relpath(f, debs) not in exclude]
    fs.sort(key=lambda f: -os.path.getsize(f))  # the largest (most detailed) first
    return sorted(fs[:per_set])
for f in photos(os.path.join(debs, "opencv-doc/usr/share/doc/opencv-doc/examples/data/*.jpg"),
                filler_photos):
    print("p-cv-%s\t%s" % (os.path.splitext(os.path.basename(f))[0], f))
for f in photos(os.path.join(out, "debs/gnome-backgrounds/usr/share/backgrounds/gnome/*.webp")):
    print("p-gn-%s\t%s" % (os.path.splitext(os.path.basename(f))[0], f))
for f in photos(os.path.join(out, "debs/povray-examples/usr/share/doc/povray/examples/*/*/*.jpg")):
    print("p-pv-%s\t%s" % (os.path.splitext(os.path.basename(f))[0], f))
PY

# every photo once as a 960x540 still (zoompan input, picture-in-picture backgrounds, logos)
mkdir -p "$out/stills"
grep '^p-' "$out/sources.txt" | while IFS="$(printf '\t')" read -r name src; do
    [ -f "$out/stills/$name.png" ] || $ff -i "$src" -vf "scale=960:540:force_original_aspect_ratio=\
increase,crop=960:540,setsar=1" -frames:v 1 "$out/stills/$name.png"
done
dur() {
    ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" |
        awk '{print ($1 > 0) ? $1 : 0}'
}
n_photos=$(grep -c '^p-' "$out/sources.txt" || true)
photo_at() { # the still of the (N mod n_photos)-th photo
    name=$(grep '^p-' "$out/sources.txt" | sed -n "$(($1 % n_photos + 1))p" | cut -f1)
    echo "$out/stills/$name.png"
}

: > "$out/groups.txt"
i=0
while IFS="$(printf '\t')" read -r name src; do
    i=$((i + 1))
    base="$out/clips/$name"
    line=""
    # the clip itself: photos become pan/zoom clips, videos are normalised (at most 480 wide)
    case $name in
    p-*)
        case $((i % 3)) in
        0) x="(iw-iw/zoom)*on/200"; y="(ih-ih/zoom)/2" ;;
        1) x="iw/2-iw/zoom/2"; y="ih/2-ih/zoom/2" ;;
        *) x="(iw-iw/zoom)*(1-on/200)"; y="(ih-ih/zoom)*on/200" ;;
        esac
        zoom="zoompan=z='min(zoom+0.0015,1.4)':x='$x':y='$y':d=200:s=480x270:fps=25,setsar=1"
        [ -f "$base.mp4" ] ||
            $ff -i "$out/stills/$name.png" -vf "$zoom" -frames:v 200 $enc "$base.mp4" ;;
    *)
        $ff -i "$src" -vf "scale='trunc(min(480,iw)/2)*2':-2,setsar=1" -r 25 $enc "$base.mp4" \
            || { echo "make_footage: skipping $src" >&2; continue; } ;;
    esac
    line="$base.mp4"
    d=$(dur "$base.mp4")
    # copy-style versions made by FFmpeg filters
    bg=$(photo_at $((i * 7 + 3)))
    logo=$(photo_at $((i * 11 + 5)))
    $ff -i "$base.mp4" -vf "setpts=PTS/1.5" -r 30 $enc -crf 30 "$base-fast.mp4" &&
        line="$line $base-fast.mp4"
    $ff -i "$base.mp4" -vf "setpts=PTS/0.6,fps=10" $enc "$base-slow.mp4" &&
        line="$line $base-slow.mp4"
    if awk "BEGIN{exit !($d >= 3)}"; then
        $ff -ss "$(awk "BEGIN{print $d * 0.2}")" -t "$(awk "BEGIN{print $d * 0.6}")" \
            -i "$base.mp4" $enc "$base-tcrop.mp4" && line="$line $base-tcrop.mp4"
    fi
    pip="[0:v]scale=480:270:force_original_aspect_ratio=increase,crop=480:270,setsar=1[bg];"
    pip="$pip[1:v]scale=$((200 + i % 5 * 20)):-2[fg];"
    pip="$pip[bg][fg]overlay=x=$((20 + i % 7 * 30)):y=$((20 + i % 3 * 30)):shortest=1"
    $ff -loop 1 -i "$bg" -i "$base.mp4" -filter_complex "$pip" -r 25 $enc "$base-pip.mp4" &&
        line="$line $base-pip.mp4"
    lg="[1:v]scale=96:-2,format=rgba,colorchannelmixer=aa=0.7[logo];"
    lg="$lg[0:v]drawbox=x=0:y=ih*0.82:w=iw:h=ih*0.18:color=black@0.6:t=fill[v];"
    lg="$lg[v][logo]overlay=x=W-w-10:y=10:shortest=1"
    $ff -i "$base.mp4" -loop 1 -i "$logo" -filter_complex "$lg" $enc "$base-logo.mp4" &&
        line="$line $base-logo.mp4"
    $ff -i "$base.mp4" -vf "scale=iw/2:-2,scale=iw*2:-2" -r 15 -c:v mpeg4 -q:v 20 -an \
        "$base-lq.avi" && line="$line $base-lq.avi"
    echo "$line" >> "$out/groups.txt"
    echo "make_footage: $i $name" >&2
done < "$out/sources.txt"
# the same without the benchmark's train-split sources: training on these leaves the train split
# as held-out data to choose an epoch on (bench/ablation.py --select-split train)
/usr/bin/python3 - "$manifest" "$out" <<'PY'
import json, os, sys
m = json.load(open(sys.argv[1]))
bench = {os.path.splitext(os.path.basename(s["path"]))[0] for s in m["sources"]}
with open(os.path.join(sys.argv[2], "groups.txt")) as f, \
        open(os.path.join(sys.argv[2], "groups-heldout.txt"), "w") as out:
    for line in f:
        first = os.path.splitext(os.path.basename(line.split()[0]))[0]
        if not (first.startswith("v-") and first[2:] in bench):
            out.write(line)
PY
echo "make_footage: $(wc -l < "$out/groups.txt") groups ($(wc -l < "$out/groups-heldout.txt") \
without the benchmark's sources), $(ls "$out/clips" | wc -l) clips in $out" >&2
