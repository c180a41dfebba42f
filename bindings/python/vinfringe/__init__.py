"""vinfringe: video copy detection from Python (ctypes bindings to libvinfringe).

Typical use::

    import vinfringe

    with vinfringe.Model() as model:              # the model built into the library
        a = model.embed("original.mp4")
        b = model.embed("upload.mp4", fps=2.0)
    result = vinfringe.compare(b, a)
    print(result.score)                           # copy score in [0, 1]
    for seg in result.segments:                   # copied spans, seconds
        print(seg.query_start, seg.query_end, seg.ref_start, seg.ref_end, seg.score)

Objects that own a C handle (:class:`Model`, :class:`Embedding`, :class:`Index`) free it on
``close()``, at the end of a ``with`` block, or - as a safety net - when garbage-collected.
Results (:class:`Match`, :class:`Segment`, :class:`Hit`) are plain Python data.

Every failure raises :class:`VinfringeError` (or a subclass per status), carrying the library's
status code in ``.status`` and its message (naming the file and FFmpeg's or libtorch's reason) in
``.message``.

The shared library is found through ``VINFRINGE_LIBRARY``, then the package folder, then the
system loader; see :mod:`vinfringe._capi`.
"""

from __future__ import annotations

import ctypes
import enum
import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union)

from . import _capi
from ._capi import lib as _lib

__all__ = [
    "Status", "LogLevel", "IndexKind", "EmbedWarning", "VinfringeError", "InvalidArgumentError", "IOFailureError",
    "NoVideoError", "DecodeError", "UnsupportedError", "BadModelError", "FormatError",
    "OutOfMemoryError", "InternalError", "CancelledError", "Model", "Embedding", "Segment",
    "Match", "Hit", "Index", "Trainer", "TrainLosses", "compare", "version", "version_string",
    "ffmpeg_license", "ffmpeg_version", "library_path",
    "set_threads", "set_log_handler", "status_str",
]

__version__ = "0.4.0"

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
ProgressFn = Callable[[float, float], Optional[bool]]
LogFn = Callable[["LogLevel", str], None]

#: Path (or loader name) of the shared library that was loaded.
library_path: str = _capi.library_path


# ----------------------------------------------------------------------------------------------
# Status codes and exceptions
# ----------------------------------------------------------------------------------------------

class Status(enum.IntEnum):
    """The library's status codes (``vi_status``)."""

    OK = _capi.VI_OK
    INVALID_ARG = _capi.VI_E_INVALID_ARG
    IO = _capi.VI_E_IO
    NO_VIDEO = _capi.VI_E_NO_VIDEO
    DECODE = _capi.VI_E_DECODE
    UNSUPPORTED = _capi.VI_E_UNSUPPORTED
    BAD_MODEL = _capi.VI_E_BAD_MODEL
    FORMAT = _capi.VI_E_FORMAT
    NOMEM = _capi.VI_E_NOMEM
    INTERNAL = _capi.VI_E_INTERNAL
    CANCELLED = _capi.VI_E_CANCELLED


class IndexKind(enum.IntEnum):
    """How an index searches its frame vectors (``vi_index_kind``); stored in index files."""

    AUTO = 0  #: exact below 100 000 frame vectors (~28 h of video), IVF-PQ above
    EXACT = 1  #: FAISS flat inner product: exact
    HNSW = 2  #: FAISS HNSW graph: approximate, fast to search, slow to build
    IVFPQ = 3  #: FAISS IVF + product codes: approximate, 40 bytes per vector


class EmbedWarning(enum.IntFlag):
    """Decoding problems met while embedding (``vi_embed_warning`` bits)."""

    TRUNCATED = _capi.VI_EMBED_WARN_TRUNCATED  #: decoding ended well before the declared end
    DAMAGED_FRAMES = _capi.VI_EMBED_WARN_DAMAGED_FRAMES  #: damaged data was skipped


class LogLevel(enum.IntEnum):
    """Severity of a library log line (``vi_log_level``)."""

    ERROR = _capi.VI_LOG_ERROR
    WARN = _capi.VI_LOG_WARN
    INFO = _capi.VI_LOG_INFO
    DEBUG = _capi.VI_LOG_DEBUG


class VinfringeError(Exception):
    """A libvinfringe call failed.

    Attributes:
        status: the :class:`Status` the C function returned (an int for unknown codes).
        message: the library's message from ``vi_last_error()``, naming the file and the
            underlying library's reason.
    """

    def __init__(self, status: int, message: str) -> None:
        try:
            self.status: Union[Status, int] = Status(status)
        except ValueError:
            self.status = status
        self.message = message or status_str(status)
        super().__init__(self.message)

    def __str__(self) -> str:
        name = self.status.name if isinstance(self.status, Status) else str(self.status)
        return f"[{name}] {self.message}"


class InvalidArgumentError(VinfringeError, ValueError):
    """VI_E_INVALID_ARG: an argument or option is out of range."""


