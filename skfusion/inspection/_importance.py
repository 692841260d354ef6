"""Modality importance: how much a fitted estimator's score drops when one
modality is shuffled (permutation) or taken away (masking)."""

import copy
from numbers import Integral

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import is_classifier, is_regressor
from sklearn.metrics import check_scoring
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, check_array, check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ..utils._columns import check_columns_present, column_positions

_OWNER = "modality_importance"

#: a string column whose values are mostly distinct is free text, whose
#: neutral value is the empty string rather than its most frequent value
_TEXT_DISTINCT_SHARE = 0.5

_MASKING = ("auto", "missing", "baseline")


def modality_importance(
    estimator,
    X,
    y,
    *,
    modalities=None,
    scoring=None,
    n_repeats=5,
    masking="auto",
    n_jobs=None,
    random_state=None,
):
    """Importance of each modality of a fitted estimator, by permutation and by masking.

    Two measures per modality, both a decrease of the score on ``(X, y)``:

    - **permutation**: the rows of all the modality's columns are shuffled
      together (one permutation for the whole block, so the structure inside
      the modality stays and only its link to the target and to the other
      modalities breaks), ``n_repeats`` times; the importance is the baseline
      score minus the permuted score, with its mean and spread over repeats.
      Every modality is shuffled with the same ``n_repeats`` permutations, so
      a modality's importance does not depend on which others are measured;
    - **masking** (leave one modality out): the modality's columns are
      replaced once, deterministically, by missing values (``None`` in
      string and object columns, ``NaN`` in numeric ones). A
      :class:`~skfusion.LateFusionClassifier` with ``missing="renormalize"``
      then predicts from its other members. Where the estimator cannot score
      missing values there (``missing="error"``, an encoder that refuses
      ``NaN``), the columns get a neutral value computed from ``X`` instead:
      the median (lower median, an observed value) of a numeric column, the
      empty string for free text (a string column whose values are mostly
      distinct) and the most frequent value of any other column.
      ``masking`` reports which was used.

    **What is perturbed.** An estimator's modalities are its members (early
    fusion: blocks; Keras models: branches), and two of them may read the
    same column (TF-IDF and a transformer on one review). Where the
    estimator can feed one member an input of its own through
    ``with_modality_input`` (every skfusion fusion estimator, Keras fusion
    model and the multi-task estimator), only that member's input is
    permuted or masked while the others keep reading ``X``: a member that
    cannot change a prediction (a weight of 0) has an importance of exactly
    0, whatever the others read (``perturbed="input"``). Otherwise the
    columns themselves are permuted or masked in ``X``, which changes every
    member that reads them: members that share a column are then measured
    together, as one modality named after all of them (``"text + minilm"``)
    with the union of their columns (``perturbed="columns"``). With
    ``modalities`` as a dict the modalities are those columns, perturbed in
    ``X``, each alone.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator. Its modalities are what its ``get_modalities()``
        tells: the columns each non-dropped ``(name, estimator, columns)``
        member sees, as resolved in ``fit``. Every skfusion fusion estimator
        (early, late, stacking), Keras fusion model and the multi-task
        estimator (with ``inputs``) implements it, and ``with_modality_input``
        too. A :class:`~sklearn.pipeline.Pipeline` whose last step is such an
        estimator works when its members select columns by name and the
        steps before keep those columns of ``X``. Any other estimator needs
        ``modalities``.

    X : DataFrame or array-like of shape (n_samples, n_features)
        Data to score on, usually held out: importances on the training data
        tell what the estimator memorised. Sparse matrices are not supported.

    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets of ``X``.

    modalities : dict, list of str or None, default=None
        ``None`` uses every modality found in ``estimator``; a list of names
        keeps some of them, in that order (a name in a group of members that
        share columns selects the group); a dict ``{name: columns}`` defines
        the modalities itself (columns as in
        :class:`~sklearn.compose.ColumnTransformer`: a name, a list of names,
        ints, a slice, a boolean mask or a callable), whatever the estimator.
        Modalities of a dict may share columns; each is shuffled or masked
        alone, in ``X``.

    scoring : str, callable or None, default=None
        One metric: ``None`` uses ``estimator.score``; otherwise anything
        :func:`sklearn.metrics.check_scoring` accepts (a scorer name such as
        ``"roc_auc"``, or a callable ``scorer(estimator, X, y)``). Greater
        is better.

    n_repeats : int, default=5
        Number of permutations per modality.

    masking : {"auto", "missing", "baseline"}, default="auto"
        How a modality is left out: ``"missing"`` with missing values,
        ``"baseline"`` with neutral values, ``"auto"`` with missing values
        where the estimator can score them and neutral values elsewhere.

    n_jobs : int or None, default=None
        Jobs that score the modified copies of ``X`` in parallel through
        joblib (over modalities and repeats). ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context; ``-1`` uses every core. The
        results do not depend on it.

    random_state : int, RandomState instance or None, default=None
        Draws the permutations; an int makes the results reproducible.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With the following fields, each modality in the order of
        ``modalities``:

        modalities : list of str
            The modality names (``"a + b"`` for members measured together).
        columns : list of list
            The columns of each modality: names for a DataFrame, positions
            for an array.
        perturbed : {"input", "columns"}
            What was permuted or masked: ``"input"``, each member's own
            input alone; ``"columns"``, the columns in ``X``, for every
            member that reads them.
        baseline_score : float
            Score of ``estimator`` on the unchanged ``X``.
        importances : ndarray of shape (n_modalities, n_repeats)
            Baseline score minus the score with the modality permuted, per
            repeat.
        importances_mean : ndarray of shape (n_modalities,)
            Mean of ``importances`` over the repeats.
        importances_std : ndarray of shape (n_modalities,)
            Standard deviation of ``importances`` over the repeats (the
            spread).
        masking_importances : ndarray of shape (n_modalities,)
            Baseline score minus the score with the modality left out.
        masking : list of str
            ``"missing"`` or ``"baseline"``: how each modality was left out.
        score_name : str
            The metric: the ``scoring`` name, ``"accuracy"`` or ``"r2"`` for
            a classifier's or regressor's ``score``, else ``"score"``.

    See Also
    --------
    ModalityImportanceDisplay : Plot these importances.
    sklearn.inspection.permutation_importance : The same idea per column.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfusion import LateFusionRegressor
    >>> from skfusion.inspection import modality_importance
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "noise"])
    >>> y = 2 * X["a"] + X["b"]
    >>> reg = LateFusionRegressor(
    ...     [("ab", LinearRegression(), ["a", "b"]),
    ...      ("noise", LinearRegression(), ["noise"])],
    ...     missing="renormalize",
    ... ).fit(X, y)
    >>> result = modality_importance(reg, X, y, n_repeats=3, random_state=0)
    >>> result.modalities, result.perturbed
    (['ab', 'noise'], 'input')
    >>> result.importances_mean.round(2).tolist()
    [0.99, 0.0]

    Left out, the noise modality stops diluting the fused prediction, so the
    score rises and its masking importance is negative:

    >>> result.masking, result.masking_importances.round(2).tolist()
    (['missing', 'missing'], [0.75, -0.25])

    A member that reads the same columns as another but weighs nothing is
    measured alone, at exactly 0:

    >>> reg = LateFusionRegressor(
    ...     [("ab", LinearRegression(), ["a", "b"]),
    ...      ("ab_too", LinearRegression(), ["a", "b"])],
    ...     weights=[1, 0],
    ... ).fit(X, y)
    >>> result = modality_importance(reg, X, y, n_repeats=3, random_state=0)
    >>> result.importances_mean.round(2).tolist()
    [1.98, 0.0]
    >>> result.masking_importances.round(2).tolist()
    [1.0, 0.0]
    """
    if not isinstance(n_repeats, Integral) or isinstance(n_repeats, bool) or n_repeats < 1:
        raise ValueError(
            f"{_OWNER}: n_repeats must be an integer >= 1, got {n_repeats!r}; "
            "it is the number of permutations per modality."
        )
    if masking not in _MASKING:
        raise ValueError(
            f"{_OWNER}: masking must be one of {list(_MASKING)}, got {masking!r}."
        )
    if isinstance(scoring, (list, tuple, set, dict)):
        raise ValueError(
            f"{_OWNER}: scoring must be one metric (a str, a callable or None), "
            f"got {scoring!r}; call {_OWNER} once per metric."
        )
    check_is_fitted(
        estimator,
        msg=(
            f"{_OWNER}: this %(name)s instance is not fitted yet; fit it before "
            "computing the importance of its modalities."
        ),
    )
    X = _check_X(X)
    groups, perturbed = _find_modalities(estimator, X, modalities)
    names = list(groups)
    scorer = check_scoring(estimator, scoring=scoring)
    baseline_score = float(scorer(estimator, X, y))

    rng = check_random_state(random_state)
    # drawn up front, so the results never depend on n_jobs or the backend
    orders = [rng.permutation(X.shape[0]) for _ in range(n_repeats)]
    context = (scorer, estimator, X, y, perturbed == "input")
    jobs = [
        delayed(_permuted_score)(*context, name, groups[name], order)
        for name in names
        for order in orders
    ]
    jobs += [delayed(_masked_score)(*context, name, groups[name], masking) for name in names]
    scores = Parallel(n_jobs=n_jobs)(jobs)

    n_permuted = len(names) * n_repeats
    permuted = np.asarray(scores[:n_permuted], dtype=float).reshape(len(names), n_repeats)
    masked = scores[n_permuted:]
    importances = baseline_score - permuted
    return Bunch(
        modalities=names,
        columns=[_column_labels(X, groups[name]) for name in names],
        perturbed=perturbed,
        baseline_score=baseline_score,
        importances=importances,
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        masking_importances=baseline_score - np.array([score for score, _ in masked]),
        masking=[how for _, how in masked],
        score_name=_score_name(estimator, scoring),
    )


