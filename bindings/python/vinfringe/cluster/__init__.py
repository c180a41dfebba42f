"""vinfringe.cluster: embed and serve a catalogue on a Dask cluster (docs/scaling.md).

Needs Dask's ``distributed`` (Debian: ``python3-distributed``) on the client and on every
worker, and the vinfringe package (the wheel, with its library) in every worker's environment.

    from vinfringe import batch, cluster

    with cluster.Session("tcp://10.0.0.5:8786") as s:          # or Session(local=2)
        report = cluster.embed(s, batch.collect(["refs/"]), "embeddings/")
        with cluster.Catalogue(s, "catalogue/", shards=4, writable=True) as cat:
            cat.add_inputs(batch.collect(["embeddings/"]))
        with cluster.Catalogue(s, "catalogue/") as cat, vinfringe.Model() as m:
            hits = cat.search(m.embed("upload.mp4"), k=5)

The command line: ``python3 -m vinfringe.cluster embed|add|search --scheduler ADDRESS ...``
(``--local N`` for a LocalCluster of N worker processes); ``--help`` for each.
"""

from ._client import (Catalogue, ClusterError, EmbedReport, Session, embed, output_path,
                      shard_file, shard_of)
from ._worker import ModelPlugin, ShardError, ShardServer

__all__ = ["Session", "ClusterError", "embed", "EmbedReport", "Catalogue", "shard_of",
           "shard_file", "output_path", "ModelPlugin", "ShardServer", "ShardError"]
