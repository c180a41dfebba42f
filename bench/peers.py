"""The benchmark's peers: FFmpeg's MPEG-7 video signature filter and a perceptual-hash baseline.

Both return, for each query, {ref_id: (score, [span boxes])} where a span box is
(query_start, query_end, ref_start, ref_end) in seconds, plus timing figures.
"""
import json
import re
import subprocess
import time

import numpy as np

# ------------------------------------------------------------------------------------------------
# Perceptual hash (in the style of pHash / vPDQ): frames sampled at 1 fps, decoded by ffmpeg to
# 32x32 grey, 2-D DCT-II, the 8x8 lowest frequencies without the DC row and column, each bit set
# when its coefficient is above the median of the 64: a 64-bit hash per second of video.

PHASH_SIZE = 32
PHASH_RADIUS = 12      # Hamming distance (of 64 bits) under which two frames match


def _dct_matrix(n):
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * x + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2.0)
    return m


_DCT = _dct_matrix(PHASH_SIZE)


def phash_frames(path, fps=1.0):
    """(hashes as an (n, 64) bool array, decode+hash wall seconds)."""
    t0 = time.time()
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-threads", "1", "-i", path, "-vf",
           "fps=%g,scale=%d:%d:flags=area,format=gray" % (fps, PHASH_SIZE, PHASH_SIZE),
           "-f", "rawvideo", "-"]
    raw = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, PHASH_SIZE, PHASH_SIZE).astype(np.float64)
    coef = np.einsum("ij,njk,lk->nil", _DCT, frames, _DCT)[:, 1:9, 1:9].reshape(-1, 64)
    bits = coef > np.median(coef, axis=1, keepdims=True)
    return bits, time.time() - t0


def phash_match(qbits, rbits, q_dur, r_dur, fps=1.0, radius=PHASH_RADIUS):
    """Score = share of query frames within `radius` of some reference frame (plus a 1e-3 tie
    breaker from the mean nearest distance); span from the matched frames that agree with the
    median time offset."""
    if len(qbits) == 0 or len(rbits) == 0:
        return 0.0, []
    a = np.where(qbits, 1, -1).astype(np.int32)
    b = np.where(rbits, 1, -1).astype(np.int32)
    dist = (64 - a @ b.T) // 2                     # Hamming distances, (n_q, n_r)
    best = dist.argmin(axis=1)
    dmin = dist[np.arange(len(a)), best]
    matched = dmin <= radius
    score = float(matched.mean()) + 1e-3 * (1.0 - float(dmin.mean()) / 64.0)
    spans = []
    if matched.any():
        tq = np.nonzero(matched)[0] / fps
        tr = best[matched] / fps
        off = tr - tq
        centre = off[np.argmin(np.abs(off - np.median(off)))]
        keep = np.abs(off - centre) <= 2.0
        tq, tr = tq[keep], tr[keep]
        spans.append((float(tq.min()), float(min(q_dur, tq.max() + 1.0 / fps)),
                      float(tr.min()), float(min(r_dur, tr.max() + 1.0 / fps))))
    return score, spans


# ------------------------------------------------------------------------------------------------
# FFmpeg's signature filter (MPEG-7 video signature, ISO/IEC 15938-3) in detectmode=full: every
# pair of inputs of one filter graph is matched when the graph ends. It keeps every frame's
# signature of every input in memory, so queries and references go through it in chunks.

_SIG_MATCH = re.compile(r"matching of video (\d+) at ([0-9.]+) and (\d+) at ([0-9.]+), "
                        r"(\d+) frames matching")


def signature_chunk(paths, timeout=1800):
    """Run the filter on `paths`; returns ({(i, j): (frames, t_i, t_j)}, wall s, max RSS kB)."""
    cmd = ["/usr/bin/time", "-v", "ffmpeg", "-nostdin", "-hide_banner", "-nostats",
           "-threads", "2"]
    for p in paths:
        cmd += ["-i", p]
    labels = "".join("[%d:v]" % i for i in range(len(paths)))
    cmd += ["-filter_complex", "%ssignature=nb_inputs=%d:detectmode=full" % (labels, len(paths)),
            "-map", "0:v", "-f", "null", "-"]
    t0 = time.time()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    wall = time.time() - t0
    if r.returncode != 0:
        raise RuntimeError("signature filter failed: %s" % r.stderr[-1500:])
    found = {}
    for m in _SIG_MATCH.finditer(r.stderr):
        i, j = int(m.group(1)), int(m.group(3))
        n = int(m.group(5))
        if (i, j) not in found or found[(i, j)][0] < n:
            found[(i, j)] = (n, float(m.group(2)), float(m.group(4)))
    return found, wall, max_rss_kb(r.stderr)


def max_rss_kb(time_v_stderr):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_v_stderr)
    return int(m.group(1)) if m else None


def frame_rate(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "stream=avg_frame_rate,r_frame_rate", "-of", "json", path],
                         stdout=subprocess.PIPE, check=True, text=True).stdout
    st = json.loads(out)["streams"][0]
    for key in ("avg_frame_rate", "r_frame_rate"):
        num, den = st[key].split("/")
        if float(den) > 0 and float(num) > 0:
            return float(num) / float(den)
    return 25.0