def _check_X(X):
    """A DataFrame as it is, anything else as a 2-D array that can hold None."""
    if sparse.issparse(X):
        raise TypeError(
            f"{_OWNER}: X is a sparse matrix, whose absent entries cannot be told "
            "from masked ones; pass a DataFrame or a dense array."
        )
    if hasattr(X, "iloc"):
        if X.ndim != 2:
            raise ValueError(
                f"{_OWNER}: X must be a DataFrame or a 2-D array, got a "
                f"{type(X).__name__}; pass X[[column]] for one column."
            )
        return X
    X = check_array(X, dtype=None, ensure_all_finite=False)
    if X.dtype.kind in "US":
        # fixed-width strings would store a masked None as the text 'None'
        X = X.astype(object)
    return X


# -- which columns make each modality --------------------------------------


def _find_modalities(estimator, X, modalities):
    """``{name: column positions}`` of the modalities to measure, and what
    is perturbed: ``"input"`` (each member's own input, through the
    estimator's ``with_modality_input``) or ``"columns"`` (the columns in
    X)."""
    if isinstance(modalities, dict):
        if not modalities or not all(isinstance(name, str) for name in modalities):
            raise ValueError(
                f"{_OWNER}: modalities must map modality names (str) to columns, "
                f"got {modalities!r}."
            )
        return {
            name: _positions(columns, X, f"modality {name!r}", "fix modalities")
            for name, columns in modalities.items()
        }, "columns"
    if modalities is not None and not (
        isinstance(modalities, (list, tuple))
        and len(modalities) > 0
        and all(isinstance(name, str) for name in modalities)
    ):
        raise TypeError(
            f"{_OWNER}: modalities must be None, a non-empty list of modality names "
            f"or a dict {{name: columns}}, got {modalities!r}."
        )
    declared = _declared_modalities(estimator, X)
    if modalities is not None:
        unknown = [name for name in modalities if name not in declared]
        if unknown:
            raise ValueError(
                f"{_OWNER}: unknown modality name(s) {unknown} in modalities; "
                f"{_describe(estimator)} has modalities {list(declared)}. Pick "
                "some of these, or define the modalities with a dict "
                "{name: columns}."
            )
    chosen = list(declared) if modalities is None else list(modalities)
    fusion = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    alone = hasattr(fusion, "with_modality_input")
    positions = {
        name: _positions(
            columns, X, f"member {name!r} of {_describe(estimator)}",
            "pass the columns the estimator was fitted on",
        )
        for name, columns in declared.items()
        if not alone or name in chosen
    }
    if alone:
        return {name: positions[name] for name in chosen}, "input"
    groups = _column_groups(positions)
    group_of = {name: key for key, members in groups.items() for name in members}
    return {
        key: _union(positions[name] for name in groups[key])
        for key in dict.fromkeys(group_of[name] for name in chosen)
    }, "columns"


