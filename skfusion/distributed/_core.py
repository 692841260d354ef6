"""What a partition of any engine goes through: the output's columns and
dtypes, declared from the fitted estimator without running it, and one
pandas partition in, one pandas frame out."""

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

#: column-name prefix of each prediction method's outputs
PREFIXES = {
    "predict": "prediction",
    "predict_proba": "proba",
    "predict_log_proba": "log_proba",
    "decision_function": "decision",
    "transform": None,
}


def _fitted(estimator, owner):
    try:
        check_is_fitted(estimator)
    except Exception as exc:  # NotFittedError, or a TypeError for a non-estimator
        raise ValueError(
            f"{owner}: the estimator must be fitted first (fit it in-process, or with "
            f"a distributed GridSearchCV); got an unfitted {type(estimator).__name__}."
        ) from exc


def output_meta(estimator, method, *, columns=None, dtype=None, owner):
    """An empty DataFrame with the columns and dtypes ``method`` gives.

    Declared from fitted attributes (``get_feature_names_out``,
    ``classes_``), never by running the model on made-up rows, which would
    load it on the client. ``columns`` and ``dtype`` override.
    """
    _fitted(estimator, owner)
    if not hasattr(estimator, method):
        raise ValueError(
            f"{owner}: {type(estimator).__name__} has no method {method!r}; "
            f"expected one of {[m for m in PREFIXES if hasattr(estimator, m)]}."
        )
    # an estimator whose output is not one array (multi-task: a frame, a
    # dict of arrays) declares its columns itself
    own = getattr(estimator, "get_output_meta", None)
    if columns is None and own is not None:
        meta = own(method)
        return meta if dtype is None else meta.astype(dtype)
    if columns is None:
        columns = _default_columns(estimator, method, owner)
    columns = [str(c) for c in columns]
    if dtype is None:
        dtype = _default_dtype(estimator, method)
    return pd.DataFrame({c: pd.Series([], dtype=dtype) for c in columns})


def _default_columns(estimator, method, owner):
    if method == "transform":
        if not hasattr(estimator, "get_feature_names_out"):
            raise ValueError(
                f"{owner}: {type(estimator).__name__} has no get_feature_names_out, so "
                "the output columns cannot be named without running it; pass columns=."
            )
        return list(estimator.get_feature_names_out())
    prefix = PREFIXES[method]
    classes = getattr(estimator, "classes_", None)
    if isinstance(classes, list):  # multi-output: one array of classes per output
        if method == "predict":
            return [f"{prefix}_{j}" for j in range(len(classes))]
        return [name for j, c in enumerate(classes)
                for name in ([f"{prefix}_{j}"] if len(c) <= 2 else [f"{prefix}_{j}_{k}" for k in c])]
    outputs = _n_outputs(estimator)
    if outputs > 1 and classes is None:  # multi-output regressor
        return [f"{prefix}_{j}" for j in range(outputs)]
    if classes is None:
        return [prefix]
    if _multilabel(estimator):  # classes_ are the label indices
        return [f"{prefix}_{c}" for c in classes]
    if method == "predict":
        return [prefix]
    if method == "decision_function" and len(classes) == 2:
        return [prefix]
    return [f"{prefix}_{c}" for c in classes]


def _n_outputs(estimator):
    outputs = getattr(estimator, "n_outputs_", 1)
    return outputs if isinstance(outputs, int) else 1


def _multilabel(estimator):
    """Whether a classifier with one ``classes_`` array was fitted on a 0/1
    label matrix, from public fitted attributes: ``multilabel_``
    (OneVsRestClassifier), or more than one output (``n_outputs_``: skfusion's
    fusion and Keras classifiers, MLPClassifier)."""
    if getattr(estimator, "multilabel_", False):
        return True
    return _n_outputs(estimator) > 1 and isinstance(getattr(estimator, "classes_", None), np.ndarray)


