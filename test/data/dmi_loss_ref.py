#!/usr/bin/python3
"""Reference values of the DMI loss terms, computed independently of libtorch with numpy (float64).

    /usr/bin/python3 test/data/dmi_loss_ref.py > test/data/dmi_loss_ref.json

Writes a tiny fixed problem (B = 3 pairs, M = 4 negatives, 5-d inputs, 8-d layers: the spec's 256
is a parameter of the C implementation) with its weights, and the expected value of every term, as
../shared/docs/dmi.md "Losses" defines them. test/unit/test_dmi_loss.c loads the file, sets the
same weights in lib/train/train_dmi.cpp and compares.
"""
import json
import sys

import numpy as np

B, M, DIN, OUT, SUBS = 3, 4, 5, 8, 6
T_NCE, T_SM = 0.07, 0.05


def l2n(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def ce_diag(logits):
    """Cross-entropy of each row against the class on the diagonal, averaged over rows."""
    lsm = log_softmax(logits)
    return -np.mean([lsm[i, i] for i in range(logits.shape[0])])


def nce(ua, up, un):
    fwd = np.concatenate([ua @ up.T, ua @ un.T], axis=1) / T_NCE
    bwd = np.concatenate([up @ ua.T, up @ un.T], axis=1) / T_NCE
    return ce_diag(fwd) + ce_diag(bwd)


def kl(p_logits, q_logits):
    """Batch mean of KL(sm(p) || sm(q)), sm = softmax(z / 0.05) over the features."""
    lp, lq = log_softmax(p_logits / T_SM), log_softmax(q_logits / T_SM)
    return float(np.mean(np.sum(np.exp(lp) * (lp - lq), axis=1)))


def encode(x, W, b):
    s = [x @ W[k].T + b[k] for k in range(SUBS)]
    a = x @ W[6].T + b[6]
    c = np.concatenate(s, axis=1)
    p = c @ W[7].T + b[7]
    return {"sh": [l2n(v) for v in s], "ah": l2n(a), "ch": l2n(c), "f": l2n(p + a), "p": p}


def d_and_m(e):
    d = sum(kl(e["sh"][l], e["sh"][k]) for k in range(SUBS) for l in range(k + 1, SUBS))
    m = sum(kl(e["ah"], e["sh"][k]) for k in range(SUBS)) - kl(e["ah"], e["p"])
    return d, m


def main():
    rng = np.random.default_rng(20231)
    xa = rng.normal(size=(B, DIN))
    xp = xa + 0.3 * rng.normal(size=(B, DIN))  # positives near their anchors
    xn = rng.normal(size=(M, DIN))
    W = [rng.normal(scale=0.6, size=(OUT, DIN)) for _ in range(7)]
    W.append(rng.normal(scale=0.3, size=(OUT, SUBS * OUT)))
    b = [rng.normal(scale=0.2, size=OUT) for _ in range(8)]
    # The C side works in float32: round the inputs to float32 so both start from the same numbers.
    f32 = lambda v: v.astype(np.float32).astype(np.float64)
    xa, xp, xn = f32(xa), f32(xp), f32(xn)
    W, b = [f32(w) for w in W], [f32(v) for v in b]

    ea, ep, en = encode(xa, W, b), encode(xp, W, b), encode(xn, W, b)
    pairs = encode(np.concatenate([xa, xp]), W, b)
    nce_sub = [nce(ea["sh"][k], ep["sh"][k], en["sh"][k]) for k in range(SUBS)]
    nce_aux = nce(ea["ah"], ep["ah"], en["ah"])
    nce_cat = nce(ea["ch"], ep["ch"], en["ch"])
    nce_f = nce(ea["f"], ep["f"], en["f"])
    d_pair, m_pair = d_and_m(pairs)
    d_neg, m_neg = d_and_m(en)
    nce_all = sum(nce_sub) + nce_aux + nce_cat + nce_f
    total = nce_all + 0.5 * ((0.7 * m_pair - 0.1 * d_pair) + (0.7 * m_neg - 0.1 * d_neg))
    flat = lambda v: [float(t) for t in np.asarray(v).ravel()]
    out = {
        "B": B, "M": M, "in_dim": DIN, "out_dim": OUT,
        "anchor": flat(xa), "positive": flat(xp), "negative": flat(xn),
        "weights": [flat(w) for w in W], "biases": [flat(v) for v in b],
        "nce_sub": [float(v) for v in nce_sub], "nce_aux": float(nce_aux),
        "nce_cat": float(nce_cat), "nce_f": float(nce_f), "nce": float(nce_all),
        "d_pair": d_pair, "m_pair": m_pair, "d_neg": d_neg, "m_neg": m_neg, "total": float(total),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
