"""The Dask engine: ``dask.dataframe`` partitions and a worker plugin."""

import uuid

from distributed.diagnostics.plugin import WorkerPlugin

from ..utils._runtime import set_process_defaults
from ._core import apply_partition


def map_partitions(estimator, data, method, meta, owner):
    """``estimator.method`` over every partition of a Dask DataFrame/Series.

    The estimator is one literal key of the graph that every partition's
    task depends on: the scheduler sends it to each worker once and keeps
    it there, and a worker that dies takes nothing unrecoverable with it
    (the key is recomputed from the graph, where scattered data would be
    lost).
    """
    import dask

    name = f"skfusion-{type(estimator).__name__}-{uuid.uuid4().hex}"
    model = dask.delayed(estimator, name=name, traverse=False)
    return data.map_partitions(
        apply_partition, model, method, meta, owner, meta=meta,
        enforce_metadata=False, transform_divisions=False,
    )


class WorkerDefaults(WorkerPlugin):
    """Sets skfusion's process defaults on every worker, present and future."""

    name = "skfusion-worker-defaults"

    def __init__(self, n_threads=None, cache=None):
        self.n_threads = n_threads
        self.cache = cache

    def setup(self, worker):
        set_process_defaults(n_threads=self.n_threads, cache=self.cache)

    def teardown(self, worker):
        set_process_defaults()