def _default_dtype(estimator, method):
    if method == "transform":
        preserves = estimator.__sklearn_tags__().transformer_tags
        preserves = preserves.preserves_dtype if preserves is not None else ["float64"]
        return np.dtype(preserves[0]) if len(preserves) == 1 else np.dtype("float64")
    classes = getattr(estimator, "classes_", None)
    if method != "predict" or not is_classifier(estimator) or classes is None:
        return np.dtype("float64")
    if isinstance(classes, list):  # every output's labels in one column type
        classes = np.concatenate(classes)
    elif _multilabel(estimator):
        return np.dtype("int64")
    # what pandas makes of the labels: str for strings in pandas 3
    return pd.Series(classes).dtype


def _per_output(out, classes, method):
    """A multi-output ``predict_proba`` list as columns: an output with two
    classes (or one) gives the probability of its last (positive) class,
    any other output one column per class."""
    columns = []
    for proba, labels in zip(out, classes):
        proba = np.asarray(proba)
        if len(labels) > 2:
            columns.append(proba)
        elif len(labels) == 2:
            columns.append(proba[:, 1:])
        else:
            # one class seen in fit: it is the positive one unless it is 0/False
            positive = float(labels[0] not in (0, False))
            value = positive if method == "predict_proba" else np.log(positive)
            columns.append(np.full((len(proba), 1), value))
    return np.hstack(columns)


def apply_partition(frame, estimator, method, meta, owner, partition_info=None):
    """``estimator.method`` on one pandas partition, as a frame like ``meta``.

    An empty partition gives an empty frame without calling the model (many
    estimators refuse zero rows); the index is the partition's. Dask fills
    in ``partition_info`` (the partition's number), which names a partition
    that lacks a fitted column although its collection has it.
    """
    if len(frame) == 0:
        return meta.set_axis(frame.index[:0], axis=0)
    features = getattr(estimator, "feature_names_in_", None)
    if features is not None and isinstance(frame, pd.DataFrame):
        missing = [c for c in features if c not in frame.columns]
        if missing:
            where = (f"partition {partition_info['number']}" if partition_info
                     else f"a batch of {len(frame)} rows")
            raise ValueError(
                f"{owner}: {where} lacks the column(s) {missing} that "
                f"{type(estimator).__name__} was fitted on (it has "
                f"{list(frame.columns)}); give every partition the columns of the "
                "collection."
            )
        frame = frame[list(features)]
    out = getattr(estimator, method)(frame)
    if isinstance(out, pd.DataFrame):
        return _conform(out.set_axis(frame.index, axis=0), meta, owner)
    if isinstance(out, dict):  # per task (multi-task predict_proba)
        out = np.column_stack([np.asarray(v).reshape(len(frame), -1) for v in out.values()])
    elif isinstance(out, list):  # per output (multi-output predict_proba)
        out = _per_output(out, estimator.classes_, method)
    if sparse.issparse(out):
        raise TypeError(
            f"{owner}: {type(estimator).__name__}.{method} returned a sparse matrix; "
            "the distributed output is dense columns. Reduce it first (for "
            "example TruncatedSVD after a TfidfVectorizer)."
        )
    out = np.asarray(out).reshape(len(frame), -1)
    if out.shape[1] != meta.shape[1]:
        raise ValueError(
            f"{owner}: {type(estimator).__name__}.{method} gave {out.shape[1]} "
            f"column(s), expected {meta.shape[1]} ({list(meta.columns)}); pass "
            "columns= to name them."
        )
    return pd.DataFrame(
        {c: pd.Series(out[:, j], index=frame.index).astype(meta.dtypes.iloc[j])
         for j, c in enumerate(meta.columns)},
        index=frame.index,
    )


def _conform(out, meta, owner):
    if list(out.columns) != list(meta.columns):
        raise ValueError(
            f"{owner}: the estimator gave columns {list(out.columns)}, expected "
            f"{list(meta.columns)}."
        )
    return out.astype(dict(meta.dtypes))
