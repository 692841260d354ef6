"""What every fusion estimator shares: modality triples, column selection,
missing-modality masks, and member fits and outputs cached in ``memory``."""

import hashlib
import pickle
import threading
from collections import namedtuple

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import clone

from .._cache import StoredMember, fingerprint
from ..utils._sklearn_compat import (
    _BaseComposition,
    _get_column_indices,
    _print_elapsed_time,
    _safe_indexing,
)

#: One modality: a name, the estimator that handles it (or "drop") and the
#: columns it sees (``None``: every column, as in ``VotingClassifier``).
Member = namedtuple("Member", ["name", "estimator", "columns"])


class _BaseMemberComposition(_BaseComposition):
    """``get_params``/``set_params`` over ``(name, estimator[, columns])`` items.

    scikit-learn's ``_BaseComposition`` expects ``(name, estimator)`` pairs;
    like ``ColumnTransformer`` we expose pairs through ``_estimators`` and
    write the columns back unchanged on ``set_params``.
    """

    _members_attr = "estimators"

    @property
    def _estimators(self):
        try:
            return [(item[0], item[1]) for item in getattr(self, self._members_attr)]
        except (TypeError, IndexError):
            # malformed ``estimators``: fit reports it with a proper message
            return []

    @_estimators.setter
    def _estimators(self, value):
        items = getattr(self, self._members_attr)
        setattr(
            self,
            self._members_attr,
            [
                (name, est, *item[2:])
                for (name, est), item in zip(value, items, strict=True)
            ],
        )

    def get_params(self, deep=True):
        """Get parameters of this estimator and, with ``deep``, of its members.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the members (by name) and their parameters
            (``name__param``).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("_estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters of this estimator or of its members.

        A member can be replaced (``text=LogisticRegression()``), dropped
        (``text="drop"``) or tuned (``text__C=10``).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
        """
        if self._members_attr in params:
            # the members first, so that parameters of new members can follow
            # (as in VotingClassifier)
            setattr(self, self._members_attr, params.pop(self._members_attr))
        members = {name for name, _ in self._estimators}
        if not members.intersection(params) and set(params).issubset(self.get_params(deep=False)):
            # only this estimator's own parameters (a grid search's weights):
            # what BaseEstimator.set_params does, without first walking every
            # member's parameters to find the keys it accepts
            for key, value in params.items():
                setattr(self, key, value)
            return self
        self._set_params("_estimators", **params)
        return self


def _owner(estimator):
    return type(estimator).__name__


def validate_members(owner, items, *, param="estimators", passthrough=False):
    """Turn the user's items into :class:`Member` tuples, or say what is wrong.

    ``passthrough`` allows ``"passthrough"`` in place of an estimator, as a
    block of early fusion may be.
    """
    kind = "(name, estimator) pairs or (name, estimator, columns) triples"
    if (
        not isinstance(items, (list, tuple))
        or len(items) == 0
        or not all(
            isinstance(item, (tuple, list))
            and len(item) in (2, 3)
            and isinstance(item[0], str)
            for item in items
        )
    ):
        raise ValueError(
            f"{_owner(owner)}: Invalid '{param}' attribute, '{param}' should be a "
            f"non-empty list of {kind}; got {items!r}."
        )
    members = [Member(item[0], item[1], item[2] if len(item) == 3 else None) for item in items]

    names = [m.name for m in members]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"{_owner(owner)}: {param} names must be unique, but {duplicated} "
            f"appear more than once in {names}; give each member its own name."
        )
    owner._validate_names(names)

    if all(_is_drop(m.estimator) for m in members):
        raise ValueError(
            f"{_owner(owner)}: All estimators are dropped. At least one is "
            f"required to be an estimator; {param} names: {names}."
        )
    for m in members:
        if passthrough and isinstance(m.estimator, str) and m.estimator == "passthrough":
            continue
        if not _is_drop(m.estimator) and not hasattr(m.estimator, "fit"):
            raise TypeError(
                f"{_owner(owner)}: member {m.name!r} must be an estimator with a "
                f"fit method or 'drop', got {m.estimator!r}."
            )
    return members


def _is_drop(estimator):
    return isinstance(estimator, str) and estimator == "drop"


def check_X(owner, X):
    """Keep DataFrames, arrays and sparse matrices as they are (lists become
    arrays, sparse formats without column indexing become CSR) and refuse
    shapes no member could use."""
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
    return X


def resolve_columns(owner, member, X):
    """The column spec a member sees, with a callable resolved on ``X``."""
    columns = member.columns
    if columns is None:
        return None
    if callable(columns):
        columns = columns(X)
    check_columns_present(owner, member.name, columns, X, when="fit")
    return columns


def check_columns_present(owner, name, columns, X, *, when):
    """Raise a clear error when ``X`` lacks a column a member selects.

    At predict time only column names are checked here; positions are covered
    by the ``n_features_in_`` check that follows.
    """
    if columns is None:
        return
    names = [columns] if isinstance(columns, str) else columns
    if hasattr(X, "columns") and _is_str_list(names):
        missing = [c for c in names if c not in X.columns]
        if missing:
            if when == "fit":
                fix = "fix the member's columns or pass a DataFrame that has them"
            else:
                fix = "pass the same columns as in fit"
            raise ValueError(
                f"{_owner(owner)}: member {name!r} selects column(s) {missing} "
                f"that X does not have at {when} time (X has columns "
                f"{list(X.columns)}); {fix}."
            )
        return
    if when != "fit":
        return
    try:
        _get_column_indices(X, columns)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ValueError(
            f"{_owner(owner)}: member {name!r} selects columns {columns!r} that "
            f"cannot be taken from X ({type(X).__name__} with {X.shape[1]} "
            f"feature(s)): {exc}"
        ) from exc


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


