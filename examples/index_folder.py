#!/usr/bin/env python3
"""index_folder.py - fingerprint every video in a folder, save the index, search it.

    pip install --no-build-isolation bindings/python      # or PYTHONPATH=bindings/python
    python3 index_folder.py FOLDER QUERY [QUERY...]

The index is saved as FOLDER/.vinfringe.vidx and reused on the next run (new files are added).
Set VINFRINGE_LIBRARY=/path/to/libvinfringe.so if the library is not installed system-wide.
"""

import os
import sys

import vinfringe

VIDEO_EXTENSIONS = (".mp4", ".mkv", ".webm", ".mov", ".avi", ".ts", ".m4v")


def build_index(model: vinfringe.Model, folder: str) -> vinfringe.Index:
    path = os.path.join(folder, ".vinfringe.vidx")
    index = vinfringe.Index.load(path) if os.path.exists(path) else vinfringe.Index()
    known = set(index.ids)
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith(VIDEO_EXTENSIONS) or name in known:
            continue
        try:
            # `with` frees the C embedding right away; the index keeps its own copy.
            with model.embed(os.path.join(folder, name)) as emb:
                index.add(name, emb)
            print(f"indexed  {name} ({emb.frame_count} frames)")
        except vinfringe.VinfringeError as err:  # damaged or not a video: skip it
            print(f"skipped  {name}: {err.message} [{err.status.name}]", file=sys.stderr)
    index.save(path)
    return index


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    folder, queries = sys.argv[1], sys.argv[2:]
    with vinfringe.Model() as model, build_index(model, folder) as index:
        print(f"{len(index)} videos in the index")
        for query in queries:
            with model.embed(query) as emb:
                hits = index.search(emb, k=3)
            print(f"\n{query}:")
            for hit in hits:  # best first
                spans = ", ".join(f"{s.query_start:.1f}-{s.query_end:.1f}s"
                                  for s in hit.match.segments) or "-"
                print(f"  {hit.score:.4f}  {hit.id:30s}  copied spans: {spans}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
