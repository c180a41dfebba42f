#!/usr/bin/python3
"""Fit the PCA-whitening head of the default model (an unsupervised baseline, no labels used).

Reads frame features from embedding files made with the head-less backbone model
(`vinfringe embed --model models/mobilenet_v2.vimodel`), fits mean + PCA + whitening to OUT_DIM
dimensions, and writes a model file = the backbone's tensors + a DMI head whose auxiliary branch
holds the whitening (x -> W (x - mean)) and whose six sub-feature heads and fusion layer are zero.
That is exactly the DMI layout (docs/model.md), so a trained head later replaces it in place.

With --on-head M (a model whose DMI head was trained on this backbone, e.g. by
`vinfringe finetune --head dmi`), the whitening is fitted on M's head output instead (p + a, before
the L2 normalisation) and folded into M's head: the fusion and auxiliary layers are premultiplied
by W and the six sub-feature heads are kept, so the result is still a DMI head (docs/model.md)
whose embedding space is centred and whitened like the PCA head's, which the aligner's
constants assume (lib/compare/align.h, VI_ALIGN_ABS_*).

Usage: fit_whitening.py --backbone models/mobilenet_v2.vimodel --out models/default.vimodel
                        [--on-head M.vimodel] [--dim 256] [--shrink 0.1] FEATURES.vemb...
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
    ap.add_argument("--on-head", default="",
                    help="a model with a trained DMI head on this backbone: whiten its output")
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
    head = None
    if a.on_head:
        head = vifile.read(a.on_head, "model")
        f64 = lambda k: head[k].numpy().astype(np.float64)  # noqa: E731
        subs = [(f64("dmi.sub%d.weight" % k), f64("dmi.sub%d.bias" % k)) for k in range(6)]
        F, bf = f64("dmi.fuse.weight"), f64("dmi.fuse.bias")
        Wa, ba = f64("dmi.aux.weight"), f64("dmi.aux.bias")
        if Wa.shape[1] != x.shape[1]:
            sys.exit("fit_whitening: the head of %s takes %d-d features, these have %d"
                     % (a.on_head, Wa.shape[1], x.shape[1]))
        c = np.concatenate([x @ W_.T + b_ for W_, b_ in subs], 1)
        x = c @ F.T + bf + x @ Wa.T + ba   # p + a
        if a.dim > x.shape[1]:
            sys.exit("fit_whitening: --dim %d is more than the head's %d" % (a.dim, x.shape[1]))
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
    T = vifile.Tensor.from_numpy
    if head is not None:
        out["name"] = a.name or "%s-w%d" % (head.get("name", "head"), a.dim)
        if a.input_size:
            out["input_size"] = a.input_size
        out["description"] = ("%s; its head's output whitened (PCA fitted without labels on %d "
                              "frames of development videos, %d -> %d, shrink %g) and folded "
                              "into the fusion and auxiliary layers"
                              % (head.get("description", ""), n, d, a.dim, a.shrink))
        for k in range(6):
            out["dmi.sub%d.weight" % k] = head["dmi.sub%d.weight" % k]
            out["dmi.sub%d.bias" % k] = head["dmi.sub%d.bias" % k]
        # W (p + a - mean) = (W F) c + W b_f - W mean + (W W_a) x + W b_a
        out["dmi.fuse.weight"] = T((W @ F).astype(np.float32))
        out["dmi.fuse.bias"] = T((W @ bf + b).astype(np.float32))
        out["dmi.aux.weight"] = T((W @ Wa).astype(np.float32))
        out["dmi.aux.bias"] = T((W @ ba).astype(np.float32))
        vifile.write(a.out, "model", out)
        return
    base_name = backbone.get("name", "backbone")
    out["name"] = a.name or "%s-pcaw%d" % (base_name, a.dim)
    if a.input_size:
        out["input_size"] = a.input_size
    out["description"] = ("backbone %s at %dx%d%s, GeM features + PCA-whitening "
                          "head fitted without labels on %d frames of development videos (%d -> %d, "
                          "shrink %g)" % (base_name, out["input_size"], out["input_size"],
                                          ", averaged with the mirror image" if out.get("mirror_average") else "",
                                          n, d, a.dim, a.shrink))
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
