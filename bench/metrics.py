"""Copy-detection metrics, implemented once for every system the benchmark runs.

Retrieval (one query against all references):
- ap(): average precision of one ranked list, the official SVD metric when taken over the full
  ranking (positives that were never ranked count as misses).
- ap_top(): DMI's "TOP-100 mAP" for one query: AP over the first k items, normalised by the number
  of positives found there (0 if none), which is more lenient than ap().
- micro_ap(): VSC22's micro-AP: every (query, reference, score) prediction of every query pooled
  into one ranking, against all true pairs.
- recall_at_1(): 1 if the first item is a positive.
- retrieval(): all of the above, overall (mean over queries that have a positive) and per family.

Ties: items with equal scores are ordered pessimistically, negatives before positives, so that a
system cannot gain from returning equal scores. Items with score None are not ranked at all.

Localisation (VCSL): for one true copy pair, predicted spans and true spans are boxes
(query_start, query_end, ref_start, ref_end). Their pairwise intersections are projected on each
time axis; with |.| the length of a union of intervals,
    precision = |I_q| / |P_q| * |I_r| / |P_r|      recall = |I_q| / |G_q| * |I_r| / |G_r|
No prediction gives 0 and 0. localisation() averages precision and recall over pairs and reports
F1 = 2PR / (P + R) of the averages.
"""


def _ranked(items):
    """items: iterable of (score, is_positive); drops None scores; best first, ties pessimistic."""
    return sorted(((s, bool(p)) for s, p in items if s is not None),
                  key=lambda x: (-x[0], x[1]))


def ap(items, n_pos):
    """Average precision of one ranking. items: (score, is_positive); n_pos: all positives of the
    query, including those the system did not rank. Returns None if n_pos is 0."""
    if n_pos <= 0:
        return None
    hits, total = 0, 0.0
    for k, (_, pos) in enumerate(_ranked(items), 1):
        if pos:
            hits += 1
            total += hits / k
    return total / n_pos


def ap_top(items, n_pos, k=100):
    """DMI's TOP-k AP: AP over the top k, divided by the positives found in the top k."""
    if n_pos <= 0:
        return None
    hits, total = 0, 0.0
    for rank, (_, pos) in enumerate(_ranked(items)[:k], 1):
        if pos:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def recall_at_1(items, n_pos):
    if n_pos <= 0:
        return None
    r = _ranked(items)
    return 1.0 if r and r[0][1] else 0.0


def top1_share(scores, targets):
    """Share of queries whose first result (ties pessimistic: among equal top scores, a
    non-target first) is in targets[query]. scores: {q: {r: score}}; targets: {q: set(refs)}.
    Used for hard negatives: targets = the true reference's neighbouring segments."""
    hits = 0
    for q, tset in targets.items():
        ranked = _ranked((s, r in tset) for r, s in scores.get(q, {}).items())
        hits += 1 if ranked and ranked[0][1] else 0
    return hits / len(targets) if targets else None


def micro_ap(items, n_pos):
    """VSC22 micro-AP: items pooled over all queries; n_pos: number of true pairs."""
    return ap(items, n_pos) if n_pos > 0 else None


def _mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def retrieval(scores, truth, family, top_k=100):
    """scores: {query: {ref: score}} (missing refs = not ranked); truth: {query: set(refs)};
    family: {query: family name}. Returns {"overall": {...}, "per_family": {fam: {...}}}."""
    per_query = {}
    pooled = []
    n_true = 0
    for q in truth:
        pos = truth[q]
        items = [(s, r in pos) for r, s in scores.get(q, {}).items()]
        pooled += items
        n_true += len(pos)
        per_query[q] = {"ap": ap(items, len(pos)), "ap100": ap_top(items, len(pos), top_k),
                        "r1": recall_at_1(items, len(pos))}

    def summary(qs):
        qs = list(qs)
        items = [(s, r in truth[q]) for q in qs for r, s in scores.get(q, {}).items()]
        npos = sum(len(truth[q]) for q in qs)
        return {"map": _mean(per_query[q]["ap"] for q in qs),
                "map100": _mean(per_query[q]["ap100"] for q in qs),
                "micro_ap": micro_ap(items, npos),
                "recall1": _mean(per_query[q]["r1"] for q in qs),
                "queries": len(qs), "positives": npos}

    out = {"overall": summary(truth), "per_family": {}}
    for fam in sorted(set(family[q] for q in truth)):
        out["per_family"][fam] = summary(q for q in truth if family[q] == fam)
    return out


def operating_points(scores, truth, targets=(0.9, 0.95, 0.99)):
    """Thresholds for users: over all (query, reference) pairs pooled, the lowest threshold whose
    precision is at least each target, with the recall there, and the threshold of best F1."""
    items = _ranked((s, r in truth[q]) for q in truth for r, s in scores.get(q, {}).items())
    n_pos = sum(len(v) for v in truth.values())
    out = {"targets": {}, "best_f1": None}
    if not items or n_pos == 0:
        return out
    tp = 0
    best = (-1.0, None, None, None)
    curve = []  # (threshold, precision, recall) at each distinct score, ties taken together
    for k, (s, pos) in enumerate(items, 1):
        tp += pos
        if k < len(items) and items[k][0] == s:
            continue
        p, r = tp / k, tp / n_pos
        curve.append((s, p, r))
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if f1 > best[0]:
            best = (f1, s, p, r)
    out["best_f1"] = {"f1": best[0], "threshold": best[1], "precision": best[2],
                      "recall": best[3]}
    for t in targets:
        ok = [(s, p, r) for s, p, r in curve if p >= t]
        if ok:
            s, p, r = min(ok, key=lambda x: x[0])
            out["targets"]["%g" % t] = {"threshold": s, "precision": p, "recall": r}
        else:
            out["targets"]["%g" % t] = None
    return out


def union_length(intervals):
    """Total length of a union of [start, end] intervals."""
    total, cur_s, cur_e = 0.0, None, None
    for s, e in sorted((s, e) for s, e in intervals if e > s):
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return total


def pair_precision_recall(pred, gt):
    """pred, gt: lists of (query_start, query_end, ref_start, ref_end). Returns (P, R)."""
    pred = [b for b in pred if b[1] > b[0] and b[3] > b[2]]
    if not pred and not gt:
        return 1.0, 1.0
    if not pred or not gt:
        return 0.0, 0.0
    inter = []
    for p in pred:
        for g in gt:
            qs, qe = max(p[0], g[0]), min(p[1], g[1])
            rs, re_ = max(p[2], g[2]), min(p[3], g[3])
            if qe > qs and re_ > rs:
                inter.append((qs, qe, rs, re_))
    iq = union_length((b[0], b[1]) for b in inter)
    ir = union_length((b[2], b[3]) for b in inter)
    pq = union_length((b[0], b[1]) for b in pred)
    pr = union_length((b[2], b[3]) for b in pred)
    gq = union_length((b[0], b[1]) for b in gt)
    gr = union_length((b[2], b[3]) for b in gt)
    precision = (iq / pq) * (ir / pr)
    recall = (iq / gq) * (ir / gr) if gq > 0 and gr > 0 else 0.0
    return precision, recall


def localisation(pairs):
    """pairs: list of (pred_boxes, gt_boxes) for true copy pairs. Returns mean P, mean R, F1."""
    if not pairs:
        return {"precision": None, "recall": None, "f1": None, "pairs": 0}
    prs = [pair_precision_recall(p, g) for p, g in pairs]
    p = sum(x[0] for x in prs) / len(prs)
    r = sum(x[1] for x in prs) / len(prs)
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"precision": p, "recall": r, "f1": f1, "pairs": len(prs)}