class IOFailureError(VinfringeError, OSError):
    """VI_E_IO: a file is missing, unreadable, unwritable or a directory."""

    def __init__(self, status: int, message: str) -> None:  # OSError's own __init__ differs
        VinfringeError.__init__(self, status, message)


class NoVideoError(VinfringeError):
    """VI_E_NO_VIDEO: the file has no decodable video stream or no frames."""


class DecodeError(VinfringeError):
    """VI_E_DECODE: FFmpeg could not demux or decode the file."""


class UnsupportedError(VinfringeError):
    """VI_E_UNSUPPORTED: valid input that this build cannot handle."""


class BadModelError(VinfringeError):
    """VI_E_BAD_MODEL: not a model file, corrupt, or missing tensors."""


class FormatError(VinfringeError):
    """VI_E_FORMAT: corrupt/newer embedding or index file, or objects of different models."""


class OutOfMemoryError(VinfringeError, MemoryError):
    """VI_E_NOMEM: an allocation failed."""


class InternalError(VinfringeError):
    """VI_E_INTERNAL: a bug or a libtorch failure; the message says which."""


class CancelledError(VinfringeError):
    """VI_E_CANCELLED: a progress callback asked to stop."""


_ERRORS: Dict[int, Type[VinfringeError]] = {
    Status.INVALID_ARG: InvalidArgumentError,
    Status.IO: IOFailureError,
    Status.NO_VIDEO: NoVideoError,
    Status.DECODE: DecodeError,
    Status.UNSUPPORTED: UnsupportedError,
    Status.BAD_MODEL: BadModelError,
    Status.FORMAT: FormatError,
    Status.NOMEM: OutOfMemoryError,
    Status.INTERNAL: InternalError,
    Status.CANCELLED: CancelledError,
}


def _error(status: int) -> VinfringeError:
    # Called right after the failing C call, on the same thread: vi_last_error is per thread.
    return _ERRORS.get(status, VinfringeError)(status, _capi.last_error())


def _check(status: int) -> None:
    if status != _capi.VI_OK:
        raise _error(status)


def _closed(kind: str) -> InvalidArgumentError:
    return InvalidArgumentError(Status.INVALID_ARG, f"vinfringe: this {kind} is closed")


def _path(path: PathLike) -> bytes:
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise InvalidArgumentError(Status.INVALID_ARG, f"vinfringe: path {path!r} contains NUL")
    return encoded


