#!/usr/bin/env python3
"""bench/cluster_bench.py - vinfringe.cluster on this machine (docs/benchmarks.md, "Dask").

    make bench-cluster            (= nice /usr/bin/python3 bench/cluster_bench.py --all)
    python3 bench/cluster_bench.py --embed --ds bench/work/ds --cli build/vinfringe
    python3 bench/cluster_bench.py --search --ds bench/work/ds
    python3 bench/cluster_bench.py --synthetic 1000000 10000000 --shards 1,2,4

--embed   embedding throughput: one `vinfringe index build` process (libtorch's default threads,
          and --threads 1) against cluster.embed
          on a LocalCluster of 1 and of 2 worker processes (one task thread and one libtorch
          thread each), on the dataset's reference videos, in the same run, ROUNDS times
          interleaved; wall-clock seconds.
--search  sharded search on real videos: the references in 1, 2 and 4 shards against one
          index, every copying query of the dataset; latency per query of one index searched
          in this process, of the shards searched one after the other in this process and
          merged ("direct"), and of Catalogue.search on a LocalCluster of 2 workers; whether
          each sharded answer equals the one index's.
--synthetic N...  the same latency comparison on synthetic catalogues of N indexed seconds
          (references of 600 one-per-second vectors: seeded normalised Gaussians; queries:
          30-second excerpts with noise, cosine ~0.7, as bench/index_scale.c), with each shard's
          files, build time and memory (resident growth of a process opening it).

The workers run this interpreter, so running the script with the Python of a venv that holds
the wheel (created with --system-site-packages for Debian's Dask) exercises the recipe of
docs/scaling.md. Prints Markdown tables; writes bench/results/cluster-<date>.json.
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from typing import Any, Dict, List, Optional, Sequence, Tuple

import vinfringe
from vinfringe import batch, cluster

HERE = os.path.dirname(os.path.abspath(__file__))
# The environment of the commands and child processes this script starts: taken before any
# LocalCluster, whose nannies set OMP_NUM_THREADS=1 and MALLOC_TRIM_THRESHOLD_ in this process.
CLEAN_ENV = dict(os.environ)


def log(msg: str) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"[{time.strftime('%H:%M:%S')}] {msg} (load average {load})", file=sys.stderr,
          flush=True)


# ----------------------------------------------------------------------------------------------
# Embedding throughput
# ----------------------------------------------------------------------------------------------

def bench_embed(ds: str, cli: str, work: str, rounds: int) -> Dict[str, Any]:
    files = sorted(glob.glob(os.path.join(ds, "refs", "*.mp4")))
    inputs = batch.collect(files)
    runs: Dict[str, List[float]] = {"index build": [], "index build --threads 1": [],
                                    "1 worker": [], "2 workers": []}
    seconds = 0.0
    for r in range(rounds):
        out = os.path.join(work, f"base{r}.vidx")
        t = time.perf_counter()
        subprocess.run([cli, "index", "build", "-q", "-o", out] + files, check=True,
                       env=CLEAN_ENV)
        runs["index build"].append(time.perf_counter() - t)
        log(f"round {r}: index build {runs['index build'][-1]:.1f} s")
        t = time.perf_counter()
        subprocess.run([cli, "index", "build", "-q", "--threads", "1", "-o", out + "1"] + files,
                       check=True, env=CLEAN_ENV)
        runs["index build --threads 1"].append(time.perf_counter() - t)
        log(f"round {r}: index build --threads 1 {runs['index build --threads 1'][-1]:.1f} s")
        with vinfringe.Index.open(out, read_only=True) as idx:
            seconds = float(idx.frame_count)
        for n in (1, 2):
            with cluster.Session(local=n) as s:
                s.wait_for_workers(n)
                dest = os.path.join(work, f"emb{r}-{n}")
                t = time.perf_counter()
                rep = cluster.embed(s, inputs, dest)
                runs[f"{n} worker" + ("s" if n > 1 else "")].append(time.perf_counter() - t)
                assert not rep.failed, rep.failed
            name = f"{n} worker" + ("s" if n > 1 else "")
            log(f"round {r}: {name} {runs[name][-1]:.1f} s")
    best = {k: min(v) for k, v in runs.items()}
    print(f"\n### Embedding {len(files)} reference videos ({seconds:.0f} s sampled at 1 fps)\n")
    print("| runner | wall s (each round) | best s | video s per wall s | vs index build |")
    print("|---|---|---|---|---|")
    for k, v in runs.items():
        print(f"| {k} | {', '.join(f'{x:.1f}' for x in v)} | {best[k]:.1f} | "
              f"{seconds / best[k]:.2f} | {best['index build'] / best[k]:.2f}x |")
    return {"files": len(files), "video_seconds": seconds, "runs": runs}


# ----------------------------------------------------------------------------------------------
# Search latency: one index, shards directly, shards through the cluster
# ----------------------------------------------------------------------------------------------

def build_shards(refs: Sequence[Tuple[str, bytes]], directory: str, n_shards: int,
                 model_id: str, kind: Optional[str] = None) -> List[str]:
    """The catalogue folder of cluster.Catalogue, built in this process (same files)."""
    os.makedirs(directory, exist_ok=True)
    files = [cluster.shard_file(n_shards, s) for s in range(n_shards)]
    with open(os.path.join(directory, cluster._client.MANIFEST), "w", encoding="utf-8") as f:
        json.dump({"format": "vinfringe-catalogue", "version": 1, "shards": n_shards,
                   "model_id": model_id, "files": files}, f)
    shards = [vinfringe.Index.open(os.path.join(directory, p), kind=kind) for p in files]
    for ref_id, data in refs:
        with vinfringe.Embedding.from_bytes(data) as e:
            shards[cluster.shard_of(ref_id, n_shards)].add(ref_id, e)
    for x in shards:
        x.close()
    return [os.path.join(directory, p) for p in files]


def search_direct(shards: Sequence[vinfringe.Index], q: vinfringe.Embedding,
                  k: int) -> List[Tuple[str, float]]:
    hits = []
    for x in shards:
        hits.extend((h.id, h.score) for h in x.search(q, k))
    hits.sort(key=lambda t: (-t[1], t[0]))
    return hits[:k]


def timed(fn: Any, q: Any) -> Tuple[float, Any]:
    t = time.perf_counter()
    answer = fn(q)
    return (time.perf_counter() - t) * 1000, answer


def ms(times: Sequence[float]) -> str:
    return f"{statistics.mean(times):.1f} / {statistics.median(times):.1f}"


def compare_layouts(refs: Sequence[Tuple[str, bytes]], queries: Sequence[bytes], work: str,
                    shard_counts: Sequence[int], k: int, model_id: str, kind: Optional[str],
                    title: str, truth: Optional[Sequence[str]] = None,
                    candidates: int = 0) -> Dict[str, Any]:
    """Latency of one index, of the shards searched one after the other in this process and
    merged ("direct"), and of Catalogue.search on a LocalCluster of 2 workers, on the same
    queries. The layouts are measured query by query in turn (interleaved), so that the load of
    a shared machine falls on all of them alike."""
    one_dir = os.path.join(work, "one")
    one_path = (build_shards(refs, one_dir, 1, model_id, kind) if not os.path.exists(one_dir)
                else [os.path.join(one_dir, cluster.shard_file(1, 0))])[0]
    dirs = {}
    for n in shard_counts:
        d = os.path.join(work, f"cat{n}")
        if not os.path.exists(d):
            build_shards(refs, d, n, model_id, kind)
        dirs[n] = d
    qs = [vinfringe.Embedding.from_bytes(d) for d in queries]
    one = vinfringe.Index.open(one_path, read_only=True, candidates=candidates)
    direct = {n: [vinfringe.Index.open(os.path.join(d, cluster.shard_file(n, i)),
                                       read_only=True, candidates=candidates)
                  for i in range(n)] for n, d in dirs.items()}
    kinds = {n: ",".join(sorted({x.kind.name.lower() for x in xs})) for n, xs in direct.items()}
    one_kind = one.kind.name.lower()
    t_one: List[float] = []
    a_one: List[Any] = []
    t_dir: Dict[int, List[float]] = {n: [] for n in dirs}
    t_cl: Dict[int, List[float]] = {n: [] for n in dirs}
    a_cl: Dict[int, List[Any]] = {n: [] for n in dirs}
    with cluster.Session(local=2) as s:
        s.wait_for_workers(2)
        cats = {n: cluster.Catalogue(s, d, candidates=candidates) for n, d in dirs.items()}
        try:
            for i, (q, data) in enumerate(zip([qs[0]] + qs, [queries[0]] + list(queries))):
                warm = i == 0  # the first query pages everything in; not counted
                t, a = timed(lambda x: [(h.id, h.score) for h in one.search(x, k)], q)
                if not warm:
                    t_one.append(t)
                    a_one.append(a)
                for n in dirs:
                    t, _ = timed(lambda x: search_direct(direct[n], x, k), q)
                    tc, ac = timed(lambda x: [(h["id"], h["score"]) for h in
                                              cats[n].search(x, k)], data)
                    if not warm:
                        t_dir[n].append(t)
                        t_cl[n].append(tc)
                        a_cl[n].append(ac)
        finally:
            for cat in cats.values():
                cat.close()
    one.close()
    for xs in direct.values():
        for x in xs:
            x.close()
    for q in qs:
        q.close()

    def hit1(answers: Sequence[Any]) -> Optional[int]:
        return sum(bool(a) and a[0][0] == t for a, t in zip(answers, truth)) if truth else None

    result: Dict[str, Any] = {"candidates": candidates or 20, "one_ms": t_one,
                              "one_hit1": hit1(a_one), "layouts": []}
    rows = [("one index", "-", one_kind, ms(t_one), "-", "-", "-", "-", hit1(a_one))]
    for n in dirs:
        same = sum(_same(a, b) for a, b in zip(a_cl[n], a_one))
        kept = sum(_kept(b, a) for a, b in zip(a_cl[n], a_one))
        over = [c - d for c, d in zip(t_cl[n], t_dir[n])]
        rows.append((f"{n} shard{'s' if n > 1 else ''}", n, kinds[n], ms(t_dir[n]), ms(t_cl[n]),
                     f"{statistics.median(over):.1f}", f"{same}/{len(queries)}",
                     f"{kept}/{len(queries)}", hit1(a_cl[n])))
        result["layouts"].append({"shards": n, "direct_ms": t_dir[n], "cluster_ms": t_cl[n],
                                  "same_as_one_index": same, "one_index_hits_kept": kept,
                                  "hit1": hit1(a_cl[n])})
    print(f"\n### {title}\n")
    print("| layout | shards | kind | one index or shards direct, ms mean / median | "
          "cluster ms mean / median | cluster minus direct, ms (median) | same list as one "
          "index | no hit of one index lost | hit@1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join("-" if v is None else str(v) for v in r) + " |")
    return result


def _same(a: Sequence[Tuple[str, float]], b: Sequence[Tuple[str, float]]) -> bool:
    """The same ids in the same order with the same scores (to 1e-5; ties in either order)."""
    def key(x: Sequence[Tuple[str, float]]) -> List[Tuple[float, str]]:
        return sorted((-round(sc, 5), i) for i, sc in x)
    return key(a) == key(b)


def _kept(one: Sequence[Tuple[str, float]], sharded: Sequence[Tuple[str, float]]) -> bool:
    """Every hit of the one index is in the sharded list with its score, or scores below the
    sharded list's last (pushed out by a reference the one index did not re-rank)."""
    got = {i: round(sc, 5) for i, sc in sharded}
    floor = min(got.values()) if got else float("inf")
    return all(got.get(i) == round(sc, 5) or (len(got) >= len(one) and round(sc, 5) <= floor)
               for i, sc in one)


