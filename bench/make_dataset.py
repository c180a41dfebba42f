#!/usr/bin/python3
"""Build the copy-detection benchmark dataset from real footage.

    make_dataset.py --seed N --out bench/work/ds [--quick] [--debs bench/data/debs]
                    [--sources DIR] [--jobs J]

Steps (every random choice comes from one random.Random(seed), so a seed gives the same dataset):
1. Source videos (the Debian packages fetched by fetch_videos.sh, or every video in --sources DIR
   for your own footage) are cut into non-overlapping reference segments of 6-10 s (up to 12 s
   for the tail of a source) and re-encoded to one mezzanine format: H.264, yuv420p, 25 fps CFR,
   width at most 640, square pixels, no audio.
2. Sources, not segments, are split into train and test, so that no test reference shares footage
   with a training one. Sources cut into 4 or more segments stay in test: their neighbouring
   segments (same camera, same scene) are the hard negatives.
3. Queries are transformed copies of some references, one transformation family each (see
   FAMILIES), plus partial copies (an excerpt spliced between unrelated footage) and "none"
   queries that copy nothing. References never copied are the distractors.
4. manifest.json records every file, its split, the exact ffmpeg filter and the true spans
   (seconds, on the query and reference time axes).

Unrelated footage (around partial copies, behind picture-in-picture, the "none" queries of the
train split) is pan-and-zoom footage made from the photographs in opencv-doc. The "none" queries of
the test split are segments of train-split sources: real video, never a test reference.
"""
import argparse
import glob
import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generic_footage  # noqa: E402

MANIFEST_VERSION = 3  # 2: generic "none" queries (bench/generic_footage.py); 3: their screen
# recordings last the seconds asked for (2 made one zoom per input frame: 20-40 minutes)
FPS = 25
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
SEG_MIN, SEG_MAX, SEG_TAIL_MAX = 6.0, 10.0, 12.0
MEZZ_FILTER = ("fps=25,scale='trunc(min(640,iw)/2)*2':-2:flags=bicubic,setsar=1,format=yuv420p")
MEZZ_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "50"]
QUERY_CODEC = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "23"]
LQ_CODEC = ["-c:v", "mpeg4", "-q:v", "24"]

# (package, glob inside the unpacked package) of the source footage, and of the photographs.
VIDEO_GLOBS = [
    ("lebiniou-data", "usr/share/lebiniou/vue/media/*.mp4"),
    ("planetblupi-common", "usr/share/planetblupi/movie/*.mkv"),
    ("opencv-doc", "usr/share/doc/opencv-doc/examples/data/Megamind.avi"),
    ("opencv-doc", "usr/share/doc/opencv-doc/examples/data/tree.avi"),
    ("opencv-doc", "usr/share/doc/opencv-doc/examples/data/vtest.avi"),
    ("node-opencv", "usr/share/doc/node-opencv/examples/files/motion.mov"),
    ("forensics-samples-files",
     "usr/share/forensics-samples/original-files/movie2/movie-hello.mp4"),
    ("python3-mecavideo", "usr/share/pymecavideo/data/video/balle-jbart.mp4"),
]
PHOTO_GLOB = ("opencv-doc", "usr/share/doc/opencv-doc/examples/data/*.jpg")
VIDEO_EXTS = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".mpg", ".mpeg", ".ts", ".m4v", ".ogv",
              ".flv", ".wmv")

# Whole-copy families in the order they are reported. "partial" and "none" come last.
FAMILIES = ["reencode_lq", "downscale", "crop", "hflip", "vflip", "rotate", "colour", "greyscale",
            "blur", "noise", "border", "overlay", "fps", "speedup", "slowdown", "temporal_crop",
            "pip", "combo2", "combo3", "partial"]
# Families that compose into combinations (one temporal change at most).
COMBINABLE = ["reencode_lq", "downscale", "crop", "hflip", "rotate", "colour", "greyscale", "blur",
              "noise", "border", "overlay", "fps", "speedup", "slowdown"]
TEMPORAL = {"fps", "speedup", "slowdown"}


def log(msg):
    print("make_dataset: " + msg, file=sys.stderr, flush=True)


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (r.returncode, " ".join(cmd),
                                                              r.stderr[-2000:]))
    return r.stdout


