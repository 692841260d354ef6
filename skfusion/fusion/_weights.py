"""Weights: the user's weights checked against the members (late fusion's
``weights``, early fusion's ``block_weights``), and weights learned from
out-of-fold predictions, on the simplex for a smooth loss or by bagged
greedy ensemble selection for any other metric."""

import numpy as np
from scipy.optimize import minimize

#: scorer names whose score is smooth in the weights: learned on the simplex
SMOOTH_SCORERS = frozenset({
    "neg_log_loss",
    "neg_brier_score",
    "neg_mean_squared_error",
    "neg_root_mean_squared_error",
    "r2",
})

#: bootstrap bags of the out-of-fold rows that ensemble selection runs on
N_BAGS = 20
#: rounds of greedy selection in each bag (weights are multiples of 1/N_ROUNDS
#: or coarser in a bag, finer once averaged over the bags)
N_ROUNDS = 25
#: the learned weights are kept only when their mean out-of-bag gain over
#: equal weights is at least this many standard errors above zero
MIN_GAIN_SE = 2.0


def resolve_weights(owner, weights, names, *, param, kind, active=None,
                    require_positive=False):
    """One float per name from ``weights``: None (all 1), a list with one
    entry per name, or a dict by name (names it omits weigh 1).

    Parameters
    ----------
    owner : str
        The estimator's class name, for the messages.
    weights : None, array-like or dict
        What the user gave.
    names : list of str
        Every member's name, dropped ones included.
    param, kind : str
        The parameter's name and what it weighs (``"estimator"``,
        ``"block"``), for the messages.
    active : array-like of bool, default=None
        Which members are not dropped; with ``require_positive``, at least
        one of them must weigh more than zero.
    require_positive : bool, default=False
        Refuse active members that all weigh zero.

    Returns
    -------
    values : ndarray of shape (len(names),)
    """
    if weights is None:
        values = np.ones(len(names))
    elif isinstance(weights, dict):
        unknown = sorted(set(weights) - set(names))
        if unknown:
            raise ValueError(
                f"{owner}: {param} names {unknown}, which is not {_a(kind)}; the "
                f"{kind}s are {names}. Use their names as keys."
            )
        values = np.array([weights.get(name, 1.0) for name in names], dtype=float)
    else:
        values = np.asarray(weights, dtype=float).ravel()
        if values.size != len(names):
            raise ValueError(
                f"{owner}: {param} has {values.size} entries but there are "
                f"{len(names)} {kind}s {tuple(names)}; give one weight per {kind} "
                f"or a dict by name. Number of `{kind}s` and {param} must be equal."
            )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError(
            f"{owner}: {param} must be finite and non-negative, got "
            f"{dict(zip(names, values.tolist()))}."
        )
    if require_positive:
        active = np.ones(len(names), dtype=bool) if active is None else np.asarray(active)
        if values[active].sum() == 0:
            raise ValueError(
                f"{owner}: {param} of the {kind}s that are not dropped are all zero "
                f"({dict(zip(np.array(names)[active], values[active].tolist()))}); at "
                "least one must be positive."
            )
    return values


def _a(kind):
    return ("an " if kind[0] in "aeiou" else "a ") + kind


def simplex_weights(loss, n_members):
    """Weights on the simplex minimising ``loss(weights)`` (SLSQP from equal
    weights), never worse than equal weights.

    Parameters
    ----------
    loss : callable
        Maps weights summing to one to the value to minimise.
    n_members : int

    Returns
    -------
    weights : ndarray of shape (n_members,), summing to one
    """
    equal = np.full(n_members, 1.0 / n_members)
    if n_members == 1:
        return equal

    def on_simplex(w):
        # the optimiser may step off the simplex; score the nearest point on it
        w = np.clip(w, 0.0, None)
        return loss(w / w.sum() if w.sum() > 0 else equal)

    result = minimize(
        on_simplex,
        equal,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n_members,
        constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
    )
    weights = np.clip(result.x, 0.0, None)
    if weights.sum() == 0 or not on_simplex(weights) <= on_simplex(equal):
        # never worse than equal weights on the data it was learned from
        return equal
    return weights / weights.sum()


