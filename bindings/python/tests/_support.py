"""Shared helpers for the Python binding tests: fixture paths and one shared model.

The clips come from test/data/make_fixtures.sh (run by `make check-bindings`) in $VI_FIXTURES.
"""

from __future__ import annotations

import os
import unittest
from typing import Dict, Optional

import vinfringe

_model: Optional[vinfringe.Model] = None
_embeddings: Dict[str, vinfringe.Embedding] = {}


def fixtures_dir() -> str:
    d = os.environ.get("VI_FIXTURES")
    if not d or not os.path.isdir(d):
        raise unittest.SkipTest("VI_FIXTURES is not set to the fixtures directory "
                                "(run `make check-bindings`)")
    return d


def fixture(name: str) -> str:
    path = os.path.join(fixtures_dir(), name)
    if not os.path.isfile(path):
        raise AssertionError(f"fixture {path} is missing: re-run test/data/make_fixtures.sh")
    return path


def srcdir() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("VI_SRCDIR") or os.path.abspath(os.path.join(here, "..", "..", ".."))


def model() -> vinfringe.Model:
    """The built-in model, loaded once for the whole test run."""
    global _model
    if _model is None:
        _model = vinfringe.Model()
    return _model


def embedding(name: str) -> vinfringe.Embedding:
    """Embedding of fixture `name` with default options, computed once per run."""
    if name not in _embeddings:
        _embeddings[name] = model().embed(fixture(name))
    return _embeddings[name]


def rss_kib() -> int:
    """Resident set size of this process in KiB (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024
