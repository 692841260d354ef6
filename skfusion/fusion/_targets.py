"""Targets of late fusion and stacking: how y is encoded for the members,
how a member's raw output becomes a block of scores aligned with the
target, how voting fuses the blocks and scores them, and how fused scores
become predictions again.

One small object per kind of target (as multi-task learning has a head per
task), so the estimators never ask which kind they hold.
"""

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array

from ..utils._fitting import check_indicator, check_two_classes, n_outputs

# log-loss of a probability of exactly 0 is infinite
_LOG_EPS = 1e-15


def label_target(owner, y):
    """The target object for class labels ``y``: :class:`LabelTarget`, or
    :class:`MultilabelTarget` for a 2-D 0/1 indicator.

    Raises a clear error, naming ``owner``, for targets no classifier fusion
    can take.
    """
    check_y_present(owner, y)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        from sklearn.utils.validation import column_or_1d

        y = column_or_1d(y, warn=True)
    # integer labels in one column are binary or multiclass, which fusion
    # treats alike: type_of_target would only spend time to say which
    if y.ndim == 1 and y.dtype.kind in "biu":
        y_type = "multiclass"
    else:
        y_type = type_of_target(y, input_name="y")
    if y_type in ("unknown", "continuous", "continuous-multioutput"):
        raise ValueError(
            f"{owner}: Unknown label type: {y_type}. y must hold class labels (or a "
            "0/1 indicator matrix for multi-label); for a continuous target use "
            f"{owner.replace('Classifier', 'Regressor')}."
        )
    if y.ndim == 2:
        # what type_of_target calls multiclass-multioutput is refused here
        check_indicator(owner, y)
        return MultilabelTarget(y)
    target = LabelTarget(y)
    check_two_classes(owner, target.classes_)
    return target


class LabelTarget:
    """Binary or multiclass labels, encoded as ``0 .. n_classes - 1``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels of y, sorted.
    le_ : LabelEncoder
        Encodes them (what ``le_`` of the estimators exposes).
    y_ : ndarray of shape (n_samples,)
        y encoded: what the members are fitted on.
    """

    multilabel = False

    def __init__(self, y):
        # what LabelEncoder().fit_transform does, in one pass over y
        classes, self.y_ = np.unique(y, return_inverse=True)
        self.le_ = LabelEncoder()
        self.le_.classes_ = self.classes_ = classes

    @property
    def n_outputs(self):
        return len(self.classes_)

    def block(self, estimator, raw, n_rows, method, *, prefit):
        """A member's raw ``method`` output as a float block: probabilities
        (or decision values) in the columns of ``classes_``, or the predicted
        label's code in one column for ``"predict"``.

        A member fitted here on the codes (not ``prefit``) knows its classes
        as codes; a prefit member knows the original labels.
        """
        if method == "predict" and not hasattr(estimator, "classes_"):
            # a regressor stacked for an ordinal target: its values as they are
            return np.asarray(raw, dtype=float).reshape(n_rows, -1)
        if method == "predict":
            labels = np.asarray(raw).reshape(n_rows)
            codes = self.le_.transform(labels) if prefit else labels.astype(int)
            return codes.astype(float).reshape(n_rows, 1)
        raw = np.asarray(raw, dtype=float)
        if method == "decision_function" and (raw.ndim == 1 or raw.shape[1] == 1):
            # binary decision values: one column, whatever the classes
            return raw.reshape(n_rows, 1)
        member_classes = getattr(estimator, "classes_", np.arange(raw.shape[1]))
        positions = (
            np.searchsorted(self.classes_, member_classes)
            if prefit
            else np.asarray(member_classes, dtype=int)
        )
        out = np.zeros((n_rows, self.n_outputs))
        out[:, positions] = raw
        return out

    def one_hot(self, codes):
        """``(n_members, n_samples, 1)`` label codes as one-hot votes (NaN
        stays NaN)."""
        codes = codes[..., 0]
        votes = np.zeros((*codes.shape, self.n_outputs))
        known = ~np.isnan(codes)
        votes[known, codes[known].astype(int)] = 1.0
        votes[~known] = np.nan
        return votes

    def fuse(self, scores, weights, combine):
        """Weighted fusion of ``(n_members, n_samples, n_classes)`` scores
        into normalised ``(n_samples, n_classes)`` probabilities."""
        fused = combine(scores, weights)
        return fused / fused.sum(axis=1, keepdims=True)

    def loss(self, fused, y, sample_weight, *, hard=False):
        """Log loss of fused probabilities (Brier score of fused votes)."""
        if hard:
            per_row = ((fused - np.eye(fused.shape[1])[y]) ** 2).sum(axis=1)
        else:
            per_row = -np.log(np.clip(fused[np.arange(len(y)), y], _LOG_EPS, None))
        return np.average(per_row, weights=sample_weight)

    def decode(self, fused):
        """Labels of the most probable class."""
        return self.classes_[np.argmax(fused, axis=1)]

    def decode_codes(self, codes):
        """Labels of the codes a final estimator predicts."""
        return self.le_.inverse_transform(np.asarray(codes).astype(int))

    def user_y(self, y_codes):
        """Codes back to the labels a user's scorer compares against."""
        return self.classes_[y_codes]


