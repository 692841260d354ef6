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

    See Also
    --------
    predict : The same for an estimator's predictions.
    setup_workers : Thread budget and a shared cache on every worker.

    Examples
    --------
    A scaler over two partitions; on a table larger than memory,
    ``dd.read_parquet`` the rows in and ``.to_parquet`` the result out.

    >>> import dask.dataframe as dd, pandas as pd
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skfusion.distributed import transform
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.0, 1.0, 0.0, 1.0]})
    >>> scaled = transform(StandardScaler().fit(frame), dd.from_pandas(frame, npartitions=2))
    >>> scaled.npartitions, list(scaled.columns)
    (2, ['a', 'b'])
    >>> scaled.compute()["a"].round(2).tolist()
    [-1.34, -0.45, 0.45, 1.34]
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

    See Also
    --------
    transform : The same for a transformer's features.
    skfusion.multitask.MultiTaskKerasEstimator.get_output_meta : A
        multi-task model's output columns.

    Examples
    --------
    >>> import dask.dataframe as dd, pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skfusion.distributed import predict
    >>> frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    >>> clf = LogisticRegression().fit(frame, [0, 0, 1, 1])
    >>> scores = predict(clf, dd.from_pandas(frame, npartitions=2), method="predict_proba")
    >>> list(scores.columns), scores.compute().shape
    (['proba_0', 'proba_1'], (4, 2))
    >>> predict(clf, dd.from_pandas(frame, npartitions=2)).compute()["prediction"].tolist()
    [0, 0, 1, 1]
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

    See Also
    --------
    skfusion.utils.thread_budget : The threads a model may use in a process.
    skfusion.utils.SharedCache : A cache workers of other users share.
    model_loads : The model loads in a process.

    Examples
    --------
    An in-process cluster of one worker; on a real one, run a grid search
    in ``with joblib.parallel_backend("dask"):`` once the workers are set
    up. Closing the cluster takes the defaults away again.

    >>> from distributed import Client
    >>> from skfusion.distributed import setup_workers
    >>> from skfusion.utils import thread_budget
    >>> with Client(processes=False, n_workers=1, threads_per_worker=1,
    ...             dashboard_address=None) as client:
    ...     setup_workers(client, n_threads=2)
    ...     budgets = client.run(thread_budget)
    >>> list(budgets.values())
    [2]
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
