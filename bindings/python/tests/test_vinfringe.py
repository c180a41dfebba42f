"""Behaviour of the Python binding on real videos, real FFmpeg decoding and real libtorch."""

from __future__ import annotations

import ctypes
import gc
import math
import glob
import os
import tempfile
import threading
import unittest
from typing import List, Tuple

import vinfringe

import _support

try:
    import numpy
except ImportError:  # the tests never need it; the NumPy accessors are tested when present
    numpy = None


def norm(vec) -> float:  # type: ignore[no-untyped-def]
    return math.sqrt(sum(float(x) * float(x) for x in vec))


class TestModel(unittest.TestCase):
    def test_builtin_model_metadata(self) -> None:
        m = _support.model()
        self.assertGreater(m.dim, 0)
        self.assertGreater(m.feature_dim, 0)
        self.assertGreater(m.input_size, 0)
        self.assertTrue(m.id)
        self.assertIsInstance(m.description, str)
        self.assertIn(m.id, repr(m))

    def test_model_from_bytes_of_a_garbage_buffer_fails_with_status(self) -> None:
        with self.assertRaises(vinfringe.VinfringeError) as ctx:
            vinfringe.Model.from_bytes(b"this is not a model" * 10)
        self.assertEqual(ctx.exception.status, vinfringe.Status.BAD_MODEL)
        self.assertIsInstance(ctx.exception, vinfringe.BadModelError)
        self.assertTrue(ctx.exception.message)

    def test_missing_model_file_is_an_io_error_naming_the_file(self) -> None:
        path = os.path.join(tempfile.gettempdir(), "vinfringe-no-such-model.vimodel")
        with self.assertRaises(vinfringe.IOFailureError) as ctx:
            vinfringe.Model(path)
        self.assertEqual(ctx.exception.status, vinfringe.Status.IO)
        self.assertIn("vinfringe-no-such-model", ctx.exception.message)
        self.assertIsInstance(ctx.exception, OSError)

    def test_close_twice_and_use_after_close(self) -> None:
        m = vinfringe.Model()
        with m:
            self.assertFalse(m.closed)
        self.assertTrue(m.closed)
        m.close()
        with self.assertRaises(vinfringe.InvalidArgumentError) as ctx:
            m.embed(_support.fixture("clip_a.mp4"))
        self.assertEqual(ctx.exception.status, vinfringe.Status.INVALID_ARG)


