"""Raw ctypes mirror of include/vinfringe.h.

This module is the only place that declares ``argtypes``/``restype``. It finds and loads the
shared library, mirrors the public structs, and declares every public function. Nothing here is
meant for end users: the Pythonic API lives in ``vinfringe/__init__.py``.

Library lookup order:

1. a ``libvinfringe.so*`` shipped inside this package's folder (the wheel made by ``make wheel``
   bundles the library these declarations were written for, so it always wins);
2. the environment variable ``VINFRINGE_LIBRARY`` (a path to ``libvinfringe.so*``; when set and
   nothing is bundled, nothing else is tried);
3. the system loader (``ctypes.util.find_library("vinfringe")``, then ``libvinfringe.so.0``).

Conventions kept from the C header: handles are ``c_void_p``; borrowed strings are ``c_char_p``
(ctypes copies them into ``bytes``); memory the caller owns comes back as ``c_void_p`` and is
released with the matching ``vi_*_free``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int32,
                    c_int64, c_size_t, c_uint8, c_uint32, c_uint64, c_void_p)
from typing import Dict, List, Optional, Sequence, Tuple

# The C API version these declarations were written for. Before 1.0 the minor number is the ABI
# number (see docs/symbols.txt and the soname), so a library with another major or minor refuses
# to load rather than crash on a changed struct.
API_MAJOR = 0
API_MINOR = 3

# Status codes (vi_status). The numbers are part of the ABI.
VI_OK = 0
VI_E_INVALID_ARG = 1
VI_E_IO = 2
VI_E_NO_VIDEO = 3
VI_E_DECODE = 4
VI_E_UNSUPPORTED = 5
VI_E_BAD_MODEL = 6
VI_E_FORMAT = 7
VI_E_NOMEM = 8
VI_E_INTERNAL = 9
VI_E_CANCELLED = 10

# Bits of vi_embedding_warnings (vi_embed_warning).
VI_EMBED_WARN_TRUNCATED = 1
VI_EMBED_WARN_DAMAGED_FRAMES = 2

# Log levels (vi_log_level).
VI_LOG_ERROR = 0
VI_LOG_WARN = 1
VI_LOG_INFO = 2
VI_LOG_DEBUG = 3

vi_status = c_int  # a C enum: int-sized on every ABI we build for

# typedef int (*vi_progress_fn)(void *user, double done, double total);
vi_progress_fn = CFUNCTYPE(c_int, c_void_p, c_double, c_double)
# typedef void (*vi_log_fn)(void *user, int32_t level, const char *msg);
vi_log_fn = CFUNCTYPE(None, c_void_p, c_int32, c_char_p)


class vi_embed_options(Structure):
    """Mirror of ``struct vi_embed_options`` (fields are append-only in the C header)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("fps", c_float),
        ("max_frames", c_int32),
        ("keyframes_only", c_int32),
        ("decode_threads", c_int32),
        ("progress", vi_progress_fn),
        ("progress_user", c_void_p),
    ]


class vi_compare_options(Structure):
    """Mirror of ``struct vi_compare_options``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("localize", c_int32),
        ("threshold", c_float),  # 0.4
    ]


class vi_calibrate_options(Structure):
    """Mirror of ``struct vi_calibrate_options`` (0.4)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("bank_size", c_int32),
        ("bank_k", c_int32),
        ("target_precision", c_float),
        ("verdict_only", c_int32),
    ]


class vi_calibration_report(Structure):
    """Mirror of ``struct vi_calibration_report`` (0.4)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("pairs", c_int32),
        ("copies", c_int32),
        ("bank_vectors", c_int32),
        ("micro_ap", c_float),
        ("threshold", c_float),
        ("precision", c_float),
        ("recall", c_float),
    ]


# Image formats (vi_image_format) of vi_video_thumbnail.
VI_IMAGE_JPEG = 1
VI_IMAGE_PNG = 2


class vi_thumbnail_options(Structure):
    """Mirror of ``struct vi_thumbnail_options`` (0.4)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("max_side", c_int32),
        ("format", c_int32),
    ]


