"""Task heads: per task kind, how the targets are encoded for Keras, the
output layer, loss and metric, and how outputs become predictions again.
The Keras objects of uncertainty weighting are in ``_layers``.
"""

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from ..keras._base import layer_tag, target_array
from ..utils._fitting import check_indicator, check_two_classes

#: the task kinds, in the order error messages list them
KINDS = ("binary", "multiclass", "multilabel", "regression")


class _Head:
    """One task: its Y column(s), target encoding, output layer and score.

    Subclasses set the Keras side (``activation``, ``loss``, ``metric``) and
    implement ``_fit``, ``encode``, ``decode`` and ``proba``.
    """

    kind = None
    is_classifier = True
    #: Kendall et al.'s factor on exp(-s) * loss: 1/2 for a Gaussian
    #: likelihood (regression), 1 for a softmax/sigmoid likelihood
    uncertainty_factor = 1.0

    def __init__(self, owner, name, columns, on=None):
        self.owner = owner
        self.name = name
        self.columns = columns
        self.on = on

    @property
    def column_list(self):
        """The Y columns of the task, as a list."""
        return list(self.columns) if isinstance(self.columns, list) else [self.columns]

    def fit(self, Y):
        """Learn the target encoding from ``Y`` (the whole multi-task Y)."""
        self._fit(self.select(Y))
        return self

    def select(self, Y):
        """The task's targets out of ``Y``, with a clear error when a column
        is missing."""
        missing = [c for c in self.column_list if c not in Y.columns]
        if missing:
            fix = (
                f"add it to Y or name the task's column with tasks={{{self.name!r}: "
                f"({self.kind!r}, <column>)}}"
                if len(self.column_list) == 1
                else "add them to Y or fix the task's columns"
            )
            raise ValueError(
                f"{self.owner}: Y has no column {missing[0]!r} for task {self.name!r}"
                f" ({self.kind}; Y has columns {list(Y.columns)}); {fix}."
            )
        return Y[self.columns]

    def _check_no_missing(self, y):
        n_missing = int(pd.isna(y).sum())
        if n_missing:
            raise ValueError(
                f"{self.owner}: task {self.name!r} ({self.kind}) has {n_missing} "
                f"missing value(s) (NaN/None) in column {self.columns!r}; drop "
                "or impute those rows of X and Y before fitting."
            )

    def score(self, y_true, output, sample_weight=None):
        """The task's default score: accuracy, or R² for regression."""
        return float(accuracy_score(np.asarray(y_true), self.decode(output),
                                    sample_weight=sample_weight))

    def output_columns(self):
        """Columns of ``predict``'s DataFrame for this task."""
        return self.column_list

    def layer_name(self, index):
        """The name of the task's output layer."""
        return layer_tag(f"task{index}", self.name)


class _LabelHead(_Head):
    """A task with one label column (binary or multiclass)."""

    def _fit(self, y):
        self._check_no_missing(y)
        self.classes_ = np.unique(np.asarray(y))
        check_two_classes(self.owner, self.classes_,
                          where=f"task {self.name!r} ({self.kind}), column {self.columns!r},",
                          fix="drop the task or fit on rows with at least two classes")

    def _indices(self, y):
        y = np.asarray(y)
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        unseen = self.classes_[idx] != y
        if unseen.any():
            raise ValueError(
                f"{self.owner}: task {self.name!r} has label(s) "
                f"{np.unique(y[unseen]).tolist()} not seen in fit (classes "
                f"{self.classes_.tolist()})."
            )
        return idx

    def decode(self, output):
        return self.classes_[np.argmax(self.proba(output), axis=1)]


class BinaryHead(_LabelHead):
    """Two classes: one sigmoid unit and binary cross-entropy."""

    kind = "binary"
    activation = "sigmoid"
    loss = "binary_crossentropy"
    metric = "binary_accuracy"

    def _fit(self, y):
        super()._fit(y)
        if len(self.classes_) > 2:
            raise ValueError(
                f"{self.owner}: task {self.name!r} is binary but column "
                f"{self.columns!r} has {len(self.classes_)} classes "
                f"{self.classes_.tolist()[:10]}. Only binary classification is "
                "supported by a binary task; declare it 'multiclass'."
            )

    @property
    def units(self):
        return 1

    def encode(self, y):
        return self._indices(y).astype("float32").reshape(-1, 1)

    def proba(self, output):
        p = np.asarray(output, dtype=np.float64).reshape(-1)
        return np.column_stack([1.0 - p, p])