def ensemble_selection(score, n_members, *, n_iter=N_ROUNDS):
    """Greedy ensemble selection with replacement (Caruana et al., 2004).

    The first round takes the best member alone; each further round adds
    the member (again, if it is already in) whose addition scores best; a
    member's weight is the share of rounds that picked it. The best
    ensemble along the way is kept, and equal weights win when they score
    at least as well, so the result is never worse than equal weights nor
    than the best single member on the predictions it was selected on.

    Parameters
    ----------
    score : callable
        Maps weights summing to one to a score, greater is better.
    n_members : int
    n_iter : int, default=N_ROUNDS
        Rounds of selection.

    Returns
    -------
    weights : ndarray of shape (n_members,), summing to one
    """
    equal = np.full(n_members, 1.0 / n_members)
    if n_members == 1:
        return equal
    counts = np.zeros(n_members)
    best_weights, best_score = None, -np.inf
    for _ in range(n_iter):
        trials = [score((counts + np.eye(n_members)[i]) / (counts.sum() + 1))
                  for i in range(n_members)]
        pick = int(np.argmax(trials))
        counts[pick] += 1
        if trials[pick] > best_score:
            best_weights, best_score = counts / counts.sum(), trials[pick]
    if score(equal) >= best_score:
        return equal
    return best_weights


def bagged_selection(score, n_members, n_rows, *, strata=None, n_bags=N_BAGS,
                     n_iter=N_ROUNDS, min_gain_se=MIN_GAIN_SE, random_state=0):
    """Ensemble selection bagged over bootstrap samples of the rows, kept
    only when it beats equal weights out of bag (Caruana et al., 2004 and
    2006: selection on the out-of-fold predictions alone overfits them).

    Each bag draws ``n_rows`` rows with replacement (within each stratum,
    so every class keeps its share), runs :func:`ensemble_selection` on
    them, and scores the weights it chose against equal weights on the rows
    it did not draw: the mean of those gains is the out-of-bag (bootstrap)
    estimate of what selecting weights gains over equal weights on rows it
    did not see. The result is the bags' mean weights when that estimate is
    positive beyond its Monte Carlo error (``min_gain_se`` standard errors
    of the mean over the bags); otherwise equal weights (the fallback).
    The standard error measures the bootstrap's noise, not the data's: the
    guard is the sign of the out-of-bag estimate, made stable. A bag is
    scored only when the rows it left out hold every class it drew (a
    scorer may need them all), so a class of one or two rows leaves few
    or no bags to score, and then equal weights are kept.

    Parameters
    ----------
    score : callable
        ``score(weights, rows)``: the score of the fusion with ``weights``
        on those rows (indices, repeats allowed), greater is better.
    n_members, n_rows : int
    strata : ndarray of shape (n_rows,), default=None
        Class codes to bootstrap within; None draws from all rows.
    n_bags, n_iter : int
        Bootstrap bags, and rounds of selection in each.
    min_gain_se : float
        Standard errors the mean out-of-bag gain must clear.
    random_state : int
        Seeds the bootstrap, so the same predictions give the same weights.

    Returns
    -------
    weights : ndarray of shape (n_members,), summing to one
    selection : dict
        ``method`` ("bagged ensemble selection"), ``n_bags``, ``n_scored``
        (the bags scored out of bag), ``gain`` (the mean out-of-bag gain
        over equal weights), ``gain_se`` (its standard error),
        ``bag_weights`` (one row per bag) and ``fallback`` (True when equal
        weights were kept; False for a single member, which weighs 1).
    """
    equal = np.full(n_members, 1.0 / n_members)
    rng = np.random.default_rng(random_state)
    everything = np.arange(n_rows)
    groups = [everything] if strata is None else [
        np.flatnonzero(strata == s) for s in np.unique(strata)
    ]
    bag_weights, gains = [], []
    for _ in range(n_bags if n_members > 1 else 0):
        rows = np.concatenate([rng.choice(g, size=g.size) for g in groups])
        bag = ensemble_selection(lambda w: score(w, rows), n_members, n_iter=n_iter)
        bag_weights.append(bag)
        left_out = np.setdiff1d(everything, rows)
        if left_out.size and (strata is None or np.all(
                np.isin(np.unique(strata[rows]), strata[left_out]))):
            gains.append(score(bag, left_out) - score(equal, left_out))
    gains = np.asarray(gains, dtype=float)
    gain = float(gains.mean()) if gains.size else 0.0
    gain_se = float(gains.std(ddof=1) / np.sqrt(gains.size)) if gains.size > 1 else np.inf
    fallback = n_members > 1 and not (gain > 0 and gain >= min_gain_se * gain_se)
    weights = equal if fallback or n_members == 1 else np.mean(bag_weights, axis=0)
    selection = {
        "method": "bagged ensemble selection",
        "n_bags": len(bag_weights),
        "n_scored": int(gains.size),
        "gain": gain,
        "gain_se": gain_se,
        "bag_weights": np.array(bag_weights).reshape(-1, n_members),
        "fallback": fallback,
    }
    return weights, selection


