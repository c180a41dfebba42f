"""vinfringe.cluster against a real Dask cluster: a dask-scheduler and dask-worker processes on
127.0.0.1 (issue 14). Run by `make check-cluster` with Debian's /usr/bin/python3 (which has
python3-distributed); skipped where Dask is not installed.

Every process the tests start is stopped at the end, also when a test or the set-up fails.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from typing import Any, Dict, List, Optional, Tuple

import vinfringe
from vinfringe import batch

import _support

try:
    import distributed  # noqa: F401
    from vinfringe import cluster
except ImportError:  # pragma: no cover - Dask is optional
    cluster = None  # type: ignore[assignment]

# References and queries: real clips made by test/data/make_fixtures.sh.
REFS = ["clip_a.mp4", "clip_b.mp4", "clip_vp8.webm", "clip_mpeg2.ts", "clip_rot90.mp4",
        "clip_sizechange.ts"]
QUERIES = ["clip_a_copy.mp4", "clip_hflip.mp4", "clip_offset.mp4"]
# What the killed-worker embedding job embeds (several ids per clip: enough tasks to be
# running when the worker dies).
JOB = ["clip_a.mp4", "clip_b.mp4", "clip_vp8.webm", "clip_mpeg2.ts", "clip_rot90.mp4",
       "clip_offset.mp4", "clip_hflip.mp4", "clip_a_copy.mp4", "clip_sizechange.ts",
       "clip_rot180.mp4", "clip_rot270.mp4", "clip_concat.ts"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli() -> str:
    path = os.environ.get("VI_CLI") or os.path.join(_support.srcdir(), "build", "vinfringe")
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"the vinfringe command {path} is not built (set VI_CLI)")
    return path


def segments_key(hits: List[Dict[str, Any]]) -> List[Tuple[str, str]]:
    """Hits as comparable (id, segments) tuples, without the score."""
    return [(i, s) for i, _, s in hits_key(hits)]


def hits_key(hits: List[Dict[str, Any]]) -> List[Tuple[str, float, str]]:
    """Hits as comparable tuples: id, score, segments (rounded to what float32 holds)."""
    return [(h["id"], round(h["score"], 6),
             json.dumps([{k: round(float(v), 5) for k, v in s.items()} for s in h["segments"]]))
            for h in hits]


@unittest.skipIf(cluster is None, "Dask's distributed package is not installed")
class ClusterTest(unittest.TestCase):
    procs: List[subprocess.Popen] = []
    tmp = ""
    address = ""
    env: Dict[str, str] = {}

    # -- processes -----------------------------------------------------------------------------

    @classmethod
    def _stop_all(cls) -> None:
        for p in cls.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 10
        for p in cls.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        cls.procs = []
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def _spawn(cls, args: List[str], log: str, env: Optional[Dict[str, str]] = None
               ) -> subprocess.Popen:
        with open(os.path.join(cls.tmp, log), "ab") as out:
            p = subprocess.Popen([sys.executable, "-m"] + args, stdout=out,
                                 stderr=subprocess.STDOUT, env=env or cls.env,
                                 start_new_session=True)
        cls.procs.append(p)
        return p

    @classmethod
    def start_worker(cls, name: str, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
        """A dask-worker without a nanny (SIGKILL kills it for good), one task thread."""
        return cls._spawn(["distributed.cli.dask_worker", cls.address, "--no-nanny",
                           "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard",
                           "--name", name, "--local-directory", os.path.join(cls.tmp, name)],
                          f"{name}.log", env)

    @classmethod
    def setUpClass(cls) -> None:
        cls.addClassCleanup(cls._stop_all)
        cls.tmp = tempfile.mkdtemp(prefix="vinfringe-cluster-")
        cls.env = dict(os.environ)
        cls.env["PYTHONPATH"] = os.path.dirname(os.path.dirname(os.path.abspath(
            vinfringe.__file__)))
        cls.env.setdefault("VINFRINGE_LIBRARY", os.path.realpath(vinfringe.library_path))
        sched_file = os.path.join(cls.tmp, "scheduler.json")
        cls._spawn(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                    str(free_port()), "--no-dashboard", "--scheduler-file", sched_file],
                   "scheduler.log")
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with open(sched_file, encoding="utf-8") as f:
                    cls.address = json.load(f)["address"]
                break
            except (OSError, ValueError, KeyError):
                time.sleep(0.2)
        if not cls.address:
            raise RuntimeError("dask-scheduler did not start: " + cls.log("scheduler.log"))
        cls.workers = [cls.start_worker("w1"), cls.start_worker("w2")]
        with cluster.Session(cls.address, timeout=30) as s:
            s.wait_for_workers(2, timeout=120)
        # Embeddings of the references and queries, made by the C command.
        cls.refs_dir = os.path.join(cls.tmp, "refs")
        cls.cli_emb = os.path.join(cls.tmp, "cli-emb")
        os.makedirs(cls.refs_dir)
        os.makedirs(cls.cli_emb)
        for name in REFS + QUERIES:
            src = _support.fixture(name)
            if name in REFS:
                os.symlink(src, os.path.join(cls.refs_dir, name))
            stem = os.path.splitext(name)[0]
            subprocess.run([cli(), "embed", "-q", "-o", os.path.join(cls.cli_emb, stem + ".vemb"),
                            src], check=True, timeout=300)

    @classmethod
    def log(cls, name: str) -> str:
        try:
            with open(os.path.join(cls.tmp, name), encoding="utf-8", errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def session(self) -> "cluster.Session":
        s = cluster.Session(self.address, timeout=30)
        self.addCleanup(s.close)
        return s

    def ensure_two_workers(self) -> None:
        with cluster.Session(self.address, timeout=30) as s:
            if len(s.workers()) < 2:
                self.start_worker(f"w{len(self.procs) + 1}")
                s.wait_for_workers(2, timeout=120)

    def pid_of(self, s: "cluster.Session") -> Dict[str, int]:
        return s.client.run(os.getpid)

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        for p in self.procs:
            if p.pid == pid:
                p.wait(timeout=30)

    def cli_bytes(self, stem: str) -> bytes:
        with open(os.path.join(self.cli_emb, stem + ".vemb"), "rb") as f:
            return f.read()

    # -- distributed embedding -----------------------------------------------------------------

    def test_1_embed_is_byte_identical_to_the_command_and_resumes(self) -> None:
        out = os.path.join(self.tmp, "emb1")
        broken = os.path.join(self.tmp, "broken.mp4")  # a video that fails on its worker
        shutil.copy(_support.fixture("truncated.mp4"), broken)
        inputs = batch.collect([self.refs_dir, broken])
        s = self.session()
        progress: List[Tuple[int, int]] = []
        report = cluster.embed(s, inputs, out, on_record=lambda r, d, t: progress.append((d, t)))
        self.assertEqual(sorted(r["id"] for r in report.embedded),
                         sorted(os.path.splitext(n)[0] for n in REFS))
        self.assertEqual([r["id"] for r in report.failed], ["broken"])
        self.assertIn("cannot decode", report.failed[0]["error"])
        self.assertIn(broken, report.failed[0]["error"])
        self.assertEqual(report.failed[0]["status"], "DECODE")
        self.assertEqual(progress[-1], (len(inputs), len(inputs)))
        for name in REFS:
            stem = os.path.splitext(name)[0]
            with open(os.path.join(out, stem + ".vemb"), "rb") as f:
                self.assertEqual(f.read(), self.cli_bytes(stem), f"{stem}.vemb differs from "
                                 "`vinfringe embed`")
        self.assertEqual(sorted(os.listdir(out)),
                         sorted(os.path.splitext(n)[0] + ".vemb" for n in REFS))
        # A rerun keeps every finished output (resumable) and tries the failed file again.
        before = {n: os.stat(os.path.join(out, n)).st_mtime_ns for n in os.listdir(out)}
        again = cluster.embed(s, inputs, out)
        self.assertEqual(len(again.skipped), len(REFS))
        self.assertEqual((len(again.embedded), len(again.failed)), (0, 1))
        self.assertEqual({n: os.stat(os.path.join(out, n)).st_mtime_ns for n in os.listdir(out)},
                         before)

    def test_9_a_worker_killed_mid_embedding(self) -> None:
        self.ensure_two_workers()
        src = os.path.join(self.tmp, "job")
        os.makedirs(src)
        for i, name in enumerate(JOB):
            os.symlink(_support.fixture(name), os.path.join(src, f"{i:02d}-{name}"))
        inputs = batch.collect([src])
        out = os.path.join(self.tmp, "emb9")
        s = self.session()
        pids = self.pid_of(s)
        victim_addr = sorted(pids)[1]
        first = threading.Event()
        result: Dict[str, Any] = {}

        def run() -> None:
            try:
                result["report"] = cluster.embed(s, inputs, out,
                                                 on_record=lambda r, d, t: first.set())
            except BaseException as exc:  # noqa: BLE001 - reported below
                result["error"] = exc

        job = threading.Thread(target=run)
        job.start()
        self.assertTrue(first.wait(300), "no file finished")
        self.kill(pids[victim_addr])  # SIGKILL while the others are queued or running
        job.join(600)
        self.assertFalse(job.is_alive(), "the job did not finish")
        self.assertNotIn("error", result, result.get("error"))
        report = result["report"]
        self.assertNotIn(victim_addr, s.workers())
        self.assertEqual(report.failed, [])
        ids = sorted(r["id"] for r in report.embedded + report.skipped)
        self.assertEqual(ids, sorted(i.id for i in inputs))  # each input reported once
        # Every output there once, complete, and the same bytes as the command makes.
        self.assertEqual(sorted(os.listdir(out)), sorted(i.id + ".vemb" for i in inputs))
        for item in inputs:
            stem = os.path.splitext(os.path.basename(os.readlink(item.path)))[0]
            with open(os.path.join(out, item.id + ".vemb"), "rb") as f:
                data = f.read()
            want = (self.cli_bytes(stem) if os.path.exists(os.path.join(self.cli_emb, stem +
                                                                        ".vemb")) else None)
            with vinfringe.Embedding.from_bytes(data) as e:  # complete and valid
                self.assertGreater(e.frame_count, 0)
            if want is not None:
                self.assertEqual(data, want, item.id)

    # -- sharded catalogue ---------------------------------------------------------------------

    def reference_embeddings(self) -> List[Tuple[str, bytes]]:
        return [(os.path.splitext(n)[0], self.cli_bytes(os.path.splitext(n)[0])) for n in REFS]

    def single_index_hits(self, query: bytes, k: int) -> List[Dict[str, Any]]:
        """The same references in one on-disk index, searched in this process."""
        path = os.path.join(self.tmp, "one", "one.vidx")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with vinfringe.Index.open(path) as idx:
                for ref_id, data in self.reference_embeddings():
                    with vinfringe.Embedding.from_bytes(data) as e:
                        idx.add(ref_id, e)
        with vinfringe.Index.open(path, read_only=True) as idx, \
                vinfringe.Embedding.from_bytes(query) as q:
            hits = idx.search(q, k)
        scores = [h.score for h in hits]
        self.assertEqual(scores, sorted(scores, reverse=True))
        recs = [cluster._records.hit_record(h) for h in hits]  # noqa: SLF001
        return sorted(recs, key=lambda r: (-r["score"], r["id"]))

    def make_catalogue(self, s: "cluster.Session", n_shards: int) -> str:
        path = os.path.join(self.tmp, f"cat{n_shards}")
        if not os.path.exists(path):
            with cluster.Catalogue(s, path, shards=n_shards, writable=True) as cat:
                res = cat.add(self.reference_embeddings())
                self.assertTrue(all("error" not in r for r in res), res)
        return path

    def test_2_sharded_search_equals_one_index(self) -> None:
        s = self.session()
        k = len(REFS)
        for n_shards in (1, 2, 3):
            path = self.make_catalogue(s, n_shards)
            with cluster.Catalogue(s, path) as cat:
                info = cat.info()
                self.assertEqual(sum(i["entries"] for i in info), len(REFS))
                for i in info:  # each reference on the shard of its id's hash
                    for ref_id in cat._call(i["shard"], "ids"):  # noqa: SLF001
                        self.assertEqual(cluster.shard_of(ref_id, n_shards), i["shard"])
                for q in QUERIES:
                    data = self.cli_bytes(os.path.splitext(q)[0])
                    got = cat.search(data, k)
                    want = self.single_index_hits(data, k)
                    if n_shards == 1:
                        self.assertEqual(hits_key(got), hits_key(want), f"{q}, 1 shard")
                        self.assertEqual(got[0]["id"], "clip_a")  # every query copies clip_a
                        self.assertEqual(hits_key(cat.search(data, 2)), hits_key(want[:2]))
                        continue
                    # Several shards: the same comparisons (ids, segments), but a calibrated
                    # score weighs the other references of the query's own shard only, not of
                    # the whole catalogue (docs/scaling.md, "Known limits"), so scores and order
                    # may differ from one index.
                    self.assertEqual(sorted(segments_key(got)), sorted(segments_key(want)),
                                     f"{q}, {n_shards} shards")

    def test_3_adds_route_to_shards_and_refuse_held_ids(self) -> None:
        s = self.session()
        path = os.path.join(self.tmp, "cat-add")
        emb = os.path.join(self.tmp, "emb-add")
        shutil.copytree(self.cli_emb, emb)
        inputs = [i for i in batch.collect([emb]) if i.id + ".mp4" in REFS or
                  i.id + ".webm" in REFS or i.id + ".ts" in REFS]
        with cluster.Catalogue(s, path, shards=2, writable=True) as cat:
            added, failed = cat.add_inputs(inputs[:3])
            self.assertEqual((len(added), failed), (3, []))
            with self.assertRaises(batch.DuplicateIdError) as ctx:
                cat.add_inputs(inputs[2:])  # inputs[2] is there already
            self.assertIn("already holds", ctx.exception.message)
            added, failed = cat.add_inputs(inputs[3:])
            self.assertEqual(len(added), len(inputs) - 3)
            self.assertEqual(sorted(cat.ids()), sorted(i.id for i in inputs))
        with open(os.path.join(path, "catalogue.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        with vinfringe.Embedding.from_bytes(self.cli_bytes("clip_a")) as e:
            self.assertEqual(manifest["model_id"], e.model_id)
        # Another model's embedding is refused with both model ids named.
        other = os.path.join(self.tmp, "other-model.vemb")
        subprocess.run([cli(), "embed", "-q", "--model", os.path.join(
            _support.srcdir(), "models", "mobilenet_v2.vimodel"), "-o", other,
            _support.fixture("clip_b.mp4")], check=True, timeout=300)
        with cluster.Catalogue(s, path, writable=True) as cat:
            added, failed = cat.add_inputs([batch.Input("other", other)])
            self.assertEqual(added, [])
            self.assertIn("mnv2-gem:", failed[0]["error"])
            self.assertIn(manifest["model_id"], failed[0]["error"])

    def test_4_command_line_json_matches_the_c_command(self) -> None:
        s = self.session()
        cat = self.make_catalogue(s, 1)  # one shard: the same scores as one index (test_2)
        one = os.path.join(self.tmp, "cli-one.vidx")
        refs = [os.path.join(self.cli_emb, os.path.splitext(n)[0] + ".vemb") for n in REFS]
        subprocess.run([cli(), "index", "build", "-q", "-o", one] + refs, check=True,
                       timeout=300)
        query = os.path.join(self.cli_emb, "clip_a_copy.vemb")
        c = subprocess.run([cli(), "search", "--json", "-q", "--top", "4", one, query],
                           capture_output=True, text=True, timeout=300, check=True)
        py = subprocess.run([sys.executable, "-m", "vinfringe.cluster", "search", "--json", "-q",
                             "--scheduler", self.address, "--catalogue", cat, "--top", "4",
                             query], capture_output=True, text=True, timeout=300,
                            env=self.env)
        self.assertEqual(py.returncode, 0, py.stderr)
        want, got = json.loads(c.stdout), json.loads(py.stdout)
        self.assertEqual(got["query"], want["query"])
        self.assertEqual(set(got), set(want))
        for w, g in zip(want["results"], got["results"]):
            self.assertEqual(set(g), set(w))  # id, score, segments, copy (the verdict)
            self.assertEqual(g["copy"], w["copy"])
            self.assertEqual(hits_key([g]), hits_key([{k: w[k] for k in
                                                      ("id", "score", "segments")}]))
        self.assertEqual(len(got["results"]), len(want["results"]))

    def test_4b_command_line_local_cluster_embeds_and_stops_its_processes(self) -> None:
        """--local 1: the command starts its own LocalCluster, prints one JSON object per file
        and a summary, exits 1 for the file that failed, and leaves no process behind."""
        out = os.path.join(self.tmp, "emb-local")
        broken = os.path.join(self.tmp, "broken-local.mp4")
        shutil.copy(_support.fixture("truncated.mp4"), broken)
        mark = f"vinfringe-cluster-test-{os.getpid()}-{time.time_ns()}"
        env = dict(self.env, VI_CLUSTER_TEST_MARK=mark)
        r = subprocess.run([sys.executable, "-m", "vinfringe.cluster", "embed", "--local", "1",
                            "--json", "-q", "-o", out, _support.fixture("clip_a.mp4"), broken],
                           capture_output=True, text=True, timeout=300, env=env)
        self.assertEqual(r.returncode, 1, r.stderr)
        recs = [json.loads(line) for line in r.stdout.splitlines()]
        by_id = {rec.get("id"): rec for rec in recs[:-1]}
        self.assertEqual(set(by_id), {"clip_a", "broken-local"})
        self.assertEqual(by_id["clip_a"]["output"], os.path.join(out, "clip_a.vemb"))
        self.assertEqual(by_id["clip_a"]["warnings"], [])
        self.assertEqual(by_id["broken-local"]["status"], "DECODE")
        self.assertEqual(recs[-1], {"output": out, "embedded": 1, "skipped": 0, "failed": 1})
        with open(os.path.join(out, "clip_a.vemb"), "rb") as f:
            self.assertEqual(f.read(), self.cli_bytes("clip_a"))
        left = []
        for pid in os.listdir("/proc"):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    if mark.encode() in f.read():
                        left.append(pid)
            except OSError:
                continue
        self.assertEqual(left, [], "processes of the command's LocalCluster are still running")

    def test_8_a_dead_workers_shard_is_reopened_and_the_search_retried(self) -> None:
        self.ensure_two_workers()
        s = self.session()
        path = self.make_catalogue(s, 2)
        data = self.cli_bytes("clip_a_copy")
        with cluster.Catalogue(s, path) as cat:
            before = cat.search(data, len(REFS))
            holders = {cat.worker_of(0), cat.worker_of(1)}
            self.assertEqual(len(holders), 2)  # one shard per worker
            victim = cat.worker_of(1)
            self.kill(self.pid_of(s)[victim])
            after = cat.search(data, len(REFS))
            self.assertEqual(hits_key(after), hits_key(before))
            self.assertNotEqual(cat.worker_of(1), victim)
            self.assertIn(cat.worker_of(1), s.workers())

    # -- bad cases -----------------------------------------------------------------------------

    def test_5_scheduler_unreachable(self) -> None:
        addr = f"tcp://127.0.0.1:{free_port()}"
        with self.assertRaises(cluster.ClusterError) as ctx:
            cluster.Session(addr, timeout=2)
        self.assertIn(f"cannot reach the Dask scheduler at {addr}", str(ctx.exception))
        r = subprocess.run([sys.executable, "-m", "vinfringe.cluster", "embed", "--scheduler",
                            addr, "--timeout", "2", "-o", os.path.join(self.tmp, "x"),
                            _support.fixture("clip_a.mp4")], capture_output=True, text=True,
                           timeout=120, env=self.env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot reach the Dask scheduler", r.stderr)

    def test_6_shard_missing_or_of_another_model(self) -> None:
        s = self.session()
        src = self.make_catalogue(s, 2)
        # A shard's manifest missing.
        gone = os.path.join(self.tmp, "cat-gone")
        shutil.copytree(src, gone)
        os.unlink(os.path.join(gone, cluster.shard_file(2, 1)))
        with self.assertRaises(cluster.ClusterError) as ctx:
            cluster.Catalogue(s, gone)
        self.assertIn("shard 1 of 2", str(ctx.exception))
        self.assertIn("is missing", str(ctx.exception))
        # A shard's vector file missing: the library's message, with the shard named.
        novec = os.path.join(self.tmp, "cat-novec")
        shutil.copytree(src, novec)
        for vec in glob.glob(glob.escape(os.path.join(novec, cluster.shard_file(2, 0))) +
                             "*.vec"):
            os.unlink(vec)  # the data file (NAME.vec, or NAME.<uid>.vec from format 3)
        with self.assertRaises(cluster.ClusterError) as ctx:
            cluster.Catalogue(s, novec)
        self.assertIn(f"shard 0 ({os.path.join(novec, cluster.shard_file(2, 0))})",
                      str(ctx.exception))
        # A shard built from another model's embeddings.
        mixed = os.path.join(self.tmp, "cat-mixed")
        shutil.copytree(src, mixed)
        other = os.path.join(self.tmp, "other.vemb")
        if not os.path.exists(other):
            subprocess.run([cli(), "embed", "-q", "--model", os.path.join(
                _support.srcdir(), "models", "mobilenet_v2.vimodel"), "-o", other,
                _support.fixture("clip_b.mp4")], check=True, timeout=300)
        shard1 = os.path.join(mixed, cluster.shard_file(2, 1))
        for f in glob.glob(glob.escape(shard1) + "*"):
            os.unlink(f)
        subprocess.run([cli(), "index", "build", "-q", "-o", shard1, other], check=True,
                       timeout=300)
        with cluster.Catalogue(s, mixed) as cat:
            with self.assertRaises(cluster.ClusterError) as ctx:
                cat.search(self.cli_bytes("clip_a_copy"), 3)
        self.assertIn(f"shard 1 ({shard1})", str(ctx.exception))
        self.assertIn("mnv2-gem:", str(ctx.exception))

    def test_7_worker_without_the_library(self) -> None:
        """Two bad workers join: one whose vinfringe cannot load libvinfringe, one without the
        package at all; the check names both and says what to install."""
        nolib = self.start_worker("nolib", dict(
            self.env, VINFRINGE_LIBRARY="/nonexistent/libvinfringe.so.0"))
        nopkg_env = dict(self.env)
        del nopkg_env["PYTHONPATH"]
        nopkg = self.start_worker("nopkg", nopkg_env)
        try:
            s = cluster.Session(self.address, timeout=30, check=False)
            self.addCleanup(s.close)
            deadline = time.time() + 120
            info = s.client.scheduler_info
            while time.time() < deadline and not {"nolib", "nopkg"} <= {
                    info()["workers"][w].get("name") for w in s.workers()}:
                time.sleep(0.2)
            with self.assertRaises(cluster.ClusterError) as ctx:
                s.check_workers()
            msg = str(ctx.exception)
            self.assertIn("2 of 4 workers cannot use vinfringe", msg)
            self.assertIn("/nonexistent/libvinfringe.so.0", msg)
            self.assertIn("No module named 'vinfringe'", msg)
            self.assertIn("Install the vinfringe wheel", msg)
        finally:
            for p in (nolib, nopkg):
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=30)
            with cluster.Session(self.address, timeout=30, check=False) as s:
                deadline = time.time() + 60  # gone from the scheduler before the next test
                while time.time() < deadline and {"nolib", "nopkg"} & {
                        s.client.scheduler_info()["workers"][w].get("name")
                        for w in s.workers()}:
                    time.sleep(0.2)

if __name__ == "__main__":
    unittest.main()