class MulticlassHead(_LabelHead):
    """Any number of classes: softmax and (sparse) categorical cross-entropy."""

    kind = "multiclass"
    activation = "softmax"
    loss = "sparse_categorical_crossentropy"
    metric = "sparse_categorical_accuracy"

    @property
    def units(self):
        return len(self.classes_)

    def encode(self, y):
        return self._indices(y).astype("int32")

    def proba(self, output):
        return np.asarray(output, dtype=np.float64)


class MultilabelHead(_Head):
    """Several 0/1 label columns: one sigmoid unit each, binary cross-entropy."""

    kind = "multilabel"
    activation = "sigmoid"
    loss = "binary_crossentropy"
    metric = "binary_accuracy"

    def _fit(self, Y):
        self._check_no_missing(Y.to_numpy())
        check_indicator(self.owner, Y, where=f"multilabel task {self.name!r}",
                        fix="binarize its labels (e.g. with MultiLabelBinarizer)")
        self.n_labels_ = Y.shape[1]

    @property
    def units(self):
        return self.n_labels_

    def encode(self, Y):
        return np.asarray(Y, dtype="float32")

    def proba(self, output):
        return np.asarray(output, dtype=np.float64)

    def decode(self, output):
        return (self.proba(output) > 0.5).astype(int)


class RegressionHead(_Head):
    """A numeric target: standardised in fit, a linear unit and MSE."""

    kind = "regression"
    is_classifier = False
    activation = "linear"
    loss = "mean_squared_error"
    metric = "mean_absolute_error"
    uncertainty_factor = 0.5

    def _fit(self, y):
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{self.owner}: task {self.name!r} is a regression target but column "
                f"{self.columns!r} is not numeric ({exc}); declare it 'binary' or "
                "'multiclass', or convert it to numbers."
            ) from exc
        if not np.isfinite(y).all():
            n_bad = int((~np.isfinite(y)).sum())
            raise ValueError(
                f"{self.owner}: task {self.name!r} (regression) has {n_bad} NaN or "
                f"infinite value(s) in column {self.columns!r}; drop or impute "
                "those rows of X and Y before fitting."
            )
        # standardised targets keep the regression loss on the scale of the
        # classification losses, so loss weights mean the same for any unit
        self.mean_ = float(y.mean())
        self.scale_ = float(y.std()) or 1.0

    @property
    def units(self):
        return 1

    def encode(self, y):
        y = np.asarray(y, dtype=np.float64)
        return ((y - self.mean_) / self.scale_).astype("float32").reshape(-1, 1)

    def decode(self, output):
        return np.asarray(output, dtype=np.float64).reshape(-1) * self.scale_ + self.mean_

    def score(self, y_true, output, sample_weight=None):
        return float(r2_score(np.asarray(y_true, dtype=np.float64), self.decode(output),
                              sample_weight=sample_weight))


HEADS = {
    "binary": BinaryHead,
    "multiclass": MulticlassHead,
    "multilabel": MultilabelHead,
    "regression": RegressionHead,
}


