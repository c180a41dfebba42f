#!/usr/bin/python3
"""Ablation of video-level heads on the benchmark, fast: frame features once, heads in numpy.

The backbone frame features of every reference and query of a split are extracted once with
`vinfringe embed` and a head-less model (its frame vectors are the backbone features themselves:
the backbone L2-normalises each frame feature, so the library's per-frame normalisation leaves
them unchanged) and cached under --work, keyed by the backbone file's CRC-32. Every head is
then applied in numpy exactly as lib/head/head.c does: the DMI head folds into one affine map
A x + b (A = W_aux + sum_k F_k W_k, b = b_aux + b_fuse + sum_k F_k b_k), applied to the mean of
the frame features and L2-normalised. Queries are ranked against every reference of the split by
the cosine of these video vectors, and bench/metrics.py gives mAP, micro-AP and mAP per
transformation family.

    ablation.py --backbone B.vimodel [--split test] [--check MODEL] NAME=MODEL|none ...

NAME=none ranks by the mean-pooled backbone features with no head. Every MODEL must have been
built on the same backbone (same input size and mirror averaging: checked). --check MODEL embeds
one reference with the library and that model and prints the largest difference between the
library's video vector and this script's.
"""
import argparse
import glob
import json
import re
import os
import subprocess
import sys
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "models"))
import metrics  # noqa: E402
import vifile  # noqa: E402


def crc_of(path):
    with open(path, "rb") as f:
        return "%08x" % zlib.crc32(f.read())


def fold_head(model):
    """(A, b) of a model's DMI head, or None when it has none (head.c's fold, in float64)."""
    if "dmi.aux.weight" not in model:
        return None
    f64 = lambda k: model[k].numpy().astype(np.float64)  # noqa: E731
    A = f64("dmi.aux.weight").copy()
    b = f64("dmi.aux.bias") + f64("dmi.fuse.bias")
    F = f64("dmi.fuse.weight")
    out = A.shape[0]
    for k in range(6):
        Fk = F[:, k * out:(k + 1) * out]
        A += Fk @ f64("dmi.sub%d.weight" % k)
        b += Fk @ f64("dmi.sub%d.bias" % k)
    return A, b


def l2n(x):
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


class Features:
    """Mean frame feature of every reference and query of a split, extracted once."""

    def __init__(self, args, split):
        self.args = args
        with open(os.path.join(args.ds, "manifest.json")) as f:
            self.man = json.load(f)
        self.refs = [r for r in self.man["references"] if r["split"] == split]
        self.queries = [q for q in self.man["queries"] if q["split"] == split]
        self.dir = os.path.join(args.work, "feat-" + crc_of(args.backbone))
        os.makedirs(self.dir, exist_ok=True)

    def path(self, item):
        return os.path.join(self.args.ds, item["file"])

    def extract(self):
        todo = [x for x in self.refs + self.queries
                if not os.path.exists(os.path.join(self.dir, x["id"] + ".vemb"))]
        for i, x in enumerate(todo):
            out = os.path.join(self.dir, x["id"] + ".vemb")
            cmd = [self.args.vinfringe, "embed", "-q", "--model", self.args.backbone, "-o", out,
                   self.path(x)]
            if self.args.threads:
                cmd[2:2] = ["--threads", str(self.args.threads)]
            r = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                sys.exit("ablation: embedding %s failed: %s" % (x["file"], r.stderr.strip()))
            print("ablation: features %d/%d %s" % (i + 1, len(todo), x["id"]), file=sys.stderr)
        self.mean = {}
        for x in self.refs + self.queries:
            e = vifile.read(os.path.join(self.dir, x["id"] + ".vemb"), "embedding")
            self.mean[x["id"]] = e["frames"].numpy().astype(np.float64).mean(0)

    def matrices(self):
        R = np.stack([self.mean[r["id"]] for r in self.refs])
        Q = np.stack([self.mean[q["id"]] for q in self.queries])
        return R, Q


def evaluate(feats, head):
    R, Q = feats.matrices()
    if head is not None:
        A, b = head
        R, Q = R @ A.T + b, Q @ A.T + b
    R, Q = l2n(R), l2n(Q)
    S = Q @ R.T
    scores = {q["id"]: {r["id"]: float(S[i, j]) for j, r in enumerate(feats.refs)}
              for i, q in enumerate(feats.queries)}
    truth = {q["id"]: ({q["ref"]} if q["ref"] else set()) for q in feats.queries}
    family = {q["id"]: q["family"] for q in feats.queries}
    return metrics.retrieval(scores, truth, family)


