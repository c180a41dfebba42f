#!/usr/bin/python3
"""Footage for a model's background bank (docs/thresholds.md, "Score normalisation").

The bank holds frame vectors of footage that copies nothing a user will look for but resembles
much of what they will see: blank screens, stills, screen recordings, slideshows, title cards,
test patterns (bench/generic_footage.py), every image of the "bank" pool (gimp-help-en screenshots
and photographs, gnome-backgrounds wallpapers; the library reads an image as a one-frame video),
and devede's DVD-menu backgrounds. None of it is benchmark footage or derived from it: the benchmark's videos and its
filler photographs (opencv-doc) are not used, and generic queries come from the other pools.

    make_background.py --out models/work/background [--debs bench/data/debs] [--seed 1]
                       [--generic 240] [--jobs 2]

Writes OUT/*.mp4 and OUT/list.txt (one path per line; models/make_calibration.sh embeds them into the bank:
the clips, the images and the DVD menus).
Idempotent: clips already made are kept.
"""
import argparse
import glob
import os
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import generic_footage  # noqa: E402

DEVEDE_GLOB = ("devede", "usr/share/devedeng/*.mpg")


def job(args):
    kind, seed, imgs, dur, path = args
    if os.path.exists(path):
        return
    generic_footage.make(random.Random(seed), kind, imgs, dur, path + ".tmp.mp4")
    os.replace(path + ".tmp.mp4", path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--debs", default=os.path.join(os.path.dirname(HERE), "bench", "data", "debs"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--generic", type=int, default=240, help="generic clips (6 kinds in turn)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    imgs = generic_footage.images(a.debs, "bank")
    if not imgs:
        sys.exit("make_background: no bank images under %s; run bench/fetch_videos.sh" % a.debs)
    rng = random.Random(a.seed)
    jobs = []
    for i in range(a.generic):
        kind = generic_footage.KINDS[i % len(generic_footage.KINDS)]
        jobs.append((kind, rng.randrange(1 << 30), imgs, rng.uniform(4, 8),
                     os.path.join(a.out, "gen%04d.mp4" % i)))
    with ThreadPoolExecutor(max_workers=a.jobs) as ex:
        list(ex.map(job, jobs))
    paths = [j[4] for j in jobs] + imgs + sorted(glob.glob(os.path.join(a.debs, *DEVEDE_GLOB)))
    with open(os.path.join(a.out, "list.txt"), "w") as f:
        f.write("".join(os.path.abspath(p) + "\n" for p in paths))
    print("make_background: %d clips and images -> %s/list.txt" % (len(paths), a.out))


if __name__ == "__main__":
    main()
