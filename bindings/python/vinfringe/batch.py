"""Batch inputs with the command's id rule: folders, id lists, duplicate ids refused up front.

The same rule as ``vinfringe index build`` (docs/cli.md, "Inputs and ids"):

- a file named directly gets its base name without the last extension
  (``refs/movie.mp4`` -> ``movie``);
- a file found by expanding a directory argument ``D`` gets its path relative to ``D`` without
  the last extension, with ``/`` separators (``D/season1/ep01.mp4`` -> ``season1/ep01``);
- a line ``ID<TAB>PATH`` of an id list gets ``ID`` (relative paths are relative to the list's
  folder).

Directories are walked recursively in byte order of the names, skipping names that start with
``.`` and symbolic links to directories; a file is taken when its extension is in
``extensions`` (case-insensitive; ``"*"`` takes every file). Two inputs with one id are refused
with :class:`DuplicateIdError`, naming both paths, before any work is done::

    from vinfringe import batch
    inputs = batch.collect(["refs/", "extra/trailer.mp4"])
    with vinfringe.Model() as model, vinfringe.Index.open("refs.vidx") as index:
        report = batch.add_to_index(index, model, inputs, keep_going=True)
    print(report.added, report.failed)
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import (Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union)

from . import (Embedding, Index, InvalidArgumentError, IOFailureError, Model, Status,
               VinfringeError)

__all__ = ["DEFAULT_EXTENSIONS", "Input", "DuplicateIdError", "already_held", "collect",
           "read_id_list",
           "is_embedding_file", "load_or_embed", "embed_each", "Result", "Report",
           "add_to_index"]

#: The extensions a directory walk takes by default (those of ``vinfringe``'s ``--ext``).
DEFAULT_EXTENSIONS: Tuple[str, ...] = (
    "mp4", "m4v", "mov", "mkv", "webm", "avi", "wmv", "flv", "mpg", "mpeg", "ts", "m2ts", "mts",
    "3gp", "ogv", "vemb")

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Input:
    """One input of a batch: its id (in an index, in output names) and its path."""

    id: str
    path: str


class DuplicateIdError(InvalidArgumentError):
    """Two inputs of a batch would get one id; raised before any work.

    Attributes: ``id`` and the two ``paths``.
    """

    def __init__(self, ident: str, first: str, second: str,
                 message: Optional[str] = None) -> None:
        super().__init__(
            Status.INVALID_ARG,
            message or f"{first} and {second} would both get the id '{ident}'; give the inputs "
            "their ids with an id list (lines ID<TAB>PATH), or pass their common parent "
            "directory")
        self.id = ident
        self.paths = (first, second)


def already_held(item: "Input", where: str) -> DuplicateIdError:
    """The error for an input whose id `where` (an index, a catalogue) holds already."""
    return DuplicateIdError(item.id, item.path, where,
                            f"{item.path} would get the id '{item.id}', which {where} already "
                            "holds; give it another id with an id list (lines ID<TAB>PATH)")


def _strip_ext(name: str) -> str:
    """``name`` without the last extension of its last component (a leading dot is not one)."""
    head, sep, base = name.rpartition("/")
    dot = base.rfind(".")
    if dot > 0:
        base = base[:dot]
    return head + sep + base


def _wanted(name: str, extensions: Union[str, Sequence[str]]) -> bool:
    if extensions == "*" or (not isinstance(extensions, str) and "*" in extensions):
        return True
    dot = name.rfind(".")
    if dot <= 0:
        return False
    exts = extensions.split(",") if isinstance(extensions, str) else extensions
    wanted = {e.strip().lstrip(".").lower() for e in exts if e.strip().lstrip(".")}
    return name[dot + 1:].lower() in wanted


def _walk(root: str, rel: str, extensions: Union[str, Sequence[str]]) -> Iterator[Input]:
    folder = os.path.join(root, rel) if rel else root
    try:
        names = sorted(os.listdir(os.fsencode(folder)))  # byte order, as the command
    except OSError as exc:
        raise IOFailureError(Status.IO,
                             f"{folder}: cannot read the directory: {exc.strerror}") from exc
    for raw in names:
        name = os.fsdecode(raw)
        if name.startswith("."):
            continue
        path = os.path.join(folder, name)
        sub = f"{rel}/{name}" if rel else name
        try:
            st = os.stat(path)
        except OSError:
            continue  # a dangling link, or removed meanwhile: not an input
        if stat.S_ISDIR(st.st_mode):
            if not os.path.islink(path):
                yield from _walk(root, sub, extensions)
        elif stat.S_ISREG(st.st_mode) and _wanted(name, extensions):
            yield Input(_strip_ext(sub), path)


def read_id_list(list_path: PathLike) -> List[Input]:
    """Read an id list: lines ``ID<TAB>PATH``; blank lines and lines starting with ``#`` are
    skipped; a relative PATH is relative to the list's folder."""
    list_path = os.fspath(list_path)
    base = os.path.dirname(list_path)
    out: List[Input] = []
    with open(list_path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line or line.startswith("#"):
                continue
            ident, tab, path = line.partition("\t")
            if not tab or not ident or not path:
                raise InvalidArgumentError(Status.INVALID_ARG,
                                           f"{list_path}:{lineno}: expected ID<TAB>PATH")
            full = path if os.path.isabs(path) else os.path.join(base, path)
            if os.path.isdir(full):
                raise InvalidArgumentError(
                    Status.INVALID_ARG,
                    f"{list_path}:{lineno}: {full} is a directory (the list names files)")
            out.append(Input(ident, full))
    return out


def collect(args: Iterable[PathLike], *, extensions: Union[str, Sequence[str]] = DEFAULT_EXTENSIONS,
            id_list: Optional[PathLike] = None, unique: bool = True) -> List[Input]:
    """The inputs named by ``args`` (files and directories) and ``id_list``, with their ids.

    A directory holding no wanted file is an error (``InvalidArgumentError``); a missing file is
    kept (loading it reports the error). With ``unique`` (the default) two inputs with one id
    raise :class:`DuplicateIdError` naming both paths.
    """
    out: List[Input] = []
    for arg in args:
        arg = os.fspath(arg)
        if os.path.isdir(arg):
            found = list(_walk(arg, "", extensions))
            if not found:
                shown = extensions if isinstance(extensions, str) else ",".join(extensions)
                raise InvalidArgumentError(
                    Status.INVALID_ARG,
                    f"{arg}: the directory holds no file with the extensions {shown}")
            out.extend(found)
        else:
            out.append(Input(_strip_ext(os.path.basename(arg)), arg))
    if id_list is not None:
        out.extend(read_id_list(id_list))
    if not out:
        raise InvalidArgumentError(Status.INVALID_ARG, "no inputs")
    if unique:
        first: dict = {}
        for item in out:
            if item.id in first:
                raise DuplicateIdError(item.id, first[item.id].path, item.path)
            first[item.id] = item
    return out


_EMBEDDING_MAGIC = b"VIEMBED\0"


def is_embedding_file(path: PathLike) -> bool:
    """True when ``path`` starts with the magic of an embedding file (``.vemb``)."""
    try:
        with open(path, "rb") as f:
            return f.read(8) == _EMBEDDING_MAGIC
    except OSError:
        return False


def load_or_embed(model: Optional[Model], path: PathLike, **embed_options: object) -> Embedding:
    """An embedding file is read; anything else is decoded as a video with ``model`` (as the
    command does; ``embed_options`` go to :meth:`Model.embed`)."""
    if is_embedding_file(path):
        return Embedding.load(path)
    if model is None:
        raise InvalidArgumentError(Status.INVALID_ARG,
                                   f"{os.fspath(path)}: a video, and no model to embed it")
    return model.embed(path, **embed_options)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Result:
    """What became of one input: its embedding, or the error that stopped it."""

    input: Input
    embedding: Optional[Embedding]
    error: Optional[VinfringeError] = None


def embed_each(model: Optional[Model], inputs: Sequence[Input], *, keep_going: bool = False,
               **embed_options: object) -> Iterator[Result]:
    """Yield a :class:`Result` per input, in order. Without ``keep_going`` the first failure is
    raised; with it, failures are yielded (``embedding`` None) and the batch goes on. The caller
    closes the embeddings it gets."""
    for item in inputs:
        try:
            emb = load_or_embed(model, item.path, **embed_options)
        except VinfringeError as err:
            if not keep_going:
                raise
            yield Result(item, None, err)
            continue
        yield Result(item, emb)


@dataclass
class Report:
    """The outcome of :func:`add_to_index`: the ids added and the inputs that failed."""

    added: List[str] = field(default_factory=list)
    failed: List[Tuple[Input, VinfringeError]] = field(default_factory=list)


ProgressFn = Callable[[int, int, Input], None]


def add_to_index(index: Index, model: Optional[Model], inputs: Sequence[Input], *,
                 keep_going: bool = False, progress: Optional[ProgressFn] = None,
                 **embed_options: object) -> Report:
    """Embed (or load) every input and add it to ``index`` under its id.

    Ids the index already holds are refused before any work (:class:`DuplicateIdError`, naming
    the input and the index). ``progress(done, total, input)`` is called before each input.
    Without ``keep_going`` the first failure is raised (what was added stays added: an on-disk
    index commits each add); with it, failures are collected in the report.
    """
    held = set(index.ids)
    for item in inputs:
        if item.id in held:
            raise already_held(item, "the index")
    report = Report()
    total = len(inputs)
    for done, item in enumerate(inputs):
        if progress is not None:
            progress(done, total, item)
        try:
            with load_or_embed(model, item.path, **embed_options) as emb:
                index.add(item.id, emb)
        except VinfringeError as err:
            if not keep_going:
                raise
            report.failed.append((item, err))
            continue
        report.added.append(item.id)
    return report