def _column_groups(positions):
    """``{group name: member names}``: members that share a column (also
    through a third member) in one group named after all of them, in the
    order of ``positions``; a member that shares no column alone."""
    order = list(positions)
    groups = []
    for name, columns in positions.items():
        touching = [g for g in groups if any(not set(positions[m]).isdisjoint(columns) for m in g)]
        merged = sorted([name, *(m for g in touching for m in g)], key=order.index)
        at = groups.index(touching[0]) if touching else len(groups)
        groups = [g for g in groups if g not in touching]
        groups.insert(at, merged)
    return {" + ".join(g): g for g in groups}


def _union(position_lists):
    return list(dict.fromkeys(p for positions in position_lists for p in positions))


def _declared_modalities(estimator, X):
    """``{name: columns}`` of the modalities a fitted estimator (or the last
    step of a Pipeline) tells through ``get_modalities()``."""
    in_pipeline = isinstance(estimator, Pipeline)
    fusion = estimator[-1] if in_pipeline else estimator
    if not hasattr(fusion, "get_modalities"):
        raise ValueError(
            f"{_OWNER}: cannot find the modalities of {_describe(estimator)}: it has "
            "no get_modalities() method, which every skfusion fusion and multi-task "
            "estimator has. Pass modalities={name: columns} to say which columns "
            "form each modality."
        )
    declared = {}
    for name, columns in fusion.get_modalities().items():
        if columns is None:
            raise ValueError(
                f"{_OWNER}: member {name!r} of {_describe(estimator)} sees every "
                "column of X (a (name, estimator) pair), so it is no modality of "
                "its own; give the members column triples, or pass "
                "modalities={name: columns}."
            )
        if in_pipeline and not _is_names(columns):
            raise ValueError(
                f"{_OWNER}: member {name!r} of the last step of {_describe(estimator)} "
                f"selects columns {columns!r} of the transformed data, not of X; "
                "pass modalities={name: columns} with the columns of X."
            )
        declared[name] = columns
    return declared


