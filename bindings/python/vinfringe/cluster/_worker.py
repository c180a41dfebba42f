"""What runs on the Dask workers: the model plugin, the embedding task and the shard server.

Each worker process loads the model once (:class:`ModelPlugin`, a Dask worker plugin) and
embeds one file per task (:func:`embed_file`). Each shard of a catalogue is one on-disk
libvinfringe index, opened once by a :class:`ShardServer` actor on one worker.
"""

from __future__ import annotations

import ctypes
import glob
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import vinfringe
from vinfringe import batch

from ._records import embedding_record, failure_record, hit_record


class ModelPlugin:
    """A Dask worker plugin that loads a model once per worker process.

    Args:
        model_path: a ``.vimodel`` file (on the worker's file system), or None for the model
            built into the library.
        torch_threads: libtorch threads per forward pass in this worker process (process-wide;
            0 keeps libtorch's default). One per task thread keeps a machine's workers from
            oversubscribing its cores.
    """

    def __init__(self, model_path: Optional[str] = None, torch_threads: int = 1) -> None:
        self.model_path = model_path
        self.torch_threads = torch_threads
        self.name = plugin_name(model_path)
        self.model: Optional[vinfringe.Model] = None

    def setup(self, worker: Any) -> None:
        _heap_for_tensors()
        try:
            if self.torch_threads > 0:
                vinfringe.set_threads(self.torch_threads)
            self.model = vinfringe.Model(self.model_path)
        except vinfringe.VinfringeError as err:
            raise RuntimeError(f"worker {worker.address}: cannot load the model "
                               f"{self.model_path or '(built-in)'}: {err.message}") from None

    def teardown(self, worker: Any) -> None:
        if self.model is not None:
            self.model.close()
            self.model = None


def _heap_for_tensors() -> None:
    """Undo, in this worker process, the malloc setting a Dask nanny gives its workers.

    A nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (Dask's
    ``distributed.nanny.pre-spawn-environ``, to hand freed memory back to the system). Setting
    it turns off glibc's adaptive mmap threshold, so every tensor above 128 KiB of every
    forward pass is a fresh mmap, page-faulted in and unmapped again: embedding ran 2.5 to 4
    times slower in such a worker than in a plain process (docs/scaling.md). Setting the mmap
    threshold to the top of glibc's adaptive range (32 MiB) and the trim threshold to twice
    that gives back what a plain process does. glibc only; elsewhere nothing is changed.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 64 << 20)
    except (OSError, AttributeError):
        pass


_M_TRIM_THRESHOLD = -1  # glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3


def plugin_name(model_path: Optional[str]) -> str:
    """The plugin's name: one per model, so that two models can be loaded side by side."""
    return "vinfringe-model:" + (model_path or "built-in")


def _worker_model(name: str) -> vinfringe.Model:
    from distributed import get_worker  # noqa: PLC0415 - only on a worker

    plugin = get_worker().plugins.get(name)
    if plugin is None or plugin.model is None:
        raise RuntimeError(f"the worker has no model plugin {name!r}")
    return plugin.model


def _drop_stale_temporaries(out: str) -> None:
    """Remove what an interrupted write of `out` left (the library writes `out.tmp.PID`, then
    renames it). Only called once `out` is complete."""
    for tmp in glob.glob(glob.escape(out) + ".tmp.*"):
        try:
            os.unlink(tmp)
        except OSError:
            pass


