"""vinfringe.batch: the command's id rule for folders, id lists and duplicates (issue 17)."""

from __future__ import annotations

import os
import tempfile
import unittest
from typing import List

import vinfringe
from vinfringe import batch

import _support


def tree(root: str, files: List[str], target: str) -> None:
    """Make each relative path of `files` under `root` a link to the fixture `target`."""
    for rel in files:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        os.symlink(target, path)


class TestCollect(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name
        self.clip = _support.fixture("clip_a.mp4")

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def test_directory_ids_are_paths_below_it_without_extension(self) -> None:
        d = os.path.join(self.tmp, "lib")
        tree(d, ["season1/ep01.mp4", "season2/ep01.mp4", "top.MKV", "notes.txt",
                 ".hidden/x.mp4", ".dot.mp4", "season1/ep02.final.webm"], self.clip)
        got = batch.collect([d])
        self.assertEqual([i.id for i in got],
                         ["season1/ep01", "season1/ep02.final", "season2/ep01", "top"])
        self.assertEqual(got[0].path, os.path.join(d, "season1", "ep01.mp4"))
        # every file, whatever its extension, with "*"
        self.assertIn("notes", [i.id for i in batch.collect([d], extensions="*")])
        self.assertEqual([i.id for i in batch.collect([d], extensions="webm,.MKV")],
                         ["season1/ep02.final", "top"])

    def test_file_named_directly_gets_its_base_name(self) -> None:
        d = os.path.join(self.tmp, "x")
        tree(d, ["season1/ep01.mp4", "other/clip.tar.mp4"], self.clip)
        got = batch.collect([os.path.join(d, "season1", "ep01.mp4"),
                             os.path.join(d, "other", "clip.tar.mp4"), "missing/movie.mkv"])
        self.assertEqual([i.id for i in got], ["ep01", "clip.tar", "movie"])

    def test_duplicate_ids_are_refused_before_any_work(self) -> None:
        # Issue 17: season1/ep01.mp4 and season2/ep01.mp4 both became "ep01" silently.
        d = os.path.join(self.tmp, "lib")
        tree(d, ["season1/ep01.mp4", "season2/ep01.mp4"], self.clip)
        a, b = (os.path.join(d, s, "ep01.mp4") for s in ("season1", "season2"))
        with self.assertRaises(batch.DuplicateIdError) as ctx:
            batch.collect([a, b])
        self.assertIn(a, ctx.exception.message)
        self.assertIn(b, ctx.exception.message)
        self.assertEqual(ctx.exception.id, "ep01")
        self.assertIsInstance(ctx.exception, ValueError)
        # their common parent gives unique ids
        self.assertEqual([i.id for i in batch.collect([d])], ["season1/ep01", "season2/ep01"])

    def test_id_list(self) -> None:
        tree(self.tmp, ["clips/a.mp4", "clips/b.mp4"], self.clip)
        lst = os.path.join(self.tmp, "ids.tsv")
        with open(lst, "w", encoding="utf-8") as f:
            f.write("# id<TAB>path\n\nfirst\tclips/a.mp4\nsecond\t"
                    + os.path.join(self.tmp, "clips", "b.mp4") + "\n")
        got = batch.collect([], id_list=lst)
        self.assertEqual([(i.id, i.path) for i in got],
                         [("first", os.path.join(self.tmp, "clips/a.mp4")),
                          ("second", os.path.join(self.tmp, "clips", "b.mp4"))])
        with open(lst, "a", encoding="utf-8") as f:
            f.write("no tab here\n")
        with self.assertRaises(vinfringe.InvalidArgumentError) as ctx:
            batch.collect([], id_list=lst)
        self.assertIn(":5: expected ID<TAB>PATH", ctx.exception.message)

    def test_empty_directory_and_no_inputs(self) -> None:
        with self.assertRaises(vinfringe.InvalidArgumentError) as ctx:
            batch.collect([self.tmp])
        self.assertIn("no file with the extensions", ctx.exception.message)
        with self.assertRaises(vinfringe.InvalidArgumentError):
            batch.collect([])


class TestAddToIndex(unittest.TestCase):
    def test_keep_going_skips_a_damaged_file_and_ids_already_held_are_refused(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "refs")
            os.makedirs(d)
            for name in ("clip_a.mp4", "clip_b.mp4"):
                os.symlink(_support.fixture(name), os.path.join(d, name))
            # a truncated file FFmpeg cannot open
            os.symlink(_support.fixture("truncated.mp4"), os.path.join(d, "damaged.mp4"))
            emb = os.path.join(d, "vp8.vemb")  # an embedding file is read, not decoded
            _support.embedding("clip_vp8.webm").save(emb)
            inputs = batch.collect([d])
            self.assertEqual([i.id for i in inputs], ["clip_a", "clip_b", "damaged", "vp8"])
            m = _support.model()
            with vinfringe.Index() as idx:
                seen: List[str] = []
                report = batch.add_to_index(idx, m, inputs, keep_going=True,
                                            progress=lambda done, total, i: seen.append(i.id))
                self.assertEqual(report.added, ["clip_a", "clip_b", "vp8"])
                self.assertEqual([(i.id, type(e)) for i, e in report.failed],
                                 [("damaged", vinfringe.DecodeError)])
                self.assertEqual(seen, ["clip_a", "clip_b", "damaged", "vp8"])
                self.assertEqual(idx.ids, ["clip_a", "clip_b", "vp8"])
                # an id the index holds: refused before anything is embedded
                seen.clear()
                with self.assertRaises(batch.DuplicateIdError) as ctx:
                    batch.add_to_index(idx, m, inputs[:1] + inputs[3:], progress=lambda *a:
                                       seen.append("called"))
                self.assertIn("which the index already holds", ctx.exception.message)
                self.assertEqual(seen, [])
            with vinfringe.Index() as idx:  # without keep_going the damaged file stops it
                with self.assertRaises(vinfringe.DecodeError):
                    batch.add_to_index(idx, m, inputs)
                self.assertEqual(idx.ids, ["clip_a", "clip_b"])


if __name__ == "__main__":
    unittest.main()