# --- fitting and predicting members, optionally through joblib.Memory -------


def _fit_member(estimator, X, y, fit_params, message_clsname=None, message=None,
                context=None):
    """Fit one member; turn the usual failures into messages that name it."""
    with _print_elapsed_time(message_clsname, message):
        try:
            estimator.fit(X, y, **fit_params)
        except TypeError as exc:
            if "unexpected keyword argument 'sample_weight'" in str(exc):
                raise TypeError(
                    f"Underlying estimator {type(estimator).__name__} does not "
                    "support sample weights."
                ) from exc
            raise
        except Exception as exc:
            if context is not None:
                exc.add_note(f"(while fitting member {context['name']!r} of {context['owner']})")
            if (
                context is not None
                and np.ndim(y) == 2
                and context.get("multilabel")
                and not _supports_multilabel(estimator)
            ):
                raise ValueError(
                    f"{context['owner']}: member {context['name']!r} "
                    f"({type(estimator).__name__}) cannot fit multi-label y of shape "
                    f"{np.shape(y)}: {exc} Wrap it in "
                    "sklearn.multiclass.OneVsRestClassifier or use an estimator "
                    "that supports multi-label targets."
                ) from exc
            raise
    return estimator


def _supports_multilabel(estimator):
    """Whether a member says it fits multi-label y: its failure then has
    another cause, and is reported as it is."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
    from sklearn.utils import get_tags

    # scikit-learn's own multi-label wrappers do not say so in their tags
    last = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if isinstance(last, (OneVsRestClassifier, MultiOutputClassifier, ClassifierChain)):
        return True
    try:
        classifier_tags = get_tags(estimator).classifier_tags
    except Exception:
        return False
    return classifier_tags is not None and classifier_tags.multi_label


def fit_member(estimator, X, y, fit_params, store, message_clsname=None,
               message=None, context=None, prefit=False):
    """Fit a clone of ``estimator``, or find the same fit in ``store``.

    Returns ``(fitted, key)``. ``key`` fingerprints the member's parameters
    and its training data and keys its cached outputs (``None`` without a
    store). A fit found in the store comes back as a
    :class:`~skfusion._cache.StoredMember`, loaded only when needed. A
    ``prefit`` member is used as it is: never cloned, refitted or stored.
    """
    if prefit:
        return estimator, None
    if store is None:
        fitted = _fit_member(clone(estimator), X, y, fit_params, message_clsname, message, context)
        return fitted, None
    # the fit depends only on the (unfitted) parameters and the data; cloning
    # waits until the store has no such fit
    key = fingerprint(estimator, _model_identities(estimator), X, y, fit_params)
    # "classes" is written after "member", so finding it means both are there
    classes = store.load("classes", key, default=_MISSING)
    if classes is not _MISSING:
        return StoredMember(store, key, classes), key
    fitted = _fit_member(clone(estimator), X, y, fit_params, message_clsname, message, context)
    store.save("member", key, fitted)
    store.save("classes", key, getattr(fitted, "classes_", None))
    return fitted, key


def _model_identities(estimator):
    """Identities of the models that skfusion encoders inside ``estimator``
    load from disk: a member's parameters name a model path, the key must
    follow the files behind it."""
    # walking get_params(deep=True) inspects every __init__ signature; an
    # estimator that pickles to the same bytes as one found without encoders
    # has the same classes in the same places, so none either
    params = _pickle_digest(estimator)
    if params is not None and params in _WITHOUT_ENCODERS:
        return []
    nested = [estimator, *estimator.get_params(deep=True).values()] if hasattr(estimator, "get_params") else [estimator]
    identities = [obj._model_identity() for obj in nested if hasattr(obj, "_model_identity")]
    if params is not None and not identities:
        with _WITHOUT_ENCODERS_LOCK:
            _WITHOUT_ENCODERS[params] = None
            while len(_WITHOUT_ENCODERS) > 256:
                del _WITHOUT_ENCODERS[next(iter(_WITHOUT_ENCODERS))]
    return identities


#: Digests of the pickles of (unfitted) members found to hold no skfusion
#: encoder, oldest first. The member's key already takes equal pickles for
#: equal parameters; this relies on nothing more.
_WITHOUT_ENCODERS = {}
_WITHOUT_ENCODERS_LOCK = threading.Lock()


def _pickle_digest(estimator):
    """A digest of the pickle of a scikit-learn estimator, or None for
    anything else (or what does not pickle)."""
    from sklearn.base import BaseEstimator

    if not isinstance(estimator, BaseEstimator):
        return None
    try:
        params = pickle.dumps(estimator, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return None
    return hashlib.blake2b(params, digest_size=20).digest()


_MISSING = object()


def loaded(member):
    """The fitted estimator behind a member that may still be on disk."""
    return member.load() if isinstance(member, StoredMember) else member


def member_output(member, X, method, store, key):
    """``member.<method>(X)``, read from ``store`` when it was computed before."""
    if key is None or store is None:
        return getattr(loaded(member), method)(X)
    output_key = fingerprint(key, method, X)
    output = store.load("output", output_key, default=_MISSING)
    if output is not _MISSING:
        return output
    output = getattr(loaded(member), method)(X)
    store.save("output", output_key, output)
    return output