def probe(path):
    """(duration s, width, height) of the first video stream, decoding-free."""
    out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
               "stream=width,height:format=duration", "-of", "json", path])
    j = json.loads(out)
    st = j["streams"][0]
    dur = float(j.get("format", {}).get("duration", "nan"))
    if dur != dur:
        dur = count_duration(path)
    return dur, int(st["width"]), int(st["height"])


def count_duration(path):
    out = run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets",
               "-show_entries", "stream=nb_read_packets,r_frame_rate", "-of", "json", path])
    st = json.loads(out)["streams"][0]
    num, den = st["r_frame_rate"].split("/")
    return int(st["nb_read_packets"]) * float(den) / float(num)


def fmt(x):
    """Numbers in filters: short and exact enough."""
    return ("%.4f" % x).rstrip("0").rstrip(".")


# ------------------------------------------------------------------------------------------------
# Transformations. Each returns (filter, codec, timing) where timing maps reference time to query
# time for whole copies: ("scale", s) means query_t = ref_t * s, ("trim", a, b) means the query
# is ref[a, b] shifted to 0.


def family_filter(fam, rng, w, h, ref_dur):
    if fam == "reencode_lq":
        q = rng.choice([20, 24, 28])
        return "null", ["-c:v", "mpeg4", "-q:v", str(q)], None, {"q": q}
    if fam == "downscale":
        f = rng.uniform(0.22, 0.4)
        return "scale='trunc(iw*%s/2)*2':-2" % fmt(f), None, None, {"factor": round(f, 3)}
    if fam == "crop":
        k = rng.uniform(0.5, 0.75)
        px, py = rng.random(), rng.random()
        return ("crop='trunc(iw*%s/2)*2':'trunc(ih*%s/2)*2':'iw*%s':'ih*%s'"
                % (fmt(k), fmt(k), fmt((1 - k) * px), fmt((1 - k) * py)), None, None,
                {"keep": round(k, 3)})
    if fam == "hflip":
        return "hflip", None, None, {}
    if fam == "vflip":
        return "vflip", None, None, {}
    if fam == "rotate":
        if rng.random() < 0.25:
            return "transpose=clock", None, None, {"degrees": 90}
        a = rng.uniform(5, 20) * rng.choice([-1, 1])
        return ("rotate=%s*PI/180:fillcolor=black" % fmt(a), None, None,
                {"degrees": round(a, 2)})
    if fam == "colour":
        c, b = rng.uniform(0.6, 1.5), rng.uniform(-0.15, 0.15)
        s, g = rng.uniform(0.3, 2.0), rng.uniform(0.5, 2.0)
        hue = rng.uniform(-90, 90)
        return ("eq=contrast=%s:brightness=%s:saturation=%s:gamma=%s,hue=h=%s"
                % (fmt(c), fmt(b), fmt(s), fmt(g), fmt(hue)), None, None,
                {"contrast": round(c, 3), "gamma": round(g, 3), "hue": round(hue, 1)})
    if fam == "greyscale":
        return "hue=s=0", None, None, {}
    if fam == "blur":
        s = rng.uniform(2.5, 6)
        return "gblur=sigma=%s" % fmt(s), None, None, {"sigma": round(s, 2)}
    if fam == "noise":
        n = rng.randint(20, 45)
        return "noise=alls=%d:allf=t+u" % n, None, None, {"strength": n}
    if fam == "border":
        colour = "0x%06x" % rng.randrange(1 << 24)
        if rng.random() < 0.5:   # letterbox: bars above and below
            f = rng.uniform(1.25, 1.6)
            flt = "pad=iw:'ceil(ih*%s/2)*2':0:(oh-ih)/2:color=%s" % (fmt(f), colour)
        else:                    # frame on all sides
            f = rng.uniform(1.15, 1.5)
            flt = ("pad='ceil(iw*%s/2)*2':'ceil(ih*%s/2)*2':(ow-iw)/2:(oh-ih)/2:color=%s"
                   % (fmt(f), fmt(f), colour))
        return flt, None, None, {"factor": round(f, 3)}
    if fam == "overlay":
        words = ["COPY", "LIVE", "HD 1080p", "subscribe!", "FREE MOVIE", "(c) 2024", "NEWS 24"]
        text = rng.choice(words)
        size = rng.uniform(0.08, 0.16)
        tx, ty = rng.uniform(0.02, 0.5), rng.choice([rng.uniform(0.02, 0.15),
                                                      rng.uniform(0.75, 0.85)])
        bx, by = rng.uniform(0.6, 0.8), rng.uniform(0.02, 0.7)
        colour = "0x%06x" % rng.randrange(1 << 24)
        parts = []
        if os.path.exists(FONT):
            parts.append("drawtext=fontfile=%s:text='%s':fontsize=h*%s:fontcolor=white@0.85:"
                         "borderw=2:x=w*%s:y=h*%s" % (FONT, text, fmt(size), fmt(tx), fmt(ty)))
        parts.append("drawbox=x=iw*%s:y=ih*%s:w=iw*0.18:h=ih*0.14:color=%s@0.7:t=fill"
                     % (fmt(bx), fmt(by), colour))
        return ",".join(parts), None, None, {"text": text}
    if fam == "fps":
        f = rng.choice([8, 10, 12, 15, 50])
        return "fps=%d" % f, None, None, {"fps": f}
    if fam == "speedup":
        s = rng.uniform(1.25, 2.0)
        return "setpts=PTS/%s" % fmt(s), None, ("scale", 1.0 / float(fmt(s))), {"speed": s}
    if fam == "slowdown":
        s = rng.uniform(1.25, 2.0)
        return ("setpts=PTS*%s" % fmt(s), None, ("scale", float(fmt(s))),
                {"speed": 1.0 / float(fmt(s))})
    if fam == "temporal_crop":
        keep = rng.uniform(0.4, 0.7) * ref_dur
        a = round(rng.uniform(0, ref_dur - keep), 2)
        b = round(a + keep, 2)
        return ("trim=start=%s:end=%s,setpts=PTS-STARTPTS" % (fmt(a), fmt(b)), None,
                ("trim", a, b), {"start": a, "end": b})
    raise ValueError(fam)


