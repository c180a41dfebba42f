#!/usr/bin/python3
"""Generic footage: video that looks like many unrelated videos, the hard case for false alarms.

Blank screens, a still photograph held, a panned screenshot of a desktop program, a slideshow, a
title card, a synthetic test pattern: none copies anything, yet a whole-frame descriptor finds
them similar to much else. Two users:
- bench/make_dataset.py adds such clips as "none" queries (copies of nothing) to each split;
- models/make_background.py makes many of them for a model's background bank (docs/thresholds.md).

The images come from Debian packages (gimp-help-en: screenshots of dialogs and example photos;
gnome-backgrounds: wallpapers; opencv-doc is NOT used here, its photos are the benchmark's
filler footage). Each image belongs to exactly one pool, by a stable hash of its path inside its
package: "bank" (60 %), "train" (20 %) and "test" (20 %), so a bank never holds an image that a
benchmark query shows.

    generic_footage.py --debs bench/data/debs --pool test --out DIR -n 12 --seed 1

prints the clips made, one JSON object per line.
"""
import argparse
import glob
import hashlib
import json
import os
import random
import struct
import subprocess

FPS = 25
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
# Packages whose images feed the pools (fetched by bench/fetch_videos.sh).
IMAGE_GLOBS = [
    ("gimp-help-en", "usr/share/gimp/2.0/help/en/images/**/*.png"),
    ("gimp-help-en", "usr/share/gimp/2.0/help/en/images/**/*.jpg"),
    ("gnome-backgrounds", "usr/share/backgrounds/gnome/*.webp"),
    ("gnome-backgrounds", "usr/share/backgrounds/gnome/*.jpg"),
    ("gnome-backgrounds", "usr/share/backgrounds/gnome/*.png"),
]
POOLS = (("bank", 60), ("train", 20), ("test", 20))
KINDS = ["blank", "still", "screen", "slideshow", "title", "pattern"]
PATTERNS = ["testsrc2", "smptebars", "mandelbrot", "life", "cellauto", "gradients", "rgbtestsrc",
            "noise"]
WORDS = ["NEWS", "SPORT", "LIVE", "BREAKING", "WEATHER", "EPISODE", "CHAPTER", "INTRO", "THE END",
         "COMING SOON", "SUBSCRIBE", "PART", "LESSON", "SEASON", "TRAILER", "CREDITS", "MUSIC",
         "TUTORIAL", "REVIEW", "HIGHLIGHTS", "WELCOME", "THANK YOU", "PRESENTS", "SPECIAL"]


def pool_of(relpath):
    """Stable pool of an image, from the hash of its path inside its package."""
    h = int(hashlib.sha1(relpath.encode()).hexdigest()[:8], 16) % 100
    acc = 0
    for name, share in POOLS:
        acc += share
        if h < acc:
            return name
    return POOLS[-1][0]


def images(debs, pool, min_side=96):
    """Images of one pool, sorted; tiny icons (either side < min_side) are left out."""
    out = []
    for pkg, pattern in IMAGE_GLOBS:
        root = os.path.join(debs, pkg)
        for p in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
            rel = os.path.relpath(p, root)
            if pool_of(pkg + "/" + rel) != pool:
                continue
            out.append(p)
    return [p for p in out if min(image_size(p)) >= min_side]


def image_size(path):
    """(width, height) from a PNG or JPEG header without decoding; (1 << 30, 1 << 30) for other
    formats (the wallpapers, which are large)."""
    with open(path, "rb") as f:
        head = f.read(32)
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return struct.unpack(">II", head[16:24])
        if head[:2] != b"\xff\xd8":
            return (1 << 30, 1 << 30)
        f.seek(2)
        while True:
            m = f.read(4)
            if len(m) < 4 or m[0] != 0xFF:
                return (0, 0)
            size = struct.unpack(">H", m[2:4])[0]
            if 0xC0 <= m[1] <= 0xCF and m[1] not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">xHH", f.read(5))
                return (w, h)
            f.seek(size - 2, 1)


def colour(rng):
    return "0x%02x%02x%02x" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))


def fit(w=640, h=360, bg="black"):
    """Scale an image into w x h, padded (a still or a slide)."""
    return ("scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2:"
            "color=%s,setsar=1,fps=%d" % (w, h, w, h, bg, FPS))


def lavfi(src, dur):
    """The ffmpeg input arguments of a generated source, `dur` seconds long."""
    return ["-t", "%.2f" % dur, "-f", "lavfi", "-i", src]


def looped(path, dur):
    """The ffmpeg input arguments of an image shown for `dur` seconds."""
    return ["-f", "image2", "-loop", "1", "-framerate", str(FPS), "-t", "%.2f" % dur, "-i", path]


