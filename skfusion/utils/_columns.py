"""Columns: checking X, resolving and selecting each modality's columns,
and telling which rows of a modality are missing. One place for what the
fusion estimators, multi-task models and inspection all do with columns."""

import numpy as np
import pandas as pd
from scipy import sparse

from ._sklearn_compat import _get_column_indices, _safe_indexing


def _owner(owner):
    return owner if isinstance(owner, str) else type(owner).__name__


def check_X(owner, X, y=None):
    """Keep DataFrames, arrays and sparse matrices as they are (lists become
    arrays, sparse formats without column indexing become CSR) and refuse
    shapes no member could use; given ``y`` (a fit), refuse a ``y`` with
    another number of rows, before anything is fitted on either."""
    if sparse.issparse(X):
        if X.format not in ("csr", "csc"):
            X = X.tocsr()
    elif not (hasattr(X, "iloc") or hasattr(X, "shape")):
        from sklearn.utils import check_array

        X = check_array(X, dtype=None, ensure_all_finite=False, ensure_2d=False)
    if getattr(X, "dtype", None) is not None and np.iscomplexobj(X):
        raise ValueError(f"{_owner(owner)}: Complex data not supported; got {X.dtype}.")
    if X.ndim != 2:
        raise ValueError(
            f"{_owner(owner)}: Expected 2D array, got {X.ndim}D array instead. "
            "Reshape your data either using array.reshape(-1, 1) if your data has "
            "a single feature or array.reshape(1, -1) if it contains a single sample; "
            "for one text column, pass a DataFrame and name the column in each "
            "member's triple."
        )
    n_samples, n_features = X.shape
    if n_samples == 0 or n_features == 0:
        what = (
            f"0 sample(s) (shape={X.shape}) while a minimum of 1 is required"
            if n_samples == 0
            else f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required"
        )
        raise ValueError(f"{_owner(owner)}: Found array with {what}.")
    n_y = _n_rows(y)
    if n_y is not None and n_y != n_samples:
        raise ValueError(
            f"{_owner(owner)}: X has {n_samples} rows but y has {n_y}; y must give one "
            "target per row of X, in the same order."
        )
    return X


def _n_rows(y):
    """Rows of ``y``, or None for no y (or a scalar, which the target's own
    checks refuse)."""
    shape = getattr(y, "shape", None)
    if shape is not None:
        return shape[0] if len(shape) else None
    return len(y) if hasattr(y, "__len__") else None


def resolve_columns(owner, member, X, *, kind="member"):
    """The column spec a member sees, with a callable resolved on ``X``.

    ``member`` is a ``(name, estimator, columns)`` triple; ``kind`` is the
    word the error uses for it (member, block, branch).
    """
    name, _, columns = member
    if columns is None:
        return None
    if callable(columns):
        columns = columns(X)
    check_columns_present(owner, f"{kind} {name!r}", columns, X, when="fit")
    return columns


def check_columns_present(owner, what, columns, X, *, when, fix=None):
    """Raise a clear error when ``X`` lacks a column that ``what`` selects.

    ``what`` names the selector in the message (``"member 'text'"``). At
    predict time only column names are checked here; positions are covered
    by the ``n_features_in_`` check that follows. ``when=None`` leaves the
    time out of the message, for checks that are not part of a fit.
    """
    if columns is None:
        return
    names = [columns] if isinstance(columns, str) else columns
    at = "" if when is None else f" at {when} time"
    if hasattr(X, "columns") and _is_str_list(names):
        missing = [c for c in names if c not in X.columns]
        if missing:
            if fix is None:
                fix = (
                    "pass the same columns as in fit" if when == "predict"
                    else f"fix the {what.rsplit(' ', 1)[0].split()[-1]}'s columns or pass a "
                    "DataFrame that has them"
                )
            raise ValueError(
                f"{_owner(owner)}: {what} selects column(s) {missing} that X does "
                f"not have{at} (X has columns {list(X.columns)}); {fix}."
            )
        return
    if not hasattr(X, "columns") and _is_str_list(names):
        raise ValueError(
            f"{_owner(owner)}: {what} selects columns by name ({columns!r}) but X "
            f"is a {type(X).__name__} without column names; pass a DataFrame or "
            "select by position."
        )
    if when == "predict":
        return
    column_positions(owner, what, columns, X, fix=fix)


def column_positions(owner, what, columns, X, *, fix=None):
    """Positions in ``X`` of the columns ``what`` selects (any
    ``ColumnTransformer`` column spec), or a clear error naming it."""
    if callable(columns):
        columns = columns(X)
    try:
        positions = _get_column_indices(X, columns)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        fix = "" if fix is None else f"; {fix}"
        raise ValueError(
            f"{_owner(owner)}: {what} selects columns {columns!r} that cannot be "
            f"taken from X ({type(X).__name__} with {X.shape[1]} feature(s)){fix}. "
            f"Selecting them raised: {exc}"
        ) from exc
    return list(positions)