def check(feats, model_path, model):
    """Largest |library video vector - numpy video vector| on the first reference."""
    ref = feats.refs[0]
    out = os.path.join(feats.dir, "check.vemb")
    subprocess.run([feats.args.vinfringe, "embed", "-q", "--model", model_path, "-o", out,
                    feats.path(ref)], check=True)
    lib = vifile.read(out, "embedding")["video"].numpy().astype(np.float64)
    os.remove(out)
    A, b = fold_head(model)
    mine = l2n(feats.mean[ref["id"]] @ A.T + b)
    return float(np.abs(lib - mine).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backbone", required=True, help="head-less model the heads were built on")
    ap.add_argument("--ds", default=os.path.join(HERE, "work", "ds"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--work", default=os.path.join(HERE, "work", "ablation"))
    ap.add_argument("--vinfringe", default="build/vinfringe")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--check", help="model whose library video vector is compared")
    ap.add_argument("--select-split",
                    help="for each MODEL, also try its snapshots MODEL-eN.vimodel (vinfringe "
                         "train --save-every) and keep the best by mAP on this split (e.g. train: "
                         "early stopping on held-out data that is not the reported split)")
    ap.add_argument("--json", help="write every result here")
    ap.add_argument("--families", action="store_true", help="also print mAP per family")
    ap.add_argument("rows", nargs="*", help="NAME=MODEL.vimodel or NAME=none")
    a = ap.parse_args()

    bb = vifile.read(a.backbone, "model")
    if any(k.startswith("dmi.") for k in bb):
        sys.exit("ablation: %s has a head; give the head-less backbone" % a.backbone)
    feats = Features(a, a.split)
    feats.extract()
    sel = None
    if a.select_split:
        sel = Features(a, a.select_split)
        sel.extract()

    def load_head(path):
        m = vifile.read(path, "model")
        for key in ("input_size", "mirror_average"):
            if m.get(key, 0) != bb.get(key, 0):
                sys.exit("ablation: %s has %s %s, the backbone %s" % (path, key, m.get(key),
                                                                     bb.get(key)))
        return fold_head(m)

    results, chosen = {}, {}
    for row in a.rows:
        name, _, path = row.partition("=")
        if path == "none":
            head = None
        else:
            if sel is not None:
                stem, ext = os.path.splitext(path)
                cands = [path] + [p for p in glob.glob(glob.escape(stem) + "-e*" + ext)
                                  if re.fullmatch(r"-e\d+", p[len(stem):-len(ext)])]
                scored = sorted(((evaluate(sel, load_head(p))["overall"]["map"], p)
                                 for p in cands), key=lambda x: -x[0])
                path = scored[0][1]
                chosen[name] = (path, scored[0][0])
                print("select: %s: %s (mAP %.3f on %s; %d candidates)"
                      % (name, path, scored[0][0], a.select_split, len(cands)), file=sys.stderr)
            head = load_head(path)
        results[name] = evaluate(feats, head)
    if a.check:
        diff = check(feats, a.check, vifile.read(a.check, "model"))
        print("check: %s: library vs numpy video vector, max |diff| = %.2e" % (a.check, diff))
    if not results:
        return
    # families whose queries have a true reference ("none" queries only count in micro-AP)
    fams = sorted(f for f, v in next(iter(results.values()))["per_family"].items()
                  if v["map"] is not None)
    print("| head (%s split, %d queries, %d refs) | mAP | micro-AP | min family mAP |%s"
          % (a.split, len(feats.queries), len(feats.refs),
             " chosen on %s |" % a.select_split if sel else ""))
    print("|---|---|---|---|" + ("---|" if sel else ""))
    for name, r in results.items():
        o = r["overall"]
        worst = min(fams, key=lambda f: r["per_family"][f]["map"])
        extra = ""
        if sel:
            extra = (" %s (mAP %.3f) |" % (os.path.basename(chosen[name][0]), chosen[name][1])
                     if name in chosen else " - |")
        print("| %s | %.3f | %.3f | %.3f (%s) |%s" % (name, o["map"], o["micro_ap"],
                                                      r["per_family"][worst]["map"], worst, extra))
    if a.families:
        names = list(results)
        print("\n| family | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for f in fams:
            print("| %s | " % f + " | ".join("%.3f" % results[n]["per_family"][f]["map"]
                                              for n in names) + " |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
