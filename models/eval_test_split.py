#!/usr/bin/python3
"""Retrieval mAP of one model on the benchmark's test split, the fast way: one `index build` over
the test references and one `search` with every test query (as bench/run.py does for its model
variants), scored with bench/metrics.py.

    eval_test_split.py --vinfringe build/vinfringe --model M.vimodel [--ds bench/work/ds]
                       [--threads 1] [--json OUT.json]
Prints overall mAP, micro-AP, recall@1 and the per-family mAP.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bench"))
import metrics  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vinfringe", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--ds", default=os.path.join(os.path.dirname(HERE), "bench", "work", "ds"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--json")
    a = ap.parse_args()
    man = json.load(open(os.path.join(a.ds, "manifest.json")))
    refs = [r for r in man["references"] if r["split"] == a.split]
    queries = [q for q in man["queries"] if q["split"] == a.split]
    truth = {q["id"]: ({q["ref"]} if q["ref"] else set()) for q in queries}
    family = {q["id"]: q["family"] for q in queries}
    opts = ["--model", a.model, "--threads", a.threads]
    with tempfile.TemporaryDirectory() as wd:
        db = os.path.join(wd, "refs.vidx")
        t0 = time.time()
        subprocess.run([a.vinfringe, "index", "build", "-q"] + opts + ["-o", db] +
                       [os.path.join(a.ds, r["file"]) for r in refs], check=True)
        t_build = time.time() - t0
        out = subprocess.run([a.vinfringe, "search", "-q", "--json", "--top", str(len(refs))] +
                             opts + [db] + [os.path.join(a.ds, q["file"]) for q in queries],
                             check=True, stdout=subprocess.PIPE, text=True).stdout
    scores = {q["id"]: {} for q in queries}
    for line in out.splitlines():
        if line.strip():
            j = json.loads(line)
            qid = os.path.splitext(os.path.basename(j["query"]))[0]
            for hit in j["results"]:
                scores[qid][hit["id"]] = float(hit["score"])
    ret = metrics.retrieval(scores, truth, family)
    o = ret["overall"]
    ref_s = sum(r["duration"] for r in refs)
    print("model %s: mAP %.3f  micro-AP %.3f  R@1 %.3f  (index build %.1f video-s/s)" % (
        a.model, o["map"], o["micro_ap"], o["recall1"], ref_s / t_build))
    for fam, v in sorted(ret["per_family"].items()):
        print("  %-14s %s" % (fam, "-" if v["map"] is None else "%.3f" % v["map"]))
    if a.json:
        json.dump({"model": a.model, "retrieval": ret, "index_build_throughput": ref_s / t_build},
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