def embed_file(name: str, item_id: str, src: str, out: str,
               options: Dict[str, Any]) -> Dict[str, Any]:
    """One task: embed `src` into `out` (written to a temporary name, then renamed).

    An `out` that already holds a valid embedding of this model is kept (the job is resumable).
    A file that fails is returned as a failure record, never raised: the other tasks go on.
    """
    model = _worker_model(name)
    if os.path.exists(out):
        try:
            with vinfringe.Embedding.load(out) as done:
                if done.model_id == model.id:
                    _drop_stale_temporaries(out)
                    return embedding_record(item_id, src, out, done, skipped=True)
        except vinfringe.VinfringeError:
            pass  # damaged or not an embedding: made again below
    if batch.is_embedding_file(src):
        return failure_record(item_id, src, f"{src}: is already an embedding (.vemb); expected "
                              "a video", "INVALID_ARG")
    try:
        with model.embed(src, **options) as emb:
            os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
            emb.save(out)
            record = embedding_record(item_id, src, out, emb)
    except vinfringe.VinfringeError as err:
        return failure_record(item_id, src, err.message, _status_name(err))
    except OSError as err:
        return failure_record(item_id, src, f"{out}: {err.strerror}", "IO")
    _drop_stale_temporaries(out)
    return record


def embed_bytes(name: str, item_id: str, src: str,
                options: Dict[str, Any]) -> Tuple[Dict[str, Any], Optional[bytes]]:
    """One task: the embedding of `src` (a video, or an embedding file) as bytes, for adding it
    to a catalogue; a failure comes back as a record and None."""
    try:
        model = None if batch.is_embedding_file(src) else _worker_model(name)
        with batch.load_or_embed(model, src, **options) as emb:
            return embedding_record(item_id, src, None, emb), emb.to_bytes()
    except vinfringe.VinfringeError as err:
        return failure_record(item_id, src, err.message, _status_name(err)), None


def _status_name(err: vinfringe.VinfringeError) -> str:
    return err.status.name if isinstance(err.status, vinfringe.Status) else str(err.status)


class ShardServer:
    """A Dask actor serving one shard: one on-disk index, opened once on its worker.

    Opened writable, it is the shard's only writer (the library also locks the vector file
    against a second writer in any process); searches see every reference added through it.
    Opened read-only it never creates or changes a file.
    """

    def __init__(self, shard: int, path: str, writable: bool, options: Dict[str, Any]) -> None:
        self.shard = shard
        self.path = path
        self.writable = writable
        try:
            self.index = vinfringe.Index.open(path, read_only=not writable, **options)
        except vinfringe.VinfringeError as err:
            raise ShardError(shard, path, err.message) from None

    def info(self) -> Dict[str, Any]:
        from distributed import get_worker  # noqa: PLC0415 - only on a worker

        return {"shard": self.shard, "path": self.path, "entries": len(self.index),
                "frames": self.index.frame_count, "kind": self.index.kind.name.lower(),
                "worker": get_worker().address, "pid": os.getpid()}

    def ids(self) -> List[str]:
        return self.index.ids

    def add(self, items: Sequence[Tuple[str, bytes]]) -> List[Dict[str, Any]]:
        """Add (id, embedding bytes) pairs; an id the shard holds already is not added again (a
        retried add after a lost worker adds only what is missing). One record per item."""
        held = set(self.index.ids)
        out = []
        for item_id, data in items:
            if item_id in held:
                out.append({"id": item_id, "already": True})
                continue
            try:
                with vinfringe.Embedding.from_bytes(data) as emb:
                    self.index.add(item_id, emb)
            except vinfringe.VinfringeError as err:
                out.append({"id": item_id, "error": err.message, "status": _status_name(err)})
                continue
            held.add(item_id)
            out.append({"id": item_id})
        return out

    def flush(self) -> None:
        self.index.flush()

    def search(self, query: bytes, k: int) -> List[Dict[str, Any]]:
        try:
            with vinfringe.Embedding.from_bytes(query) as q:
                return [hit_record(h) for h in self.index.search(q, k)]
        except vinfringe.VinfringeError as err:
            raise ShardError(self.shard, self.path, err.message) from None

    def close(self) -> None:
        self.index.close()


class ShardError(Exception):
    """A shard could not be opened or searched; the message names the shard and its file."""

    def __init__(self, shard: int, path: str, message: str) -> None:
        super().__init__(f"shard {shard} ({path}): {message}")
        self.shard = shard
        self.path = path
        self.detail = message

    def __reduce__(self) -> Tuple[Any, Tuple[int, str, str]]:  # crosses from worker to client
        return (ShardError, (self.shard, self.path, self.detail))
