#!/usr/bin/python3
"""Fit the PCA-whitening head of the default model (an unsupervised baseline, no labels used).

Reads frame features from embedding files made with the head-less backbone model
(`vinfringe embed --model models/mobilenet_v2.vimodel`), fits mean + PCA + whitening to OUT_DIM
dimensions, and writes a model file = the backbone's tensors + a DMI head whose auxiliary branch
holds the whitening (x -> W (x - mean)) and whose six sub-feature heads and fusion layer are zero.
That is exactly the DMI layout (docs/model.md), so a trained head later replaces it in place.

Usage: fit_whitening.py --backbone models/mobilenet_v2.vimodel --out models/default.vimodel
                        [--dim 256] [--shrink 0.1] FEATURES.vemb...
"""
import argparse
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import vifile  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backbone", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--shrink", type=float, default=0.1,
                    help="eigenvalue shrinkage, as a fraction of the mean kept eigenvalue: "
                         "damps the noisiest directions instead of blowing them up")
    ap.add_argument("--name", default="",
                    help="model name (default: the backbone's name + '-pcaw' + dim)")
    ap.add_argument("--input-size", type=int, default=0,
                    help="backbone input side to record in the model (0: keep the backbone's); "
                         "must be the size the features were computed at")
    ap.add_argument("features", nargs="+")
    a = ap.parse_args()

    backbone = vifile.read(a.backbone, "model")
    if any(k.startswith("dmi.") for k in backbone):
        sys.exit("fit_whitening: %s already has a head" % a.backbone)
    rows, model_ids = [], set()
    for path in a.features:
        e = vifile.read(path, "embedding")
        model_ids.add(e["model_id"])
        rows.append(e["frames"].numpy().astype(np.float64))
    if len(model_ids) != 1:
        sys.exit("fit_whitening: features come from several models: %s" % sorted(model_ids))
    x = np.concatenate(rows)
    n, d = x.shape
    if n < 2 * a.dim:
        sys.exit("fit_whitening: %d frames are too few for a %d-d whitening" % (n, a.dim))
    mean = x.mean(0)
    cov = np.cov(x - mean, rowvar=False)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][: a.dim]
    evals, evecs = evals[order], evecs[:, order]
    evals = evals + a.shrink * evals.mean()
    W = (evecs / np.sqrt(evals)).T  # dim x d
    b = -W @ mean
    print("fit_whitening: %d frames from %d files, %d -> %d dims, kept variance %.3f"
          % (n, len(a.features), d, a.dim, (evals - a.shrink * evals.mean()).sum() / np.trace(cov)))

    z = np.zeros
    out = dict((k, v) for k, v in backbone.items())
    base_name = backbone.get("name", "backbone")
    out["name"] = a.name or "%s-pcaw%d" % (base_name, a.dim)
    if a.input_size:
        out["input_size"] = a.input_size
    out["description"] = ("backbone %s at %dx%d%s, GeM features + PCA-whitening "
                          "head fitted without labels on %d frames of development videos (%d -> %d, "
                          "shrink %g)" % (base_name, out["input_size"], out["input_size"],
                                          ", averaged with the mirror image" if out.get("mirror_average") else "",
                                          n, d, a.dim, a.shrink))
    T = vifile.Tensor.from_numpy
    for k in range(6):
        out["dmi.sub%d.weight" % k] = T(z((a.dim, d), np.float32))
        out["dmi.sub%d.bias" % k] = T(z(a.dim, np.float32))
    out["dmi.aux.weight"] = T(W.astype(np.float32))
    out["dmi.aux.bias"] = T(b.astype(np.float32))
    out["dmi.fuse.weight"] = T(z((a.dim, 6 * a.dim), np.float32))
    out["dmi.fuse.bias"] = T(z(a.dim, np.float32))
    vifile.write(a.out, "model", out)


if __name__ == "__main__":
    main()
