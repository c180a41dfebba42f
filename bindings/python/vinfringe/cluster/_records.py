"""The JSON records of the cluster command, with the field names of ``vinfringe --json``.

One place turns library objects into plain dicts, so that a field the Python API adds (a
verdict, warnings) reaches the output without touching the rest.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, List, Optional

import vinfringe


def _extra_fields(obj: Any, known: set) -> Dict[str, Any]:
    """The dataclass fields of `obj` other than `known`, as plain values (pass-through)."""
    if not dataclasses.is_dataclass(obj):
        return {}
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)
            if f.name not in known}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "name") and hasattr(value, "value"):  # an enum
        return value.name.lower()
    return value


def segments_record(match: vinfringe.Match) -> List[Dict[str, float]]:
    return [{"query_start": s.query_start, "query_end": s.query_end, "ref_start": s.ref_start,
             "ref_end": s.ref_end, "score": s.score} for s in match.segments]


def hit_record(hit: vinfringe.Hit) -> Dict[str, Any]:
    """A search result as ``vinfringe search --json`` prints it: id, score, segments, then any
    other field the Python API gives (of the hit, then of its match: ``copy``, ``threshold``,
    ``calibrated``, the verdict as the command prints it)."""
    rec: Dict[str, Any] = {"id": hit.id, "score": hit.score,
                           "segments": segments_record(hit.match)}
    rec.update(_extra_fields(hit, {"id", "score", "match"}))
    for k, v in _extra_fields(hit.match, {"score", "segments", "video_similarity"}).items():
        rec.setdefault(k, v)
    rec.setdefault("copy", None)  # an API without a verdict: null, as the command's
    return rec


def embedding_record(item_id: str, src: str, out: Optional[str], emb: vinfringe.Embedding,
                     skipped: bool = False) -> Dict[str, Any]:
    """``vinfringe embed --json``'s object (input, output, frames, dim, duration, model_id,
    warnings) with the input's id; ``skipped`` marks an output kept from an earlier run."""
    rec: Dict[str, Any] = {"id": item_id, "input": src}
    if out is not None:
        rec["output"] = out
    rec.update({"frames": emb.frame_count, "dim": emb.dim, "duration": emb.duration,
                "model_id": emb.model_id, "warnings": emb.warnings})
    if skipped:
        rec["skipped"] = True
    return rec


def failure_record(item_id: str, src: str, message: str, status: str) -> Dict[str, Any]:
    """A file that failed: its id and path, the library's message and status name."""
    return {"id": item_id, "input": src, "error": message, "status": status}
