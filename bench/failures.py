#!/usr/bin/env python3
"""List the copies a system did not rank first, from a bench/run.py results file.

    /usr/bin/python3 bench/failures.py bench/results/NAME.json [--system vinfringe]
        [--ds bench/work/ds] [--families crop,pip] [--markdown]

For each missed query: its family and edit, the rank and score of the true reference, the first
result and its score, and whether that first result is another segment of the same source video
(a neighbouring segment: the copy was placed in the right video but at the wrong moment) or an
unrelated video.
"""
import argparse
import json
import os


def missed(results, manifest, system, families):
    refs = {r["id"]: r for r in manifest["references"]}
    queries = {q["id"]: q for q in manifest["queries"]}
    rows = []
    for qid, pq in sorted(results["systems"][system]["per_query"].items()):
        q = queries[qid]
        if not q["ref"] or pq["true_rank"] == 1:
            continue
        if families and q["family"] not in families:
            continue
        top = pq.get("top1")
        same = top is not None and refs[top]["source"] == refs[q["ref"]]["source"]
        rows.append({"query": qid, "family": q["family"], "params": q["params"],
                     "true_rank": pq["true_rank"], "true_score": pq["true_score"],
                     "top1": top, "top1_score": pq.get("top1_score"),
                     "top1_same_source": same})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("results")
    ap.add_argument("--system", default="vinfringe")
    ap.add_argument("--ds", default="bench/work/ds")
    ap.add_argument("--families", default="", help="comma-separated; default: every family")
    ap.add_argument("--markdown", action="store_true", help="a Markdown table")
    a = ap.parse_args()
    with open(a.results) as f:
        results = json.load(f)
    with open(os.path.join(a.ds, "manifest.json")) as f:
        manifest = json.load(f)
    fams = {x for x in a.families.split(",") if x}
    rows = missed(results, manifest, a.system, fams)

    def fmt(x):
        return "-" if x is None else "%.3f" % x
    if a.markdown:
        print("| query | family | edit | true reference: rank / score | first result / score |")
        print("|---|---|---|---|---|")
    for r in rows:
        edit = json.dumps(r["params"], sort_keys=True)
        where = "same source video" if r["top1_same_source"] else "another video"
        if a.markdown:
            print("| %s | %s | `%s` | %d / %s | %s / %s (%s) |" % (
                r["query"], r["family"], edit, r["true_rank"], fmt(r["true_score"]),
                r["top1"], fmt(r["top1_score"]), where))
        else:
            print("%s %-13s rank %3d score %s  first %s %s (%s)  %s" % (
                r["query"], r["family"], r["true_rank"], fmt(r["true_score"]), r["top1"],
                fmt(r["top1_score"]), where, edit))
    same = sum(r["top1_same_source"] for r in rows)
    print("%d missed, %d of them with a segment of the same source video first" % (len(rows), same))


if __name__ == "__main__":
    main()
