"""Out-of-fold member outputs: each member refitted on the training rows of
every fold and asked for the rows it left out. What ``weights="auto"``
learns from and what a stacking final estimator is fitted on."""

import numpy as np
from sklearn.base import is_classifier
from sklearn.model_selection import check_cv
from sklearn.utils.parallel import Parallel, delayed

from ..utils._columns import take_rows
from ._members import _fit_member


def oof_blocks(estimator, X, y, data, methods, to_block, *, multilabel=False):
    """Out-of-fold blocks of every member of ``data`` (a ``_FitData``).

    Folds come from ``estimator.cv``, split once so every member sees the
    same ones; a member is fitted on the rows of a fold's training part
    where its modality is present and predicts the rows of the test part
    where it is. With the member cache, a fold seen before is read back,
    its fit and its predictions alike.

    Parameters
    ----------
    estimator : fusion estimator
        Gives ``cv``, ``n_jobs`` and the member fit arguments.
    X, y : the training data (y encoded as the members see it).
    data : _FitData
    methods : list of str
        The method each member is asked for.
    to_block : callable
        ``to_block(i, fitted, raw, n_rows, method)`` turns a member's raw
        output into a float block ``(n_rows, width)``.
    multilabel : bool, default=False

    Returns
    -------
    blocks : list of ndarray of shape (n_samples, width_i)
        NaN in the rows a member could not predict.
    available : ndarray of bool of shape (n_members, n_samples)
    """
    y_cv = y if multilabel else np.asarray(y)
    cv = check_cv(estimator.cv, y_cv, classifier=is_classifier(estimator))
    folds = list(cv.split(X, y_cv))
    jobs, where = [], []
    for i, (m, part, mask, method) in enumerate(
        zip(data.members, data.parts, data.masks, methods)
    ):
        for fold, (train, test) in enumerate(folds, start=1):
            train, test = train[mask[train]], test[mask[test]]
            args = estimator._member_fit_args(
                m, part, y, train, data.routed[m.name]["fit"], data.cache,
                data.prefit[i], multilabel=multilabel, fold=fold,
            )
            jobs.append(delayed(_fold_output)(args, take_rows(part, test), method))
            where.append((i, test))
    outputs = Parallel(n_jobs=estimator.n_jobs)(jobs)

    n = len(data.masks[0]) if data.masks else 0
    blocks = [None] * len(data.members)
    available = np.zeros((len(data.members), n), dtype=bool)
    for (i, test), (fitted, raw) in zip(where, outputs):
        if raw is None:  # the member sees no row of this test fold
            continue
        block = to_block(i, fitted, raw, len(test), methods[i])
        if blocks[i] is None:
            blocks[i] = np.full((n, block.shape[1]), np.nan)
        blocks[i][test] = block
        available[i, test] = True
    return blocks, available


def _fold_output(fit_args, X_test, method):
    """Fit (or find) a fold's member, then predict its test rows (or read them)."""
    fitted, key = _fit_member(*fit_args)
    cache = fit_args[4]
    raw = cache.output(fitted, key, X_test, method) if X_test.shape[0] else None
    return fitted, raw
