"""python3 -m vinfringe.cluster embed|add|search: the Dask side of `vinfringe`.

    python3 -m vinfringe.cluster embed  --scheduler tcp://HOST:8786 -o EMB_DIR VIDEO|DIR...
    python3 -m vinfringe.cluster add    --scheduler tcp://HOST:8786 --catalogue CAT \
        --shards S INPUT|DIR...
    python3 -m vinfringe.cluster search --scheduler tcp://HOST:8786 --catalogue CAT \
        [--top K] QUERY...

``--local N`` instead of ``--scheduler`` starts a LocalCluster of N worker processes on this
machine. ``--json`` prints the objects of ``vinfringe ... --json``. Inputs and ids follow the
command's rule (docs/cli.md, "Inputs and ids"). Exit status: 0 ok, 1 an error or a failed
input (the others are still done), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional, Sequence

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("cluster")
    one = where.add_mutually_exclusive_group(required=True)
    one.add_argument("--scheduler", metavar="ADDRESS",
                     help="the Dask scheduler, e.g. tcp://10.0.0.5:8786")
    one.add_argument("--local", metavar="N", type=int,
                     help="start a LocalCluster of N worker processes on this machine")
    where.add_argument("--timeout", metavar="S", type=float, default=10.0,
                       help="seconds to wait for the scheduler (default 10)")
    out = common.add_argument_group("output")
    out.add_argument("--json", action="store_true",
                     help="JSON objects on stdout, one per line, as `vinfringe --json`")
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    emb = common.add_argument_group("embedding (videos given as inputs or queries)")
    emb.add_argument("-m", "--model", metavar="M",
                     help="model file (.vimodel) on the workers' file system; default: built-in")
    emb.add_argument("--fps", type=float, default=0.0, help="frames sampled per second (1)")
    emb.add_argument("--max-frames", type=int, default=0, metavar="N",
                     help="stop after N sampled frames")
    emb.add_argument("--keyframes", action="store_true", help="decode keyframes only")
    emb.add_argument("--torch-threads", type=int, default=1, metavar="N",
                     help="libtorch threads per worker process (default 1: one per task)")
    inputs = argparse.ArgumentParser(add_help=False)
    grp = inputs.add_argument_group("inputs")
    grp.add_argument("--ext", metavar="LIST",
                     help="extensions taken from directories (default: the command's list; "
                          "'*': every file)")
    grp.add_argument("--id-from", metavar="FILE", help="lines ID<TAB>PATH: inputs with their ids")
    grp.add_argument("inputs", nargs="*", metavar="INPUT",
                     help="videos, embeddings (.vemb) or directories")

    p = argparse.ArgumentParser(prog="python3 -m vinfringe.cluster",
                                description="Embed and search a video catalogue on a Dask "
                                            "cluster.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    e = sub.add_parser("embed", parents=[common, inputs],
                       help="embed every input into DIR/ID.vemb (resumable)",
                       description="Embed every video into OUT_DIR/ID.vemb, one task per file; "
                                   "outputs already there are kept (a rerun resumes).")
    e.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="where the .vemb go")
    a = sub.add_parser("add", parents=[common, inputs],
                       help="add references to a sharded catalogue",
                       description="Add every input (video or .vemb) to the sharded catalogue "
                                   "CAT under its id (created with --shards S).")
    a.add_argument("--catalogue", required=True, metavar="CAT", help="the catalogue's folder")
    a.add_argument("--shards", type=int, metavar="S",
                   help="number of shards of a new catalogue (an existing one keeps its own)")
    a.add_argument("--kind", choices=["auto", "exact", "hnsw", "ivfpq"],
                   help="how each shard searches its frame vectors (default auto)")
    s = sub.add_parser("search", parents=[common],
                       help="search a sharded catalogue",
                       description="The references of the catalogue each QUERY most likely "
                                   "copies, over all shards.")
    s.add_argument("--catalogue", required=True, metavar="CAT", help="the catalogue's folder")
    s.add_argument("-k", "--top", type=int, default=10, metavar="K", help="results per query")
    s.add_argument("--candidates", type=int, default=0, metavar="N",
                   help="references re-ranked by the full comparison, per shard (default 20)")
    s.add_argument("queries", nargs="+", metavar="QUERY", help="videos or embeddings (.vemb)")
    return p


def _err(msg: str) -> None:
    print(f"vinfringe.cluster: error: {msg}", file=sys.stderr)


def _progress(quiet: bool, json_out: bool):  # type: ignore[no-untyped-def]
    def show(rec: Dict[str, Any], done: int, total: int) -> None:
        if json_out:
            print(json.dumps(rec), flush=True)
        if quiet:
            return
        what = ("failed: " + rec["error"] if "error" in rec else
                "kept (done before)" if rec.get("skipped") else
                f"{rec.get('frames', 0)} frames, {rec.get('duration', 0.0):.2f} s")
        print(f"vinfringe.cluster: [{done}/{total}] {rec['id']}: {what}", file=sys.stderr,
              flush=True)

    return show


def _collect(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from vinfringe import batch  # noqa: PLC0415

    exts: Any = args.ext if args.ext else batch.DEFAULT_EXTENSIONS
    return batch.collect(args.inputs, extensions=exts, id_list=args.id_from)


def _embed_opts(args: argparse.Namespace) -> Dict[str, Any]:
    return {"model": args.model, "fps": args.fps, "max_frames": args.max_frames,
            "keyframes_only": args.keyframes, "torch_threads": args.torch_threads}


def _run_embed(session: Any, args: argparse.Namespace) -> int:
    from . import embed  # noqa: PLC0415

    inputs = _collect(args)
    report = embed(session, inputs, args.output, on_record=_progress(args.quiet, args.json),
                   **_embed_opts(args))
    summary = {"output": args.output, "embedded": len(report.embedded),
               "skipped": len(report.skipped), "failed": len(report.failed)}
    if args.json:
        print(json.dumps(summary), flush=True)
    elif not args.quiet:
        print(f"{args.output}: {summary['embedded']} embedded, {summary['skipped']} kept, "
              f"{summary['failed']} failed")
    return EXIT_ERROR if report.failed else EXIT_OK


def _run_add(session: Any, args: argparse.Namespace) -> int:
    from . import Catalogue  # noqa: PLC0415

    inputs = _collect(args)
    with Catalogue(session, args.catalogue, shards=args.shards, writable=True,
                   kind=args.kind) as cat:
        added, failed = cat.add_inputs(inputs, on_record=_progress(args.quiet, False),
                                       **_embed_opts(args))
        shards = cat.info()
    entries = sum(s["entries"] for s in shards)
    if args.json:
        print(json.dumps({
            "index": args.catalogue, "entries": entries, "added": len(added),
            "kind": ",".join(sorted({s["kind"] for s in shards})),
            "inputs": [{"id": r["id"], "path": r["input"], "frames": r["frames"],
                        "duration": r["duration"], "warnings": r["warnings"]} for r in added],
            "failed": [{"id": r["id"], "path": r["input"], "error": r["error"]}
                       for r in failed],
            "shards": [{k: s[k] for k in ("shard", "path", "entries", "frames", "kind")}
                       for s in shards]}), flush=True)
    elif not args.quiet:
        skipped = f" ({len(failed)} inputs skipped)" if failed else ""
        print(f"{args.catalogue}: {entries} entries ({len(added)} added) in "
              f"{len(shards)} shards{skipped}")
    return EXIT_ERROR if failed else EXIT_OK


def _print_hits(query: str, hits: List[Dict[str, Any]]) -> None:
    print(f"query {query}")
    if not hits:
        print("  (no results)")
        return
    print(f"  {'rank':>4}  {'score':<7}  id")
    for rank, h in enumerate(hits, 1):
        print(f"  {rank:4d}  {h['score']:.4f}   {h['id']}")
        if h["segments"]:
            print(f"          {'query (s)':<23} {'reference (s)':<23} score")
            for s in h["segments"]:
                print(f"          {s['query_start']:9.2f} - {s['query_end']:<9.2f}   "
                      f"{s['ref_start']:9.2f} - {s['ref_end']:<9.2f}   {s['score']:.4f}")


def _run_search(session: Any, args: argparse.Namespace) -> int:
    from vinfringe import batch  # noqa: PLC0415

    from . import Catalogue, ClusterError  # noqa: PLC0415
    from ._worker import embed_bytes  # noqa: PLC0415

    rc = EXIT_OK
    with Catalogue(session, args.catalogue, candidates=args.candidates) as cat:
        opts = _embed_opts(args)
        name = None
        if not all(batch.is_embedding_file(q) for q in args.queries):
            name = session.load_model(opts["model"], opts["torch_threads"])
        options = {k: opts[k] for k in ("fps", "max_frames", "keyframes_only")}
        import os  # noqa: PLC0415

        futures = [session.client.submit(embed_bytes, name or "", q, os.path.abspath(q),
                                         options, pure=False) for q in args.queries]
        for q, fut in zip(args.queries, futures):
            rec, data = fut.result()
            fut.release()
            if data is None:
                rc = EXIT_ERROR
                _report_failed(args, q, rec["error"])
                continue
            try:
                if cat.model_id is not None and rec["model_id"] != cat.model_id:
                    raise ClusterError(f"the query is of the model '{rec['model_id']}', the "
                                       f"catalogue {args.catalogue} holds '{cat.model_id}'")
                hits = cat.search(data, args.top)
            except ClusterError as exc:
                rc = EXIT_ERROR
                _report_failed(args, q, str(exc))
                continue
            if args.json:
                print(json.dumps({"query": q, "warnings": rec["warnings"], "results": hits}),
                      flush=True)
            else:
                _print_hits(q, hits)
    return rc


def _report_failed(args: argparse.Namespace, query: str, message: str) -> None:
    if args.json:
        print(json.dumps({"query": query, "error": message}), flush=True)
    _err(f"{query}: {message}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "inputs", None) == [] and not getattr(args, "id_from", None):
        parser.error(f"{args.command}: no inputs (give files, directories or --id-from FILE)")
    try:
        import distributed  # noqa: F401, PLC0415
    except ImportError as exc:
        _err(f"Dask's distributed package is not installed ({exc}); on Debian: "
             "apt-get install python3-distributed")
        return EXIT_ERROR
    try:
        import vinfringe  # noqa: PLC0415
        from vinfringe import batch  # noqa: PLC0415

        from . import ClusterError, Session  # noqa: PLC0415
    except ImportError as exc:
        _err(str(exc))
        return EXIT_ERROR
    runners = {"embed": _run_embed, "add": _run_add, "search": _run_search}
    try:
        with Session(args.scheduler, args.local, timeout=args.timeout) as session:
            if not args.quiet and session.dashboard_link:
                print(f"vinfringe.cluster: dashboard {session.dashboard_link}", file=sys.stderr)
            return runners[args.command](session, args)
    except batch.DuplicateIdError as exc:
        _err(exc.message)
        return EXIT_USAGE
    except (ClusterError, vinfringe.VinfringeError, OSError) as exc:
        _err(exc.message if isinstance(exc, vinfringe.VinfringeError) else str(exc))
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