def bench_search_real(ds: str, work: str) -> Dict[str, Any]:
    with open(os.path.join(ds, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    refs = [(r["id"], os.path.join(ds, r["file"])) for r in manifest["references"]]
    copies = [(q["id"], os.path.join(ds, q["file"]), q["ref"]) for q in manifest["queries"]
              if q.get("ref")]
    emb = os.path.join(work, "real-emb")
    with cluster.Session(local=2) as s:
        items = [batch.Input(i, p) for i, p in refs] + [batch.Input(i, p) for i, p, _ in copies]
        rep = cluster.embed(s, items, emb)
        assert not rep.failed, rep.failed[:3]
    def read(i: str) -> bytes:
        with open(cluster.output_path(emb, i), "rb") as f:
            return f.read()
    ref_bytes = [(i, read(i)) for i, _ in refs]
    with vinfringe.Embedding.from_bytes(ref_bytes[0][1]) as e:
        model_id = e.model_id
    out = {}
    for cand in (0, len(refs)):  # the default 20 re-ranked per index or shard, then all
        out[str(cand or 20)] = compare_layouts(
            ref_bytes, [read(i) for i, _, _ in copies], os.path.join(work, "real"), (1, 2, 4),
            10, model_id, None, f"Real videos: {len(refs)} references, {len(copies)} copying "
            f"queries, top 10, {cand or 20} candidates re-ranked per index or shard",
            [r for _, _, r in copies], candidates=cand)
    return out


# ----------------------------------------------------------------------------------------------
# Synthetic catalogues
# ----------------------------------------------------------------------------------------------

SYN_MODEL = "synthetic:00000000"
REF_S = 600
QUERY_S = 30


def vemb_bytes(frames: Any, duration: float) -> bytes:
    """An embedding file (docs/file-formats.md: the container, entries kind, model_id,
    duration, video, frames, pts_us) for synthetic vectors; zlib level 1 (random floats)."""
    import numpy as np  # noqa: PLC0415

    n, dim = frames.shape
    video = frames.mean(axis=0)
    video = (video / np.linalg.norm(video)).astype("<f4")
    pts = (np.arange(n, dtype="<i8") * 1_000_000)

    def key(k: str) -> bytes:
        return struct.pack("<H", len(k)) + k.encode()

    def text(k: str, v: str) -> bytes:
        return key(k) + b"\x01" + struct.pack("<I", len(v)) + v.encode()

    def tensor(k: str, dtype: int, dims: Sequence[int], data: bytes) -> bytes:
        return (key(k) + b"\x04" + bytes([dtype, len(dims)]) +
                struct.pack(f"<{len(dims)}q", *dims) + struct.pack("<Q", len(data)) + data)

    payload = b"".join([
        struct.pack("<I", 6), text("kind", "vinfringe-embedding"), text("model_id", SYN_MODEL),
        key("duration") + b"\x03" + struct.pack("<d", duration),
        tensor("video", 1, [dim], video.tobytes()),
        tensor("frames", 1, [n, dim], frames.astype("<f4").tobytes()),
        tensor("pts_us", 3, [n], pts.tobytes())])
    comp = zlib.compress(payload, 1)
    head = b"VIEMBED\0" + struct.pack("<IIQQI", 1, 0, len(payload), len(comp),
                                      zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + comp


def synthetic(total: int, seed: int = 1):  # type: ignore[no-untyped-def]
    """(id, bytes) of every reference, and the query bytes with their source ids."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    n_refs = total // REF_S

    def ref(i: int) -> Any:
        g = np.random.default_rng([seed, i]).standard_normal((REF_S, 256), dtype=np.float32)
        return g / np.linalg.norm(g, axis=1, keepdims=True)

    def refs(n_shards: int = 1, shard: int = 0):  # type: ignore[no-untyped-def]
        for i in range(n_refs):
            ref_id = f"syn{i:07d}"
            if cluster.shard_of(ref_id, n_shards) == shard:
                yield ref_id, vemb_bytes(ref(i), float(REF_S))

    queries, truth = [], []
    for _ in range(20):
        src = int(rng.integers(n_refs))
        start = int(rng.integers(REF_S - QUERY_S))
        x = ref(src)[start:start + QUERY_S]
        noise = rng.standard_normal(x.shape).astype(np.float32)
        noise /= np.linalg.norm(noise, axis=1, keepdims=True)
        y = x + 1.02 * noise  # cosine ~0.7 to the original frame
        y /= np.linalg.norm(y, axis=1, keepdims=True)
        queries.append(vemb_bytes(y, float(QUERY_S)))
        truth.append(f"syn{src:07d}")
    return refs, queries, truth


def build_synthetic(total: int, n_shards: int, directory: str) -> List[Dict[str, Any]]:
    """Build the S shards in child processes (two at a time, each an exact index while adding,
    switched to IVF-PQ at the end when large enough, as `--kind ivfpq` on an existing index)."""
    os.makedirs(directory, exist_ok=True)
    files = [cluster.shard_file(n_shards, s) for s in range(n_shards)]
    with open(os.path.join(directory, cluster._client.MANIFEST), "w", encoding="utf-8") as f:
        json.dump({"format": "vinfringe-catalogue", "version": 1, "shards": n_shards,
                   "model_id": SYN_MODEL, "files": files}, f)
    procs: List[Tuple[int, subprocess.Popen]] = []
    stats = []
    for s in range(n_shards):
        while len(procs) >= 2:
            stats.append(_finish(procs.pop(0)))
        procs.append((s, subprocess.Popen(
            [sys.executable, __file__, "--build-shard", str(total), str(n_shards), str(s),
             os.path.join(directory, files[s])], stdout=subprocess.PIPE, text=True,
            env=CLEAN_ENV)))
    while procs:
        stats.append(_finish(procs.pop(0)))
    return sorted(stats, key=lambda r: r["shard"])


def _finish(item: Tuple[int, subprocess.Popen]) -> Dict[str, Any]:
    s, p = item
    out, _ = p.communicate()
    if p.returncode != 0:
        raise RuntimeError(f"building shard {s} failed")
    return json.loads(out.strip().splitlines()[-1])


def build_one_shard(total: int, n_shards: int, shard: int, path: str) -> None:
    refs, _, _ = synthetic(total)
    t = time.perf_counter()
    n = 0
    with vinfringe.Index.open(path, kind="exact") as x:
        for ref_id, data in refs(n_shards, shard):
            with vinfringe.Embedding.from_bytes(data) as e:
                x.add(ref_id, e)
            n += 1
        frames = x.frame_count
    t_add = time.perf_counter() - t
    t = time.perf_counter()
    if frames >= 100_000:  # the automatic choice's threshold
        with vinfringe.Index.open(path, kind="ivfpq") as x:
            x.flush()
    t_kind = time.perf_counter() - t
    print(json.dumps({"shard": shard, "references": n, "frames": frames, "add_s": t_add,
                      "kind_s": t_kind}))


def rss_parts_mb() -> Tuple[float, float]:
    """This process's resident memory: private (RssAnon) and file-backed (RssFile: the mapped
    vector file, shared page cache that the kernel can evict), MB."""
    parts = {}
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:")):
                parts[line.split(":")[0]] = int(line.split()[1]) / 1024.0
    return parts["RssAnon"], parts["RssFile"]


def probe_shard(path: str) -> None:
    """Open a shard read-only in a fresh process and search it once: its size on disk, open
    time and memory growth, private and file-backed."""
    anon0, file0 = rss_parts_mb()
    t = time.perf_counter()
    with vinfringe.Index.open(path, read_only=True) as x:
        t_open = time.perf_counter() - t
        anon1, file1 = rss_parts_mb()
        _, queries, _ = synthetic(REF_S * 2)
        with vinfringe.Embedding.from_bytes(queries[0]) as q:
            x.search(q, 10)
        anon2, file2 = rss_parts_mb()
        size = sum(os.path.getsize(f) for f in glob.glob(glob.escape(path) + "*")
                   if not f.endswith(".lock"))  # manifest, data file(s), FAISS cache
        print(json.dumps({"kind": x.kind.name.lower(), "references": len(x),
                          "frames": x.frame_count, "disk_mb": size / 1048576.0,
                          "open_s": t_open, "anon_open_mb": anon1 - anon0,
                          "file_open_mb": file1 - file0, "anon_searched_mb": anon2 - anon0,
                          "file_searched_mb": file2 - file0}))


def probe(path: str) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--probe-shard", path], capture_output=True,
                         text=True, check=True, env=CLEAN_ENV)
    return json.loads(out.stdout)


def bench_synthetic(sizes: Sequence[int], shard_counts: Sequence[int], work: str
                    ) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for total in sizes:
        refs, queries, truth = synthetic(total)
        base = os.path.join(work, f"syn{total}")
        counts = list(shard_counts)
        layouts = {}
        for n in ([1] if 1 not in counts else []) + counts:
            d = os.path.join(base, "one" if n == 1 else f"cat{n}")
            built: Dict[int, Dict[str, Any]] = {}
            if not os.path.exists(os.path.join(d, cluster._client.MANIFEST)):
                log(f"synthetic {total}: building {n} shard(s)")
                t = time.perf_counter()
                built = {r["shard"]: r for r in build_synthetic(total, n, d)}
                log(f"synthetic {total}: {n} shard(s) built in {time.perf_counter() - t:.0f} s")
            layouts[n] = [dict(built.get(i, {}), shard=i, **probe(os.path.join(
                d, cluster.shard_file(n, i)))) for i in range(n)]
        print(f"\n### Synthetic {total} indexed seconds: the shards\n")
        print("| shards | shard | references | frames | kind | add s | kind switch s | "
              "disk MB | open s | private MB after open / a search | file-backed MB after "
              "open / a search |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")

        def sec(r: Dict[str, Any], key: str) -> str:
            return f"{r[key]:.0f}" if key in r else "-"

        for n, st in sorted(layouts.items()):
            for r in st:
                print(f"| {n} | {r['shard']} | {r['references']} | {r['frames']} | {r['kind']} | "
                      f"{sec(r, 'add_s')} | {sec(r, 'kind_s')} | {r['disk_mb']:.0f} | "
                      f"{r['open_s']:.2f} | {r['anon_open_mb']:.0f} / "
                      f"{r['anon_searched_mb']:.0f} | {r['file_open_mb']:.0f} / "
                      f"{r['file_searched_mb']:.0f} |")
        # Latency: the one index is the 1-shard build; the cluster serves the others.
        if not os.path.exists(os.path.join(base, "cat1")):
            os.symlink("one", os.path.join(base, "cat1"))  # the cluster serving the one index
        res = compare_layouts([], queries, base, counts, 10,
                              SYN_MODEL, None, f"Synthetic {total} indexed seconds, 20 planted "
                              "30-second copies, top 10", truth)
        out[str(total)] = {"shards": {str(k): v for k, v in layouts.items()}, **res}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all", action="store_true")
    ap.add_argument("--embed", action="store_true")
    ap.add_argument("--search", action="store_true")
    ap.add_argument("--synthetic", type=int, nargs="*")
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--ds", default=os.path.join(HERE, "work", "ds"))
    ap.add_argument("--cli", default=os.path.join(HERE, "..", "build", "vinfringe"))
    ap.add_argument("--work", default=os.path.join(HERE, "work", "cluster"))
    ap.add_argument("--build-shard", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--probe-shard", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.build_shard:
        total, n, s, path = args.build_shard
        build_one_shard(int(total), int(n), int(s), path)
        return 0
    if args.probe_shard:
        probe_shard(args.probe_shard)
        return 0
    os.makedirs(args.work, exist_ok=True)
    results: Dict[str, Any] = {"date": datetime.date.today().isoformat(),
                               "python": sys.executable, "library": vinfringe.library_path,
                               "cpus": os.cpu_count()}
    if args.all or args.embed:
        w = tempfile.mkdtemp(dir=args.work)
        try:
            results["embed"] = bench_embed(args.ds, args.cli, w, args.rounds)
        finally:
            shutil.rmtree(w, ignore_errors=True)
    # Every search below runs on one thread, as on the workers (a Dask nanny starts them with
    # OMP_NUM_THREADS=1): FAISS's OpenMP threads spin while waiting for each other, and on a
    # loaded machine that made a 1 ms search take 40 ms.
    vinfringe.set_threads(1)
    if args.all or args.search:
        results["search_real"] = bench_search_real(args.ds, os.path.join(args.work, "real0"))
    if args.all or args.synthetic:
        sizes = args.synthetic or [1_000_000]
        results["synthetic"] = bench_synthetic(sizes, [int(x) for x in args.shards.split(",")],
                                               args.work)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    path = os.path.join(HERE, "results", f"cluster-{results['date']}.json")
    if os.path.exists(path):  # a run of some parts keeps the other parts of the day's file
        with open(path, encoding="utf-8") as f:
            results = dict(json.load(f), **results)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
