#!/usr/bin/env python3
"""index_folder.py - fingerprint every video under a folder into an on-disk index, search it.

    make wheel && python3 -m venv venv
    venv/bin/pip install --no-index build/wheel/vinfringe-*.whl
    venv/bin/python examples/index_folder.py FOLDER QUERY [QUERY...]

The index is FOLDER/.vinfringe.vidx (with .vinfringe.vidx.vec beside it). Each video is
committed as it is added, so a rerun (or a run after a crash) adds only the new files. Ids follow
the command's rule: the path below FOLDER without extension (season1/ep01.mp4 -> season1/ep01).
A damaged file is skipped with a warning. Times are printed in seconds.
"""

import os
import sys

import vinfringe
from vinfringe import batch


def update_index(model: vinfringe.Model, index: vinfringe.Index, folder: str) -> None:
    known = set(index.ids)
    new = [item for item in batch.collect([folder]) if item.id not in known]

    def progress(done: int, total: int, item: batch.Input) -> None:
        print(f"[{done + 1}/{total}] {item.id}", file=sys.stderr)

    report = batch.add_to_index(index, model, new, keep_going=True, progress=progress)
    for item, err in report.failed:  # damaged or not a video: skipped, the rest is indexed
        print(f"skipped  {item.path}: {err.message} [{err.status.name}]", file=sys.stderr)
    print(f"{len(index)} videos in the index ({len(report.added)} new, "
          f"{index.frame_count} indexed seconds, {index.kind.name.lower()} search)")


def main() -> int:
    if len(sys.argv) < 3:
        print("usage: " + __doc__.strip().splitlines()[4].strip(), file=sys.stderr)
        return 2
    folder, queries = sys.argv[1], sys.argv[2:]
    with vinfringe.Model() as model, \
            vinfringe.Index.open(os.path.join(folder, ".vinfringe.vidx")) as index:
        update_index(model, index, folder)
        for query in queries:
            # `with` frees the C embedding right away.
            with model.embed(query) as emb:
                hits = index.search(emb, k=3)
            print(f"\n{query}:")
            for hit in hits:  # best first
                spans = ", ".join(f"{s.query_start:.1f}-{s.query_end:.1f}s" for s in
                                  hit.match.segments) or "-"
                print(f"  {hit.score:.4f}  {hit.id:30s}  copied spans: {spans}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