class vi_index_options(Structure):
    """Mirror of ``struct vi_index_options`` (0.2)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_int32),
        ("candidates", c_int32),
        ("frame_neighbors", c_int32),
        ("effort", c_int32),
        ("read_only", c_int32),
        ("replace", c_int32),  # 0.4
    ]


class vi_segment(Structure):
    """Mirror of ``struct vi_segment``."""

    _fields_ = [
        ("query_start", c_double),
        ("query_end", c_double),
        ("ref_start", c_double),
        ("ref_end", c_double),
        ("score", c_float),
    ]


class vi_train_options(Structure):
    """Mirror of ``struct vi_train_options``."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("seed", c_uint64),
        ("fps", c_float),
        ("max_frames", c_int32),
        ("views", c_int32),
        ("batch_pairs", c_int32),
        ("max_negatives", c_int32),
        ("learning_rate", c_float),
        ("weight_decay", c_float),
        ("lr_step_epochs", c_int32),
        ("cache_dir", c_char_p),
        ("exclusivity_weight", c_float),
        ("mi_weight", c_float),
        ("single_head", c_int32),
        ("on_base_head", c_int32),
        ("checkpoint", c_char_p),
        ("filter_augment", c_int32),
    ]


class vi_train_losses(Structure):
    """Mirror of ``struct vi_train_losses``."""

    _fields_ = [
        ("total", c_double),
        ("nce", c_double),
        ("exclusivity", c_double),
        ("mutual_info", c_double),
        ("steps", c_int32),
    ]


# typedef int (*vi_train_epoch_fn)(void *user, int32_t epoch, const vi_train_losses *losses);
vi_train_epoch_fn = CFUNCTYPE(c_int, c_void_p, c_int32, POINTER(vi_train_losses))


class vi_finetune_options(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("seed", c_uint64),
        ("trainable_blocks", c_int32),
        ("steps", c_int32),
        ("batch", c_int32),
        ("learning_rate", c_float),
        ("weight_decay", c_float),
        ("temperature", c_float),
        ("koleo_weight", c_float),
        ("checkpoint_path", c_char_p),
        ("checkpoint_every", c_int32),
        ("frame_cache_path", c_char_p),
        ("frames_per_video", c_int32),
        ("head", c_int32),
        ("head_learning_rate", c_float),
        ("temporal_positive", c_float),
        ("exclusivity_weight", c_float),
        ("mi_weight", c_float),
        ("scene_negatives", c_float),
        ("vflip", c_float),
    ]


VI_FINETUNE_HEADLESS = 0
VI_FINETUNE_HEAD_DMI = 1


class vi_finetune_progress(Structure):
    _fields_ = [
        ("phase", c_int32),
        ("done", c_int32),
        ("total", c_int32),
        ("loss", c_float),
        ("loss_avg", c_float),
        ("accuracy", c_float),
        ("seconds", c_double),
    ]


# typedef int (*vi_finetune_progress_fn)(void *user, const vi_finetune_progress *progress);
vi_finetune_progress_fn = CFUNCTYPE(c_int, c_void_p, POINTER(vi_finetune_progress))

_P = POINTER(c_void_p)  # out-parameter for a handle: vi_xxx **out

