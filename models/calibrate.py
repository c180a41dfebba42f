#!/usr/bin/python3
"""Fit a model's calibration (docs/thresholds.md) with vi_calibrator, from embeddings on disk.

    calibrate.py --model BASE.vimodel -o OUT.vimodel
                 [--background DIR]...            .vemb files of footage that copies nothing
                 [--set MANIFEST_DIR:EMB_DIR:SPLIT]...   labelled references and queries
                 [--verdict-only] [--bank-size N] [--bank-k K] [--target-precision P]

A set is a dataset of bench/make_dataset.py (its manifest.json names the references and, for
each query, the reference it copies or null) whose files were embedded with BASE's model into
EMB_DIR/<id>.vemb (bench/embed_ds.py); SPLIT is train, test or all. Reference ids are prefixed
with the set's directory name, so several sets can be combined. models/make_calibration.sh
makes the default model's calibration with it.
"""
import argparse
import ctypes
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "bindings", "python"))
os.environ.setdefault("VINFRINGE_LIBRARY",
                      os.path.join(os.path.dirname(HERE), "build", "libvinfringe.so.0"))
from vinfringe import _capi  # noqa: E402

lib = _capi.lib


def check(status, what):
    if status != 0:
        sys.exit("calibrate: %s: %s" % (what, _capi.last_error()))


def load_embedding(path):
    e = ctypes.c_void_p()
    check(lib.vi_embedding_load(path.encode(), ctypes.byref(e)), path)
    return e


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--background", action="append", default=[])
    ap.add_argument("--set", action="append", required=True, dest="sets")
    ap.add_argument("--verdict-only", action="store_true")
    ap.add_argument("--bank-size", type=int, default=0)
    ap.add_argument("--bank-k", type=int, default=0)
    ap.add_argument("--target-precision", type=float, default=0.0)
    a = ap.parse_args()

    model = ctypes.c_void_p()
    check(lib.vi_model_load(a.model.encode(), ctypes.byref(model)), a.model)
    opts = _capi.vi_calibrate_options()
    check(lib.vi_calibrate_options_init(ctypes.byref(opts), ctypes.sizeof(opts)), "options")
    if a.bank_size:
        opts.bank_size = a.bank_size
    if a.bank_k:
        opts.bank_k = a.bank_k
    if a.target_precision:
        opts.target_precision = a.target_precision
    opts.verdict_only = 1 if a.verdict_only else 0
    cal = ctypes.c_void_p()
    check(lib.vi_calibrator_create(model, ctypes.byref(opts), ctypes.byref(cal)), "calibrator")

    for d in a.background:
        for name in sorted(os.listdir(d)):
            if name.endswith(".vemb"):
                e = load_embedding(os.path.join(d, name))
                check(lib.vi_calibrator_add_background(cal, e), name)
                lib.vi_embedding_free(e)
    for spec in a.sets:
        ds, emb, split = spec.split(":")
        with open(os.path.join(ds, "manifest.json")) as f:
            man = json.load(f)
        tag = os.path.basename(os.path.normpath(ds)) + "/"
        for r in man["references"]:
            if split in ("all", r["split"]):
                e = load_embedding(os.path.join(emb, r["id"] + ".vemb"))
                check(lib.vi_calibrator_add_reference(cal, (tag + r["id"]).encode(), e), r["id"])
                lib.vi_embedding_free(e)
        for q in man["queries"]:
            if split in ("all", q["split"]):
                e = load_embedding(os.path.join(emb, q["id"] + ".vemb"))
                copies = (tag + q["ref"]).encode() if q["ref"] else None
                check(lib.vi_calibrator_add_query(cal, e, copies), q["id"])
                lib.vi_embedding_free(e)

    rep = _capi.vi_calibration_report()
    rep.struct_size = ctypes.sizeof(rep)
    check(lib.vi_calibrator_fit(cal, ctypes.byref(rep)), "fit")
    print("calibrate: %d pairs (%d copies), %d background vectors: micro-AP %.3f, threshold "
          "%.4f (precision %.3f, recall %.3f)" % (rep.pairs, rep.copies, rep.bank_vectors,
                                                  rep.micro_ap, rep.threshold, rep.precision,
                                                  rep.recall), flush=True)
    check(lib.vi_calibrator_save(cal, a.output.encode()), a.output)
    lib.vi_calibrator_free(cal)
    lib.vi_model_free(model)


if __name__ == "__main__":
    main()