def selected_names(input_features, columns):
    """Names of the input features that a column spec selects."""
    if columns is None:
        return input_features
    # an empty frame with those columns: scikit-learn resolves names only
    # on what narwhals recognises as a dataframe
    names_only = pd.DataFrame(columns=pd.Index(input_features, dtype=object))
    return [input_features[i] for i in _get_column_indices(names_only, columns)]


def _is_str_list(names):
    try:
        return len(names) > 0 and all(isinstance(c, str) for c in names)
    except TypeError:
        return False


def select(X, columns):
    """The part of ``X`` a member sees (``X`` itself for ``columns=None``)."""
    if columns is None:
        return X
    if (
        isinstance(X, pd.DataFrame)
        and isinstance(columns, list)
        and _is_str_list(columns)
        and X.columns.is_unique
    ):
        # positions, then take: X[columns] looks the labels up through an
        # indexer and costs several times more for a handful of columns
        return X.take([X.columns.get_loc(c) for c in columns], axis=1)
    if hasattr(X, "columns") and (isinstance(columns, str) or _is_str_list(columns)):
        # plain label selection: several times faster than _safe_indexing
        return X[columns]
    return _safe_indexing(X, columns, axis=1)


def present_mask(X_part):
    """Boolean mask of the rows where a modality has at least one value.

    A row whose every column is null (None, NaN, NaT) is a missing modality.
    Sparse input never counts as missing: an absent entry there means zero.
    """
    if sparse.issparse(X_part):
        return np.ones(X_part.shape[0], dtype=bool)
    if isinstance(X_part, pd.Series) or (isinstance(X_part, pd.DataFrame) and X_part.shape[1]):
        # column by column: the first column without a null settles it
        null = None
        columns = [X_part] if isinstance(X_part, pd.Series) else (c for _, c in X_part.items())
        for column in columns:
            column_null = np.asarray(pd.isna(column.array))
            if not column_null.any():
                return np.ones(len(X_part), dtype=bool)
            null = column_null if null is None else null & column_null
        return ~null
    if hasattr(X_part, "isna"):
        null = X_part.isna().to_numpy()
    else:
        null = pd.isna(np.asarray(X_part))
    if null.ndim == 1:
        return ~null
    return ~null.all(axis=1)


def as_matrix(output):
    """A block of features as a float matrix (sparse stays sparse)."""
    if sparse.issparse(output):
        return output.tocsr().astype(np.float64)
    if hasattr(output, "to_numpy"):
        output = output.to_numpy()
    output = np.asarray(output, dtype=np.float64)
    return output.reshape(len(output), -1)


def concat_blocks(blocks):
    """Blocks side by side: sparse if any block is sparse, else dense."""
    if any(sparse.issparse(b) for b in blocks):
        return sparse.hstack(blocks, format="csr")
    return np.hstack(blocks)


def take_rows(X, mask_or_indices):
    """Rows of X (any container ``_safe_indexing`` knows)."""
    return _safe_indexing(X, mask_or_indices, axis=0)


def one_column(X, owner):
    """The cells of a single-column input as a list."""
    if hasattr(X, "iloc"):
        if getattr(X, "ndim", 1) == 2:
            if X.shape[1] != 1:
                raise ValueError(
                    f"{owner} encodes one column, got {X.shape[1]} columns "
                    f"{list(X.columns)}; give it a single column name (a string) "
                    "in the ColumnTransformer or fusion triple."
                )
            X = X.iloc[:, 0]
        return X.tolist()
    if isinstance(X, np.ndarray):
        if X.ndim == 2:
            if X.shape[1] != 1:
                raise ValueError(
                    f"{owner} encodes one column, got an array of shape {X.shape}; "
                    "pass shape (n_samples,) or (n_samples, 1)."
                )
            X = X[:, 0]
        elif X.ndim not in (1, 4):
            raise ValueError(f"{owner} expects one column of inputs, got shape {X.shape}.")
        return list(X)
    if isinstance(X, (list, tuple)):
        return list(X)
    raise TypeError(
        f"{owner} expects a pandas Series/DataFrame column, a numpy array or a "
        f"list, got {type(X).__name__}."
    )


def is_missing(item):
    """Whether a cell of a text or image column is a missing value (None,
    NaN or pd.NA)."""
    return item is None or item is pd.NA or (isinstance(item, float) and np.isnan(item))
