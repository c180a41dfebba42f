"""Training a head from Python on real clips: options, callbacks, cancellation, save + load."""

from __future__ import annotations

import math
import os
import tempfile
import unittest
from typing import List

import vinfringe

import _support

# Small enough to run in seconds: few frames, two views, a few pairs per step.
SMALL = dict(seed=7, max_frames=6, views=2, batch_pairs=8, max_negatives=64)


class TestTrainer(unittest.TestCase):
    def test_train_save_load_embed(self) -> None:
        base = _support.model()
        with vinfringe.Trainer(base, **SMALL) as t:
            self.assertEqual(len(t), 0)
            t.add_video(_support.fixture("clip_a.mp4"))
            t.add_video(_support.fixture("clip_b.mp4"), group=-1)
            self.assertEqual(t.video_count, 2)
            seen: List[vinfringe.TrainLosses] = []
            history = t.run(2, on_epoch=seen.append)
            self.assertEqual([h.epoch for h in history], [1, 2])
            self.assertEqual(seen, history)
            for h in history:
                self.assertTrue(math.isfinite(h.total))
                self.assertGreaterEqual(h.steps, 1)
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "trained.vimodel")
                t.save(path)
                with vinfringe.Model(path) as trained:
                    self.assertEqual(trained.dim, base.dim)
                    self.assertEqual(trained.feature_dim, base.feature_dim)
                    with trained.embed(_support.fixture("clip_a.mp4"), max_frames=2) as e:
                        self.assertEqual(e.model_id, trained.id)
                        self.assertEqual(e.dim, trained.dim)

    def test_errors_and_cancellation(self) -> None:
        base = _support.model()
        with self.assertRaises(vinfringe.InvalidArgumentError):
            vinfringe.Trainer(base, views=99)
        with vinfringe.Trainer(base, **SMALL) as t:
            with self.assertRaises(vinfringe.InvalidArgumentError):
                t.run(1)  # no videos yet
            with self.assertRaises(vinfringe.InvalidArgumentError):
                t.add_video(_support.fixture("clip_a.mp4"), group=-5)
            with self.assertRaises(vinfringe.VinfringeError) as ctx:
                t.add_video(os.path.join(_support.fixtures_dir(), "text.mp4"))
            self.assertIn(ctx.exception.status,
                          (vinfringe.Status.DECODE, vinfringe.Status.NO_VIDEO))
            self.assertEqual(t.video_count, 0)  # unchanged on failure
            t.add_video(_support.fixture("clip_a.mp4"))
            t.add_video(_support.fixture("clip_b.mp4"))
            with self.assertRaises(vinfringe.CancelledError):
                t.run(5, on_epoch=lambda losses: False)

            class Stop(Exception):
                pass

            def boom(losses: vinfringe.TrainLosses) -> None:
                raise Stop()

            with self.assertRaises(Stop) as stop:
                t.run(5, on_epoch=boom)
            self.assertIsInstance(stop.exception.__cause__, vinfringe.CancelledError)

    def test_model_closed_before_trainer_stays_alive_for_it(self) -> None:
        m = vinfringe.Model()
        t = vinfringe.Trainer(m, **SMALL)
        m.close()  # deferred: the trainer still needs the backbone
        self.assertTrue(m.closed)
        with self.assertRaises(vinfringe.InvalidArgumentError):
            m.embed(_support.fixture("clip_a.mp4"))
        t.add_video(_support.fixture("clip_a.mp4"))  # still works
        self.assertEqual(t.video_count, 1)
        t.close()
        self.assertIsNone(m._handle)  # released with the last trainer


if __name__ == "__main__":
    unittest.main()
