#!/usr/bin/python3
"""Fold a model's DMI head into its auxiliary layer, for a smaller file with the same embeddings.

Every layer of the DMI head is linear, so lib/head/head.c folds it at load time into one affine
map A x + b (A = W_aux + sum_k F_k W_k, b = b_aux + b_fuse + sum_k F_k b_k). This writes that map
as the auxiliary head and zeros for the six sub-feature heads and the fusion layer (the layout of
the PCA-whitening default, docs/model.md): the library loads it to the same A and b, up to float
rounding, and zeros compress to almost nothing, so a trained head costs 2 MB instead of 12.

Usage: fold_head.py IN.vimodel OUT.vimodel
"""
import sys

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import vifile  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    m = vifile.read(sys.argv[1], "model")
    if "dmi.aux.weight" not in m:
        sys.exit("fold_head: %s has no head" % sys.argv[1])
    f64 = lambda k: m[k].numpy().astype(np.float64)  # noqa: E731
    A, b = f64("dmi.aux.weight").copy(), f64("dmi.aux.bias") + f64("dmi.fuse.bias")
    F = f64("dmi.fuse.weight")
    out, d = A.shape
    for k in range(6):
        Fk = F[:, k * out:(k + 1) * out]
        A += Fk @ f64("dmi.sub%d.weight" % k)
        b += Fk @ f64("dmi.sub%d.bias" % k)
    T = vifile.Tensor.from_numpy
    z = np.zeros
    for k in range(6):
        m["dmi.sub%d.weight" % k] = T(z((out, d), np.float32))
        m["dmi.sub%d.bias" % k] = T(z(out, np.float32))
    m["dmi.aux.weight"] = T(A.astype(np.float32))
    m["dmi.aux.bias"] = T(b.astype(np.float32))
    m["dmi.fuse.weight"] = T(z((out, 6 * out), np.float32))
    m["dmi.fuse.bias"] = T(z(out, np.float32))
    m["description"] = m.get("description", "") + " (head folded into one affine map)"
    vifile.write(sys.argv[2], "model", m)


if __name__ == "__main__":
    main()