def clip(kind, rng, imgs, dur):
    """The inputs (a list of ffmpeg input argument lists), the filter graph (ending in [out]) and
    the parameters of one clip."""
    frames = int(round(dur * FPS))
    if kind == "blank":
        c = rng.choice(["black", "white", "0x808080", colour(rng)])
        return ([lavfi("color=c=%s:s=640x360:r=%d" % (c, FPS), dur)], "[0:v]null[out]",
                {"colour": c})
    if kind == "still":
        p = rng.choice(imgs)
        return ([looped(p, dur)], "[0:v]%s[out]" % fit(bg=colour(rng)),
                {"image": os.path.basename(p)})
    if kind == "screen":
        # A screenshot on a plain desktop colour, slowly zoomed and panned: a screen recording.
        p = rng.choice(imgs)
        step = rng.uniform(0.0008, 0.002)
        # one input frame: zoompan makes d output frames of every frame it is given
        flt = ("trim=end_frame=1,%s,scale=1280:720,zoompan=z='min(zoom+%.4f,1.5)':x='iw/2-(iw/zoom/2)+%d*on/%d':"
               "y='ih/2-(ih/zoom/2)':d=%d:s=640x360:fps=%d,setsar=1"
               % (fit(bg=colour(rng)), step, rng.randint(-40, 40), frames, frames, FPS))
        return ([looped(p, dur)], "[0:v]%s[out]" % flt,
                {"image": os.path.basename(p)})
    if kind == "slideshow":
        n = rng.randint(2, 3)
        ps = [rng.choice(imgs) for _ in range(n)]
        each = dur / n
        inputs, parts = [], []
        bg = colour(rng)
        for i, p in enumerate(ps):
            inputs.append(looped(p, each))
            parts.append("[%d:v]%s[s%d]" % (i, fit(bg=bg), i))
        graph = ";".join(parts) + ";" + "".join("[s%d]" % i for i in range(n)) + \
            "concat=n=%d:v=1:a=0[out]" % n
        return inputs, graph, {"images": [os.path.basename(p) for p in ps]}
    if kind == "title":
        text = " ".join(rng.sample(WORDS, rng.randint(1, 2)))
        c = rng.choice(["black", "0x10204a", "0x202020", colour(rng)])
        size = min(rng.randint(36, 72), int(1100 / (len(text) + 2)))
        flt = ("drawtext=fontfile=%s:text='%s':fontsize=%d:fontcolor=white:x=(w-tw)/2:y=(h-th)/2"
               % (FONT, text, size))
        if rng.random() < 0.5:
            flt += ",fade=t=in:st=0:d=1"
        return ([lavfi("color=c=%s:s=640x360:r=%d" % (c, FPS), dur)], "[0:v]%s[out]" % flt,
                {"text": text, "colour": c})
    if kind == "pattern":
        pat = rng.choice(PATTERNS)
        if pat == "noise":
            src = "color=c=%s:s=640x360:r=%d" % (colour(rng), FPS)
            return ([lavfi(src, dur)], "[0:v]noise=alls=%d:allf=t+u[out]"
                    % rng.randint(20, 60), {"pattern": pat})
        extra = {"life": ":mold=10:ratio=0.1:death_color=#%06x:life_color=#%06x" % (
            rng.randrange(1 << 24), rng.randrange(1 << 24)),
            "cellauto": ":rule=%d" % rng.choice([18, 30, 90, 110, 150]),
            "gradients": ":n=%d:speed=0.02" % rng.randint(2, 6)}.get(pat, "")
        src = "%s=s=640x360:r=%d%s" % (pat, FPS, extra)
        return ([lavfi(src, dur)], "[0:v]format=yuv420p[out]", {"pattern": pat})
    raise ValueError(kind)


def make(rng, kind, imgs, dur, out_path):
    """Write one clip; returns its params."""
    inputs, graph, params = clip(kind, rng, imgs, dur)
    cmd = (["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", "2"] +
           [a for inp in inputs for a in inp] +
           ["-filter_complex", graph,
            "-map", "[out]", "-an", "-frames:v", str(int(round(dur * FPS))), "-r", str(FPS)] +
           CODEC + [out_path])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("generic clip failed: %s\n%s" % (" ".join(cmd), r.stderr[-1500:]))
    params["kind"] = kind
    params["duration"] = round(dur, 2)
    return params


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--debs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "data", "debs"))
    ap.add_argument("--pool", choices=[p for p, _ in POOLS], required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("-n", type=int, default=12)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    imgs = images(a.debs, a.pool)
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.n):
        kind = KINDS[i % len(KINDS)]
        path = os.path.join(a.out, "g%04d.mp4" % i)
        print(json.dumps(dict(make(rng, kind, imgs, rng.uniform(6, 10), path), file=path)))


if __name__ == "__main__":
    main()