def _text(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", "replace") if raw else ""


# ----------------------------------------------------------------------------------------------
# Global functions
# ----------------------------------------------------------------------------------------------

def version() -> int:
    """Runtime version of the loaded library, as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return int(_lib.vi_version())


def version_string() -> str:
    """Runtime version of the loaded library, e.g. ``"0.1.0"``."""
    return _text(_lib.vi_version_string())


def ffmpeg_license() -> str:
    """Licence of the FFmpeg build the library runs with, as FFmpeg reports it
    (``avcodec_license()``), e.g. ``"LGPL version 2.1 or later"`` or ``"GPL version 2 or later"``
    (Debian's FFmpeg). A process using this package loads that FFmpeg too: see
    docs/licensing.md."""
    return _text(_lib.vi_ffmpeg_license())


def ffmpeg_version() -> str:
    """Version of the FFmpeg build the library runs with (``av_version_info()``)."""
    return _text(_lib.vi_ffmpeg_version())


def status_str(status: int) -> str:
    """The library's English description of a status code."""
    return _capi.status_str(int(status))


def set_threads(n_threads: int) -> None:
    """Set how many threads libtorch uses for one forward pass (0: libtorch's default).

    Process-wide; call before other threads use the library.
    """
    _check(_lib.vi_set_threads(int(n_threads)))


_log_lock = threading.Lock()
_log_trampoline: Optional[Any] = None  # keeps the C function pointer alive while installed


def set_log_handler(handler: Optional[LogFn]) -> None:
    """Route the library's diagnostics to ``handler(level, message)``; ``None`` silences them.

    The handler may be called from any thread that runs library code. Exceptions it raises are
    swallowed (they cannot cross the C boundary). Call before other threads use the library.
    """
    global _log_trampoline
    with _log_lock:
        if handler is None:
            _lib.vi_log_set(_capi.vi_log_fn(), None)
            _log_trampoline = None
            return

        def trampoline(_user: Optional[int], level: int, msg: Optional[bytes]) -> None:
            try:
                try:
                    lvl: Any = LogLevel(level)
                except ValueError:
                    lvl = level
                handler(lvl, _text(msg))
            except BaseException:  # noqa: BLE001 - must not unwind into C
                pass

        fn = _capi.vi_log_fn(trampoline)
        _lib.vi_log_set(fn, None)
        _log_trampoline = fn


# ----------------------------------------------------------------------------------------------
# Handle base class
# ----------------------------------------------------------------------------------------------

class _Handle:
    """Owns one C handle; frees it on close(), ``with`` exit, or garbage collection."""

    _kind = "object"
    _free_name = ""

    def __init__(self, handle: int) -> None:
        self._handle: Optional[int] = handle
        # Keep the free function on the instance: at interpreter shutdown module globals may
        # already be gone when __del__ runs.
        self._free_fn = getattr(_lib, self._free_name)

    @property
    def closed(self) -> bool:
        """True once close() has released the C handle."""
        return self._handle is None

    def close(self) -> None:
        """Release the C handle now. Safe to call more than once."""
        handle, self._handle = self._handle, None
        if handle:
            self._free_fn(handle)

    def _h(self) -> int:
        if self._handle is None:
            raise _closed(self._kind)
        return self._handle

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass


def _out_handle() -> ctypes.c_void_p:
    return ctypes.c_void_p()


# ----------------------------------------------------------------------------------------------
# Embedding
# ----------------------------------------------------------------------------------------------

def _numpy() -> Any:
    try:
        import numpy  # noqa: PLC0415 - optional dependency
    except ImportError as exc:
        raise ImportError("vinfringe: NumPy is not installed; use the memoryview accessors "
                          "(video_vector, frame_vectors) instead") from exc
    return numpy


class Embedding(_Handle):
    """A video's fingerprint: one L2-normalised vector per sampled frame, their timestamps, and
    a video-level vector. Immutable.

    Vectors are copied out of the C object on first access (a few KB per minute of video), so
    the views stay valid after :meth:`close`. They are exposed as read-only ``memoryview``
    objects (format ``'f'``) and, when NumPy is installed, as read-only ``float32`` arrays.
    """

    _kind = "embedding"
    _free_name = "vi_embedding_free"

    def __init__(self, handle: int) -> None:
        super().__init__(handle)
        self._dim = int(_lib.vi_embedding_dim(handle))
        self._n = int(_lib.vi_embedding_frame_count(handle))
        self._video: Optional[bytes] = None
        self._frames: Optional[bytes] = None
        self._pts: Optional[Tuple[int, ...]] = None

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: PathLike) -> "Embedding":
        """Read an embedding file (``.vemb``) written by :meth:`save` or the command."""
        out = _out_handle()
        _check(_lib.vi_embedding_load(_path(path), ctypes.byref(out)))
        return cls(out.value)  # type: ignore[arg-type]

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Embedding":
        """Parse an embedding serialised by :meth:`to_bytes` (the ``.vemb`` file bytes)."""
        ptr, size = _capi.byte_pointer(data)
        out = _out_handle()
        _check(_lib.vi_embedding_from_memory(ptr, size, ctypes.byref(out)))
        return cls(out.value)  # type: ignore[arg-type]

    # -- metadata ----------------------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Vector dimension (256 for DMI heads)."""
        return self._dim

    @property
    def frame_count(self) -> int:
        """Number of sampled frames (>= 1)."""
        return self._n

    def __len__(self) -> int:
        return self._n

    @property
    def duration(self) -> float:
        """Duration of the video in seconds."""
        return float(_lib.vi_embedding_duration(self._h()))

    @property
    def model_id(self) -> str:
        """Identifier of the model that made this embedding."""
        return _text(_lib.vi_embedding_model_id(self._h()))

    @property
    def warning_flags(self) -> EmbedWarning:
        """Decoding problems met while embedding (0: the file decoded cleanly to its end)."""
        return EmbedWarning(int(_lib.vi_embedding_warnings(self._h())))

    @property
    def warnings(self) -> List[str]:
        """The names of :attr:`warning_flags` in lower case, as the command's JSON prints them
        (``["truncated"]``, ``["damaged_frames"]``; ``[]`` for a clean decode)."""
        flags = self.warning_flags
        return [w.name.lower() for w in EmbedWarning if w & flags and w.name]

    # -- data --------------------------------------------------------------------------------

    def _video_bytes(self) -> bytes:
        if self._video is None:
            addr = _lib.vi_embedding_video_vector(self._h())
            self._video = _capi.copy_bytes(addr, self._dim * 4)
        return self._video

    def _frame_bytes(self) -> bytes:
        if self._frames is None:
            addr = _lib.vi_embedding_frame_vectors(self._h())
            self._frames = _capi.copy_bytes(addr, self._n * self._dim * 4)
        return self._frames

    @property
    def times(self) -> Tuple[float, ...]:
        """Presentation time of each sampled frame, in seconds (as every time of this API)."""
        return tuple(t / 1e6 for t in self.timestamps_us)

    @property
    def timestamps_us(self) -> Tuple[int, ...]:
        """Presentation time of each sampled frame in integer microseconds: the C array
        (``vi_embedding_timestamps``), exact; :attr:`times` gives seconds."""
        if self._pts is None:
            addr = _lib.vi_embedding_timestamps(self._h())
            raw = _capi.copy_bytes(addr, self._n * 8)
            self._pts = tuple(memoryview(raw).cast("q")) if raw else ()
        return self._pts

    @property
    def timestamps(self) -> Tuple[int, ...]:
        """Deprecated (its unit is not in its name): :attr:`timestamps_us` (microseconds), or
        :attr:`times` (seconds)."""
        warnings.warn("Embedding.timestamps is in microseconds; use timestamps_us, or times for "
                      "seconds", DeprecationWarning, stacklevel=2)
        return self.timestamps_us

    @property
    def video_vector(self) -> memoryview:
        """The video-level vector: a read-only memoryview of ``dim`` floats."""
        return memoryview(self._video_bytes()).cast("f")

    @property
    def frame_vectors(self) -> memoryview:
        """All frame vectors: a read-only memoryview of shape ``(frame_count, dim)``.

        Index it as ``v[i, j]`` or use :meth:`frame_vector` for one row.
        """
        return memoryview(self._frame_bytes()).cast("f", [self._n, self._dim])

    def frame_vector(self, i: int) -> memoryview:
        """Frame vector ``i`` as a read-only memoryview of ``dim`` floats."""
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"frame {i} out of range (frame_count {self._n})")
        row = self._dim * 4
        return memoryview(self._frame_bytes())[i * row:(i + 1) * row].cast("f")

    def video_array(self) -> Any:
        """The video-level vector as a read-only NumPy ``float32`` array (needs NumPy)."""
        return _numpy().frombuffer(self._video_bytes(), dtype="float32")

    def frame_array(self) -> Any:
        """Frame vectors as a read-only NumPy ``float32`` array of shape ``(frame_count, dim)``."""
        np = _numpy()
        return np.frombuffer(self._frame_bytes(), dtype="float32").reshape(self._n, self._dim)

    def times_array(self) -> Any:
        """:attr:`times` (seconds) as a NumPy ``float64`` array (needs NumPy)."""
        return _numpy().array(self.timestamps_us, dtype="int64") / 1e6

    def timestamps_us_array(self) -> Any:
        """:attr:`timestamps_us` (microseconds) as a NumPy ``int64`` array (needs NumPy)."""
        return _numpy().array(self.timestamps_us, dtype="int64")

    def timestamps_array(self) -> Any:
        """Deprecated: :meth:`timestamps_us_array` (microseconds) or :meth:`times_array`."""
        warnings.warn("Embedding.timestamps_array is in microseconds; use timestamps_us_array, "
                      "or times_array for seconds", DeprecationWarning, stacklevel=2)
        return self.timestamps_us_array()

    # -- persistence -------------------------------------------------------------------------

    def save(self, path: PathLike) -> None:
        """Write this embedding to a ``.vemb`` file (atomically: temporary name + rename)."""
        _check(_lib.vi_embedding_save(self._h(), _path(path)))

    def to_bytes(self) -> bytes:
        """Serialise to bytes (the same bytes :meth:`save` writes)."""
        data = ctypes.c_void_p()
        size = ctypes.c_size_t()
        _check(_lib.vi_embedding_to_memory(self._h(), ctypes.byref(data), ctypes.byref(size)))
        try:
            return _capi.copy_bytes(data.value, size.value)
        finally:
            _lib.vi_buffer_free(data)

    def __repr__(self) -> str:
        if self.closed:
            return "<vinfringe.Embedding closed>"
        return (f"<vinfringe.Embedding dim={self._dim} frames={self._n} "
                f"duration={self.duration:.2f}s model={self.model_id!r}>")