class MultilabelTarget:
    """A 0/1 indicator matrix, one column per label, fused label by label.

    Attributes
    ----------
    classes_ : ndarray of shape (n_labels,)
        ``arange(n_labels)``.
    y_ : ndarray of shape (n_samples, n_labels)
        y as integers.
    """

    multilabel = True
    le_ = None

    def __init__(self, y):
        self.y_ = np.asarray(y).astype(int)
        self.classes_ = np.arange(self.y_.shape[1])

    @property
    def n_outputs(self):
        return len(self.classes_)

    def block(self, estimator, raw, n_rows, method, *, prefit):
        """``(n_rows, n_labels)``: the probability of each label (from one
        ``(n, n_classes_j)`` array per label, as trees give), its decision
        value or its 0/1 prediction."""
        if isinstance(raw, list):
            raw = _positive_proba(raw, getattr(estimator, "classes_", None))
        raw = np.asarray(raw, dtype=float)
        if raw.shape != (n_rows, self.n_outputs):
            raise ValueError(
                f"a member's {method} returned shape {raw.shape} for multi-label y "
                f"with {self.n_outputs} labels; expected ({n_rows}, {self.n_outputs})."
            )
        return raw

    def one_hot(self, votes):
        return votes

    def fuse(self, scores, weights, combine):
        """Each label's probability fused as a two-class distribution."""
        m, n, n_labels = scores.shape
        pairs = np.stack([1.0 - scores, scores], axis=-1).reshape(m, n * n_labels, 2)
        fused = combine(pairs, np.repeat(weights, n_labels, axis=1))
        fused = fused / fused.sum(axis=1, keepdims=True)
        return fused[:, 1].reshape(n, n_labels)

    def loss(self, fused, y, sample_weight, *, hard=False):
        """Binary cross-entropy, averaged over labels."""
        truth = np.asarray(y, dtype=float)
        p = np.clip(fused, _LOG_EPS, 1 - _LOG_EPS)
        per_row = -(truth * np.log(p) + (1 - truth) * np.log(1 - p)).mean(axis=1)
        return np.average(per_row, weights=sample_weight)

    def decode(self, fused):
        return (fused > 0.5).astype(int)

    def decode_codes(self, codes):
        return np.asarray(codes).astype(int)

    def user_y(self, y):
        return y


class RegressionTarget:
    """Continuous y, one or several outputs, as it is."""

    multilabel = False
    classes_ = None

    def __init__(self, y):
        self.y_ = y
        self.n_outputs = n_outputs(y)

    def block(self, estimator, raw, n_rows, method, *, prefit):
        return np.asarray(raw, dtype=float).reshape(n_rows, -1)

    def fuse(self, scores, weights, combine=None):
        """The weighted mean of the members' predictions."""
        fused = np.einsum("mn,mnk->nk", weights, scores)
        return fused[:, 0] if fused.shape[1] == 1 else fused

    def loss(self, fused, y, sample_weight, *, hard=False):
        """Squared error, summed over outputs."""
        err = np.asarray(fused).reshape(len(y), -1) - np.asarray(y).reshape(len(y), -1)
        return np.average((err**2).sum(axis=1), weights=sample_weight)

    def decode(self, fused):
        return fused

    def user_y(self, y):
        return y


def _positive_proba(per_label, classes=None):
    """``(n_samples, n_labels)`` probabilities of label 1 from one
    ``(n_samples, n_classes_j)`` array per label (0 where a label never
    saw a 1)."""
    if classes is None:
        classes = [np.arange(p.shape[1]) for p in per_label]
    return np.column_stack([
        p[:, list(c).index(1)] if 1 in list(c) else np.zeros(len(p))
        for p, c in zip(per_label, classes)
    ])


def check_y_given(estimator, y):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y "
            "is None."
        )


def check_y_present(owner, y):
    """Refuse a ``y`` with missing values (None, NaN, NA), naming their rows:
    before this check, string labels with a NaN failed in sorting them."""
    # a list as object: numpy would turn a NaN among strings into "nan"
    y = np.asarray(y, dtype=object if isinstance(y, list) else None)
    if y.dtype.kind not in "fcOM" or y.ndim == 0:
        return  # no missing value fits in integers, booleans or strings
    missing = pd.isna(y)
    if missing.ndim == 2:
        missing = missing.any(axis=1)
    rows = np.flatnonzero(missing)
    if rows.size:
        shown = rows[:10].tolist()
        raise ValueError(
            f"{owner}: y has no value in {rows.size} row(s) (rows {shown}"
            f"{', ...' if rows.size > len(shown) else ''}); drop those rows of X and y, "
            "or fill in their targets."
        )


def check_regression_y(estimator, y):
    """y of a fusion regressor: numeric, 1-D or 2-D."""
    check_y_present(type(estimator).__name__, y)
    y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y", estimator=estimator)
    if y.ndim > 2:
        raise ValueError(
            f"{type(estimator).__name__}: y must be 1-D or 2-D, got shape {y.shape}."
        )
    return y