class TestEmbed(unittest.TestCase):
    def test_embedding_shape_and_normalisation(self) -> None:
        m = _support.model()
        e = _support.embedding("clip_a.mp4")
        self.assertEqual(e.dim, m.dim)
        self.assertGreaterEqual(e.frame_count, 1)
        self.assertEqual(len(e), e.frame_count)
        self.assertEqual(len(e.timestamps_us), e.frame_count)
        self.assertEqual(list(e.timestamps_us), sorted(e.timestamps_us))
        self.assertGreater(e.duration, 0.0)
        self.assertEqual(e.model_id, m.id)
        vv = e.video_vector
        self.assertEqual(vv.format, "f")
        self.assertEqual(vv.shape, (e.dim,))
        self.assertTrue(vv.readonly)
        self.assertAlmostEqual(norm(vv), 1.0, places=3)
        fv = e.frame_vectors
        self.assertEqual(fv.shape, (e.frame_count, e.dim))
        for i in range(e.frame_count):
            row = e.frame_vector(i)
            self.assertAlmostEqual(norm(row), 1.0, places=3)
            self.assertEqual(row[3], fv[i, 3])
        with self.assertRaises(IndexError):
            e.frame_vector(e.frame_count)

    def test_times_are_seconds(self) -> None:
        # Issue 17: every time of the Python API is in seconds (floats); the microsecond
        # array of the C API is there under a name that says so.
        e = _support.embedding("clip_a.mp4")
        self.assertTrue(all(isinstance(t, float) for t in e.times))
        self.assertEqual(list(e.times), [t / 1e6 for t in e.timestamps_us])
        self.assertTrue(all(isinstance(t, int) for t in e.timestamps_us))
        self.assertLessEqual(e.times[-1], e.duration)
        self.assertGreater(e.times[-1], e.duration - 2.0)
        for seg in vinfringe.compare(_support.embedding("clip_a_copy.mp4"), e).segments:
            self.assertLessEqual(seg.query_end, e.duration + 1.0)  # seconds, not microseconds
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(e.timestamps, e.timestamps_us)

    def test_decoding_warnings(self) -> None:
        clean = _support.embedding("clip_a.mp4")
        self.assertEqual((clean.warnings, int(clean.warning_flags)), ([], 0))
        with _support.model().embed(_support.fixture("truncated_playable.mp4")) as cut:
            self.assertIn("truncated", cut.warnings)
            self.assertTrue(cut.warning_flags & vinfringe.EmbedWarning.TRUNCATED)
            with vinfringe.Embedding.from_bytes(cut.to_bytes()) as back:  # kept in the file
                self.assertEqual(back.warnings, cut.warnings)

    def test_fps_option_changes_sampling(self) -> None:
        m = _support.model()
        one = _support.embedding("clip_a.mp4")
        # 4 fps, capped at 5 frames: the frames are 0.25 s apart instead of 1 s.
        fast = m.embed(_support.fixture("clip_a.mp4"), fps=4.0, max_frames=5)
        self.assertEqual(fast.frame_count, 5)
        step_one = one.times[1] - one.times[0]
        step_fast = fast.times[1] - fast.times[0]
        self.assertAlmostEqual(step_one, 1.0, delta=0.06)
        self.assertAlmostEqual(step_fast, 0.25, delta=0.06)
        self.assertLess(fast.times[-1], one.times[-1])
        fast.close()

    def test_views_outlive_close(self) -> None:
        e = _support.model().embed(_support.fixture("clip_b.mp4"), max_frames=3)
        vv = e.video_vector
        before = vv.tolist()
        e.close()
        self.assertEqual(vv.tolist(), before)
        with self.assertRaises(vinfringe.InvalidArgumentError):
            e.to_bytes()

    def test_missing_video_raises_io_error(self) -> None:
        path = os.path.join(_support.fixtures_dir(), "no-such-clip.mp4")
        with self.assertRaises(vinfringe.VinfringeError) as ctx:
            _support.model().embed(path)
        self.assertEqual(ctx.exception.status, vinfringe.Status.IO)
        self.assertIn("no-such-clip.mp4", ctx.exception.message)

    def test_not_a_video_raises_decode_or_no_video(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "text.mp4")
            with open(path, "w", encoding="ascii") as f:
                f.write("this is plain text, not a video\n" * 100)
            with self.assertRaises(vinfringe.VinfringeError) as ctx:
                _support.model().embed(path)
        self.assertIn(ctx.exception.status, (vinfringe.Status.DECODE, vinfringe.Status.NO_VIDEO))
        self.assertIn("text.mp4", ctx.exception.message)

    def test_bad_fixture_files_are_rejected_with_a_status(self) -> None:
        expect = {
            "empty.mp4": {vinfringe.Status.DECODE, vinfringe.Status.NO_VIDEO,
                          vinfringe.Status.IO},
            "text.mp4": {vinfringe.Status.DECODE, vinfringe.Status.NO_VIDEO},
            "garbage.mp4": {vinfringe.Status.DECODE, vinfringe.Status.NO_VIDEO},
            "truncated.mp4": {vinfringe.Status.DECODE, vinfringe.Status.NO_VIDEO},
            "audio_only.m4a": {vinfringe.Status.NO_VIDEO},
            "dir.mp4": {vinfringe.Status.IO},
        }
        for name, statuses in expect.items():
            with self.subTest(name=name):
                with self.assertRaises(vinfringe.VinfringeError) as ctx:
                    _support.model().embed(os.path.join(_support.fixtures_dir(), name))
                self.assertIn(ctx.exception.status, statuses)
                self.assertIn(name, ctx.exception.message)
        # damaged but mostly decodable files give an embedding (damaged frames are skipped)
        with _support.model().embed(_support.fixture("damaged.mp4")) as e:
            self.assertGreaterEqual(e.frame_count, 1)

    def test_invalid_option_is_invalid_arg(self) -> None:
        with self.assertRaises(vinfringe.InvalidArgumentError) as ctx:
            _support.model().embed(_support.fixture("clip_a.mp4"), fps=-3.0)
        self.assertEqual(ctx.exception.status, vinfringe.Status.INVALID_ARG)
        self.assertIsInstance(ctx.exception, ValueError)

    def test_progress_reports_and_false_cancels(self) -> None:
        m = _support.model()
        calls: List[Tuple[float, float]] = []

        def record(done: float, total: float) -> None:
            calls.append((done, total))

        e = m.embed(_support.fixture("clip_a.mp4"), progress=record)
        self.assertTrue(calls)
        self.assertEqual([c[0] for c in calls], sorted(c[0] for c in calls))
        e.close()

        with self.assertRaises(vinfringe.CancelledError) as ctx:
            m.embed(_support.fixture("clip_a.mp4"), progress=lambda d, t: False)
        self.assertEqual(ctx.exception.status, vinfringe.Status.CANCELLED)

    def test_exception_in_progress_cancels_and_propagates(self) -> None:
        class Stop(Exception):
            pass

        def boom(done: float, total: float) -> bool:
            raise Stop("user stop")

        with self.assertRaises(Stop) as ctx:
            _support.model().embed(_support.fixture("clip_a.mp4"), progress=boom)
        self.assertIsInstance(ctx.exception.__cause__, vinfringe.CancelledError)

    def test_embed_frames_from_host_pixels(self) -> None:
        m = _support.model()
        w, h, n = 64, 48, 3
        frames = bytearray()
        for k in range(n):
            for y in range(h):
                for x in range(w):
                    frames += bytes(((x * 4 + k * 40) % 256, (y * 5) % 256, (x ^ y) % 256))
        pts = [0, 500_000, 1_000_000]
        e = m.embed_frames(bytes(frames), n, w, h, pts_us=pts)
        self.assertEqual(e.frame_count, n)
        self.assertEqual(list(e.timestamps_us), pts)
        self.assertEqual(list(e.times), [0.0, 0.5, 1.0])
        with m.embed_frames(bytes(frames), n, w, h, times=[0.0, 0.5, 1.0]) as by_seconds:
            self.assertEqual(by_seconds.timestamps_us, e.timestamps_us)
        with self.assertRaises(vinfringe.InvalidArgumentError):
            m.embed_frames(bytes(frames), n, w, h, times=[0, 1, 2], pts_us=pts)
        self.assertAlmostEqual(norm(e.video_vector), 1.0, places=3)
        # A writable buffer goes through without a copy and gives the same vectors.
        e2 = m.embed_frames(frames, n, w, h, pts_us=pts)
        self.assertEqual(e.frame_vectors.tobytes(), e2.frame_vectors.tobytes())
        with self.assertRaises(vinfringe.InvalidArgumentError):
            m.embed_frames(bytes(frames[:-1]), n, w, h)
        with self.assertRaises(vinfringe.InvalidArgumentError):
            m.embed_frames(bytes(frames), n, w, h, pts_us=[0])

    def test_threads_embed_concurrently_and_agree(self) -> None:
        m = _support.model()
        clip = _support.fixture("clip_b.mp4")
        with m.embed(clip, max_frames=3) as serial:
            ref = serial.frame_vectors.tobytes()
        results: List[bytes] = []
        errors: List[BaseException] = []

        def work() -> None:
            try:
                with m.embed(clip, max_frames=3) as e:
                    results.append(e.frame_vectors.tobytes())
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 3)
        for r in results:
            self.assertEqual(r, ref)

    @unittest.skipUnless(numpy is not None, "NumPy not installed")
    def test_numpy_arrays(self) -> None:
        e = _support.embedding("clip_a.mp4")
        v = e.video_array()
        f = e.frame_array()
        t = e.timestamps_us_array()
        secs = e.times_array()
        self.assertEqual(v.dtype, numpy.float32)
        self.assertEqual(f.shape, (e.frame_count, e.dim))
        self.assertFalse(f.flags.writeable)
        self.assertEqual(t.tolist(), list(e.timestamps_us))
        self.assertEqual(secs.dtype, numpy.float64)
        self.assertEqual(secs.tolist(), list(e.times))
        self.assertAlmostEqual(float(numpy.linalg.norm(v)), 1.0, places=3)
        self.assertTrue(numpy.allclose(numpy.linalg.norm(f, axis=1), 1.0, atol=1e-3))
        # host frames from a NumPy array
        rng = numpy.random.default_rng(7)
        img = rng.integers(0, 256, size=(2, 40, 56, 3), dtype=numpy.uint8)
        e2 = _support.model().embed_frames(img, 2, 56, 40)
        self.assertEqual(e2.frame_count, 2)


