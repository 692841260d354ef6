"""Encode and predict tables larger than one machine's memory, partition by
partition, on Dask (``dask.dataframe``) or Ray Data.

Nothing here schedules, retries or moves data itself: the engines do. What
skfusion adds is what they cannot know: the output's columns and dtypes,
declared from the fitted estimator (no made-up rows that would load the
model on the client), one loaded model per worker process whatever the
number of partitions or copies, thread counts that follow the worker's
budget, and empty partitions handled.

* :func:`transform`: a fitted encoder, ``ColumnTransformer`` or
  ``EarlyFusion*`` over every partition; named feature columns out.
* :func:`predict`: any fitted skfusion or scikit-learn estimator's
  ``predict``, ``predict_proba``, ``predict_log_proba`` or
  ``decision_function``; one column per task of a multi-task model.
* :func:`setup_workers`: thread budget and a shared embedding cache on
  every Dask worker, so a grid search run through ``joblib`` on the
  ``dask`` backend encodes each distinct text once across the cluster.
* :func:`model_loads`: the loads in this process (ask each worker with
  ``client.run(model_loads)``).

Both calls are lazy: they return a Dask collection or a Ray ``Dataset``;
``.to_parquet(...)`` / ``.write_parquet(...)`` writes partition by
partition without collecting anything on the client.
"""

from ..utils._optional import import_optional
from ..utils._runtime import model_loads
from ._core import output_meta

__all__ = ["model_loads", "predict", "setup_workers", "transform"]


def transform(transformer, data, *, columns=None, dtype=None):
    """Apply a fitted transformer to every partition of ``data``.

    Parameters
    ----------
    transformer : fitted transformer
        A :class:`~skfusion.encoders.TextEncoder` or
        :class:`~skfusion.encoders.ImageEncoder`, an ``EarlyFusion*``, a
        ``ColumnTransformer`` or any fitted scikit-learn transformer with
        dense output. It is sent to each worker once; an encoder's model
        loads once per worker process.

    data : dask.dataframe.DataFrame, dask.dataframe.Series or ray.data.Dataset
        The rows, with the columns the transformer was fitted on (others
        are dropped where it knows its ``feature_names_in_``).

    columns : list of str or None, default=None
        Output column names; None takes ``get_feature_names_out()``.

    dtype : dtype or None, default=None
        Output dtype; None takes the transformer's own (``float32`` for
        skfusion's encoders, else ``float64``).

    Returns
    -------
    out : dask.dataframe.DataFrame or ray.data.Dataset
        Lazy; one named column per feature, the input's index and
        partitions (Dask).

    Examples
    --------
    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> from skfusion.distributed import transform
    >>> reviews = dd.read_parquet("reviews/")  # doctest: +SKIP
    >>> embeddings = transform(encoder, reviews[["Review Text"]])  # doctest: +SKIP
    >>> embeddings.to_parquet("embeddings/")  # doctest: +SKIP
    """
    return _run(transformer, data, "transform", columns, dtype, "skfusion.distributed.transform")


def predict(estimator, data, *, method="predict", columns=None, dtype=None):
    """Predict every partition of ``data`` with a fitted estimator.

    Parameters
    ----------
    estimator : fitted estimator
        Any skfusion or scikit-learn estimator (a fitted
        ``LateFusionClassifier``, a ``Pipeline``, a
        ``MultiTaskKerasEstimator``, ...). It is sent to each worker once.

    data : dask.dataframe.DataFrame or ray.data.Dataset
        The rows, with the columns the estimator was fitted on.

    method : {"predict", "predict_proba", "predict_log_proba", \
            "decision_function"}, default="predict"
        The method to call on each partition.

    columns : list of str or None, default=None
        Output column names. None: ``prediction`` (``prediction_<j>`` per
        output of a multi-label or multi-output model), ``proba_<class>``,
        ``log_proba_<class>``, ``decision_<class>`` (``decision`` for a
        binary classifier); a multi-task model's own columns (one per task
        for ``predict``, ``<task>_<class>`` for ``predict_proba``).

    dtype : dtype or None, default=None
        Output dtype. None: the classes' dtype for a classifier's
        ``predict``, else ``float64``.

    Returns
    -------
    out : dask.dataframe.DataFrame or ray.data.Dataset
        Lazy; the input's index and partitions (Dask).

    Examples
    --------
    >>> from skfusion.distributed import predict
    >>> scores = predict(fusion, dd.read_parquet("reviews/"),  # doctest: +SKIP
    ...                  method="predict_proba")
    >>> scores.to_parquet("scores/")  # doctest: +SKIP
    """
    return _run(estimator, data, method, columns, dtype, "skfusion.distributed.predict")