def _is_names(columns):
    return isinstance(columns, str) or (
        isinstance(columns, (list, tuple))
        and len(columns) > 0
        and all(isinstance(c, str) for c in columns)
    )


def _describe(estimator):
    if isinstance(estimator, Pipeline):
        return f"Pipeline(... {type(estimator[-1]).__name__})"
    return type(estimator).__name__


def _positions(columns, X, what, fix):
    """Column positions of one modality in X, or a message naming ``what``
    selects them and how to ``fix`` it."""
    if callable(columns):
        columns = columns(X)
    check_columns_present(_OWNER, what, columns, X, when=None, fix=fix)
    positions = column_positions(_OWNER, what, columns, X, fix=fix)
    if len(positions) == 0:
        raise ValueError(
            f"{_OWNER}: {what} selects no column of X (columns {columns!r}); "
            "a modality needs at least one column."
        )
    return positions


def _column_labels(X, positions):
    if hasattr(X, "columns"):
        return [X.columns[p] for p in positions]
    return list(positions)


# -- scoring modified copies of X --------------------------------------------


def _permuted_score(scorer, estimator, X, y, alone, name, positions, order):
    """Score with the rows of a modality's columns shuffled by ``order``."""
    if hasattr(X, "iloc"):
        X_new = X.copy()
        for p in positions:
            X_new.isetitem(p, X.iloc[order, p].set_axis(X.index))
    else:
        X_new = X.copy()
        X_new[:, positions] = X[np.ix_(order, positions)]
    try:
        return _score_with(scorer, estimator, X, y, alone, name, X_new)
    except Exception as exc:
        raise ValueError(
            f"{_OWNER}: {_describe(estimator)} failed to score X with "
            f"modality {name!r} permuted: {type(exc).__name__}: {exc}"
        ) from exc


