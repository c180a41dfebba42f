#!/usr/bin/python3
"""Embed every reference and query of a benchmark dataset with one model, into DIR/<id>.vemb
(what bench/eval_align.py and bench/ablation.py read), loading the model once per thread.

    embed_ds.py --model M.vimodel --out DIR [--ds bench/work/ds] [--split test|train|all]
                [--jobs 2] [--extra bench/work/align/extra]

Files already in DIR are kept (delete DIR to re-embed: the model is not checked).
"""
import argparse
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))
os.environ.setdefault("VINFRINGE_LIBRARY",
                      os.path.join(os.path.dirname(HERE), "build", "libvinfringe.so.0"))
import vinfringe  # noqa: E402


def items(ds, split, base=None):
    """(id, path) of the split's files; paths in a manifest are relative to `base` (its own
    directory unless given: bench/make_align_train.py's are relative to the main dataset)."""
    with open(os.path.join(ds, "manifest.json")) as f:
        man = json.load(f)
    base = base or ds
    out = []
    for x in man["references"] + man["queries"]:
        if split == "all" or x["split"] == split:
            out.append((x["id"], os.path.join(base, x["file"])))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--ds", default=os.path.join(HERE, "work", "ds"))
    ap.add_argument("--extra", action="append", default=[],
                    help="bench/make_align_train.py's output (its extra queries are added)")
    ap.add_argument("--split", default="all")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    todo = items(a.ds, a.split)
    for d in a.extra:
        todo += [x for x in items(d, a.split, a.ds) if x[0].startswith("x")]
    todo = [(i, p) for i, p in todo if not os.path.exists(os.path.join(a.out, i + ".vemb"))]
    lock = threading.Lock()
    failed = []
    t0 = time.time()

    def worker():
        model = vinfringe.Model(a.model)
        while True:
            with lock:
                if not todo:
                    break
                vid, path = todo.pop()
            try:
                model.embed(path, decode_threads=1).save(os.path.join(a.out, vid + ".vemb"))
            except vinfringe.VinfringeError as e:
                with lock:
                    failed.append((vid, str(e)))
        model.close()

    n = len(todo)
    vinfringe.set_threads(1)
    threads = [threading.Thread(target=worker) for _ in range(max(1, a.jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for vid, msg in failed:
        print("embed_ds: %s: %s" % (vid, msg), file=sys.stderr)
    print("embed_ds: %d files in %.1f s -> %s" % (n, time.time() - t0, a.out), file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
