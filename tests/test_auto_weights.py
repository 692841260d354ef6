"""weights="auto" with scoring=: the learned weights score, on out-of-fold
member predictions rebuilt here with cross_val_predict, at least as well as
equal weights, every member alone and (where the search is exact) every
point of a fine grid over the simplex."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import minimize
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import (
    balanced_accuracy_score,
    f1_score,
    fbeta_score,
    log_loss,
    make_scorer,
    mean_absolute_error,
    roc_auc_score,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skfusion import LateFusionClassifier, LateFusionRegressor

CV = StratifiedKFold(5, shuffle=True, random_state=0)
# the weights on a line from one member to the other, 1/2000 apart: finer
# than any weight the search can return (multiples of 1/50 or fewer)
LINE = np.linspace(0.0, 1.0, 2001)


@pytest.fixture(scope="module")
def binary():
    """Imbalanced binary data and two members that see different columns:
    a thresholded metric is not maximised by either member alone."""
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=4, weights=[0.7], flip_y=0.05,
        random_state=0,
    )
    members = [
        ("lr", LogisticRegression(), [0, 1, 2]),
        ("tree", DecisionTreeClassifier(max_depth=4, random_state=0), [2, 3, 4, 5]),
    ]
    return X, y, members


def oof(members, X, y, cv=CV, method="predict_proba", **params):
    """Each member's out-of-fold output on its own columns, ``(n_members,
    n_samples, ...)``, from the same folds the fusion is given."""
    return np.stack([
        cross_val_predict(est, X[:, cols], y, cv=cv, method=method, params=params)
        for _, est, cols in members
    ])


def corners_and_centre(n_members):
    """Each member alone, then equal weights."""
    return [*np.eye(n_members), np.full(n_members, 1.0 / n_members)]


def assert_at_least_as_good(score, weights, others):
    """``weights`` scores at least as well as each of ``others`` (exactly:
    the search compares the same numbers)."""
    chosen = score(weights)
    for other in others:
        assert chosen >= score(np.asarray(other)), (weights, other)
    return chosen


def soft(scores, w):
    return np.tensordot(w, scores, axes=1)


CLASSIFIER_METRICS = {
    "f1_macro": lambda y, p: f1_score(y, p.argmax(1), average="macro"),
    "roc_auc": lambda y, p: roc_auc_score(y, p[:, 1]),
    "balanced_accuracy": lambda y, p: balanced_accuracy_score(y, p.argmax(1)),
    "neg_log_loss": lambda y, p: -log_loss(y, p),
}


@pytest.mark.parametrize("scoring", ["f1_macro", "roc_auc", "balanced_accuracy"])
def test_ensemble_selection_beats_equal_weights_and_every_member(binary, scoring):
    X, y, members = binary
    fusion = LateFusionClassifier(members, weights="auto", scoring=scoring, cv=CV).fit(X, y)
    scores = oof(members, X, y)
    metric = CLASSIFIER_METRICS[scoring]

    def score(w):
        return metric(y, soft(scores, w))

    chosen = assert_at_least_as_good(score, fusion.weights_, corners_and_centre(2))
    # greedy selection with replacement adds one member per round, so its
    # weights are counts over at most 50 rounds
    rounds = np.arange(1, 51)
    assert np.any(np.all(np.isclose(np.outer(rounds, fusion.weights_) % 1, 0)
                         | np.isclose(np.outer(rounds, fusion.weights_) % 1, 1), axis=1))
    best_on_line = max(score(np.array([a, 1 - a])) for a in LINE)
    assert chosen == pytest.approx(best_on_line, abs=0.01)
    if scoring != "roc_auc":
        # a thresholded metric: the best mixture beats every member and
        # equal weights, so the search found a mixture, not a corner
        assert chosen > max(score(w) for w in corners_and_centre(2))


def test_smooth_scorer_reaches_the_optimum_of_a_fine_grid(binary):
    X, y, members = binary
    fusion = LateFusionClassifier(members, weights="auto", scoring="neg_log_loss",
                                  cv=CV).fit(X, y)
    scores = oof(members, X, y)

    def score(w):
        return CLASSIFIER_METRICS["neg_log_loss"](y, soft(scores, w))

    chosen = assert_at_least_as_good(score, fusion.weights_, corners_and_centre(2))
    # log loss is convex in the weights: SLSQP's optimum (to its tolerance)
    # is the grid's, and strictly inside the simplex here
    assert chosen >= max(score(np.array([a, 1 - a])) for a in LINE) - 1e-6
    assert 0.05 < fusion.weights_[0] < 0.95


def test_no_scoring_minimises_log_loss_as_before(binary):
    """scoring=None is what weights="auto" did before scoring= existed: SLSQP
    on the simplex from equal weights, minimising the log loss of the fused
    out-of-fold probabilities."""
    X, y, members = binary
    fusion = LateFusionClassifier(members, weights="auto", cv=CV).fit(X, y)
    scores = oof(members, X, y)

    def loss(w):
        w = np.clip(w, 0.0, None)
        p = soft(scores, w / w.sum())
        return -np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, None)))

    before = minimize(loss, [0.5, 0.5], method="SLSQP", bounds=[(0, 1)] * 2,
                      constraints=({"type": "eq", "fun": lambda w: w.sum() - 1},)).x
    assert_allclose(fusion.weights_, before / before.sum(), rtol=1e-6)
    assert loss(fusion.weights_) <= min(loss(np.array([a, 1 - a])) for a in LINE) + 1e-6
    # the scorer of the same loss finds the same weights, to SLSQP's tolerance
    named = LateFusionClassifier(members, weights="auto", scoring="neg_log_loss",
                                 cv=CV).fit(X, y)
    assert_allclose(named.weights_, fusion.weights_, atol=1e-3)


def test_callable_scorer_gets_the_fused_out_of_fold_predictions(binary):
    """A make_scorer callable is asked about fused out-of-fold probabilities
    (the ones rebuilt here), and the weights chosen score as well as the best
    ensemble it was asked about."""
    X, y, members = binary
    asked = []

    def f2(y_true, y_pred):
        value = fbeta_score(y_true, y_pred, beta=2)
        asked.append(value)
        return value

    fusion = LateFusionClassifier(members, weights="auto", scoring=make_scorer(f2),
                                  cv=CV).fit(X, y)
    scores = oof(members, X, y)

    def score(w):
        return fbeta_score(y, soft(scores, w).argmax(1), beta=2)

    chosen = assert_at_least_as_good(score, fusion.weights_, corners_and_centre(2))
    assert chosen == max(asked)
    # the first round of selection tries each member alone, on these folds
    assert asked[:2] == [score(np.array([1.0, 0.0])), score(np.array([0.0, 1.0]))]


def test_sample_weight_reaches_the_scorer(binary):
    X, y, members = binary
    sample_weight = np.where(y == 1, 3.0, 1.0)
    received = []

    def weighted_f1(estimator, X_scored, y_true, sample_weight=None):
        received.append(sample_weight)
        return f1_score(y_true, estimator.predict(X_scored), average="macro",
                        sample_weight=sample_weight)

    fusion = LateFusionClassifier(members, weights="auto", scoring=weighted_f1, cv=CV)
    fusion.fit(X, y, sample_weight=sample_weight)
    assert len(received) > 2
    for given in received:
        assert_allclose(given, sample_weight)
    # the members are fitted with the sample weights too, in every fold
    scores = oof(members, X, y, sample_weight=sample_weight)

    def score(w):
        return f1_score(y, soft(scores, w).argmax(1), average="macro",
                        sample_weight=sample_weight)

    assert_at_least_as_good(score, fusion.weights_, corners_and_centre(2))


def test_hard_voting_learns_weights_for_a_scorer_of_labels():
    X, y = make_classification(n_samples=300, n_features=9, n_informative=5,
                               n_classes=3, random_state=1)
    members = [
        ("lr", LogisticRegression(), [0, 1, 2]),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0), [3, 4, 5]),
        ("nb", GaussianNB(), [6, 7, 8]),
    ]
    fusion = LateFusionClassifier(members, weights="auto", voting="hard",
                                  scoring="f1_macro", cv=CV).fit(X, y)
    votes = oof(members, X, y, method="predict")
    one_hot = np.eye(3)[votes]

    def score(w):
        # the weighted majority; a tie goes to the smaller class, as in predict
        return f1_score(y, soft(one_hot, w).argmax(1), average="macro")

    assert_at_least_as_good(score, fusion.weights_, corners_and_centre(3))
    assert score(fusion.weights_) > score(np.full(3, 1 / 3))


def test_hard_voting_refuses_a_scorer_of_probabilities(binary):
    X, y, members = binary
    fusion = LateFusionClassifier(members, weights="auto", voting="hard",
                                  scoring="roc_auc", cv=CV)
    with pytest.raises(ValueError, match="LateFusionClassifier: scoring='roc_auc' needs "
                       "decision_function or predict_proba, which voting='hard' does "
                       "not give"):
        fusion.fit(X, y)


def test_multilabel_f1_macro():
    X, Y = make_multilabel_classification(n_samples=300, n_features=12, n_classes=3,
                                          random_state=0)
    members = [
        ("lr", OneVsRestClassifier(LogisticRegression(max_iter=500)), list(range(6))),
        ("nb", OneVsRestClassifier(GaussianNB()), list(range(6, 12))),
    ]
    cv = KFold(5, shuffle=True, random_state=0)
    fusion = LateFusionClassifier(members, weights="auto", scoring="f1_macro",
                                  cv=cv).fit(X, Y)
    scores = oof(members, X, Y, cv=cv)

    def score(w):
        return f1_score(Y, (soft(scores, w) > 0.5).astype(int), average="macro")

    assert_at_least_as_good(score, fusion.weights_, corners_and_centre(2))


def test_regressor_mean_absolute_error():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 3))
    y = 2 * X[:, 0] + np.sign(X[:, 1]) + rng.standard_t(2, size=300)
    members = [
        ("linear", LinearRegression(), [0]),
        ("tree", DecisionTreeRegressor(max_depth=3, random_state=0), [1, 2]),
    ]
    cv = KFold(5, shuffle=True, random_state=0)
    reg = LateFusionRegressor(members, weights="auto", scoring="neg_mean_absolute_error",
                              cv=cv).fit(X, y)
    scores = oof(members, X, y, cv=cv, method="predict")

    def score(w):
        return -mean_absolute_error(y, soft(scores, w))

    chosen = assert_at_least_as_good(score, reg.weights_, corners_and_centre(2))
    assert chosen > max(score(w) for w in corners_and_centre(2))