def parse_tasks(owner, tasks, branches=()):
    """The heads described by ``tasks``, validated (not yet fitted).

    ``tasks`` maps a task name to its kind, or to ``(kind, columns)`` or
    ``(kind, columns, on)``: ``columns`` are the task's Y column(s) (default:
    the column named like the task), ``on`` the ``inputs`` branch the head
    also reads (default: the shared trunk only).
    """
    if not isinstance(tasks, dict) or not tasks:
        raise ValueError(
            f"{owner}: tasks must be a non-empty dict {{name: kind}} or {{name: "
            f"(kind, columns)}}, got {tasks!r}."
        )
    heads = []
    for name, spec in tasks.items():
        kind, columns, on = _unpack_task(owner, name, spec)
        if kind not in HEADS:
            raise ValueError(
                f"{owner}: task {name!r} has unknown kind {kind!r}; expected one of "
                f"{', '.join(map(repr, KINDS))}."
            )
        if columns is None:
            if kind == "multilabel":
                raise ValueError(
                    f"{owner}: multilabel task {name!r} needs its 0/1 label columns: "
                    f"tasks={{{name!r}: ('multilabel', ['label_a', 'label_b'])}}."
                )
            columns = name
        if kind == "multilabel":
            if isinstance(columns, str) or not isinstance(columns, (list, tuple)) or not columns:
                raise ValueError(
                    f"{owner}: multilabel task {name!r} names its label columns as a "
                    f"non-empty list, got {columns!r}."
                )
            columns = list(columns)
        elif isinstance(columns, (list, tuple)):
            raise ValueError(
                f"{owner}: {kind} task {name!r} has one Y column, got {columns!r}; "
                "only a multilabel task names several columns."
            )
        if on is not None and on not in branches:
            where = (f"one of the inputs branches {list(branches)}" if branches
                     else "an inputs branch, but inputs is None")
            raise ValueError(
                f"{owner}: task {name!r} puts its head on {on!r}, which must be "
                f"{where}; fix the task's third element or add the branch."
            )
        heads.append(HEADS[kind](owner, name, columns, on))
    seen = {}
    for head in heads:
        for column in head.column_list:
            if column in seen:
                raise ValueError(
                    f"{owner}: tasks {seen[column]!r} and {head.name!r} both read Y "
                    f"column {column!r}; give each task its own column(s)."
                )
            seen[column] = head.name
    return heads


def single_task_frame(owner, heads, y):
    """A single task's 1-D targets (array, list or Series) as the one-column
    DataFrame its head selects from; a clear error for several tasks, a
    multilabel task or a y of several columns."""
    if len(heads) != 1 or heads[0].kind == "multilabel":
        raise ValueError(
            f"{owner}: Y must be a pandas DataFrame with one column per task "
            f"(a multilabel task: one per label), got {type(y).__name__}; build "
            "it with pandas.DataFrame({task: values, ...}). Only a model with a "
            "single binary, multiclass or regression task takes a 1-D y."
        )
    head = heads[0]
    y = target_array(y, owner, expected=f"1-D, the targets of task {head.name!r}")
    if y.ndim == 2 and y.shape[1] != 1:
        raise ValueError(
            f"{owner}: task {head.name!r} ({head.kind}) takes one column of "
            f"targets, a 1-D y, but y has shape {y.shape}; pass that task's "
            "column alone, or Y as a DataFrame with one column per task of tasks."
        )
    y = column_or_1d(y, warn=True)
    if head.is_classifier:
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                f"{owner}: Unknown label type: {kind} y for task {head.name!r} "
                f"({head.kind}), which needs class labels; give class labels, or "
                "declare the task 'regression' for numeric targets."
            )
    return pd.DataFrame({head.columns: y})


def _unpack_task(owner, name, spec):
    if isinstance(spec, str):
        return spec, None, None
    if isinstance(spec, tuple) and 1 <= len(spec) <= 3:
        return (*spec, None, None)[:3]
    raise ValueError(
        f"{owner}: task {name!r} must be a kind (str) or a tuple (kind, columns) "
        f"or (kind, columns, branch), got {spec!r}."
    )


def check_loss_weights(owner, loss_weights, heads):
    """Fixed loss weights as a list in task order, or the string
    ``"uncertainty"``."""
    names = [head.name for head in heads]
    if loss_weights is None or isinstance(loss_weights, str):
        return [1.0] * len(heads) if loss_weights is None else loss_weights
    unknown = [name for name in loss_weights if name not in names]
    if unknown:
        raise ValueError(
            f"{owner}: loss_weights names task(s) {unknown} that are not in tasks "
            f"({names}); use the task names (tasks without a weight get 1.0)."
        )
    weights = [loss_weights.get(name, 1.0) for name in names]
    for name, weight in zip(names, weights):
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.number)) \
                or not np.isfinite(weight) or weight < 0:
            raise ValueError(
                f"{owner}: loss_weights[{name!r}] must be a finite number >= 0, got "
                f"{weight!r}."
            )
    if sum(weights) == 0:
        raise ValueError(
            f"{owner}: loss_weights are all zero ({dict(zip(names, weights))}); give "
            "at least one task a positive weight."
        )
    return [float(w) for w in weights]
