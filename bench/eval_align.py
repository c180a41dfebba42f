#!/usr/bin/python3
"""Fast evaluation loop of the comparison stage (lib/compare) on cached embeddings.

Builds bench/eval_align.c against the library's sources (with optional -D overrides of the
constants in lib/compare/align.h), compares every (query, reference) pair of one split of the
benchmark dataset, and prints what bench/run.py would report for vinfringe: localisation P/R/F1
(all true pairs, partial copies, per family) and retrieval mAP (every query ranked against every
reference by the calibrated score, as `vinfringe search` ranks them), plus the precision and recall
of the score threshold 0.5 over all pairs pooled. No video is decoded or embedded: the .vemb files
come from a directory (bench/run.py's work directory keeps one per file).

    /usr/bin/python3 bench/eval_align.py --split train --emb bench/work/align/emb \
        [--ds bench/work/align/extra] [--cflags=-DVI_ALIGN_Z_SEG=6.0f] [--dump [--family F]]
        [--hough] [--no-refine] [--fit-score] [--json out.json] [--brief]

Tune on the train split only (bench/make_align_train.py adds partial copies to it); the test
split is for the final report. The embedding directory needs one .vemb per reference and query
of the split (`vinfringe embed -o DIR/<id>.vemb <file>`; bench/run.py's work directory keeps
them for the test split). docs/alignment.md, section 7, describes the workflow.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import metrics  # noqa: E402


def build(cflags, outdir):
    srcs = ([os.path.join(HERE, "eval_align.c")] +
            [os.path.join(ROOT, "lib", d, f) for d in ("compare", "common", "formats")
             for f in sorted(os.listdir(os.path.join(ROOT, "lib", d))) if f.endswith(".c")] +
            [os.path.join(ROOT, "lib/api/api_embedding_io.c")])
    tag = hashlib.sha1(cflags.encode()).hexdigest()[:8]
    exe = os.path.join(outdir, "eval_align-" + tag)
    cmd = (["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-I" + os.path.join(ROOT, "include"),
            "-I" + os.path.join(ROOT, "lib")] + cflags.split() + ["-o", exe] + srcs +
           ["-lz", "-lm"])
    subprocess.run(cmd, check=True)
    return exe


def run_pairs(exe, emb, pairs):
    inp = "".join("%s %s 1\n" % p for p in pairs)
    out = subprocess.run([exe, emb], input=inp, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit("eval_align failed: " + out.stderr)
    res = {}
    for line in out.stdout.splitlines():
        d = json.loads(line)
        res[(d["q"], d["r"])] = d
    return res


def evaluate(man, split, res):
    refs = [r for r in man["references"] if r["split"] == split]
    queries = [q for q in man["queries"] if q["split"] == split]
    truth = {q["id"]: ({q["ref"]} if q["ref"] else set()) for q in queries}
    family = {q["id"]: q["family"] for q in queries}
    scores = {q["id"]: {r["id"]: res[(q["id"], r["id"])]["score"] for r in refs}
              for q in queries}
    ret = metrics.retrieval(scores, truth, family)
    # As `vinfringe search --json` prints them: 9 significant digits since 0.3 (ties rank
    # pessimistically).
    printed = {q: {r: float("%.9g" % v) for r, v in d.items()} for q, d in scores.items()}
    map6 = metrics.retrieval(printed, truth, family)["overall"]["map"]
    per_fam, allp, part = {}, [], []
    for q in queries:
        if not q["ref"]:
            continue
        gt = [(s["query_start"], s["query_end"], s["ref_start"], s["ref_end"]) for s in q["spans"]]
        pred = [tuple(s[:4]) for s in res[(q["id"], q["ref"])]["segs"]]
        allp.append((pred, gt))
        per_fam.setdefault(q["family"], []).append((pred, gt))
        if q["family"] == "partial":
            part.append((pred, gt))
    # threshold 0.5 over every pair pooled
    tp = fp = fn = 0
    for q in queries:
        for r in refs:
            s = scores[q["id"]][r["id"]]
            pos = r["id"] in truth[q["id"]]
            tp += pos and s >= 0.5
            fp += (not pos) and s >= 0.5
            fn += pos and s < 0.5
    return {"loc": metrics.localisation(allp), "partial": metrics.localisation(part),
            "families": {f: metrics.localisation(p)["f1"] for f, p in sorted(per_fam.items())},
            "map": ret["overall"]["map"], "map6": map6, "micro_ap": ret["overall"]["micro_ap"],
            "recall1": ret["overall"]["recall1"],
            "ops": metrics.operating_points(scores, truth, targets=(0.5, 0.9)),
            "t05": {"precision": tp / (tp + fp) if tp + fp else None,
                    "recall": tp / (tp + fn) if tp + fn else None, "tp": tp, "fp": fp,
                    "fn": fn}}


def fit_score(man, split, res, half_lens=(0.5, 1.0, 2.0, 3.0, 6.0),
              discounts=(0.0, 0.1, 0.2, 0.3)):
    """Logistic fit of is-copy against x = max(video cosine - discount, best segment evidence),
    the form of compare.c's calibrated score, over every (query, reference) pair of the split,
    for each VI_SCORE_HALF_LEN_S and VI_SCORE_VIDEO_DISCOUNT candidate, the slope bounded so
    that the score never saturates. The pairs' video cosines and segments must have been
    computed with the discount of the build (it does not change them).
    Returns [(log loss, half_len, discount, mid, slope)], best first."""
    import numpy as np
    qd = {q["id"]: q for q in man["queries"] if q["split"] == split}
    rows = []
    for (q, r), d in res.items():
        if q not in qd:
            continue
        segs = [s for s in d["segs"]]
        rows.append((1.0 if qd[q]["ref"] == r else 0.0, d["vcos"],
                     [(s[4], s[1] - s[0]) for s in segs]))
    y = np.array([r[0] for r in rows])
    out = []
    for h, disc in [(h, d) for h in half_lens for d in discounts]:
        x = np.array([max([vc - disc] + [sc * ln / (ln + h) for sc, ln in segs])
                      for _, vc, segs in rows])
        X = np.stack([np.ones_like(x), x], 1)
        w = np.zeros(2)
        for _ in range(100):  # Newton's method
            p = 1.0 / (1.0 + np.exp(-X @ w))
            hess = X.T @ (X * (p * (1 - p))[:, None]) + 1e-6 * np.eye(2)
            w -= np.linalg.solve(hess, X.T @ (p - y))
        mid, slope = -w[0] / w[1], w[1]
        # The score must not saturate: `vinfringe search/compare --json` print 6 significant
        # digits, so up to x = 1 a change of x by 0.001 must still move the score by 1e-6, i.e.
        # slope * s * (1 - s) >= 1e-3 at x = 1. If the free fit is steeper, the slope is the
        # largest that keeps this for each midpoint, and the midpoint is refitted.
        def max_slope(m):
            lo, hi = 0.1, 100.0
            for _ in range(60):
                k = 0.5 * (lo + hi)
                e = np.exp(-k * (1 - m))
                lo, hi = (k, hi) if k * e / (1 + e) ** 2 >= 1e-3 else (lo, k)
            return lo
        if slope > max_slope(mid):
            best = None
            for m in np.linspace(0.0, 0.6, 601):
                k = max_slope(m)
                p = 1.0 / (1.0 + np.exp(-k * (x - m)))
                ll = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
                if best is None or ll < best[0]:
                    best = (ll, m, k)
            _, mid, slope = best
        p = 1.0 / (1.0 + np.exp(-slope * (x - mid)))
        ll = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
        out.append((ll, h, disc, mid, slope))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ds", default=os.path.join(HERE, "work/ds"))
    ap.add_argument("--emb", default=os.path.join(HERE, "work/align/emb"))
    ap.add_argument("--split", default="train")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--dump", action="store_true", help="per true pair: found vs true spans")
    ap.add_argument("--family", default=None, help="--dump only this family")
    ap.add_argument("--json", default=None, help="write every pair's result here")
    ap.add_argument("--brief", action="store_true", help="one line")
    ap.add_argument("--hough", action="store_true", help="the Hough aligner instead of the TN")
    ap.add_argument("--no-refine", action="store_true", help="skip the refinement")
    ap.add_argument("--fit-score", action="store_true",
                    help="fit VI_SCORE_MID / _SLOPE / _HALF_LEN_S / _VIDEO_DISCOUNT on this "
                    "split (numpy)")
    a = ap.parse_args()
    with open(os.path.join(a.ds, "manifest.json")) as f:
        man = json.load(f)
    work = os.path.join(HERE, "work/align")
    os.makedirs(work, exist_ok=True)
    exe = build(a.cflags, work)
    refs = [r for r in man["references"] if r["split"] == a.split]
    queries = [q for q in man["queries"] if q["split"] == a.split]
    if a.hough:
        os.environ["VI_EVAL_HOUGH"] = "1"
    if a.no_refine:
        os.environ["VI_EVAL_NOREFINE"] = "1"
    res = run_pairs(exe, a.emb, [(q["id"], r["id"]) for q in queries for r in refs])
    ev = evaluate(man, a.split, res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"%s %s" % k: v for k, v in res.items()}, f)
    if a.dump:
        for q in queries:
            if not q["ref"] or (a.family and q["family"] != a.family):
                continue
            d = res[(q["id"], q["ref"])]
            gt = [(s["query_start"], s["query_end"], s["ref_start"], s["ref_end"])
                  for s in q["spans"]]
            pred = [tuple(s[:4]) for s in d["segs"]]
            p, r = metrics.pair_precision_recall(pred, gt)
            print("%s %-13s %s dur %.1f/%.1f vcos %.2f score %.2f P %.2f R %.2f\n   true %s\n"
                  "   found %s" % (q["id"], q["family"], q["ref"], q["duration"],
                                   next(x["duration"] for x in refs if x["id"] == q["ref"]),
                                   d["vcos"], d["score"], p, r,
                                   " ".join("[%.1f-%.1f | %.1f-%.1f]" % g for g in gt),
                                   " ".join("[%.1f-%.1f | %.1f-%.1f %.2f]" % tuple(s)
                                            for s in d["segs"])))
    if a.fit_score:
        for ll, h, disc, mid, slope in fit_score(man, a.split, res):
            print("score fit: HALF_LEN_S %.1f  VIDEO_DISCOUNT %.1f  MID %.4f  SLOPE %.2f  "
                  "log loss %.4f" % (h, disc, mid, slope, ll))
    L, P = ev["loc"], ev["partial"]
    if a.brief:
        print("%s %s: F1 %.3f partial %.3f mAP %.3f (printed %.3f) uAP %.3f t0.5 P %.3f R %.3f" % (
            a.split, (a.cflags or "(defaults)") + (" hough" if a.hough else "") +
            (" unrefined" if a.no_refine else ""), L["f1"], P["f1"], ev["map"], ev["map6"], ev["micro_ap"],
            ev["t05"]["precision"] or 0, ev["t05"]["recall"] or 0))
        return
    print("split %s, %d queries x %d references, cflags %r" % (a.split, len(queries), len(refs),
                                                              a.cflags))
    print("localisation: P %.3f R %.3f F1 %.3f (%d pairs); partial P %.3f R %.3f F1 %.3f (%d)" % (
        L["precision"], L["recall"], L["f1"], L["pairs"], P["precision"], P["recall"], P["f1"],
        P["pairs"]))
    print("retrieval: mAP %.3f (scores as printed: %.3f) micro-AP %.3f R@1 %.3f; threshold 0.5: "
          "P %.3f R %.3f (tp %d fp %d fn %d)" % (ev["map"], ev["map6"], ev["micro_ap"],
                                                ev["recall1"],
                                   ev["t05"]["precision"] or 0, ev["t05"]["recall"] or 0,
                                   ev["t05"]["tp"], ev["t05"]["fp"], ev["t05"]["fn"]))
    ops = ev["ops"]
    print("operating points: best F1 %s; %s" % (
        "%.3f at %.5g (P %.3f R %.3f)" % (ops["best_f1"]["f1"], ops["best_f1"]["threshold"],
                                          ops["best_f1"]["precision"], ops["best_f1"]["recall"])
        if ops["best_f1"] else "-",
        "; ".join("P >= %s from %s" % (t, "%.5g (R %.3f)" % (o["threshold"], o["recall"])
                                         if o else "never") for t, o in ops["targets"].items())))
    print("F1 per family: " + ", ".join("%s %.2f" % kv for kv in ev["families"].items()))


if __name__ == "__main__":
    main()