def _masked_score(scorer, estimator, X, y, alone, name, positions, masking):
    """Score with a modality left out; returns ``(score, how)``."""
    failures = []
    for how in ("missing", "baseline") if masking == "auto" else (masking,):
        fill = _missing_value if how == "missing" else _neutral_value
        values = [fill(_column(X, p)) for p in positions]
        X_new = _filled(X, positions, values)
        try:
            return _score_with(scorer, estimator, X, y, alone, name, X_new), how
        except Exception as exc:
            failures.append((how, exc))
    tried = "; ".join(
        f"with {'missing' if how == 'missing' else 'neutral'} values it raised "
        f"{type(exc).__name__}: {exc}"
        for how, exc in failures
    )
    if masking == "missing":
        fix = "Use masking='auto' to fall back to neutral values."
    else:
        fix = "Leave this modality out of modalities, or check the estimator."
    raise ValueError(
        f"{_OWNER}: {_describe(estimator)} cannot score X with modality "
        f"{name!r} (columns {_column_labels(X, positions)}) left out: {tried}. {fix}"
    ) from failures[-1][1]


def _score_with(scorer, estimator, X, y, alone, name, X_new):
    """The score on ``(X, y)`` with modality ``name`` reading ``X_new``:
    its own input alone (``alone``), else ``X_new`` in place of ``X``."""
    if not alone:
        return float(scorer(estimator, X_new, y))
    if isinstance(estimator, Pipeline):
        # the last step's member reads what the steps before make of X_new
        view = copy.copy(estimator)
        last_name, last = estimator.steps[-1]
        X_new = estimator[:-1].transform(X_new) if len(estimator) > 1 else X_new
        view.steps = [*estimator.steps[:-1], (last_name, last.with_modality_input(name, X_new))]
    else:
        view = estimator.with_modality_input(name, X_new)
    return float(scorer(view, X, y))


def _column(X, position):
    return X.iloc[:, position] if hasattr(X, "iloc") else pd.Series(X[:, position])


def _missing_value(column):
    return np.nan if pd.api.types.is_numeric_dtype(column.dtype) else None


def _neutral_value(column):
    """What a column holds when its modality says nothing: an observed,
    typical value (the empty string for free text)."""
    values = column.dropna()
    if len(values) == 0:
        return _missing_value(column)
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
        column.dtype
    )
    if numeric:
        return values.quantile(0.5, interpolation="lower")
    text = (
        not isinstance(column.dtype, pd.CategoricalDtype)
        and all(isinstance(v, str) for v in values)
        and values.nunique() > _TEXT_DISTINCT_SHARE * len(values)
    )
    if text:
        return ""
    return values.mode().iloc[0]


def _filled(X, positions, values):
    """A copy of X with the column at each position set to one value."""
    if hasattr(X, "iloc"):
        X_new = X.copy()
        for p, value in zip(positions, values):
            # NaN goes into a float column, so integer columns can hold it
            dtype = float if _is_nan(value) else X.dtypes.iloc[p]
            X_new.isetitem(p, pd.Series([value] * X.shape[0], index=X.index, dtype=dtype))
        return X_new
    if X.dtype.kind in "biu" and any(_is_nan(value) for value in values):
        X_new = X.astype(float)
    else:
        X_new = X.copy()
    for p, value in zip(positions, values):
        X_new[:, p] = value
    return X_new


def _is_nan(value):
    return isinstance(value, float) and np.isnan(value)


def _score_name(estimator, scoring):
    if isinstance(scoring, str):
        return scoring
    if scoring is not None:
        return getattr(scoring, "__name__", "score")
    if is_classifier(estimator):
        return "accuracy"
    if is_regressor(estimator):
        return "r2"
    return "score"