# name -> (restype, argtypes). Every function declared with VI_API in include/vinfringe.h is here;
# tests/test_capi.py checks this table against the header and against the library's exports.
FUNCTIONS: Dict[str, Tuple[object, List[object]]] = {
    # version, errors, global setup
    "vi_version": (c_uint32, []),
    "vi_version_string": (c_char_p, []),
    "vi_ffmpeg_license": (c_char_p, []),
    "vi_ffmpeg_version": (c_char_p, []),
    "vi_status_str": (c_char_p, [vi_status]),
    "vi_last_error": (c_char_p, []),
    "vi_log_set": (None, [vi_log_fn, c_void_p]),
    "vi_set_threads": (vi_status, [c_int32]),
    # model
    "vi_model_load": (vi_status, [c_char_p, _P]),
    "vi_model_load_memory": (vi_status, [c_void_p, c_size_t, _P]),
    "vi_model_free": (None, [c_void_p]),
    "vi_model_dim": (c_int32, [c_void_p]),
    "vi_model_feature_dim": (c_int32, [c_void_p]),
    "vi_model_input_size": (c_int32, [c_void_p]),
    "vi_model_id": (c_char_p, [c_void_p]),
    "vi_model_description": (c_char_p, [c_void_p]),
    "vi_model_is_calibrated": (c_int32, [c_void_p]),
    "vi_model_threshold": (c_float, [c_void_p]),
    "vi_model_calibration_info": (c_char_p, [c_void_p]),
    # embedding
    "vi_embed_options_init": (vi_status, [POINTER(vi_embed_options), c_size_t]),
    "vi_embed_video": (vi_status, [c_void_p, c_char_p, POINTER(vi_embed_options), _P]),
    "vi_embed_frames": (vi_status, [c_void_p, c_void_p, c_int32, c_int32, c_int32, c_int32,
                                    POINTER(c_int64), _P]),
    "vi_embedding_free": (None, [c_void_p]),
    "vi_embedding_dim": (c_int32, [c_void_p]),
    "vi_embedding_frame_count": (c_int32, [c_void_p]),
    "vi_embedding_timestamps": (c_void_p, [c_void_p]),
    "vi_embedding_video_vector": (c_void_p, [c_void_p]),
    "vi_embedding_frame_vectors": (c_void_p, [c_void_p]),
    "vi_embedding_duration": (c_double, [c_void_p]),
    "vi_embedding_model_id": (c_char_p, [c_void_p]),
    "vi_embedding_warnings": (c_int32, [c_void_p]),
    "vi_embedding_is_calibrated": (c_int32, [c_void_p]),
    "vi_embedding_calibrate": (vi_status, [c_void_p, c_void_p, _P]),
    "vi_embedding_save": (vi_status, [c_void_p, c_char_p]),
    "vi_embedding_load": (vi_status, [c_char_p, _P]),
    "vi_embedding_to_memory": (vi_status, [c_void_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "vi_embedding_from_memory": (vi_status, [c_void_p, c_size_t, _P]),
    "vi_buffer_free": (None, [c_void_p]),
    # thumbnails (0.4)
    "vi_thumbnail_options_init": (vi_status, [POINTER(vi_thumbnail_options), c_size_t]),
    "vi_video_thumbnail": (vi_status, [c_char_p, c_int64, POINTER(vi_thumbnail_options),
                                       POINTER(c_void_p), POINTER(c_size_t), POINTER(c_int64)]),
    # compare
    "vi_compare_options_init": (vi_status, [POINTER(vi_compare_options), c_size_t]),
    "vi_compare": (vi_status, [c_void_p, c_void_p, POINTER(vi_compare_options), _P]),
    "vi_match_free": (None, [c_void_p]),
    "vi_match_score": (c_float, [c_void_p]),
    "vi_match_video_similarity": (c_float, [c_void_p]),
    "vi_match_segment_count": (c_int32, [c_void_p]),
    "vi_match_segment": (vi_status, [c_void_p, c_int32, POINTER(vi_segment)]),
    "vi_match_is_copy": (c_int32, [c_void_p]),
    "vi_match_threshold": (c_float, [c_void_p]),
    "vi_match_is_calibrated": (c_int32, [c_void_p]),
    # index
    "vi_index_create": (vi_status, [_P]),
    "vi_index_free": (None, [c_void_p]),
    "vi_index_add": (vi_status, [c_void_p, c_char_p, c_void_p]),
    "vi_index_size": (c_int32, [c_void_p]),
    "vi_index_id": (c_char_p, [c_void_p, c_int32]),
    "vi_index_search": (vi_status, [c_void_p, c_void_p, c_int32, _P]),
    "vi_index_save": (vi_status, [c_void_p, c_char_p]),
    "vi_index_load": (vi_status, [c_char_p, _P]),
    "vi_index_options_init": (vi_status, [POINTER(vi_index_options), c_size_t]),
    "vi_index_create_with": (vi_status, [POINTER(vi_index_options), _P]),
    "vi_index_open": (vi_status, [c_char_p, POINTER(vi_index_options), _P]),
    "vi_index_flush": (vi_status, [c_void_p]),
    "vi_index_kind_used": (c_int32, [c_void_p]),
    "vi_index_frame_count": (c_int64, [c_void_p]),
    "vi_hits_free": (None, [c_void_p]),
    "vi_hits_count": (c_int32, [c_void_p]),
    "vi_hits_id": (c_char_p, [c_void_p, c_int32]),
    "vi_hits_score": (c_float, [c_void_p, c_int32]),
    "vi_hits_match": (c_void_p, [c_void_p, c_int32]),
    # training
    "vi_train_options_init": (vi_status, [POINTER(vi_train_options), c_size_t]),
    "vi_trainer_create": (vi_status, [c_void_p, POINTER(vi_train_options), _P]),
    "vi_trainer_free": (None, [c_void_p]),
    "vi_trainer_add_video": (vi_status, [c_void_p, c_char_p, c_int32]),
    "vi_trainer_video_count": (c_int32, [c_void_p]),
    "vi_trainer_run": (vi_status, [c_void_p, c_int32, vi_train_epoch_fn, c_void_p]),
    "vi_trainer_save": (vi_status, [c_void_p, c_char_p]),
    "vi_trainer_load_checkpoint": (vi_status, [c_void_p, c_char_p]),
    "vi_trainer_epochs_done": (c_int32, [c_void_p]),
    # fine-tuning the backbone
    "vi_finetune_options_init": (vi_status, [POINTER(vi_finetune_options), c_size_t]),
    "vi_backbone_finetune": (vi_status, [c_void_p, POINTER(c_char_p), c_int32,
                                         POINTER(vi_finetune_options), vi_finetune_progress_fn,
                                         c_void_p, c_char_p]),
    # calibration (0.4)
    "vi_calibrate_options_init": (vi_status, [POINTER(vi_calibrate_options), c_size_t]),
    "vi_calibrator_create": (vi_status, [c_void_p, POINTER(vi_calibrate_options), _P]),
    "vi_calibrator_free": (None, [c_void_p]),
    "vi_calibrator_add_background": (vi_status, [c_void_p, c_void_p]),
    "vi_calibrator_add_reference": (vi_status, [c_void_p, c_char_p, c_void_p]),
    "vi_calibrator_add_query": (vi_status, [c_void_p, c_void_p, c_char_p]),
    "vi_calibrator_fit": (vi_status, [c_void_p, POINTER(vi_calibration_report)]),
    "vi_calibrator_save": (vi_status, [c_void_p, c_char_p]),
}


def _candidates() -> List[str]:
    """Library paths or names to try, in the documented order."""
    here = os.path.dirname(os.path.abspath(__file__))
    bundled: List[str] = []
    for pattern in ("libvinfringe.so", "libvinfringe.so.*", "libvinfringe*.dylib",
                    "vinfringe*.dll"):
        bundled.extend(sorted(glob.glob(os.path.join(here, pattern))))
    if bundled:
        return bundled
    env = os.environ.get("VINFRINGE_LIBRARY")
    if env:
        return [env]  # explicit choice: no silent fallback to another copy
    out: List[str] = []
    found = ctypes.util.find_library("vinfringe")
    if found:
        out.append(found)
    out.append("libvinfringe.so.0")
    return out


def _load() -> Tuple[ctypes.CDLL, str]:
    errors: List[str] = []
    for cand in _candidates():
        try:
            return ctypes.CDLL(cand), cand
        except OSError as exc:
            errors.append(f"{cand}: {exc}")
    raise ImportError("vinfringe: cannot load the shared library libvinfringe "
                      "(set VINFRINGE_LIBRARY to its path). Tried: " + "; ".join(errors))


def _declare(dll: ctypes.CDLL, where: str) -> None:
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            fn = getattr(dll, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise ImportError(f"vinfringe: {where} lacks {', '.join(missing)}: "
                          "the library is older than these bindings")


lib, library_path = _load()
_declare(lib, library_path)

_runtime = int(lib.vi_version())
# The ABI only grows within a major version (new functions, fields appended to options structs):
# a library of the same major and at least this minor works.
if _runtime // 10000 != API_MAJOR or (_runtime // 100) % 100 < API_MINOR:
    raise ImportError(f"vinfringe: {library_path} is version "
                      f"{lib.vi_version_string().decode()}, these bindings need "
                      f"{API_MAJOR}.{API_MINOR} or later")


def last_error() -> str:
    """The calling thread's last error message (vi_last_error), decoded."""
    raw = lib.vi_last_error()
    return raw.decode("utf-8", "replace") if raw else ""


def status_str(status: int) -> str:
    """vi_status_str, decoded."""
    raw = lib.vi_status_str(status)
    return raw.decode("utf-8", "replace") if raw else f"status {status}"


def copy_bytes(address: Optional[int], size: int) -> bytes:
    """Copy `size` bytes of borrowed C memory into a Python-owned bytes object."""
    if not address or size <= 0:
        return b""
    return ctypes.string_at(address, size)


def int64_array(values: Sequence[int]) -> ctypes.Array:
    """A C array of int64_t holding `values`."""
    return (c_int64 * len(values))(*values)


def byte_pointer(buf: object) -> Tuple[object, int]:
    """A pointer argument for a bytes-like object and its length in bytes.

    bytes are passed as they are; writable contiguous buffers (bytearray, NumPy arrays) are passed
    without a copy; anything else is copied once.
    """
    if isinstance(buf, bytes):
        return buf, len(buf)
    view = memoryview(buf)  # type: ignore[arg-type]
    if not view.c_contiguous:
        data = view.tobytes()
        return data, len(data)
    view = view.cast("B")
    if view.readonly:
        data = view.tobytes()
        return data, len(data)
    return (c_uint8 * view.nbytes).from_buffer(view), view.nbytes
