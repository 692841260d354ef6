"""The Ray engine: ``ray.data.Dataset.map_batches`` with a callable class,
so each actor deserialises the estimator (and loads its model) once."""

from ..utils._optional import import_optional
from ._core import apply_partition


class _Apply:
    """One actor's copy of the estimator, applied to every batch it gets."""

    def __init__(self, estimator, method, meta, owner):
        import ray

        # the object store's copy, fetched once per actor
        self.estimator = ray.get(estimator) if isinstance(estimator, ray.ObjectRef) else estimator
        self.method = method
        self.meta = meta
        self.owner = owner

    def __call__(self, batch):
        out = apply_partition(batch, self.estimator, self.method, self.meta, self.owner)
        return out.reset_index(drop=True)


def map_batches(estimator, data, method, meta, owner):
    """``estimator.method`` over every batch of a Ray Dataset.

    The estimator is put in Ray's object store once and handed to each
    actor's constructor; a pool of up to one actor per CPU of the cluster, each taking one
    CPU (Ray sets its ``OMP_NUM_THREADS`` to match, which the encoders
    follow). Ray Data keeps the input's row order only with
    ``DataContext.get_current().execution_options.preserve_order = True``.
    """
    ray = import_optional("ray", owner=owner)
    import_optional("ray.data", owner=owner)
    if not ray.is_initialized():
        ray.init()
    actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
    return data.map_batches(
        _Apply,
        fn_constructor_args=(ray.put(estimator), method, meta, owner),
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=actors),
        num_cpus=1,
    )
