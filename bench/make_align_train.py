#!/usr/bin/python3
"""More partial copies of the TRAIN split, for tuning the aligner (bench/eval_align.py).

The benchmark dataset holds only 3 partial copies in its train split, too few to tune on. This
script makes N more with bench/make_dataset.py's own recipe (filler, 3-6 s excerpt(s) of a
train-split reference, filler; 30% two excerpts, 30% a speed change 0.6x-1.6x, some a light
transformation on top), from another random seed, and writes them next to the dataset:

    make_align_train.py --ds bench/work/ds --out bench/work/align/extra [-n 48] [--seed 101]

Output: OUT/queries/*.mp4 and OUT/manifest.json (the dataset's manifest with only its train
split, plus the new queries, split "train", family "partial", ids "x000"...). Test-split footage
is never touched, so tuning on it keeps the test split clean. Embed the queries with
`vinfringe embed` (bench/eval_align.py --help shows the loop).
"""
import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_dataset  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ds", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("-n", type=int, default=48)
    ap.add_argument("--seed", type=int, default=101)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    ds, out = os.path.abspath(a.ds), os.path.abspath(a.out)
    with open(os.path.join(ds, "manifest.json")) as f:
        man = json.load(f)
    refs = [r for r in man["references"] if r["split"] == "train"]
    os.makedirs(os.path.join(out, "queries"), exist_ok=True)
    b = make_dataset.Builder(argparse.Namespace(jobs=a.jobs, seed=a.seed, out=ds))
    b.rng = random.Random(a.seed)
    b.out = ds                      # inputs (references, fillers) are read from the dataset
    b.fillers = man["fillers"]
    rel = os.path.relpath(out, ds)
    queries = []
    for k in range(a.n):
        ref = refs[k % len(refs)]
        q = {"id": "x%03d" % k, "split": "train", "family": "partial", "ref": ref["id"],
             "file": os.path.join(rel, "queries", "x%03d.mp4" % k)}
        b.partial_copy(q, ref)
        queries.append(q)
    b.run_jobs("extra partial queries")
    for q in queries:
        q["duration"] = round(make_dataset.probe(os.path.join(ds, q["file"]))[0], 3)
        q["spans"] = [{"query_start": round(qs, 3), "query_end": round(min(qe, q["duration"]), 3),
                       "ref_start": round(rs, 3), "ref_end": round(re_, 3)}
                      for (qs, qe, rs, re_) in q["spans"]]
        q["ffmpeg"] = q["ffmpeg"].replace(ds + "/", "")
    man["references"] = refs
    man["queries"] = [q for q in man["queries"] if q["split"] == "train"] + queries
    man["generator"] = "bench/make_align_train.py (on %s)" % man["generator"]
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
    print("%d extra train partial copies -> %s/manifest.json" % (len(queries), out))


if __name__ == "__main__":
    main()