def learned_weights(owner, target, scores, available, y, sample_weight, *,
                    fuse, scoring, hard=False):
    """Weights learned from out-of-fold ``scores`` ``(n_members, n_samples,
    n_outputs)`` of the rows some member scored.

    ``scoring=None`` minimises the target's own loss (log loss, the Brier
    score of hard votes, squared error) on the simplex; a scorer name in
    :data:`SMOOTH_SCORERS` is maximised on the simplex; any other scorer by
    :func:`bagged_selection`. ``fuse(scores, row_weights)`` fuses.

    Returns
    -------
    weights : ndarray of shape (n_members,), summing to one
    selection : dict
        How they were found: ``{"method": "simplex"}``, or what
        :func:`bagged_selection` reports.
    """
    from sklearn.metrics import get_scorer

    seen = available.any(axis=0)
    scores, available = np.nan_to_num(scores[:, seen]), available[:, seen]
    y_seen = y[seen]
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight)[seen]
    n_members = len(scores)
    simplex = {"method": "simplex"}

    def fused(w):
        return fuse(scores, row_weights(w, available))

    if scoring is None:
        return simplex_weights(
            lambda w: target.loss(fused(w), y_seen, sample_weight, hard=hard), n_members
        ), simplex
    predictions = _Predictions(target)
    scorer = get_scorer(scoring)
    response = getattr(scorer, "_response_method", "predict")
    response = (response,) if isinstance(response, str) else tuple(response)
    if hard and "predict" not in response:
        raise ValueError(
            f"{owner}: scoring={scoring!r} needs {' or '.join(response)}, which "
            "voting='hard' does not give; use voting='soft' or a scorer of "
            "labels such as 'f1_macro'."
        )
    y_user = target.user_y(y_seen)

    if isinstance(scoring, str) and scoring in SMOOTH_SCORERS:
        index = np.arange(len(y_seen)).reshape(-1, 1)
        params = {} if sample_weight is None else {"sample_weight": sample_weight}

        def score(w):
            predictions.fused_ = fused(w)
            return scorer(predictions, index, y_user, **params)

        return simplex_weights(lambda w: -score(w), n_members), simplex

    def score_rows(w, rows):
        predictions.fused_ = fuse(scores[:, rows], row_weights(w, available[:, rows]))
        params = {} if sample_weight is None else {"sample_weight": sample_weight[rows]}
        return scorer(predictions, rows.reshape(-1, 1), y_user[rows], **params)

    strata = y_seen if target.classes_ is not None and not target.multilabel else None
    return bagged_selection(score_rows, n_members, len(y_seen), strata=strata)


def row_weights(weights, available):
    """Member weights per row, zero where a member cannot see the row,
    normalised to sum to one over the members that can.

    A row whose visible members all weigh zero is shared equally among them:
    a weight ranks members against each other, it does not veto the only
    modality a row has.
    """
    w = np.asarray(weights, dtype=float)[:, None] * available
    unweighted = w.sum(axis=0) == 0
    w[:, unweighted] = available[:, unweighted]
    total = w.sum(axis=0, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


class _Predictions:
    """Fixed fused predictions dressed as a fitted estimator, so that any
    scikit-learn scorer can score them (``X`` is ignored)."""

    def __init__(self, target):
        self.target = target
        self.classes_ = target.classes_
        self.fused_ = None

    def predict(self, X):
        return self.target.decode(self.fused_)

    def predict_proba(self, X):
        return self.fused_

    def __sklearn_tags__(self):
        from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

        mixin = RegressorMixin if self.classes_ is None else ClassifierMixin
        return type("_Kind", (mixin, BaseEstimator), {})().__sklearn_tags__()