class TestPersistence(unittest.TestCase):
    def assertSameEmbedding(self, a: vinfringe.Embedding, b: vinfringe.Embedding) -> None:
        self.assertEqual(a.dim, b.dim)
        self.assertEqual(a.frame_count, b.frame_count)
        self.assertEqual(a.timestamps_us, b.timestamps_us)
        self.assertEqual(a.model_id, b.model_id)
        self.assertAlmostEqual(a.duration, b.duration, places=6)
        self.assertEqual(a.video_vector.tobytes(), b.video_vector.tobytes())
        self.assertEqual(a.frame_vectors.tobytes(), b.frame_vectors.tobytes())

    def test_bytes_round_trip(self) -> None:
        e = _support.embedding("clip_a.mp4")
        data = e.to_bytes()
        self.assertGreater(len(data), 40)
        with vinfringe.Embedding.from_bytes(data) as back:
            self.assertSameEmbedding(e, back)
        with vinfringe.Embedding.from_bytes(bytearray(data)) as back:
            self.assertSameEmbedding(e, back)

    def test_file_round_trip(self) -> None:
        e = _support.embedding("clip_b.mp4")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "b.vemb")
            e.save(path)
            with vinfringe.Embedding.load(path) as back:
                self.assertSameEmbedding(e, back)
            self.assertEqual(os.listdir(tmp), ["b.vemb"])  # no temporary left behind

    def test_corrupt_bytes_are_a_format_error(self) -> None:
        data = bytearray(_support.embedding("clip_a.mp4").to_bytes())
        data[len(data) // 2] ^= 0x55
        with self.assertRaises(vinfringe.FormatError) as ctx:
            vinfringe.Embedding.from_bytes(bytes(data))
        self.assertEqual(ctx.exception.status, vinfringe.Status.FORMAT)
        with self.assertRaises(vinfringe.FormatError):
            vinfringe.Embedding.from_bytes(b"")

    def test_load_missing_file(self) -> None:
        with self.assertRaises(vinfringe.IOFailureError) as ctx:
            vinfringe.Embedding.load(os.path.join(tempfile.gettempdir(), "vi-missing.vemb"))
        self.assertIn("vi-missing.vemb", ctx.exception.message)


class TestCompare(unittest.TestCase):
    def test_copy_scores_higher_than_unrelated(self) -> None:
        a = _support.embedding("clip_a.mp4")
        b = _support.embedding("clip_b.mp4")
        copy = _support.embedding("clip_a_copy.mp4")
        same = vinfringe.compare(copy, a)
        other = vinfringe.compare(b, a)
        self.assertGreater(same.score, other.score)
        self.assertGreater(same.video_similarity, other.video_similarity)
        for r in (same, other):
            self.assertGreaterEqual(r.score, 0.0)
            self.assertLessEqual(r.score, 1.0)
            self.assertGreaterEqual(r.video_similarity, -1.0001)
            self.assertLessEqual(r.video_similarity, 1.0001)
        for s in same.segments:  # whether a copy gets segments is the C tests' business
            self.assertIsInstance(s, vinfringe.Segment)
            self.assertLessEqual(s.query_start, s.query_end)
            self.assertLessEqual(s.ref_start, s.ref_end)
            self.assertLessEqual(s.score, 1.0001)

    def test_verdict_at_the_models_threshold_or_the_callers(self) -> None:
        m = _support.model()
        a = _support.embedding("clip_a.mp4")
        copy = _support.embedding("clip_a_copy.mp4")
        same = vinfringe.compare(copy, a)
        self.assertEqual(same.copy, same.score >= same.threshold)
        self.assertEqual(same.calibrated, m.calibrated)
        self.assertAlmostEqual(same.threshold, m.threshold, places=6)
        self.assertEqual(m.calibration_info != "", m.calibrated)
        strict = vinfringe.compare(copy, a, threshold=1.0)
        self.assertEqual(strict.threshold, 1.0)
        self.assertEqual(strict.score, same.score)
        self.assertEqual(strict.copy, same.score >= 1.0)
        with self.assertRaises(vinfringe.InvalidArgumentError):
            vinfringe.compare(copy, a, threshold=1.5)

    def test_self_comparison_and_no_localisation(self) -> None:
        a = _support.embedding("clip_a.mp4")
        r = vinfringe.compare(a, a)
        self.assertAlmostEqual(r.video_similarity, 1.0, places=4)
        self.assertGreaterEqual(len(r.segments), 1, "a video copies itself")
        for s in r.segments:
            self.assertIsInstance(s, vinfringe.Segment)
            self.assertLessEqual(s.query_start, s.query_end)
            self.assertGreaterEqual(s.query_end, 0.0)
            self.assertLessEqual(s.query_end, a.duration + 0.5)
            self.assertGreater(s.score, 0.5)
        flat = vinfringe.compare(a, a, localize=False)
        self.assertEqual(flat.segments, [])
        self.assertAlmostEqual(flat.video_similarity, r.video_similarity, places=6)

    def test_closed_embedding_is_rejected(self) -> None:
        e = vinfringe.Embedding.from_bytes(_support.embedding("clip_a.mp4").to_bytes())
        e.close()
        with self.assertRaises(vinfringe.InvalidArgumentError):
            vinfringe.compare(e, _support.embedding("clip_a.mp4"))


class TestIndex(unittest.TestCase):
    def test_add_search_save_load(self) -> None:
        a = _support.embedding("clip_a.mp4")
        b = _support.embedding("clip_b.mp4")
        copy = _support.embedding("clip_a_copy.mp4")
        with vinfringe.Index() as idx:
            self.assertEqual(len(idx), 0)
            idx.add("clip_a", a)
            idx.add("clip_b", b)
            self.assertEqual(len(idx), 2)
            self.assertEqual(idx.ids, ["clip_a", "clip_b"])
            self.assertEqual(idx.id(-1), "clip_b")
            self.assertEqual(list(idx), ["clip_a", "clip_b"])
            hits = idx.search(copy, k=2)
            self.assertEqual([h.id for h in hits][0], "clip_a")
            self.assertEqual(len(hits), 2)
            self.assertGreaterEqual(hits[0].score, hits[1].score)
            # the same comparison as compare() (segments); a calibrated score in a catalogue
            # also weighs the other references (docs/thresholds.md), so only an uncalibrated
            # one equals compare()'s
            direct = vinfringe.compare(copy, a)
            self.assertEqual(len(hits[0].match.segments), len(direct.segments))
            for x, y in zip(hits[0].match.segments, direct.segments):
                self.assertAlmostEqual(x.query_start, y.query_start, places=3)
                self.assertAlmostEqual(x.ref_end, y.ref_end, places=3)
            if not direct.calibrated:
                self.assertAlmostEqual(hits[0].score, direct.score, places=5)
            self.assertEqual(hits[0].match.copy, hits[0].score >= hits[0].match.threshold)
            self.assertAlmostEqual(hits[0].match.score, hits[0].score, places=6)
            self.assertEqual(len(idx.search(copy, k=1)), 1)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "refs.vidx")
                idx.save(path)
                with vinfringe.Index.load(path) as back:
                    self.assertEqual(back.ids, idx.ids)
                    again = back.search(copy, k=2)
                    self.assertEqual([h.id for h in again], [h.id for h in hits])
                    for x, y in zip(again, hits):
                        self.assertAlmostEqual(x.score, y.score, places=6)

    def test_on_disk_index_open_add_reopen(self) -> None:
        # Issue 17: the on-disk index of 0.2 (open, append, flush, kind, frame count,
        # candidates) from Python.
        a = _support.embedding("clip_a.mp4")
        b = _support.embedding("clip_b.mp4")
        copy = _support.embedding("clip_a_copy.mp4")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "refs.vidx")
            with vinfringe.Index.open(path) as idx:
                self.assertEqual(len(idx), 0)
                self.assertEqual(idx.kind, vinfringe.IndexKind.EXACT)
                idx.add("clip_a", a)
                self.assertEqual(idx.frame_count, a.frame_count)
                with self.assertRaises(vinfringe.IOFailureError):  # one writer at a time
                    vinfringe.Index.open(path)
                idx.add("clip_b", b)
                idx.flush()
                live = [(h.id, h.score) for h in idx.search(copy, k=2)]
            self.assertTrue(glob.glob(glob.escape(path) + "*.vec"))  # the data file beside it
            with vinfringe.Index.open(path, read_only=True) as back:
                self.assertEqual(back.ids, ["clip_a", "clip_b"])
                self.assertEqual(back.frame_count, a.frame_count + b.frame_count)
                self.assertEqual(back.kind, vinfringe.IndexKind.EXACT)
                self.assertEqual([(h.id, h.score) for h in back.search(copy, k=2)], live)
                with self.assertRaises(vinfringe.InvalidArgumentError):
                    back.add("clip_c", copy)  # read-only
            with vinfringe.Index.open(path) as again:  # appending after a reopen
                again.add("clip_a_copy", copy)
                self.assertEqual(len(again), 3)
            with vinfringe.Index() as mem:  # the same references in memory: same answers
                mem.add("clip_a", a)
                mem.add("clip_b", b)
                self.assertEqual([(h.id, round(h.score, 6)) for h in mem.search(copy, k=2)],
                                 [(i, round(s, 6)) for i, s in live])
            with self.assertRaises(vinfringe.IOFailureError):
                vinfringe.Index.open(os.path.join(tmp, "none.vidx"), read_only=True)
            self.assertFalse(os.path.exists(os.path.join(tmp, "none.vidx")))

    def test_index_options(self) -> None:
        a = _support.embedding("clip_a.mp4")
        b = _support.embedding("clip_b.mp4")
        t = _support.embedding("clip_vp8.webm")
        copy = _support.embedding("clip_a_copy.mp4")
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "refs.vidx")
            with vinfringe.Index.open(path, kind="exact") as idx:
                for name, e in (("clip_a", a), ("clip_b", b), ("clip_vp8", t)):
                    idx.add(name, e)
            full = vinfringe.Index.open(path, read_only=True)
            one = vinfringe.Index.open(path, read_only=True, candidates=1)
            with full, one:
                # candidates=1, k=1: one reference re-ranked by the full comparison (a search
                # compares max(candidates, k)); it is the copy.
                with_segments = [h for h in one.search(copy, k=1) if h.match.segments]
                self.assertEqual([h.id for h in with_segments], ["clip_a"])
                self.assertEqual(full.search(copy, k=1)[0].id, "clip_a")
                self.assertAlmostEqual(with_segments[0].score, full.search(copy, k=1)[0].score,
                                       places=6)
        with vinfringe.Index(kind=vinfringe.IndexKind.HNSW, effort=32) as hnsw:
            hnsw.add("clip_a", a)
            self.assertEqual(hnsw.search(copy, k=1)[0].id, "clip_a")
        with self.assertRaises(vinfringe.InvalidArgumentError):
            vinfringe.Index(kind="kdtree")
        with self.assertRaises(vinfringe.InvalidArgumentError):
            vinfringe.Index(effort=100000)

    def test_index_errors(self) -> None:
        with self.assertRaises(vinfringe.IOFailureError):
            vinfringe.Index.load(os.path.join(tempfile.gettempdir(), "vi-missing.vidx"))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "junk.vidx")
            with open(path, "wb") as f:
                f.write(b"VIINDEX\0" + b"\x01" * 100)
            with self.assertRaises(vinfringe.FormatError):
                vinfringe.Index.load(path)
        idx = vinfringe.Index()
        with self.assertRaises(IndexError):
            idx.id(0)
        idx.close()
        with self.assertRaises(vinfringe.InvalidArgumentError):
            len(idx)