def setup_workers(client, *, n_threads=None, cache=None):
    """Give every worker of a Dask cluster skfusion's defaults.

    Registered as a worker plugin, so workers that join later (or restart
    after a failure) get them too.

    Parameters
    ----------
    client : distributed.Client
        The cluster's client.

    n_threads : int or None, default=None
        Threads each model may use on a worker, for estimators whose
        ``n_threads`` is None. None follows ``OMP_NUM_THREADS``, which
        Dask's nanny sets to 1; give a worker's ``nthreads`` share of its
        cores when tasks run one at a time.

    cache : str, path-like, SharedCache or None, default=None
        An embedding cache directory every worker can reach (a shared
        file system on a real cluster), for encoders whose ``cache`` is
        None. Workers claim the texts they encode and wait for those another
        worker is encoding, so a grid search encodes each distinct text once
        across the cluster. A directory of the user's own, as every cache;
        where workers run as other users, a
        :class:`~skfusion.utils.SharedCache`, whose entries they
        authenticate with a key each worker holds.

    Examples
    --------
    >>> import joblib  # doctest: +SKIP
    >>> from distributed import Client
    >>> from skfusion.distributed import setup_workers
    >>> from skfusion.utils import SharedCache
    >>> client = Client(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> setup_workers(client, cache=SharedCache("/shared/embeddings"))  # doctest: +SKIP
    >>> with joblib.parallel_backend("dask"):  # doctest: +SKIP
    ...     search.fit(X, y)
    """
    from ._dask import WorkerDefaults

    client.register_plugin(WorkerDefaults(n_threads=n_threads, cache=cache))


def _run(estimator, data, method, columns, dtype, owner):
    meta = output_meta(estimator, method, columns=columns, dtype=dtype, owner=owner)
    if _is_ray_dataset(data):
        from ._ray import map_batches

        _check_columns(estimator, data.schema().names, owner)
        return map_batches(estimator, data, method, meta, owner)
    if _is_dask(data):
        from ._dask import map_partitions

        if hasattr(data, "columns"):  # a Series is handed over whole
            _check_columns(estimator, list(data.columns), owner)
        return map_partitions(estimator, data, method, meta, owner)
    raise TypeError(
        f"{owner}: data must be a dask.dataframe DataFrame or Series or a "
        f"ray.data.Dataset, got {type(data).__name__}; for data in memory call "
        f"the estimator's own {method}."
    )


def _check_columns(estimator, names, owner):
    """Before any partition runs: the columns the estimator was fitted on."""
    features = getattr(estimator, "feature_names_in_", None)
    if features is None:
        return
    missing = [str(c) for c in features if c not in set(names)]
    if missing:
        raise ValueError(
            f"{owner}: data lacks the column(s) {missing} that "
            f"{type(estimator).__name__} was fitted on; it has {list(map(str, names))}."
        )


def _is_dask(data):
    module = type(data).__module__
    if not module.startswith("dask"):
        return False
    dd = import_optional("dask.dataframe", owner="skfusion.distributed")
    return isinstance(data, (dd.DataFrame, dd.Series))


def _is_ray_dataset(data):
    if not type(data).__module__.startswith("ray"):
        return False
    ray_data = import_optional("ray.data", owner="skfusion.distributed")
    return isinstance(data, ray_data.Dataset)
