#!/usr/bin/python3
"""Run every system of the copy-detection benchmark on one dataset and write the report.

    run.py --ds bench/work/ds [--split test] [--vinfringe build/vinfringe] [--quick]
           [--systems signature,phash,vinfringe,...] [--out bench/results] [--update-docs]

Systems, all on the same files in the same run:
- signature: FFmpeg's MPEG-7 video signature filter, detectmode=full, in chunks of queries and
  references; score = matched frames; span from the offsets it reports.
- phash: bench/peers.py's perceptual hash (64-bit DCT hash per second, Hamming radius 12).
- vinfringe*: the `vinfringe` command: `index build` over the references, `search --top R --json`
  with every query (R = number of references, so that every reference is ranked), segments from
  the search results. Variants: the default model, the backbone alone (--model), and the speed
  options the command offers (--keyframes, --fps 0.5). Quick mode runs the default model only.

Speed and cost, measured in the same run: throughput in video-seconds per wall-second for
building the index from videos (so embedding, one process), and the same for
`ffmpeg -threads 2 -i X -f null -` over the same files; search time per query as the marginal time
of K pre-embedded queries over one; peak memory (/usr/bin/time -v); bytes per video-second of a
.vemb file and of the index.

Output: <out>/<date>[-quick].json, .md and .png (per-family mAP of every system, by gnuplot).
With --update-docs the table also goes into docs/benchmarks.md between its markers.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import metrics  # noqa: E402
import peers    # noqa: E402

DOC_BEGIN = "<!-- bench:begin (written by bench/run.py --update-docs) -->"
DOC_END = "<!-- bench:end -->"


def log(msg):
    print("run: " + msg, file=sys.stderr, flush=True)


def timed(cmd, timeout=None):
    """Run under /usr/bin/time -v. Returns (stdout, wall s, peak RSS kB); raises on failure."""
    t0 = time.time()
    r = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    wall = time.time() - t0
    if r.returncode != 0:
        err = [ln for ln in r.stderr.splitlines() if not ln.startswith("\t")]
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:3]), r.returncode,
                                                   " / ".join(err)[-800:]))
    return r.stdout, wall, peers.max_rss_kb(r.stderr)


def cpu_seconds():
    """User + system CPU time of this process and its children so far."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def machine():
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = "%.1f GB" % (int(f.readline().split()[1]) / 1048576)
    except OSError:
        pass
    ffv = subprocess.run(["ffmpeg", "-version"], stdout=subprocess.PIPE,
                         text=True).stdout.splitlines()[0]
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem, "os": platform.platform(),
            "python": platform.python_version(), "ffmpeg": ffv,
            "load_average_at_start": os.getloadavg()[0]}


