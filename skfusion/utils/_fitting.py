"""What every estimator family's ``fit`` shares: undoing a fit that failed,
and the checks of a classification target, each with one wording."""

from contextlib import contextmanager

import numpy as np
import pandas as pd


def _is_fitted_name(name):
    """Fitted attributes, public and private (``_columns_``), end in one
    underscore; dunders do not count."""
    return name.endswith("_") and not name.startswith("__") and not name.endswith("__")


@contextmanager
def fit_rollback(estimator, *, warm=False):
    """Undo, on any failure inside the block, what a ``fit`` did.

    The one rule: a failed fit leaves the estimator as its fit found it,
    less its fitted state unless the fit continued it. Every attribute the
    fit added is removed and every one it replaced is put back (so private
    scratch state, such as a layer handed from one step of ``fit`` to the
    next, does not outlive the failure); then, unless ``warm``, every fitted
    attribute (a name ending in one underscore) is removed too. A failed
    fresh fit or refit thus leaves the estimator unfitted, never new
    encodings over an old model; a failed ``warm_start`` fit keeps the
    previous fit's attributes (a model trained in place keeps the epochs it
    ran).

    Parameters
    ----------
    estimator : object
        The estimator being fitted.

    warm : bool, default=False
        Whether the fit continues the previous one (``warm_start``).

    Yields
    ------
    None
    """
    before = dict(vars(estimator))
    try:
        yield
    except BaseException:
        state = vars(estimator)
        state.clear()
        state.update(before if warm else
                     {k: v for k, v in before.items() if not _is_fitted_name(k)})
        raise


def check_two_classes(owner, classes, *, where="y",
                      fix="fit it on rows with at least two classes"):
    """Refuse class labels that hold a single class.

    Parameters
    ----------
    owner : str
        The estimator, named in the error.

    classes : array-like
        The distinct labels of the target.

    where : str, default="y"
        The target, as the error names it (``"task 'rating' (binary)"``).

    fix : str, default="fit it on rows with at least two classes"
        What the user can do, ending the error.

    Raises
    ------
    ValueError
        When ``classes`` has fewer than two labels.
    """
    if len(classes) < 2:
        raise ValueError(
            f"{owner}: {where} has only one class, {np.asarray(classes).tolist()}; "
            f"a classifier needs at least two, so {fix}."
        )


def check_indicator(owner, Y, *, where="a 2-D y",
                    fix="binarize the labels (e.g. with MultiLabelBinarizer), or give "
                        "class labels as a 1-D y"):
    """Refuse a label matrix that is not 0/1 (a multi-label indicator).

    Parameters
    ----------
    owner : str
        The estimator, named in the error.

    Y : array-like or DataFrame of shape (n_samples, n_labels)
        One column per label; a DataFrame's columns are named in the error
        by name, an array's by position.

    where : str, default="a 2-D y"
        The target, as the error names it (``"multilabel task 'tags'"``).

    fix : str, default="binarize the labels (e.g. with MultiLabelBinarizer), \
or give class labels as a 1-D y"
        What the user can do, ending the error.

    Raises
    ------
    ValueError
        Naming the first column that holds another value than 0 and 1
        (NaN included), and up to five of those values.
    """
    names = list(Y.columns) if hasattr(Y, "columns") else None
    values = Y.to_numpy() if hasattr(Y, "to_numpy") else np.asarray(Y)
    for j in range(values.shape[1]):
        # compared one by one: numpy would cast labels "0"/"1" to 0/1
        bad = [v for v in pd.unique(values[:, j]).tolist() if v not in (0, 1)]
        if bad:
            column = names[j] if names is not None else j
            raise ValueError(
                f"{owner}: {where} must be a 0/1 indicator matrix (one column per "
                f"label), but column {column!r} holds {sorted(bad, key=str)[:5]}; {fix}."
            )


def n_outputs(y):
    """The columns of a target, what ``n_outputs_`` says: 1 for a 1-D y,
    one per label of a multi-label y or per output of a multi-output one."""
    # asarray first: an array-like may refuse np.ndim and np.shape through
    # __array_function__ (as scikit-learn checks that y need not be an array)
    shape = np.asarray(y).shape
    return 1 if len(shape) == 1 else shape[1]
