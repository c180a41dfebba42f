"""The client side: a session on a Dask cluster, distributed embedding, the sharded catalogue."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union)

import vinfringe
from vinfringe import batch

from . import _probe
from ._worker import ModelPlugin, ShardError, ShardServer, embed_bytes, embed_file, plugin_name


class ClusterError(Exception):
    """A cluster-level failure with a message meant for the user (scheduler unreachable, a
    worker without the library, a shard missing or of another model, ...)."""


# ----------------------------------------------------------------------------------------------
# Session
# ----------------------------------------------------------------------------------------------

class Session:
    """A connection to a Dask cluster: an existing scheduler, or a LocalCluster of ``local``
    worker processes started (and stopped) by the session.

    Args:
        scheduler: the scheduler's address, e.g. ``"tcp://10.0.0.5:8786"``.
        local: start a ``LocalCluster`` of this many worker processes instead (one thread each).
        timeout: seconds to wait for the scheduler.
        check: run :meth:`check_workers` right away (every worker must load libvinfringe).
    """

    def __init__(self, scheduler: Optional[str] = None, local: Optional[int] = None, *,
                 timeout: float = 10.0, check: bool = True) -> None:
        from distributed import Client, LocalCluster  # noqa: PLC0415 - optional dependency

        if (scheduler is None) == (local is None):
            raise ValueError("give either a scheduler address or a number of local workers")
        self.cluster = None
        if local is not None:
            if local < 1:
                raise ValueError(f"--local {local}: at least one worker")
            environ = dict(os.environ)
            try:
                self.cluster = LocalCluster(n_workers=local, threads_per_worker=1,
                                            processes=True, host="127.0.0.1",
                                            dashboard_address=":0", silence_logs=logging.ERROR)
            finally:
                # The nannies (in this process) set their workers' variables here before
                # spawning them (OMP_NUM_THREADS=1, MALLOC_TRIM_THRESHOLD_, ...); keep them out
                # of what this process runs next.
                os.environ.clear()
                os.environ.update(environ)
            scheduler = self.cluster.scheduler_address
        try:
            self.client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            self._close_cluster()
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({exc}); "
                "start one with `dask-scheduler` and workers with `dask-worker ADDRESS`, or "
                "use --local N for workers on this machine") from None
        self.address = scheduler
        self._plugins: set = set()
        if check:
            self.check_workers()

    def _close_cluster(self) -> None:
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def close(self) -> None:
        """Unload the models this session loaded on the workers, disconnect, and stop the
        LocalCluster if the session started one."""
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            for name in sorted(getattr(self, "_plugins", ())):
                try:  # a plugin left registered would load on every worker joining later
                    client.unregister_worker_plugin(name)
                except Exception:  # noqa: BLE001 - best effort: workers may be gone
                    pass
            client.close()
        self._close_cluster()

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def dashboard_link(self) -> Optional[str]:
        """The Dask dashboard (task stream, progress), when the scheduler serves one."""
        try:
            return self.client.dashboard_link
        except Exception:  # noqa: BLE001 - no dashboard is not an error
            return None

    def workers(self) -> List[str]:
        """Addresses of the workers the scheduler knows now, sorted."""
        return sorted(self.client.scheduler_info()["workers"])

    def wait_for_workers(self, n: int = 1, timeout: float = 30.0) -> None:
        try:
            self.client.wait_for_workers(n, timeout=timeout)
        except (TimeoutError, OSError) as exc:
            raise ClusterError(f"the scheduler at {self.address} has {len(self.workers())} "
                               f"workers after {timeout:g} s, {n} needed ({exc})") from None

    def check_workers(self) -> Dict[str, Dict[str, Any]]:
        """Ask every worker whether it can use vinfringe; a worker that cannot is an error
        naming it and its reason (the package is missing, or it cannot load libvinfringe)."""
        import cloudpickle  # noqa: PLC0415 - comes with distributed

        self.wait_for_workers(1)
        cloudpickle.register_pickle_by_value(_probe)  # runs where vinfringe does not import
        try:
            answers = self.client.run(_probe.probe)
        finally:
            cloudpickle.unregister_pickle_by_value(_probe)
        bad = {w: a["error"] for w, a in answers.items() if not a.get("ok")}
        if bad:
            lines = "; ".join(f"worker {w}: {e}" for w, e in sorted(bad.items()))
            raise ClusterError(f"{len(bad)} of {len(answers)} workers cannot use vinfringe: "
                               f"{lines}. Install the vinfringe wheel (make wheel) in every "
                               "worker's Python environment")
        return answers

    def load_model(self, model_path: Optional[str], torch_threads: int = 1) -> str:
        """Load the model once on every worker (now and on workers that join later); the name
        of the plugin that holds it."""
        name = plugin_name(model_path)
        if name not in self._plugins:
            try:
                self.client.register_worker_plugin(ModelPlugin(model_path, torch_threads),
                                                   name=name)
            except Exception as exc:  # noqa: BLE001 - the worker's reason, re-raised readably
                raise ClusterError(str(exc)) from None
            self._plugins.add(name)
        return name

    def live(self, worker: str) -> bool:
        return worker in self.client.scheduler_info()["workers"]


# ----------------------------------------------------------------------------------------------
# Distributed embedding
# ----------------------------------------------------------------------------------------------

def output_path(out_dir: str, item_id: str) -> str:
    """Where the embedding of `item_id` goes: OUT_DIR/ID.vemb (an id's '/' make folders)."""
    parts = item_id.split("/")
    if item_id.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ClusterError(f"id '{item_id}' cannot name a file under {out_dir}")
    return os.path.join(out_dir, *parts) + ".vemb"


@dataclass
class EmbedReport:
    """Per-file outcome of :func:`embed`: embedded now, kept from an earlier run, failed."""

    embedded: List[Dict[str, Any]] = field(default_factory=list)
    skipped: List[Dict[str, Any]] = field(default_factory=list)
    failed: List[Dict[str, Any]] = field(default_factory=list)


RecordFn = Callable[[Dict[str, Any], int, int], None]


def _embed_options(fps: float, max_frames: int, keyframes_only: bool) -> Dict[str, Any]:
    return {"fps": float(fps), "max_frames": int(max_frames),
            "keyframes_only": bool(keyframes_only)}


def embed(session: Session, inputs: Sequence[batch.Input], out_dir: str, *,
          model: Optional[str] = None, fps: float = 0.0, max_frames: int = 0,
          keyframes_only: bool = False, torch_threads: int = 1,
          on_record: Optional[RecordFn] = None) -> EmbedReport:
    """Embed every input into OUT_DIR/ID.vemb on the cluster, one task per file.

    The model is loaded once per worker. Outputs are written under a temporary name and renamed,
    so an output is complete or absent; an output that already holds a valid embedding of the
    model is kept (a rerun resumes). A file that fails is reported and the rest go on. A worker
    that dies loses only its running tasks, which the scheduler runs again elsewhere.
    ``on_record(record, done, total)`` is called as each file finishes (progress).
    """
    from distributed import as_completed  # noqa: PLC0415

    targets = [(item, output_path(out_dir, item.id)) for item in inputs]
    seen: Dict[str, str] = {}
    for item, out in targets:  # two ids on one file name (case folding aside): refuse early
        if out in seen:
            raise batch.DuplicateIdError(item.id, seen[out], item.path)
        seen[out] = item.path
    name = session.load_model(model, torch_threads)
    options = _embed_options(fps, max_frames, keyframes_only)
    futures = []
    # One key per file and run: a key reused from an earlier run could be answered with that
    # run's result while the scheduler still holds it (a rerun must look at the files again).
    run = uuid.uuid4().hex[:12]
    for item, out in targets:
        key = (f"vinfringe-embed-{run}-" +
               hashlib.sha1(os.path.abspath(out).encode()).hexdigest()[:16])
        futures.append(session.client.submit(embed_file, name, item.id,
                                             os.path.abspath(item.path), os.path.abspath(out),
                                             options, key=key, pure=False))
    by_future = {f.key: (item, out) for f, (item, out) in zip(futures, targets)}
    report = EmbedReport()
    done = 0
    for fut in as_completed(futures):
        item, out = by_future[fut.key]
        try:
            rec = fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. a task whose workers kept dying
            rec = {"id": item.id, "input": item.path, "error": f"{type(exc).__name__}: {exc}",
                   "status": "CLUSTER"}
        done += 1
        (report.failed if "error" in rec else report.skipped if rec.get("skipped")
         else report.embedded).append(rec)
        if on_record is not None:
            on_record(rec, done, len(futures))
        fut.release()
    return report


# ----------------------------------------------------------------------------------------------
# Sharded catalogue
# ----------------------------------------------------------------------------------------------

def shard_of(item_id: str, n_shards: int) -> int:
    """The shard of a reference: a stable hash of its id (SHA-256, first 8 bytes, modulo)."""
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n_shards


MANIFEST = "catalogue.json"
_FORMAT = "vinfringe-catalogue"


def shard_file(n_shards: int, shard: int) -> str:
    return f"shard-{shard:03d}-of-{n_shards:03d}.vidx"


@dataclass
class _Handle:
    shard: int
    path: str
    worker: str
    future: Any
    actor: Any


class Catalogue:
    """A catalogue of references split into shards, each one on-disk index served by an actor.

    The catalogue is a folder: ``catalogue.json`` (shard count, model id) and, per shard,
    ``shard-NNN-of-SSS.vidx`` with its ``.vec`` (and ``.faiss``) files. References go to shard
    ``shard_of(id, S)``. Each shard is opened once, by one :class:`ShardServer` actor placed on
    the workers in turn; all workers must see the folder (shared storage) for a shard to be
    reopened elsewhere when its worker dies.

    Args:
        session: the cluster.
        directory: the catalogue's folder.
        shards: the shard count when creating a catalogue (``writable``); must match an
            existing one.
        writable: open the shards for adding (one writer per shard); else read-only, and a
            missing shard is an error.
        kind, candidates, frame_neighbors, effort: :meth:`vinfringe.Index.open`'s options.
    """

    def __init__(self, session: Session, directory: str, *, shards: Optional[int] = None,
                 writable: bool = False, kind: Union[int, str, None] = None,
                 candidates: int = 0, frame_neighbors: int = 0, effort: int = 0) -> None:
        self.session = session
        self.directory = os.path.abspath(directory)
        self.writable = writable
        self.manifest = self._read_or_create_manifest(shards)
        self.n_shards = int(self.manifest["shards"])
        self.options: Dict[str, Any] = {"candidates": candidates,
                                        "frame_neighbors": frame_neighbors, "effort": effort}
        if kind is not None:
            self.options["kind"] = kind
        self._handles: List[Optional[_Handle]] = [None] * self.n_shards
        session.wait_for_workers(1)
        workers = session.workers()
        for s in range(self.n_shards):
            self._handles[s] = self._open(s, workers[s % len(workers)])

    # -- manifest ------------------------------------------------------------------------------

    @property
    def model_id(self) -> Optional[str]:
        return self.manifest.get("model_id")

    def _manifest_path(self) -> str:
        return os.path.join(self.directory, MANIFEST)

    def _read_or_create_manifest(self, shards: Optional[int]) -> Dict[str, Any]:
        path = self._manifest_path()
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as f:
                    m = json.load(f)
                if m.get("format") != _FORMAT or int(m.get("shards", 0)) < 1:
                    raise ValueError("not a catalogue manifest")
            except (OSError, ValueError) as exc:
                raise ClusterError(f"{path}: cannot read the catalogue: {exc}") from None
            if shards is not None and shards != int(m["shards"]):
                raise ClusterError(f"{self.directory} has {m['shards']} shards, not {shards} "
                                   "(a catalogue keeps its shard count: a reference's shard "
                                   "is a hash of its id modulo the count)")
            return m
        if not self.writable:
            raise ClusterError(f"{self.directory}: no catalogue here ({MANIFEST} is missing)")
        if shards is None or shards < 1:
            raise ClusterError(f"{self.directory}: a new catalogue needs a shard count (>= 1)")
        m = {"format": _FORMAT, "version": 1, "shards": shards, "model_id": None,
             "files": [shard_file(shards, s) for s in range(shards)]}
        os.makedirs(self.directory, exist_ok=True)
        self._write_manifest(m)
        return m

    def _write_manifest(self, m: Dict[str, Any]) -> None:
        path = self._manifest_path()
        tmp = f"{path}.tmp.{os.getpid()}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(m, f, indent=1)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    # -- shard actors --------------------------------------------------------------------------

    def shard_path(self, shard: int) -> str:
        return os.path.join(self.directory, self.manifest["files"][shard])

    def _open(self, shard: int, worker: str) -> _Handle:
        path = self.shard_path(shard)
        if not self.writable and not os.path.exists(path):
            raise ClusterError(f"shard {shard} of {self.n_shards} ({path}) is missing")
        fut = self.session.client.submit(ShardServer, shard, path, self.writable, self.options,
                                         actor=True, workers=[worker],
                                         allow_other_workers=False, pure=False)
        try:
            actor = self._wait(fut, worker)
        except ShardError as exc:
            raise ClusterError(str(exc)) from None
        return _Handle(shard, path, worker, fut, actor)

    def _wait(self, fut: Any, worker: str, poll: float = 0.5) -> Any:
        """The result of `fut` (a Future or an actor call), or _WorkerLost when `worker` leaves
        the cluster first. The result is taken as soon as it is there; whether the worker is
        still alive is checked every `poll` seconds while waiting."""
        while True:
            try:
                return fut.result(timeout=poll)
            except (TimeoutError, asyncio.TimeoutError):
                if not self.session.live(worker):
                    raise _WorkerLost(worker) from None
            except OSError as exc:  # "Unable to contact Actor's worker"
                raise _WorkerLost(worker) from exc

    def _reopen(self, shard: int, lost: str) -> None:
        """Open the shard again on a live worker (its files are on shared storage)."""
        old = self._handles[shard]
        if old is not None:
            old.future.release()
        workers = [w for w in self.session.workers() if w != lost]
        if not workers:
            raise ClusterError(f"shard {shard}: its worker {lost} is gone and no other worker "
                               "is left")
        # The least loaded live worker: the one serving the fewest shards.
        load = {w: 0 for w in workers}
        for h in self._handles:
            if h is not None and h.worker in load:
                load[h.worker] += 1
        self._handles[shard] = self._open(shard, min(workers, key=lambda w: (load[w], w)))

    @staticmethod
    def _start(h: _Handle, method: str, *args: Any) -> Any:
        """Send a call to a shard's actor: its future, or _WorkerLost."""
        try:
            return getattr(h.actor, method)(*args)
        except (ValueError, OSError) as exc:  # "Worker holding Actor was lost"
            raise _WorkerLost(h.worker) from exc

    def _call(self, shard: int, method: str, *args: Any, attempts: int = 3) -> Any:
        """Call a method of a shard's actor; when its worker is lost, reopen the shard on
        another worker and call again."""
        last = ""
        for _ in range(attempts):
            h = self._handles[shard]
            assert h is not None
            try:
                return self._wait(self._start(h, method, *args), h.worker)
            except _WorkerLost as lost:
                last = lost.worker
                self._reopen(shard, lost.worker)
            except ShardError as exc:
                raise ClusterError(str(exc)) from None
        raise ClusterError(f"shard {shard}: lost its worker {attempts} times (last {last})")

    def worker_of(self, shard: int) -> str:
        """The worker serving `shard` now."""
        h = self._handles[shard]
        assert h is not None
        return h.worker

    def info(self) -> List[Dict[str, Any]]:
        return [self._call(s, "info") for s in range(self.n_shards)]

    def ids(self) -> List[str]:
        out: List[str] = []
        for s in range(self.n_shards):
            out.extend(self._call(s, "ids"))
        return out

    def close(self) -> None:
        for s, h in enumerate(self._handles):
            if h is None:
                continue
            try:
                if self.session.live(h.worker):
                    self._wait(self._start(h, "close"), h.worker)
            except Exception:  # noqa: BLE001 - closing is best effort; the process may be gone
                pass
            h.future.release()
            self._handles[s] = None

    def __enter__(self) -> "Catalogue":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- adding --------------------------------------------------------------------------------

    def add(self, items: Iterable[Tuple[str, Union[bytes, vinfringe.Embedding]]]
            ) -> List[Dict[str, Any]]:
        """Add (id, embedding) pairs, each to its shard (one writer per shard), and flush.
        Returns one record per item: ``{"id"}``, or with ``"error"``, or ``"already": True``."""
        if not self.writable:
            raise ClusterError(f"{self.directory} is open read-only")
        per_shard: Dict[int, List[Tuple[str, bytes]]] = {}
        for item_id, emb in items:
            if isinstance(emb, vinfringe.Embedding):
                self._check_model(emb.model_id, f"reference '{item_id}'")
                data = emb.to_bytes()
            else:
                data = bytes(emb)
            per_shard.setdefault(shard_of(item_id, self.n_shards), []).append((item_id, data))
        results: List[Dict[str, Any]] = []
        for s in sorted(per_shard):
            results.extend(self._call(s, "add", per_shard[s]))
        self.flush(per_shard)
        return results

    def flush(self, shards: Optional[Iterable[int]] = None) -> None:
        """Write what the shards keep in memory only (the FAISS structure of approximate kinds;
        the references themselves are on disk after each add)."""
        for s in sorted(set(range(self.n_shards) if shards is None else shards)):
            self._call(s, "flush")

    def _check_model(self, model_id: str, what: str) -> None:
        if self.model_id is None:
            if self.writable:
                self.manifest["model_id"] = model_id
                self._write_manifest(self.manifest)
            return
        if model_id != self.model_id:
            raise ClusterError(f"{what} is of the model '{model_id}', the catalogue "
                               f"{self.directory} holds the model '{self.model_id}'")

    def add_inputs(self, inputs: Sequence[batch.Input], *, model: Optional[str] = None,
                   fps: float = 0.0, max_frames: int = 0, keyframes_only: bool = False,
                   torch_threads: int = 1, on_record: Optional[RecordFn] = None
                   ) -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
        """Embed (videos) or read (embedding files) every input on the cluster and add it under
        its id. Ids the catalogue holds already are refused before any work. Returns the
        records of the inputs added and of those that failed."""
        held = set(self.ids())
        for item in inputs:
            if item.id in held:
                raise batch.already_held(item, f"the catalogue {self.directory}")
        from distributed import as_completed  # noqa: PLC0415

        name = self.session.load_model(model, torch_threads)
        options = _embed_options(fps, max_frames, keyframes_only)
        futures = [self.session.client.submit(embed_bytes, name, item.id,
                                              os.path.abspath(item.path), options, pure=False)
                   for item in inputs]
        added: List[Dict[str, Any]] = []
        failed: List[Dict[str, Any]] = []
        touched: set = set()
        done = 0
        for fut in as_completed(futures):
            try:
                rec, data = fut.result()
            except Exception as exc:  # noqa: BLE001 - a task whose workers kept dying
                item = inputs[futures.index(fut)]
                rec, data = {"id": item.id, "input": item.path,
                             "error": f"{type(exc).__name__}: {exc}", "status": "CLUSTER"}, None
            fut.release()
            if data is not None:
                s = shard_of(rec["id"], self.n_shards)
                try:
                    self._check_model(rec["model_id"], f"{rec['input']}")
                    result = self._call(s, "add", [(rec["id"], data)])[0]
                    touched.add(s)
                except ClusterError as exc:
                    result = {"error": str(exc), "status": "FORMAT"}
                if "error" in result:
                    rec = {"id": rec["id"], "input": rec["input"], "error": result["error"],
                           "status": result.get("status", "")}
            done += 1
            (failed if "error" in rec else added).append(rec)
            if on_record is not None:
                on_record(rec, done, len(futures))
        self.flush(touched)
        return added, failed

    # -- searching -----------------------------------------------------------------------------

    def search(self, query: Union[bytes, vinfringe.Embedding], k: int = 10
               ) -> List[Dict[str, Any]]:
        """The ``k`` best references over all shards, best first: each shard returns its own
        best ``k``, and the lists are merged by score (ties by id). A shard whose worker dies is
        reopened on another worker and asked again."""
        if isinstance(query, vinfringe.Embedding):
            if self.model_id is not None and query.model_id != self.model_id:
                raise ClusterError(f"the query is of the model '{query.model_id}', the "
                                   f"catalogue {self.directory} holds '{self.model_id}'")
            data = query.to_bytes()
        else:
            data = bytes(query)
        k = int(k) if k and k > 0 else 10
        # Send every shard its call first, then gather: the shards search in parallel.
        pending = []
        for s in range(self.n_shards):
            h = self._handles[s]
            assert h is not None
            try:
                pending.append((s, h, self._start(h, "search", data, k)))
            except _WorkerLost:
                pending.append((s, h, None))
        hits: List[Dict[str, Any]] = []
        for s, h, fut in pending:
            try:
                if fut is None:
                    raise _WorkerLost(h.worker)
                hits.extend(self._wait(fut, h.worker))
            except _WorkerLost as lost:
                self._reopen(s, lost.worker)
                hits.extend(self._call(s, "search", data, k))
            except ShardError as exc:
                raise ClusterError(str(exc)) from None
        hits.sort(key=lambda r: (-r["score"], r["id"]))
        return hits[:k]


class _WorkerLost(Exception):
    def __init__(self, worker: str) -> None:
        super().__init__(f"worker {worker} was lost")
        self.worker = worker