def combo(rng, n, w, h, ref_dur):
    fams = []
    pool = list(COMBINABLE)
    while len(fams) < n:
        f = rng.choice(pool)
        pool.remove(f)
        if f in TEMPORAL and any(x in TEMPORAL for x in fams):
            continue
        if f == "reencode_lq" and len(fams) < n - 1:
            continue   # the codec change goes last; choose again
        fams.append(f)
    filters, codec, timing, params = [], None, None, {"families": fams}
    for f in fams:
        flt, c, t, p = family_filter(f, rng, w, h, ref_dur)
        filters.append(flt)
        codec = c or codec
        timing = t or timing
        params[f] = p
    return ",".join(filters), codec, timing, params


# ------------------------------------------------------------------------------------------------

class Builder:
    def __init__(self, args):
        self.args = args
        self.out = os.path.abspath(args.out)
        self.rng = random.Random(args.seed)
        self.jobs = []         # (description, ffmpeg argv) run in parallel at the end of a phase

    def ffmpeg(self, argv):
        return ["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", "2"] + argv

    def run_jobs(self, what):
        t0 = time.time()
        jobs, self.jobs = self.jobs, []
        if self.args.reuse:
            jobs = [j for j in jobs if not os.path.exists(j[-1])]
        with ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            for _ in ex.map(lambda j: run(j), jobs):
                pass
        log("%d %s in %.1f s" % (len(jobs), what, time.time() - t0))

    # --- sources and references -----------------------------------------------------------
    def find_sources(self):
        found = []
        if self.args.sources:
            for p in sorted(glob.glob(os.path.join(self.args.sources, "**", "*"), recursive=True)):
                if p.lower().endswith(VIDEO_EXTS) and os.path.isfile(p):
                    found.append(("user", os.path.relpath(p, self.args.sources),
                                  os.path.abspath(p)))
        else:
            for pkg, pat in VIDEO_GLOBS:
                root = os.path.join(self.args.debs, pkg)
                if not os.path.isdir(root):
                    sys.exit("make_dataset: %s missing; run bench/fetch_videos.sh" % root)
                for p in sorted(glob.glob(os.path.join(root, pat))):
                    found.append((pkg, os.path.relpath(p, root), os.path.abspath(p)))
        sources = []
        versions = {}
        for pkg, _, _ in found:
            vf = os.path.join(self.args.debs, pkg, ".version")
            if pkg not in versions and os.path.exists(vf):
                with open(vf) as f:
                    versions[pkg] = f.read().strip()
        for pkg, rel, path in found:
            dur, w, h = probe(path)
            if dur < SEG_MIN:
                continue
            sources.append({"id": "s%02d" % len(sources), "package": pkg,
                            "package_version": versions.get(pkg), "path": rel,
                            "abspath": path, "duration": round(dur, 3), "width": w, "height": h})
        if len(sources) < 2:
            sys.exit("make_dataset: fewer than 2 source videos of %g s or more" % SEG_MIN)
        return sources

    def cut_segments(self, sources):
        segs = []
        for s in sources:
            t, end = 0.0, s["duration"] - 0.15   # keep clear of a short last frame
            s["segments"] = []
            while end - t >= SEG_MIN:
                rest = end - t
                if rest <= SEG_TAIL_MAX:
                    n = rest
                else:
                    n = self.rng.uniform(SEG_MIN, SEG_MAX)
                    if rest - n < SEG_MIN:
                        n = rest - SEG_MIN
                n = round(n, 2) if n < rest else rest
                segs.append({"source": s["id"], "src_start": round(t, 2),
                             "src_end": round(t + n, 2)})
                s["segments"].append(len(segs) - 1)
                t += n
        return segs

    def split(self, sources, segs):
        order = list(sources)
        self.rng.shuffle(order)
        total = len(segs)
        train_n = 0
        for s in order:
            s["split"] = "test"
            n = len(s["segments"])
            if n < 4 and train_n + n <= self.args.train_share * total:
                s["split"] = "train"
                train_n += n
        return {s["id"]: s["split"] for s in sources}

    def make_references(self, sources, segs, splits):
        by_id = {s["id"]: s for s in sources}
        refs = []
        os.makedirs(os.path.join(self.out, "refs"), exist_ok=True)
        for i, g in enumerate(segs):
            src = by_id[g["source"]]
            split = splits[g["source"]]
            if self.args.quick and split != "test":
                continue
            rid = "r%03d" % i
            rel = "refs/%s.mp4" % rid
            dur = g["src_end"] - g["src_start"]
            self.jobs.append(self.ffmpeg(
                ["-ss", fmt(g["src_start"]), "-i", src["abspath"], "-t", fmt(dur), "-an",
                 "-vf", MEZZ_FILTER] + MEZZ_CODEC + [os.path.join(self.out, rel)]))
            refs.append({"id": rid, "file": rel, "source": g["source"], "split": split,
                         "src_start": g["src_start"], "src_end": g["src_end"]})
        self.run_jobs("references")
        seg_ids = {}
        for r in refs:
            r["duration"], r["width"], r["height"] = probe(os.path.join(self.out, r["file"]))
            r["duration"] = round(r["duration"], 3)
            seg_ids.setdefault(r["source"], []).append(r["id"])
        for r in refs:
            sib = seg_ids[r["source"]]
            k = sib.index(r["id"])
            r["neighbours"] = [sib[j] for j in (k - 1, k + 1) if 0 <= j < len(sib)]
        return refs

    # --- unrelated footage ------------------------------------------------------------------
    def make_fillers(self, n):
        if self.args.image_pool:
            photos = [p for p in generic_footage.images(self.args.debs, self.args.image_pool, 300)
                      if p.endswith((".jpg", ".webp"))]
        else:
            photos = sorted(glob.glob(os.path.join(self.args.debs, *PHOTO_GLOB)))
        if not photos:
            sys.exit("make_dataset: no photographs under %s; run bench/fetch_videos.sh"
                     % self.args.debs)
        os.makedirs(os.path.join(self.out, "fillers"), exist_ok=True)
        fillers = []
        picks = self.rng.sample(photos, min(n, len(photos)))
        for i, p in enumerate(picks):
            dur = 12
            frames = dur * FPS
            zx = self.rng.choice(["0", "iw-iw/zoom", "(iw-iw/zoom)/2"])
            zy = self.rng.choice(["0", "ih-ih/zoom", "(ih-ih/zoom)/2"])
            step = self.rng.uniform(0.0008, 0.002)
            flt = ("scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,"
                   "zoompan=z='min(zoom+%s,1.6)':x='%s':y='%s':d=%d:s=640x360:fps=%d,"
                   "setsar=1,format=yuv420p" % (fmt(step), zx, zy, frames, FPS))
            rel = "fillers/f%02d.mp4" % i
            self.jobs.append(self.ffmpeg(["-i", p, "-vf", flt, "-frames:v", str(frames)] +
                                         MEZZ_CODEC + [os.path.join(self.out, rel)]))
            fillers.append({"id": "f%02d" % i, "file": rel, "photo": os.path.relpath(
                p, self.args.debs), "duration": float(dur), "filter": flt})
        self.run_jobs("filler clips")
        return fillers

    # --- queries ----------------------------------------------------------------------------
    def query_job(self, q, inputs, graph, codec):
        out = os.path.join(self.out, q["file"])
        argv = []
        for inp in inputs:
            argv += inp
        argv += ["-filter_complex", graph, "-map", "[out]", "-an", "-r", str(q.get("rate", FPS))]
        argv += (codec or QUERY_CODEC) + ["-pix_fmt", "yuv420p", out]
        q["ffmpeg"] = " ".join(self.ffmpeg(argv)[1:]).replace(self.out + "/", "")
        self.jobs.append(self.ffmpeg(argv))

    def whole_copy(self, q, ref, fam):
        rng = self.rng
        w, h, d = ref["width"], ref["height"], ref["duration"]
        rpath = os.path.join(self.out, ref["file"])
        if fam == "pip":
            fil = rng.choice(self.fillers)
            k = rng.uniform(0.4, 0.65)
            x, y = rng.random(), rng.random()
            flt = ("[1:v]scale='trunc(%d*%s/2)*2':-2[fg];[0:v]scale=%d:%d,setsar=1[bg];"
                   "[bg][fg]overlay=x='(W-w)*%s':y='(H-h)*%s':shortest=1"
                   % (w, fmt(k), w, h, fmt(x), fmt(y)))
            graph = flt + ",format=yuv420p[out]"
            inputs = [["-i", os.path.join(self.out, fil["file"])], ["-i", rpath]]
            q["params"] = {"inset": round(k, 3), "background": fil["id"]}
            codec, timing = None, None
        else:
            if fam == "combo2":
                flt, codec, timing, params = combo(rng, 2, w, h, d)
            elif fam == "combo3":
                flt, codec, timing, params = combo(rng, 3, w, h, d)
            else:
                flt, codec, timing, params = family_filter(fam, rng, w, h, d)
            if "fps=" in flt and "fps" in (params.get("families") or [fam]):
                q["rate"] = int(flt.split("fps=")[1].split(",")[0])
            graph = "[0:v]%s,format=yuv420p[out]" % flt
            inputs = [["-i", rpath]]
            q["params"] = params
        q["filter"] = graph
        if timing is None:
            span = (0.0, d, 0.0, d)
        elif timing[0] == "scale":
            span = (0.0, d * timing[1], 0.0, d)
        else:
            span = (0.0, timing[2] - timing[1], timing[1], timing[2])
        q["spans"] = [span]
        self.query_job(q, inputs, graph, codec)

    def partial_copy(self, q, ref):
        """Filler, excerpt, filler [, excerpt, filler]; optionally a speed change."""
        rng = self.rng
        w, h, d = ref["width"], ref["height"], ref["duration"]
        n_ex = 2 if (rng.random() < 0.3 and d >= 8) else 1
        speed = rng.uniform(0.6, 1.6) if rng.random() < 0.3 else 1.0
        speed = float(fmt(speed))
        inputs, chains, spans, labels = [], [], [], []
        t_q = 0.0
        cut = [rng.uniform(0.4 * d, 0.6 * d)] if n_ex == 2 else []
        bounds = [0.0] + cut + [d]

        def add_filler():
            nonlocal t_q
            fil = rng.choice(self.fillers)
            fd = round(rng.uniform(2.0, 7.0), 2)
            st = round(rng.uniform(0, fil["duration"] - fd - 0.1), 2)
            k = len(inputs)
            inputs.append(["-ss", fmt(st), "-t", fmt(fd), "-i",
                           os.path.join(self.out, fil["file"])])
            chains.append("[%d:v]scale=%d:%d,setsar=1,fps=%d,setpts=PTS-STARTPTS[c%d]"
                          % (k, w, h, FPS, k))
            labels.append("[c%d]" % k)
            t_q += fd

        add_filler()
        for e in range(n_ex):
            lo, hi = bounds[e], bounds[e + 1]
            length = min(rng.uniform(3.0, 6.0), hi - lo - 0.2)
            length = max(length, min(2.0, hi - lo))
            a = round(rng.uniform(lo, hi - length), 2)
            b = round(a + length, 2)
            k = len(inputs)
            inputs.append(["-i", os.path.join(self.out, ref["file"])])
            chains.append("[%d:v]trim=start=%s:end=%s,setpts=(PTS-STARTPTS)/%s,fps=%d,setsar=1[c%d]"
                          % (k, fmt(a), fmt(b), fmt(speed), FPS, k))
            labels.append("[c%d]" % k)
            qlen = (b - a) / speed
            spans.append((round(t_q, 3), round(t_q + qlen, 3), a, b))
            t_q += qlen
            add_filler()
        graph = ";".join(chains) + ";" + "".join(labels) + "concat=n=%d:v=1:a=0" % len(labels)
        light = rng.choice([None, None, "reencode_lq", "downscale", "colour", "overlay", "border",
                            "hflip"])
        codec = None
        params = {"speed": speed, "excerpts": n_ex, "filler_total": round(t_q - sum(
            s[1] - s[0] for s in spans), 2)}
        if light:
            flt, codec, _, p = family_filter(light, rng, w, h, d)
            graph += "," + flt
            params["plus"] = light
            params[light] = p
        graph += ",format=yuv420p[out]"
        q["filter"] = graph
        q["params"] = params
        q["spans"] = spans
        self.query_job(q, inputs, graph, codec)

    def none_query(self, q, split, train_refs_pool):
        """A query that copies no reference of its split."""
        rng = self.rng
        if split == "test" and train_refs_pool:
            src = rng.choice(train_refs_pool)
            inputs = [["-ss", fmt(src["src_start"]), "-t",
                       fmt(min(8.0, src["src_end"] - src["src_start"])), "-i", src["abspath"]]]
            q["params"] = {"from_source": src["source"], "src_start": src["src_start"]}
        else:
            fil = rng.choice(self.fillers)
            inputs = [["-ss", fmt(rng.uniform(0, 4)), "-t", "8", "-i",
                       os.path.join(self.out, fil["file"])]]
            q["params"] = {"from_filler": fil["id"]}
        fam = rng.choice(["reencode_lq", "downscale", "crop", "colour", "border", "overlay",
                          "hflip", "blur"])
        flt, codec, _, p = family_filter(fam, rng, 640, 360, 8.0)
        q["params"]["transform"] = fam
        graph = "[0:v]%s,%s,format=yuv420p[out]" % (MEZZ_FILTER, flt)
        q["filter"] = graph
        q["spans"] = []
        self.query_job(q, inputs, graph, codec)

    def generic_queries(self, queries, splits):
        """Generic footage that copies nothing (blank screens, stills, screen recordings,
        slideshows, title cards, test patterns: bench/generic_footage.py), from the image pool
        of each split, so that a model's background bank (pool "bank") never holds them. Drawn
        from their own generator so that adding them left every earlier query unchanged."""
        rng = random.Random(self.args.seed * 1000003 + 17)
        n = {"test": 6 if self.args.quick else 18, "train": 18}
        for split in splits:
            imgs = generic_footage.images(self.args.debs, self.args.image_pool or split)
            if not imgs:
                sys.exit("make_dataset: no %s images for generic footage under %s; run "
                         "bench/fetch_videos.sh" % (split, self.args.debs))
            for i in range(n[split]):
                kind = generic_footage.KINDS[i % len(generic_footage.KINDS)]
                q = {"id": "q%04d" % len(queries), "split": split, "family": "none",
                     "ref": None, "spans": []}
                q["file"] = "queries/%s.mp4" % q["id"]
                dur = rng.uniform(6, 10)
                inputs, graph, params = generic_footage.clip(kind, rng, imgs, dur)
                params.update(kind=kind, generic=True)
                q["params"] = params
                q["filter"] = graph
                self.query_job(q, inputs, graph, generic_footage.CODEC[:-2])
                queries.append(q)

    def make_queries(self, refs, sources, segs):
        os.makedirs(os.path.join(self.out, "queries"), exist_ok=True)
        queries = []
        splits = ["test"] if self.args.quick else ["test", "train"]
        per_family = {"test": 3 if self.args.quick else 6, "train": 3}
        n_none = {"test": 4 if self.args.quick else 12, "train": 4}
        by_src = {s["id"]: s for s in sources}
        train_pool = []
        for g in segs:
            s = by_src[g["source"]]
            if s["split"] == "train":
                train_pool.append(dict(g, abspath=s["abspath"]))
        for split in splits:
            pool = [r for r in refs if r["split"] == split]
            if not pool:
                continue
            order = list(pool)
            self.rng.shuffle(order)
            n_copied = max(1, int(round(len(order) * self.args.copied_share)))
            copied = order[:n_copied]
            for r in pool:
                r["copied"] = False
            cursor = 0
            for fam in FAMILIES:
                for _ in range(per_family[split]):
                    ref = copied[cursor % len(copied)]
                    cursor += 1
                    ref["copied"] = True
                    q = {"id": "q%04d" % len(queries), "split": split, "family": fam,
                         "ref": ref["id"]}
                    q["file"] = "queries/%s.mp4" % q["id"]
                    if fam == "partial":
                        self.partial_copy(q, ref)
                    else:
                        self.whole_copy(q, ref, fam)
                    queries.append(q)
            for _ in range(n_none[split]):
                q = {"id": "q%04d" % len(queries), "split": split, "family": "none",
                     "ref": None}
                q["file"] = "queries/%s.mp4" % q["id"]
                self.none_query(q, split, train_pool)
                queries.append(q)
        self.generic_queries(queries, splits)
        self.run_jobs("queries")
        for q in queries:
            q["duration"] = round(probe(os.path.join(self.out, q["file"]))[0], 3)
            spans = []
            for (qs, qe, rs, re_) in q["spans"]:
                qe = min(qe, q["duration"])
                spans.append({"query_start": round(qs, 3), "query_end": round(qe, 3),
                              "ref_start": round(rs, 3), "ref_end": round(re_, 3)})
            q["spans"] = spans
            q.pop("rate", None)
        return queries

    def build(self):
        t0 = time.time()
        os.makedirs(self.out, exist_ok=True)
        sources = self.find_sources()
        segs = self.cut_segments(sources)
        splits = self.split(sources, segs)
        log("%d sources, %d segments" % (len(sources), len(segs)))
        refs = self.make_references(sources, segs, splits)
        self.fillers = self.make_fillers(8 if self.args.quick else 16)
        queries = self.make_queries(refs, sources, segs)
        for s in sources:
            s.pop("abspath")
            s["segments"] = len(s["segments"])
        ffv = run(["ffmpeg", "-version"]).splitlines()[0]
        manifest = {
            "version": MANIFEST_VERSION, "seed": self.args.seed, "quick": self.args.quick,
            "generator": "bench/make_dataset.py", "ffmpeg": ffv,
            "user_sources": bool(self.args.sources), "image_pool": self.args.image_pool,
            "mezzanine": {"filter": MEZZ_FILTER, "codec": " ".join(MEZZ_CODEC)},
            "families": FAMILIES + ["none"],
            "sources": sources, "references": refs, "fillers": self.fillers,
            "queries": queries,
        }
        tmp = os.path.join(self.out, "manifest.json.tmp")
        with open(tmp, "w") as f:
            json.dump(manifest, f, indent=1)
        os.replace(tmp, os.path.join(self.out, "manifest.json"))
        n_test = sum(1 for r in refs if r["split"] == "test")
        log("%d references (%d test), %d queries, in %.0f s -> %s/manifest.json"
            % (len(refs), n_test, len(queries), time.time() - t0, self.out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true", help="test split only, fewer queries")
    ap.add_argument("--debs", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                   "data", "debs"))
    ap.add_argument("--sources", help="use every video under this directory as source footage")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--train-share", type=float, default=0.3,
                    help="share of segments whose sources go to the train split")
    ap.add_argument("--copied-share", type=float, default=0.7,
                    help="share of references that get copied (the rest are distractors)")
    ap.add_argument("--force", action="store_true", help="rebuild even if the manifest matches")
    ap.add_argument("--reuse", action="store_true",
                    help="keep media files already written by an interrupted run with the same "
                    "seed (delete the files that run was writing when it stopped)")
    ap.add_argument("--image-pool", choices=["bank", "train", "test"],
                    help="take the filler photographs and the generic queries' images of every "
                    "split from this pool of bench/generic_footage.py (a model's calibration set "
                    "uses 'train'); default: opencv-doc's photographs, and each split's own pool")
    args = ap.parse_args()
    mpath = os.path.join(args.out, "manifest.json")
    if not args.force and os.path.exists(mpath):
        with open(mpath) as f:
            m = json.load(f)
        if (m.get("version") == MANIFEST_VERSION and m.get("seed") == args.seed
                and m.get("quick") == args.quick and m.get("user_sources") == bool(args.sources)
                and m.get("image_pool") == args.image_pool):
            log("%s is up to date (seed %d); --force rebuilds" % (mpath, args.seed))
            return
    Builder(args).build()


if __name__ == "__main__":
    main()