class TestGlobals(unittest.TestCase):
    def test_set_threads_validates(self) -> None:
        vinfringe.set_threads(0)
        with self.assertRaises(vinfringe.InvalidArgumentError) as ctx:
            vinfringe.set_threads(-1)
        self.assertIn("-1", ctx.exception.message)

    def test_log_handler_install_and_remove(self) -> None:
        lines: List[Tuple[vinfringe.LogLevel, str]] = []
        vinfringe.set_log_handler(lambda level, msg: lines.append((level, msg)))
        try:
            with _support.model().embed(_support.fixture("clip_a.mp4"), max_frames=2) as e:
                self.assertEqual(e.frame_count, 2)
        finally:
            vinfringe.set_log_handler(None)
        for level, msg in lines:
            self.assertIsInstance(msg, str)
            self.assertIn(int(level), (0, 1, 2, 3))

    def test_ffmpeg_license_is_what_ffmpeg_reports(self) -> None:
        # The libavcodec this process loaded (the library's), asked directly through ctypes.
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = {line.split()[-1] for line in f if "/libavcodec.so" in line}
        self.assertEqual(len(paths), 1, paths)
        avcodec = ctypes.CDLL(paths.pop())
        avcodec.avcodec_license.restype = ctypes.c_char_p
        self.assertEqual(vinfringe.ffmpeg_license(), avcodec.avcodec_license().decode())
        self.assertRegex(vinfringe.ffmpeg_license(), r"^(L?GPL version [0-9.]+ or later|nonfree)")
        self.assertNotEqual(vinfringe.ffmpeg_version(), "")

    def test_error_string_form(self) -> None:
        err = vinfringe.VinfringeError(int(vinfringe.Status.DECODE), "x.mp4: bad")
        self.assertEqual(str(err), "[DECODE] x.mp4: bad")
        unknown = vinfringe.VinfringeError(99, "")
        self.assertEqual(unknown.status, 99)