# ----------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------

class Model(_Handle):
    """A loaded model (backbone + embedding head). Immutable; may be shared by threads.

    Args:
        path: a ``.vimodel`` file, or ``None`` for the model built into the library.
    """

    _kind = "model"
    _free_name = "vi_model_free"
    _closing = False  # close() was called while trainers still use the model
    _users = 0  # live Trainer objects built on this model

    def __init__(self, path: Optional[PathLike] = None) -> None:
        out = _out_handle()
        _check(_lib.vi_model_load(None if path is None else _path(path), ctypes.byref(out)))
        super().__init__(out.value)  # type: ignore[arg-type]

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return self._closing or self._handle is None

    def close(self) -> None:
        """Release the model. Embeddings made with it stay valid. If a :class:`Trainer` still
        uses it, the C model is released when the last such trainer is closed."""
        self._closing = True
        if self._users == 0:
            super().close()

    def _h(self) -> int:
        if self._closing:
            raise _closed(self._kind)
        return super()._h()

    def _release(self) -> None:  # a trainer built on this model was closed
        self._users -= 1
        if self._closing and self._users == 0:
            _Handle.close(self)

    @classmethod
    def from_bytes(cls, data: Union[bytes, bytearray, memoryview]) -> "Model":
        """Load a model from the bytes of a ``.vimodel`` file (copied)."""
        ptr, size = _capi.byte_pointer(data)
        out = _out_handle()
        _check(_lib.vi_model_load_memory(ptr, size, ctypes.byref(out)))
        self = cls.__new__(cls)
        _Handle.__init__(self, out.value)  # type: ignore[arg-type]
        return self

    @property
    def dim(self) -> int:
        """Dimension of the embeddings this model produces."""
        return int(_lib.vi_model_dim(self._h()))

    @property
    def feature_dim(self) -> int:
        """Dimension of the backbone's frame features."""
        return int(_lib.vi_model_feature_dim(self._h()))

    @property
    def input_size(self) -> int:
        """Side of the square RGB image the backbone takes."""
        return int(_lib.vi_model_input_size(self._h()))

    @property
    def id(self) -> str:
        """Model identifier (name and weight checksum)."""
        return _text(_lib.vi_model_id(self._h()))

    @property
    def description(self) -> str:
        """Human-readable description stored in the model file."""
        return _text(_lib.vi_model_description(self._h()))

    @property
    def calibrated(self) -> bool:
        """Whether the model carries a fitted calibration (docs/thresholds.md)."""
        return bool(_lib.vi_model_is_calibrated(self._h()))

    @property
    def threshold(self) -> float:
        """The recommended threshold of the copy verdict (0.5 when uncalibrated)."""
        return float(_lib.vi_model_threshold(self._h()))

    @property
    def calibration_info(self) -> str:
        """How the calibration was fitted ("" when uncalibrated)."""
        return _text(_lib.vi_model_calibration_info(self._h()))

    def embed(self, path: PathLike, *, fps: float = 0.0, max_frames: int = 0,
              keyframes_only: bool = False, decode_threads: int = 0,
              progress: Optional[ProgressFn] = None) -> Embedding:
        """Decode a video file, sample frames and return its :class:`Embedding`.

        Args:
            path: any container and codec FFmpeg reads.
            fps: frames sampled per second of video (0: the library default, 1.0).
            max_frames: stop after this many sampled frames (0: no cap).
            keyframes_only: decode keyframes only (faster, coarser).
            decode_threads: FFmpeg decoding threads (0: automatic).
            progress: ``progress(done_seconds, total_seconds)`` called as the video is read
                (total is 0 when unknown). Return ``False`` to cancel (raises
                :class:`CancelledError`); an exception it raises also cancels and is re-raised.

        The GIL is released while the library works, so several threads can embed at once.
        """
        opts = _capi.vi_embed_options()
        _check(_lib.vi_embed_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
        opts.fps = float(fps)
        opts.max_frames = int(max_frames)
        opts.keyframes_only = 1 if keyframes_only else 0
        opts.decode_threads = int(decode_threads)
        raised: List[BaseException] = []
        trampoline = None
        if progress is not None:
            def call(_user: Optional[int], done: float, total: float) -> int:
                if raised:
                    return 1
                try:
                    return 1 if progress(done, total) is False else 0
                except BaseException as exc:  # noqa: BLE001 - re-raised after the C call
                    raised.append(exc)
                    return 1

            trampoline = _capi.vi_progress_fn(call)
            opts.progress = trampoline
        out = _out_handle()
        status = _lib.vi_embed_video(self._h(), _path(path), ctypes.byref(opts),
                                     ctypes.byref(out))
        if status != _capi.VI_OK:
            err = _error(status)
            if raised:
                raise raised[0] from err
            raise err
        if raised:  # the library finished anyway: do not hide the callback's exception
            _lib.vi_embedding_free(out)
            raise raised[0]
        del trampoline
        return Embedding(out.value)  # type: ignore[arg-type]

    def embed_frames(self, rgb: Union[bytes, bytearray, memoryview, Any], n_frames: int,
                     width: int, height: int, *, stride: int = 0,
                     times: Optional[Sequence[float]] = None,
                     pts_us: Optional[Sequence[int]] = None) -> Embedding:
        """Embed frames decoded by the caller.

        Args:
            rgb: ``n_frames`` packed RGB24 images laid one after another (frame ``i`` starts at
                byte ``i * stride * height``); any bytes-like object, e.g. a NumPy ``uint8``
                array of shape ``(n_frames, height, width, 3)``.
            n_frames, width, height: the frame count and size in pixels.
            stride: bytes per row (0: ``width * 3``).
            times: presentation time of each frame in seconds (``None``: 1 fps).
            pts_us: the same in integer microseconds (the C API's unit); give one or neither.
        """
        n_frames, width, height, stride = int(n_frames), int(width), int(height), int(stride)
        row = stride if stride > 0 else width * 3
        ptr, size = _capi.byte_pointer(rgb)
        if n_frames > 0 and height > 0 and width > 0:
            need = (n_frames - 1) * row * height + (height - 1) * row + width * 3
            if size < need:
                raise InvalidArgumentError(
                    Status.INVALID_ARG,
                    f"vinfringe: rgb buffer has {size} bytes, {n_frames} frames of "
                    f"{width}x{height} (stride {row}) need {need}")
        pts = None
        if times is not None:
            if pts_us is not None:
                raise InvalidArgumentError(Status.INVALID_ARG,
                                           "vinfringe: give times (seconds) or pts_us, not both")
            pts_us = [int(round(float(t) * 1e6)) for t in times]
        if pts_us is not None:
            if len(pts_us) != n_frames:
                raise InvalidArgumentError(
                    Status.INVALID_ARG,
                    f"vinfringe: {len(pts_us)} timestamps for {n_frames} frames")
            pts = _capi.int64_array([int(t) for t in pts_us])
        out = _out_handle()
        _check(_lib.vi_embed_frames(self._h(), ptr, n_frames, width, height, stride, pts,
                                    ctypes.byref(out)))
        return Embedding(out.value)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        if self.closed:
            return "<vinfringe.Model closed>"
        return f"<vinfringe.Model id={self.id!r} dim={self.dim}>"


# ----------------------------------------------------------------------------------------------
# Comparing
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    """A copied span: ``[query_start, query_end]`` of the query matches
    ``[ref_start, ref_end]`` of the reference, in seconds on each video's own timeline."""

    query_start: float
    query_end: float
    ref_start: float
    ref_end: float
    score: float  #: mean frame similarity along the span, in [-1, 1]


@dataclass(frozen=True)
class Match:
    """The result of comparing a query with a reference."""

    score: float  #: copy score in [0, 1]
    video_similarity: float  #: cosine of the two video-level vectors, in [-1, 1]
    segments: List[Segment] = field(default_factory=list)  #: copied spans, if localised
    copy: bool = False  #: the verdict: score >= threshold (docs/thresholds.md) (0.4)
    threshold: float = 0.5  #: the threshold of the verdict: the model's or the caller's (0.4)
    calibrated: bool = False  #: scored by the model's calibration (0.4)


def _read_match(handle: int) -> Match:
    segments = []
    seg = _capi.vi_segment()
    for i in range(int(_lib.vi_match_segment_count(handle))):
        _check(_lib.vi_match_segment(handle, i, ctypes.byref(seg)))
        segments.append(Segment(seg.query_start, seg.query_end, seg.ref_start, seg.ref_end,
                                seg.score))
    return Match(float(_lib.vi_match_score(handle)),
                 float(_lib.vi_match_video_similarity(handle)), segments,
                 bool(_lib.vi_match_is_copy(handle)), float(_lib.vi_match_threshold(handle)),
                 bool(_lib.vi_match_is_calibrated(handle)))


def compare(query: Embedding, ref: Embedding, *, localize: bool = True,
            threshold: float = 0.0) -> Match:
    """Compare a query embedding with a reference embedding.

    Args:
        query, ref: embeddings made by the same model (else :class:`FormatError`).
        localize: also find the copied segments (default); ``False`` gives the video-level
            score only.
        threshold: threshold of the verdict ``Match.copy`` in (0, 1]; 0: the model's
            recommended one.
    """
    opts = _capi.vi_compare_options()
    _check(_lib.vi_compare_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
    opts.localize = 1 if localize else 0
    opts.threshold = threshold
    out = _out_handle()
    _check(_lib.vi_compare(query._h(), ref._h(), ctypes.byref(opts), ctypes.byref(out)))
    try:
        return _read_match(out.value)  # type: ignore[arg-type]
    finally:
        _lib.vi_match_free(out)


# ----------------------------------------------------------------------------------------------
# Index
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """One search result: a reference id, its copy score and the full comparison."""

    id: str
    score: float
    match: Match


KindLike = Union[IndexKind, int, str, None]


def _index_options(kind: KindLike, candidates: int, frame_neighbors: int, effort: int,
                   read_only: bool) -> Any:
    opts = _capi.vi_index_options()
    _check(_lib.vi_index_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
    if isinstance(kind, str):
        try:
            kind = IndexKind[kind.upper()]
        except KeyError:
            raise InvalidArgumentError(
                Status.INVALID_ARG, f"vinfringe: index kind {kind!r} (auto, exact, hnsw, "
                "ivfpq)") from None
    opts.kind = int(kind or 0)
    opts.candidates = int(candidates)
    opts.frame_neighbors = int(frame_neighbors)
    opts.effort = int(effort)
    opts.read_only = 1 if read_only else 0
    return opts


class Index(_Handle):
    """A searchable catalogue of reference embeddings, in memory or on disk.

    ``Index()`` creates an empty in-memory index (:meth:`save` writes it to one file);
    :meth:`Index.open` opens (or creates) an on-disk index, where every :meth:`add` is committed
    to disk at once; :meth:`Index.load` reads either kind of file.

    Options (keywords of the constructor and of :meth:`open`; 0 or ``None`` = the library's
    default): ``kind`` (an :class:`IndexKind` or its name: how frame vectors are searched),
    ``candidates`` (references re-ranked by the full comparison per query; 20),
    ``frame_neighbors`` (nearest reference frames per query frame; 16), ``effort`` (HNSW
    efSearch or IVF probes).

    Searches may run from several threads at once; :meth:`add` needs exclusive access (the
    caller serialises adds against searches).
    """

    _kind = "index"
    _free_name = "vi_index_free"

    def __init__(self, *, kind: KindLike = None, candidates: int = 0, frame_neighbors: int = 0,
                 effort: int = 0) -> None:
        out = _out_handle()
        opts = _index_options(kind, candidates, frame_neighbors, effort, False)
        _check(_lib.vi_index_create_with(ctypes.byref(opts), ctypes.byref(out)))
        super().__init__(out.value)  # type: ignore[arg-type]

    @classmethod
    def _wrap(cls, handle: int) -> "Index":
        self = cls.__new__(cls)
        _Handle.__init__(self, handle)
        return self

    @classmethod
    def load(cls, path: PathLike) -> "Index":
        """Read an index: a file written by :meth:`save` (read whole into memory), or the
        manifest of an on-disk index (opened read-only)."""
        out = _out_handle()
        _check(_lib.vi_index_load(_path(path), ctypes.byref(out)))
        return cls._wrap(out.value)  # type: ignore[arg-type]

    @classmethod
    def open(cls, path: PathLike, *, read_only: bool = False, kind: KindLike = None,
             candidates: int = 0, frame_neighbors: int = 0, effort: int = 0) -> "Index":
        """Open the on-disk index whose manifest is ``path`` (``refs.vidx``, with
        ``refs.vidx.vec`` and, for approximate kinds, ``refs.vidx.faiss`` beside it), creating
        it unless ``read_only``.

        Each :meth:`add` appends to the vector file and atomically replaces the manifest, so a
        crash leaves the index as it was after the last completed add. One writer at a time: a
        second writer (any process) fails with :class:`IOFailureError`; read-only opens take no
        lock and see the index as it was when opened. ``kind`` on an existing index switches
        (rebuilds) it; ``None`` keeps its kind.
        """
        out = _out_handle()
        opts = _index_options(kind, candidates, frame_neighbors, effort, read_only)
        _check(_lib.vi_index_open(_path(path), ctypes.byref(opts), ctypes.byref(out)))
        return cls._wrap(out.value)  # type: ignore[arg-type]

    def flush(self) -> None:
        """Write what an on-disk index keeps only in memory (the FAISS structure of HNSW and
        IVF-PQ indexes); the references are on disk after each add already. A no-op for
        in-memory and read-only indexes. :meth:`close` flushes too, but ignores errors."""
        _check(_lib.vi_index_flush(self._h()))

    @property
    def kind(self) -> IndexKind:
        """The :class:`IndexKind` in use now (never AUTO; EXACT while empty)."""
        return IndexKind(int(_lib.vi_index_kind_used(self._h())))

    @property
    def frame_count(self) -> int:
        """Frame vectors of all references: indexed seconds at the default 1 fps."""
        return int(_lib.vi_index_frame_count(self._h()))

    def add(self, id: str, embedding: Embedding) -> None:  # noqa: A002 - mirrors the C API
        """Add a reference under ``id``; the embedding is copied (it may be closed afterwards)."""
        raw = id.encode("utf-8")
        if b"\0" in raw:
            raise InvalidArgumentError(Status.INVALID_ARG, f"vinfringe: id {id!r} contains NUL")
        _check(_lib.vi_index_add(self._h(), raw, embedding._h()))

    def __len__(self) -> int:
        return int(_lib.vi_index_size(self._h()))

    def id(self, i: int) -> str:
        """Id of reference ``i`` (0 <= i < len(index))."""
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError(f"reference {i} out of range (size {n})")
        return _text(_lib.vi_index_id(self._h(), i))

    @property
    def ids(self) -> List[str]:
        """Ids of all references, in insertion order."""
        h = self._h()
        return [_text(_lib.vi_index_id(h, i)) for i in range(int(_lib.vi_index_size(h)))]

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def search(self, query: Embedding, k: int = 10) -> List[Hit]:
        """The ``k`` references most similar to ``query``, best first."""
        out = _out_handle()
        _check(_lib.vi_index_search(self._h(), query._h(), int(k), ctypes.byref(out)))
        hits = out.value
        try:
            result = []
            for i in range(int(_lib.vi_hits_count(hits))):
                match = _lib.vi_hits_match(hits, i)
                result.append(Hit(_text(_lib.vi_hits_id(hits, i)),
                                  float(_lib.vi_hits_score(hits, i)),
                                  _read_match(match) if match else Match(0.0, 0.0, [])))
            return result
        finally:
            _lib.vi_hits_free(hits)

    def save(self, path: PathLike) -> None:
        """Write the index to one self-contained file (atomically: temporary name + rename).
        Saving an on-disk index to its own manifest path does nothing: it is always current."""
        _check(_lib.vi_index_save(self._h(), _path(path)))

    def __repr__(self) -> str:
        if self.closed:
            return "<vinfringe.Index closed>"
        return (f"<vinfringe.Index size={len(self)} frames={self.frame_count} "
                f"kind={self.kind.name.lower()}>")


# ----------------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainLosses:
    """Loss terms of one training epoch, each the mean over the epoch's steps."""

    epoch: int  #: counts from 1
    total: float  #: the objective minimised
    nce: float  #: sum of the InfoNCE terms
    exclusivity: float  #: D, maximised
    mutual_info: float  #: M, minimised
    steps: int  #: optimiser steps in the epoch


EpochFn = Callable[[TrainLosses], Optional[bool]]


class Trainer(_Handle):
    """Trains a DMI embedding head on the frozen backbone of ``base`` (see docs/model.md).

    Videos are decoded once when added; each becomes ``views`` augmented versions whose
    backbone features stay in memory, so epochs only run the small head. Not thread-safe.
    The trainer keeps ``base`` alive (closing the model is deferred until the trainer closes).

    Options left as ``None`` keep the library's defaults (seed 1, fps 1.0, max_frames 60,
    views 4, batch_pairs 64, max_negatives 2048, learning_rate 1e-4, weight_decay 5e-4,
    lr_step_epochs 0 = constant, cache_dir None = features kept in memory only).
    """

    _kind = "trainer"
    _free_name = "vi_trainer_free"

    def __init__(self, base: Model, *, seed: Optional[int] = None, fps: Optional[float] = None,
                 max_frames: Optional[int] = None, views: Optional[int] = None,
                 batch_pairs: Optional[int] = None, max_negatives: Optional[int] = None,
                 learning_rate: Optional[float] = None,
                 weight_decay: Optional[float] = None, lr_step_epochs: Optional[int] = None,
                 cache_dir: Optional[PathLike] = None) -> None:
        opts = _capi.vi_train_options()
        _check(_lib.vi_train_options_init(ctypes.byref(opts), ctypes.sizeof(opts)))
        given = {"seed": seed, "fps": fps, "max_frames": max_frames, "views": views,
                 "batch_pairs": batch_pairs, "max_negatives": max_negatives,
                 "learning_rate": learning_rate, "weight_decay": weight_decay,
                 "lr_step_epochs": lr_step_epochs}
        for name, value in given.items():
            if value is not None:
                setattr(opts, name, value)
        cache = _path(cache_dir) if cache_dir is not None else None
        opts.cache_dir = cache  # the library copies it during vi_trainer_create
        out = _out_handle()
        _check(_lib.vi_trainer_create(base._h(), ctypes.byref(opts), ctypes.byref(out)))
        super().__init__(out.value)  # type: ignore[arg-type]
        self._model: Optional[Model] = base
        base._users += 1

    def close(self) -> None:
        """Release the trainer (and the base model, if it was closed meanwhile)."""
        super().close()
        model, self._model = getattr(self, "_model", None), None
        if model is not None:
            model._release()

    def add_video(self, path: PathLike, group: int = -1) -> None:
        """Decode ``path``, make its augmented views and cache their backbone features.

        Args:
            group: ``>= 0`` labels a group of near-duplicates (videos of one group are
                positives of each other); ``-1`` (default): self-supervised.
        """
        _check(_lib.vi_trainer_add_video(self._h(), _path(path), int(group)))

    @property
    def video_count(self) -> int:
        """Number of videos added so far."""
        return int(_lib.vi_trainer_video_count(self._h()))

    def __len__(self) -> int:
        return self.video_count

    def run(self, epochs: int, on_epoch: Optional[EpochFn] = None) -> List[TrainLosses]:
        """Train for ``epochs`` epochs and return each epoch's losses.

        ``on_epoch(losses)`` is called after each epoch; returning ``False`` stops training
        (raises :class:`CancelledError`; the head keeps what it learnt), and an exception it
        raises stops training and is re-raised.
        """
        history: List[TrainLosses] = []
        raised: List[BaseException] = []

        def call(_user: Optional[int], epoch: int, losses: Any) -> int:
            try:
                l = losses.contents
                item = TrainLosses(int(epoch), l.total, l.nce, l.exclusivity, l.mutual_info,
                                   int(l.steps))
                history.append(item)
                if on_epoch is not None and on_epoch(item) is False:
                    return 1
                return 0
            except BaseException as exc:  # noqa: BLE001 - re-raised after the C call
                raised.append(exc)
                return 1

        trampoline = _capi.vi_train_epoch_fn(call)
        status = _lib.vi_trainer_run(self._h(), int(epochs), trampoline, None)
        if status != _capi.VI_OK:
            err = _error(status)
            if raised:
                raise raised[0] from err
            raise err
        if raised:
            raise raised[0]
        return history

    def save(self, path: PathLike) -> None:
        """Write a complete model file (base backbone + trained head); load it with
        ``Model(path)``."""
        _check(_lib.vi_trainer_save(self._h(), _path(path)))

    def __repr__(self) -> str:
        if self.closed:
            return "<vinfringe.Trainer closed>"
        return f"<vinfringe.Trainer videos={self.video_count}>"