class Bench:
    def __init__(self, args):
        self.args = args
        self.ds = os.path.abspath(args.ds)
        with open(os.path.join(self.ds, "manifest.json")) as f:
            self.man = json.load(f)
        sp = args.split
        self.refs = [r for r in self.man["references"] if r["split"] == sp]
        self.queries = [q for q in self.man["queries"] if q["split"] == sp]
        if not self.refs or not self.queries:
            sys.exit("run: no references or queries in split %r of %s" % (sp, self.ds))
        self.truth = {q["id"]: ({q["ref"]} if q["ref"] else set()) for q in self.queries}
        self.family = {q["id"]: q["family"] for q in self.queries}
        self.qdur = {q["id"]: q["duration"] for q in self.queries}
        self.rdur = {r["id"]: r["duration"] for r in self.refs}
        self.work = os.path.abspath(args.work)
        os.makedirs(self.work, exist_ok=True)
        self.results = {}

    def path(self, item):
        return os.path.join(self.ds, item["file"])

    # --- evaluation shared by every system --------------------------------------------------
    def at_threshold(self, verdicts, threshold):
        """Precision and recall of a system's own yes/no verdicts over every (query, reference)
        pair (a pair it did not return is a no); None when it gives no verdict."""
        if not verdicts:
            return None
        tp = sum(1 for (q, r), v in verdicts.items() if v and r in self.truth.get(q, ()))
        flagged = sum(1 for v in verdicts.values() if v)
        pos = sum(len(v) for v in self.truth.values())
        return {"threshold": threshold, "precision": tp / flagged if flagged else None,
                "recall": tp / pos if pos else None, "flagged": flagged, "copies": pos}

    def evaluate(self, name, scores, spans, speed, kind, extra=None):
        """scores {q: {r: score}}, spans {(q, r): [boxes]}."""
        ret = metrics.retrieval(scores, self.truth, self.family)
        pairs_all, pairs_partial = [], []
        for q in self.queries:
            if not q["ref"]:
                continue
            gt = [(s["query_start"], s["query_end"], s["ref_start"], s["ref_end"])
                  for s in q["spans"]]
            if spans is None:
                continue      # this system was not asked for spans
            pair = (spans.get((q["id"], q["ref"]), []), gt)
            pairs_all.append(pair)
            if q["family"] == "partial":
                pairs_partial.append(pair)
        neigh = {r["id"]: set(r.get("neighbours", [])) for r in self.refs}
        hard = {q["id"]: neigh[q["ref"]] for q in self.queries
                if q["ref"] and neigh.get(q["ref"])}
        ret["overall"]["top1_hard_negative"] = metrics.top1_share(scores, hard)
        per_query = {}
        for q in self.queries:
            ranked = sorted(scores.get(q["id"], {}).items(), key=lambda x: -x[1])
            rank = next((k + 1 for k, (r, _) in enumerate(ranked) if r == q["ref"]), None)
            per_query[q["id"]] = {"top1": ranked[0][0] if ranked else None,
                                  "top1_score": ranked[0][1] if ranked else None,
                                  "true_rank": rank,
                                  "true_score": scores.get(q["id"], {}).get(q["ref"])}
        res = {"kind": kind, "retrieval": ret, "per_query": per_query,
               "localisation": {"all": metrics.localisation(pairs_all),
                                "partial": metrics.localisation(pairs_partial)},
               "operating_points": metrics.operating_points(scores, self.truth),
               "speed": speed}
        if extra:
            res.update(extra)
        self.results[name] = res
        o = ret["overall"]
        log("%-28s mAP %.3f  uAP %.3f  R@1 %.3f  loc F1 %.3f (partial %.3f)" % (
            name, o["map"] or 0, o["micro_ap"] or 0, o["recall1"] or 0,
            res["localisation"]["all"]["f1"] or 0, res["localisation"]["partial"]["f1"] or 0))

    # --- baseline decode speed -------------------------------------------------------------
    def decode_baseline(self):
        wall = 0.0
        for r in self.refs:
            t0 = time.time()
            subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-threads", "2", "-i",
                            self.path(r), "-f", "null", "-"], check=True)
            wall += time.time() - t0
        secs = sum(self.rdur.values())
        self.decode = {"video_seconds": secs, "wall": wall, "throughput": secs / wall}
        log("ffmpeg decode: %.1f video-s in %.2f s = %.1f video-s/s"
            % (secs, wall, secs / wall))

    # --- peers ------------------------------------------------------------------------------
    def run_phash(self):
        t_extract, hashes = 0.0, {}
        for item in self.refs + self.queries:
            bits, w = peers.phash_frames(self.path(item))
            hashes[item["id"]] = bits
            t_extract += w
        t0 = time.time()
        scores, spans = {}, {}
        for q in self.queries:
            scores[q["id"]] = {}
            for r in self.refs:
                s, sp = peers.phash_match(hashes[q["id"]], hashes[r["id"]], self.qdur[q["id"]],
                                          self.rdur[r["id"]])
                scores[q["id"]][r["id"]] = s
                spans[(q["id"], r["id"])] = sp
        t_search = time.time() - t0
        secs = sum(self.rdur.values()) + sum(self.qdur.values())
        speed = {"throughput": secs / t_extract,
                 "decode_ratio": self.decode["throughput"] / (secs / t_extract),
                 "search_ms_per_query": 1000 * t_search / len(self.queries),
                 "peak_rss_mb": None, "bytes_per_video_second": 8.0,
                 "note": "hash extraction (ffmpeg decode to 32x32 grey at 1 fps + DCT); search "
                         "is brute force over all reference frames in numpy"}
        self.evaluate("phash", scores, spans, speed, "peer",
                      {"params": {"radius": peers.PHASH_RADIUS, "fps": 1}})

    def run_signature(self):
        half = max(1, self.args.sig_chunk // 2)
        def chunks(xs):
            n = -(-len(xs) // half)
            return [xs[i * len(xs) // n:(i + 1) * len(xs) // n] for i in range(n)]
        rchunks, qchunks = chunks(self.refs), chunks(self.queries)
        fps = {}
        for item in self.refs + self.queries:
            fps[item["id"]] = peers.frame_rate(self.path(item))
        scores = {q["id"]: {} for q in self.queries}
        spans = {}
        rss, secs = 0, 0.0
        jobs = [(rc, qc) for rc in rchunks for qc in qchunks]
        t0 = time.time()
        with ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            outs = list(ex.map(lambda j: peers.signature_chunk(
                [self.path(x) for x in j[0] + j[1]]), jobs))
        wall = time.time() - t0
        n = len(jobs)
        for (rc, qc), (found, _, m) in zip(jobs, outs):
            items = rc + qc
            rss = max(rss, m or 0)
            secs += sum(self.rdur[x["id"]] for x in rc) + sum(self.qdur[x["id"]] for x in qc)
            for (i, j), (frames, ti, tj) in found.items():
                a, b = items[i], items[j]
                if i < len(rc) <= j:
                    r, q, tr, tq = a, b, ti, tj
                elif j < len(rc) <= i:
                    r, q, tr, tq = b, a, tj, ti
                else:
                    continue      # reference-reference or query-query pair
                scores[q["id"]][r["id"]] = float(frames)
                spans[(q["id"], r["id"])] = [(
                    tq, min(self.qdur[q["id"]], tq + frames / fps[q["id"]]),
                    tr, min(self.rdur[r["id"]], tr + frames / fps[r["id"]]))]
        log("signature: %d chunks, %.1f s wall (%d at a time)" % (n, wall, self.args.jobs))
        speed = {"throughput": secs / wall,
                 "decode_ratio": self.decode["throughput"] / (secs / wall),
                 "search_ms_per_query": 1000 * wall / len(self.queries),
                 "peak_rss_mb": rss / 1024.0, "bytes_per_video_second": None,
                 "note": "one ffmpeg process per chunk of %d inputs does decode, signature and "
                         "matching of every pair, so throughput and search time both hold the "
                         "whole run; unmatched pairs are unranked" % self.args.sig_chunk}
        self.evaluate("signature", scores, spans, speed, "peer",
                      {"params": {"detectmode": "full", "chunk_inputs": self.args.sig_chunk}})

    # --- ours -------------------------------------------------------------------------------
    def variants(self):
        exe = self.args.vinfringe
        if not exe or not os.access(exe, os.X_OK):
            log("no vinfringe command at %r: skipping our system" % exe)
            return []
        help_text = subprocess.run([exe, "embed", "--help"], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True).stdout
        out = [("vinfringe", [])]
        if self.args.quick:
            return out
        backbone = os.path.join(os.path.dirname(HERE), "models", "mobilenet_v2.vimodel")
        if os.path.exists(backbone):
            out.append(("vinfringe backbone only", ["--model", backbone]))
        if "--keyframes" in help_text:
            out.append(("vinfringe --keyframes", ["--keyframes"]))
        if "--fps" in help_text:
            out.append(("vinfringe --fps 0.5", ["--fps", "0.5"]))
        return out

    def parse_search(self, name, out):
        scores = {q["id"]: {} for q in self.queries}
        self.verdicts = {}  # (query, reference) -> the command's "copy", when it gives one
        self.verdict_threshold = None
        for line in out.splitlines():
            if not line.strip():
                continue
            j = json.loads(line)
            qid = os.path.splitext(os.path.basename(j["query"]))[0]
            for hit in j["results"]:
                scores[qid][hit["id"]] = float(hit["score"])
                if hit.get("copy") is not None:
                    self.verdicts[(qid, hit["id"])] = bool(hit["copy"])
                    self.verdict_threshold = hit.get("threshold")
        missing = [q for q in scores if not scores[q]]
        if missing:
            raise RuntimeError("%s: no results for %d queries" % (name, len(missing)))
        return scores

    def run_ours(self, name, opts, detail):
        """detail: also embed every file on its own, time the search alone and localise with
        `compare`; otherwise (model variants) one `index build` and one `search` over videos."""
        exe = self.args.vinfringe
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        wd = os.path.join(self.work, slug)
        shutil.rmtree(wd, ignore_errors=True)
        os.makedirs(wd)
        top = ["--top", str(len(self.refs))]
        # 1. Throughput: one process embeds every reference video into an index.
        db_video = os.path.join(wd, "refs-from-videos.vidx")
        _, t_build, rss_build = timed([exe, "index", "build", "-q"] + opts + ["-o", db_video] +
                                      [self.path(r) for r in self.refs])
        ref_secs = sum(self.rdur.values())
        throughput = ref_secs / t_build
        if not detail:
            out, t_search, rss_search = timed([exe, "search", "-q", "--json"] + top + opts +
                                              [db_video] + [self.path(q) for q in self.queries])
            scores = self.parse_search(name, out)
            qsecs = sum(self.qdur.values())
            speed = {"throughput": throughput,
                     "decode_ratio": self.decode["throughput"] / throughput,
                     "search_ms_per_query": None,
                     "search_with_video_queries_throughput": qsecs / t_search,
                     "peak_rss_mb": max(rss_build or 0, rss_search or 0) / 1024,
                     "bytes_per_video_second": None,
                     "index_bytes_per_video_second": os.path.getsize(db_video) / ref_secs,
                     "note": "retrieval only: one `index build` and one `search` over the "
                             "query videos (%.1f video-s/s including the search)"
                             % (qsecs / t_search)}
            self.evaluate(name, scores, None, speed, "ours", {
                "options": opts,
                "at_threshold": self.at_threshold(self.verdicts, self.verdict_threshold)})
            return
        # 2. Every file to a .vemb, one process per file, --threads 1, args.jobs at a time.
        emb = {x["id"]: os.path.join(wd, x["id"] + ".vemb") for x in self.refs + self.queries}

        def embed(x):
            return timed([exe, "embed", "-q", "--threads", "1"] + opts +
                         ["-o", emb[x["id"]], self.path(x)])
        t0 = time.time()
        with ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            outs = list(ex.map(embed, self.refs + self.queries))
        t_embed = time.time() - t0
        rss_embed = max(m or 0 for _, _, m in outs)
        all_secs = ref_secs + sum(self.qdur.values())
        emb_bytes = sum(os.path.getsize(p) for p in emb.values())
        # 3. Index of the reference embeddings; every query against it, and one query alone.
        db = os.path.join(wd, "refs.vidx")
        _, _, rss_index = timed([exe, "index", "build", "-q", "-o", db] +
                                [emb[r["id"]] for r in self.refs])
        qembs = [emb[q["id"]] for q in self.queries]
        out, _, rss_search = timed([exe, "search", "-q", "--json"] + top + [db] + qembs)
        scores = self.parse_search(name, out)
        at_threshold = self.at_threshold(self.verdicts, self.verdict_threshold)
        # Search time alone: the queries repeated to about 1000 searches, against one search.
        reps = max(1, 1000 // len(qembs))
        _, t_all, _ = timed([exe, "search", "-q", "--json"] + top + [db] + qembs * reps)
        _, t_one, _ = timed([exe, "search", "-q", "--json"] + top + [db, qembs[0]])
        n = len(qembs) * reps
        per_query = (t_all - t_one) / (n - 1) if n > 1 else t_all
        # 4. Localisation: `compare --json` on every true pair.
        pairs = [q for q in self.queries if q["ref"]]

        def compare(q):
            o, _, _ = timed([exe, "compare", "--json", emb[q["id"]], emb[q["ref"]]])
            return json.loads(o.strip().splitlines()[-1])
        with ThreadPoolExecutor(max_workers=self.args.jobs) as ex:
            cmp = list(ex.map(compare, pairs))
        spans = {}
        for q, c in zip(pairs, cmp):
            spans[(q["id"], q["ref"])] = [(s["query_start"], s["query_end"], s["ref_start"],
                                           s["ref_end"]) for s in c.get("segments", [])]
        speed = {"throughput": throughput,
                 "decode_ratio": self.decode["throughput"] / throughput,
                 "search_ms_per_query": 1000 * max(per_query, 0.0),
                 "search_one_query_s": t_one,
                 "embed_per_file_throughput": all_secs / t_embed,
                 "peak_rss_mb": max(rss_build or 0, rss_embed, rss_index or 0,
                                    rss_search or 0) / 1024,
                 "bytes_per_video_second": emb_bytes / all_secs,
                 "index_bytes_per_video_second": os.path.getsize(db) / ref_secs,
                 "note": "throughput = reference video-seconds / wall time of one `index build` "
                         "over the videos; search time = marginal time per pre-embedded query "
                         "(%d searches against one); %.1f video-s/s when every file is embedded "
                         "by its own `embed` process (%d at a time, model load included)"
                         % (n, all_secs / t_embed, self.args.jobs)}
        self.evaluate(name, scores, spans, speed, "ours",
                      {"options": opts, "at_threshold": at_threshold})

    def reuse_peers(self, path):
        """Take the peers' results (signature, phash) from an earlier report on the same dataset
        and split: they do not depend on this library, so a run that only changes ours need not
        recompute them. Speed ratios stay per run (each against its own decode baseline)."""
        with open(path) as f:
            old = json.load(f)
        d = old["dataset"]
        if (d["seed"], d["quick"], d["split"], d["references"], d["queries"]) != (
                self.man["seed"], self.man["quick"], self.args.split, len(self.refs),
                len(self.queries)):
            raise SystemExit("--peers-from %s: made on another dataset or split" % path)
        for name, res in old["systems"].items():
            if res.get("kind") != "ours":
                self.results[name] = res
        self.peers_from = "%s (run of %s)" % (os.path.relpath(path), old["date"])

    def run(self):
        started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.time()
        info = machine()
        self.decode_baseline()
        systems = self.args.systems.split(",")
        if self.args.peers_from:
            self.reuse_peers(self.args.peers_from)
        if "signature" in systems:
            self.run_signature()
        if "phash" in systems:
            self.run_phash()
        if "vinfringe" in systems:
            for k, (name, opts) in enumerate(self.variants()):
                try:
                    self.run_ours(name, opts, detail=(k == 0))
                except Exception as e:  # noqa: BLE001 - report the failure, keep the peers
                    log("%s failed: %s" % (name, e))
                    self.results[name] = {"kind": "ours", "error": str(e)[:2000]}
        fams = [f for f in self.man["families"] if f in set(self.family.values())]
        report = {
            "date": started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:]),
            "machine": info, "wall_seconds": round(time.time() - t0, 1),
            "cpu_seconds": round(cpu_seconds(), 1),
            "dataset": {"manifest": os.path.relpath(os.path.join(self.ds, "manifest.json")),
                        "seed": self.man["seed"], "quick": self.man["quick"],
                        "split": self.args.split, "references": len(self.refs),
                        "queries": len(self.queries),
                        "reference_seconds": round(sum(self.rdur.values()), 1),
                        "query_seconds": round(sum(self.qdur.values()), 1),
                        "distractors": sum(1 for r in self.refs if not r.get("copied")),
                        "families": fams},
            "decode_baseline": self.decode,
            "systems": self.results,
        }
        if getattr(self, "peers_from", None):
            report["peers_from"] = self.peers_from
        return report


# ------------------------------------------------------------------------------------------------
# Report writing

def f3(x):
    return "-" if x is None else "%.3f" % x


def fnum(x, digits=1):
    if x is None:
        return "-"
    if 0 < abs(x) < 1 and digits < 3:
        return "%.2g" % x
    return "%.*f" % (digits, x)


def search_ms(x):
    """Below 0.1 ms the marginal time is within the noise of process start-up."""
    return "-" if x is None else ("<0.1" if x < 0.1 else fnum(x))


def markdown(rep, png_name):
    d = rep["dataset"]
    m = rep["machine"]
    lines = []
    lines.append("Run %s: `%s` (%.0f s wall, %s s CPU)." % (
        rep["date"], rep["command"], rep["wall_seconds"], fnum(rep.get("cpu_seconds"), 0)))
    if rep.get("peers_from"):
        lines.append("The peers' rows (signature, phash) are those of %s on the same dataset; "
                     "ours were run again." % rep["peers_from"])
    lines.append("")
    lines.append("Machine: %d CPUs (%s), %s RAM, %s; load average %.1f at start." % (
        m["nproc"], m["cpu"], m["memory"], m["ffmpeg"].split(" Copyright")[0],
        m["load_average_at_start"]))
    lines.append("")
    lines.append("Dataset: seed %d%s, split `%s`: %d references (%.0f s, %d never copied), "
                 "%d queries (%.0f s)." % (d["seed"], " (quick)" if d["quick"] else "", d["split"],
                                           d["references"], d["reference_seconds"],
                                           d["distractors"], d["queries"], d["query_seconds"]))
    lines.append("")
    lines.append("| system | mAP | TOP-100 mAP | micro-AP | R@1 | top-1 neighbour | loc. P | "
                 "loc. R | loc. F1 | F1 partial | video-s/s | x decode | search ms/query | "
                 "peak MB | B/video-s |")
    lines.append("|---|" + "---|" * 14)
    for name, s in rep["systems"].items():
        if "error" in s:
            lines.append("| %s | failed: %s |%s" % (name, s["error"].splitlines()[0][:80],
                                                     " |" * 13))
            continue
        o = s["retrieval"]["overall"]
        la, lp = s["localisation"]["all"], s["localisation"]["partial"]
        sp = s["speed"]
        lines.append("| %s |" % name + " %s |" * 14 % (
            f3(o["map"]), f3(o["map100"]), f3(o["micro_ap"]), f3(o["recall1"]),
            f3(o.get("top1_hard_negative")),
            f3(la["precision"]), f3(la["recall"]), f3(la["f1"]), f3(lp["f1"]),
            fnum(sp.get("throughput")), fnum(sp.get("decode_ratio")),
            search_ms(sp.get("search_ms_per_query")), fnum(sp.get("peak_rss_mb"), 0),
            fnum(sp.get("bytes_per_video_second"), 0)))
    lines.append("")
    lines.append("What users decide on: every (query, reference) pair pooled, one threshold for "
                 "all. R@P = recall at the lowest threshold reaching that precision; at the "
                 "recommended threshold = the system's own yes/no verdict (`\"copy\"` of "
                 "`search --json`; the peers recommend none).")
    lines.append("")
    lines.append("| system | mAP | micro-AP | R@P0.90 | R@P0.95 | R@P0.99 | recommended "
                 "threshold | precision there | recall there |")
    lines.append("|---|" + "---|" * 8)
    for name, s in rep["systems"].items():
        if "error" in s:
            continue
        o = s["retrieval"]["overall"]
        tg = s.get("operating_points", {}).get("targets", {})
        at = s.get("at_threshold") or {}
        lines.append("| %s |" % name + " %s |" * 8 % (
            f3(o["map"]), f3(o["micro_ap"]),
            *[f3((tg.get(t) or {}).get("recall", 0.0)) for t in ("0.9", "0.95", "0.99")],
            f3(at.get("threshold")), f3(at.get("precision")), f3(at.get("recall"))))
    lines.append("")
    lines.append("Top-1 neighbour: share of copies whose first result is a neighbouring "
                 "segment of the copied reference (a hard negative); lower is better.")
    lines.append("")
    lines.append("ffmpeg decode alone (`ffmpeg -threads 2 -i X -f null -`, same references): "
                 "%.1f video-s/s; \"x decode\" = how many times slower than that."
                 % rep["decode_baseline"]["throughput"])
    lines.append("")
    names = [n for n, s in rep["systems"].items() if "error" not in s]
    if not names:
        return "\n".join(lines) + "\n"
    lines.append("mAP per transformation family (queries per family in brackets):")
    lines.append("")
    lines.append("| family | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for fam in d["families"]:
        if fam == "none":
            continue
        nq = rep["systems"][names[0]]["retrieval"]["per_family"].get(fam, {}).get("queries", 0)
        row = [f3(rep["systems"][n]["retrieval"]["per_family"].get(fam, {}).get("map"))
               for n in names]
        lines.append("| %s (%d) | %s |" % (fam, nq, " | ".join(row)))
    lines.append("")
    lines.append("Operating points over all (query, reference) pairs pooled: the lowest score "
                 "threshold that reaches a precision, and the recall there.")
    lines.append("")
    lines.append("| system | P>=0.90: threshold / recall | P>=0.95 | P>=0.99 | best F1: "
                 "threshold / F1 |")
    lines.append("|---|---|---|---|---|")
    for n in names:
        op = rep["systems"][n]["operating_points"]
        cells = []
        for t in ("0.9", "0.95", "0.99"):
            x = op["targets"].get(t)
            cells.append("-" if not x else "%.4g / %.3f" % (x["threshold"], x["recall"]))
        b = op["best_f1"]
        cells.append("-" if not b else "%.4g / %.3f" % (b["threshold"], b["f1"]))
        lines.append("| %s | %s |" % (n, " | ".join(cells)))
    lines.append("")
    lines.append("![per-family mAP](%s)" % png_name)
    notes = [(n, s["speed"].get("note")) for n, s in rep["systems"].items()
             if "speed" in s and s["speed"].get("note")]
    if notes:
        lines.append("")
        for n, note in notes:
            lines.append("- %s: %s." % (n, note))
    return "\n".join(lines) + "\n"


def plot(rep, png_path, dat_path):
    names = [n for n, s in rep["systems"].items() if "error" not in s]
    if not names:
        return
    fams = [f for f in rep["dataset"]["families"] if f != "none"]
    with open(dat_path, "w") as f:
        f.write("family " + " ".join('"%s"' % n for n in names) + "\n")
        for fam in fams:
            vals = []
            for n in names:
                v = rep["systems"][n]["retrieval"]["per_family"].get(fam, {}).get("map")
                vals.append("%.4f" % v if v is not None else "0")
            f.write("%s %s\n" % (fam.replace("_", "-"), " ".join(vals)))
        o = [rep["systems"][n]["retrieval"]["overall"]["map"] or 0 for n in names]
        f.write("OVERALL %s\n" % " ".join("%.4f" % v for v in o))
    script = """
set terminal pngcairo size 1400,520 font 'DejaVu Sans,10'
set output '%s'
set title 'mAP per transformation family (%s, %d queries, %d references)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set boxwidth 0.9
set yrange [0:1.05]
set ylabel 'mAP'
set grid ytics
set key outside right top
set xtics rotate by -40 scale 0
plot for [i=2:%d] '%s' using i:xtic(1) title columnheader(i)
""" % (png_path, rep["date"][:10], rep["dataset"]["queries"], rep["dataset"]["references"],
       len(names) + 1, dat_path)
    r = subprocess.run(["gnuplot"], input=script, text=True, stderr=subprocess.PIPE)
    if r.returncode != 0:
        log("gnuplot failed: %s" % r.stderr[-500:])


def update_docs(md, docs_path, rel_png):
    with open(docs_path) as f:
        text = f.read()
    if DOC_BEGIN not in text or DOC_END not in text:
        log("%s has no bench markers; not updated" % docs_path)
        return
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    body = md.replace("](%s)" % os.path.basename(rel_png), "](%s)" % rel_png)
    with open(docs_path, "w") as f:
        f.write(head + DOC_BEGIN + "\n" + body + DOC_END + tail)
    log("updated %s" % docs_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ds", help="dataset directory (with manifest.json)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--vinfringe", default=os.path.join(os.path.dirname(HERE), "build",
                                                        "vinfringe"))
    ap.add_argument("--systems", default="signature,phash,vinfringe")
    ap.add_argument("--peers-from", metavar="JSON",
                    help="reuse the peers' results of an earlier report on the same dataset "
                         "(run with --systems vinfringe)")
    ap.add_argument("--quick", action="store_true", help="only the default model of ours")
    ap.add_argument("--sig-chunk", type=int, default=40,
                    help="inputs per signature filter graph (half references, half queries)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2,
                    help="signature filter graphs run at the same time")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--work", default=os.path.join(HERE, "work", "run"))
    ap.add_argument("--name", help="report name (default: date, plus -quick)")
    ap.add_argument("--update-docs", action="store_true")
    ap.add_argument("--report-only", metavar="JSON",
                    help="no run: write the Markdown, plot (and docs) again from a results file")
    args = ap.parse_args()
    if args.vinfringe:
        args.vinfringe = os.path.abspath(args.vinfringe)
    if args.report_only:
        with open(args.report_only) as f:
            rep = json.load(f)
    elif not args.ds:
        ap.error("--ds is required")
    else:
        rep = Bench(args).run()
    name = args.name or (rep["date"][:10] + ("-quick" if rep["dataset"]["quick"] else ""))
    os.makedirs(args.out, exist_ok=True)
    base = os.path.join(args.out, name)
    if not args.report_only:
        with open(base + ".json", "w") as f:
            json.dump(rep, f, indent=1, sort_keys=False)
    os.makedirs(args.work, exist_ok=True)
    plot(rep, base + ".png", os.path.join(args.work, name + ".dat"))
    md = markdown(rep, os.path.basename(base) + ".png")
    with open(base + ".md", "w") as f:
        f.write(md)
    log("wrote %s.{json,md,png}" % base)
    if args.update_docs:
        docs = os.path.join(os.path.dirname(HERE), "docs", "benchmarks.md")
        update_docs(md, docs, os.path.relpath(base + ".png", os.path.dirname(docs)))
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