class TestNoLeak(unittest.TestCase):
    """Create and drop many objects, with and without close(), and watch the RSS."""

    def cycle(self, rounds: int, data: bytes) -> None:
        m = _support.model()
        a = _support.embedding("clip_a.mp4")
        for i in range(rounds):
            e = vinfringe.Embedding.from_bytes(data)  # left to the garbage collector
            r = vinfringe.compare(e, a)
            self.assertGreater(r.score, 0.0)
            with vinfringe.Index() as idx:
                idx.add(f"ref-{i}", e)
                idx.add("a", a)
                self.assertEqual(len(idx.search(e, k=2)), 2)
            _ = e.to_bytes()
            if i % 150 == 0:  # the expensive path too: decode + CNN, half of them never closed
                f = m.embed(_support.fixture("clip_b.mp4"), max_frames=1)
                if i % 300 == 0:
                    f.close()
                g = m.embed_frames(bytes(32 * 32 * 3), 1, 32, 32)
                del f, g
            del e

    def test_rss_stays_flat(self) -> None:
        data = _support.embedding("clip_a_copy.mp4").to_bytes()
        self.cycle(300, data)  # warm up allocator pools, libtorch caches
        gc.collect()
        before = _support.rss_kib()
        self.cycle(1500, data)
        gc.collect()
        after = _support.rss_kib()
        grown = after - before
        print(f"\n[rss] before {before} KiB, after {after} KiB, grew {grown} KiB over 1500 rounds",
              flush=True)
        # An embedding of this clip is ~10 KB: leaking one per round would grow RSS by >= 15 MB.
        self.assertLess(grown, 8 * 1024)


if __name__ == "__main__":
    unittest.main()
