#!/usr/bin/python3
"""Long synthetic "fixed camera" scenes, the source footage of a model's calibration set.

A rights holder's catalogue may hold several excerpts of one long, nearly static shot (a studio
set, a surveillance camera, a landscape): their frames look alike although their moments differ,
and a copy of one is not a copy of the others. A model's score calibration must see such hard
negatives, and the benchmark's train split has none (its multi-segment sources all went to the
test split). This script makes them from images of the "train" pool (bench/generic_footage.py),
never from benchmark footage:
- "walkers": a photograph (the pool's photographs, not its dialog screenshots) as a fixed background with 3-8 small cut-outs of other images moving
  across it on smooth random paths (people crossing a fixed camera's view), sensor noise;
- "breeze": a photograph gently swaying (a small periodic zoom and pan, as a tree in the wind),
  slow brightness drift, sensor noise.

    make_scenes.py --out models/work/scenes [-n 12] [--seconds 48] [--seed 1]

bench/make_dataset.py --sources OUT then cuts them into segments and makes copies of them.
"""
import argparse
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import generic_footage  # noqa: E402

FPS = 25


def walkers(rng, imgs, photos, dur, out):
    bg = rng.choice(photos)
    n = rng.randint(3, 8)
    inputs = ["-f", "image2", "-loop", "1", "-framerate", str(FPS), "-t", "%.2f" % dur, "-i", bg]
    parts = ["[0:v]scale=640:360:force_original_aspect_ratio=increase,crop=640:360,setsar=1,"
             "format=yuv420p[b0]"]
    for k in range(n):
        sprite = rng.choice(imgs)
        inputs += ["-f", "image2", "-loop", "1", "-framerate", str(FPS), "-t", "%.2f" % dur,
                   "-i", sprite]
        w = rng.randint(24, 70)
        h = int(w * rng.uniform(1.2, 2.4))  # upright, like a person
        parts.append("[%d:v]scale=%d:%d,setsar=1,format=yuva420p[s%d]" % (k + 1, w, h, k))
        # Crossing the view: x from one side to the other over a random span of time, with a
        # gentle vertical wobble; the path repeats (another passer-by) every `period` seconds.
        period = rng.uniform(8, 20)
        phase = rng.uniform(0, period)
        y0 = rng.uniform(0.35, 0.8)
        direction = rng.choice([1, -1])
        x = ("(W+w)*mod(t+%.2f,%.2f)/%.2f-w" % (phase, period, period) if direction > 0 else
             "W-(W+w)*mod(t+%.2f,%.2f)/%.2f" % (phase, period, period))
        y = "H*%.3f+6*sin(t*%.2f)" % (y0, rng.uniform(2, 5))
        parts.append("[b%d][s%d]overlay=x='%s':y='%s':shortest=1[b%d]" % (k, k, x, y, k + 1))
    parts.append("[b%d]noise=alls=%d:allf=t,format=yuv420p[out]" % (n, rng.randint(3, 10)))
    return inputs, ";".join(parts)


def breeze(rng, imgs, photos, dur, out):
    bg = rng.choice(photos)
    amp = rng.uniform(0.01, 0.04)
    per = rng.uniform(2, 6)
    inputs = ["-f", "image2", "-loop", "1", "-framerate", str(FPS), "-t", "%.2f" % dur, "-i", bg]
    frames = int(dur * FPS)
    flt = ("[0:v]scale=1280:720:force_original_aspect_ratio=increase,crop=1280:720,"
           "zoompan=z='1.1+%.3f*sin(2*PI*on/%d)':x='iw/2-(iw/zoom/2)+%d*sin(2*PI*on/%d)':"
           "y='ih/2-(ih/zoom/2)':d=%d:s=640x360:fps=%d,"
           "eq=brightness='0.05*sin(2*PI*t/%.1f)':eval=frame,noise=alls=%d:allf=t,"
           "setsar=1,format=yuv420p[out]"
           % (amp, int(per * FPS), rng.randint(5, 20), int(per * FPS * 1.7), frames, FPS,
              rng.uniform(15, 40), rng.randint(3, 8)))
    return inputs, flt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--debs", default=os.path.join(os.path.dirname(HERE), "bench", "data", "debs"))
    ap.add_argument("-n", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=48.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    imgs = generic_footage.images(a.debs, "train", min_side=160)
    photos = [p for p in generic_footage.images(a.debs, "train", min_side=300)
              if p.endswith((".jpg", ".webp"))]  # photographs, not dialog screenshots
    if not photos:
        sys.exit("make_scenes: no train-pool images under %s; run bench/fetch_videos.sh" % a.debs)
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.n):
        path = os.path.join(a.out, "scene%02d.mp4" % i)
        make = walkers if i % 3 != 2 else breeze
        inputs, graph = make(rng, imgs, photos, a.seconds, path)
        if os.path.exists(path):
            continue
        cmd = (["ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", "2"] +
               inputs + ["-filter_complex", graph, "-map", "[out]", "-an",
                         "-frames:v", str(int(a.seconds * FPS)), "-r", str(FPS)] +
               generic_footage.CODEC + [path + ".tmp.mp4"])
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("make_scenes: %s\n%s" % (" ".join(cmd), r.stderr[-1500:]))
        os.replace(path + ".tmp.mp4", path)
        print("make_scenes: %s (%s)" % (path, make.__name__), flush=True)


if __name__ == "__main__":
    main()
