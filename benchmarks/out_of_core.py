"""Out of core: a parquet table three times larger than the cluster's memory,
scored by a fitted ``LateFusionClassifier`` to parquet on a ``LocalCluster``.

The table is the bundled reviews (text and five tabular columns) repeated
until its in-memory size (pandas ``memory_usage(deep=True)``) is at least
``--factor`` (3) times the workers' total ``memory_limit`` (2 workers x
1 GiB), written as parquet parts of ``--part-rows`` rows without ever being
whole in this process. ``skfusion.distributed.predict`` then reads it,
scores each partition on the workers and writes parquet; this process only
builds the graph and counts what came back (from the parquet footers).

Printed: the table's size against the memory limit, the time and rows/s,
each worker's peak resident memory (``ru_maxrss``), whether any worker was
killed (its process id changed), and a check that every row was written
once and that two partitions equal the in-process ``predict_proba``.

Run: ``python benchmarks/out_of_core.py`` (about 6 minutes on 2 cores and
1 GB of disk).

Measured by the session of 2026-12-06 (closing note, stop 14) on 2 x86_64
cores, CPU only (Python 3.11.7, scikit-learn 1.9.1, pandas 3.1.1,
dask/distributed 2026.8.0): 17,600,000 rows in 176 parquet parts, 6.03 GiB
in memory (3.01x the workers' 2 x 1 GiB), scored to parquet in 259 s
(67,900 rows/s); peak resident memory per worker 591 and 620 MiB, no worker
killed, the client's peak 686 MiB; every row written once, the first and
last partitions bit-identical to in-process ``predict_proba``.

"""

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this file's folder comes first on sys.path, where
# distributed.py beside it would stand in for Dask's own ``distributed``
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.append(str(HERE))

from _reviews_model import TABULAR, TEXT, fusion_model

GIB = 1024 ** 3


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_table(X, target_bytes, part_rows, directory):
    """Parts of ``part_rows`` rows until their in-memory size reaches
    ``target_bytes``; returns (rows, in-memory bytes, parts)."""
    import numpy as np
    import pandas as pd

    directory.mkdir()
    rng = np.random.default_rng(0)
    rows = size = parts = 0
    while size < target_bytes:
        part = X.iloc[rng.integers(0, len(X), part_rows)]
        part = part.set_axis(pd.RangeIndex(rows, rows + part_rows), axis=0)
        size += int(part.memory_usage(deep=True).sum())
        part.to_parquet(directory / f"part.{parts:04d}.parquet")
        rows += part_rows
        parts += 1
    return rows, size, parts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit-gib", type=float, default=1.0)
    parser.add_argument("--factor", type=float, default=3.0)
    parser.add_argument("--part-rows", type=int, default=100_000)
    args = parser.parse_args()

    import dask.dataframe as dd
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq
    import sklearn
    from distributed import Client, LocalCluster

    import skfusion
    from skfusion.datasets import load_clothing_reviews
    from skfusion.distributed import predict

    print(f"skfusion {skfusion.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")
    X, y = load_clothing_reviews(return_X_y=True)
    X = X[[TEXT, *TABULAR]]
    model = fusion_model(X, y)
    limit = args.workers * args.memory_limit_gib * GIB
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        start = time.perf_counter()
        rows, size, parts = write_table(X, args.factor * limit, args.part_rows, tmp / "rows")
        print(f"table: {rows:,} rows in {parts} parquet parts, {size / GIB:.2f} GiB in memory "
              f"= {size / limit:.2f} x the workers' {limit / GIB:.0f} GiB; "
              f"written in {time.perf_counter() - start:.0f} s")
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          memory_limit=f"{args.memory_limit_gib}GiB",
                          dashboard_address=None) as cluster, Client(cluster) as client:
            pids = client.run(os.getpid)
            start = time.perf_counter()
            scores = predict(model, dd.read_parquet(tmp / "rows"), method="predict_proba")
            scores.to_parquet(tmp / "scores")
            seconds = time.perf_counter() - start
            peaks = client.run(peak_rss_mib)
            restarted = pids != client.run(os.getpid)
        written = sum(pq.ParquetFile(f).metadata.num_rows for f in (tmp / "scores").glob("*.parquet"))
        first = pd.read_parquet(tmp / "scores" / "part.0.parquet")
        last = pd.read_parquet(sorted((tmp / "scores").glob("*.parquet"))[-1])
        exact = all(
            np.array_equal(got.to_numpy(), model.predict_proba(_rows_of(tmp / "rows", got.index)))
            for got in (first, last)
        )
        print(f"scored {written:,} rows ({'every row once' if written == rows else 'MISMATCH'}) "
              f"in {seconds:.0f} s: {rows / seconds:,.0f} rows/s")
        print("peak resident memory per worker: "
              + ", ".join(f"{p:.0f} MiB" for p in peaks.values())
              + f" (limit {args.memory_limit_gib:.1f} GiB each)")
        print(f"workers killed: {'yes' if restarted else 'none'}; "
              f"first and last partitions equal the in-process predict_proba: {exact}")
        print(f"this process: peak {peak_rss_mib():.0f} MiB")


def _rows_of(directory, index):
    """The input rows with these index labels, read part by part."""
    import pandas as pd

    found = []
    for path in sorted(directory.glob("*.parquet")):
        part = pd.read_parquet(path)
        hit = part.index.intersection(index)
        if len(hit):
            found.append(part.loc[hit])
    return pd.concat(found).loc[index]


if __name__ == "__main__":
    main()
