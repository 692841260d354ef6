"""weights="auto" with scoring=. A smooth scorer: the weights reach the
optimum of a fine grid over the simplex on out-of-fold member predictions
rebuilt here with cross_val_predict. Any other scorer: bagged ensemble
selection, kept only when it beats equal weights out of bag, so it beats
equal weights on new rows where a member deserves more weight and falls
back to equal weights where the members are alike."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
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


@pytest.fixture(scope="module")
def good_and_noise():
    """A member on the informative columns and one on noise columns, 400
    rows to fit and 2,000 new rows to judge the weights on."""
    X, y = make_classification(
        n_samples=2400, n_features=10, n_informative=3, weights=[0.7], shuffle=False,
        random_state=0,
    )
    order = np.random.default_rng(0).permutation(len(y))
    X, y = X[order], y[order]
    members = [
        ("good", LogisticRegression(), [0, 1, 2, 3, 4]),
        ("noise", DecisionTreeClassifier(max_depth=3, random_state=0), [8, 9]),
    ]
    return X[:400], y[:400], X[400:], y[400:], members


@pytest.fixture(scope="module")
def alike():
    """Two members that see independent noisy copies of the same three
    signal columns: by symmetry, equal weights are the best weights."""
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 3))
    y = (signal.sum(axis=1) + rng.normal(size=400) > 0).astype(int)
    X = np.hstack([signal + rng.normal(size=signal.shape), signal + rng.normal(size=signal.shape)])
    members = [("a", LogisticRegression(), [0, 1, 2]), ("b", LogisticRegression(), [3, 4, 5])]
    return X, y, members


def new_rows_score(fusion, members, X, y, metric, method="predict_proba"):
    """``score(weights)`` of the fitted members fused on new rows."""
    outputs = np.stack([getattr(est, method)(X[:, cols])
                        for est, (_, _, cols) in zip(fusion.estimators_, members)])
    if method == "predict":
        outputs = np.eye(len(fusion.classes_))[outputs]
    return lambda w: metric(y, soft(outputs, np.asarray(w)))


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
def test_selection_is_kept_where_it_wins_out_of_bag(good_and_noise, scoring):
    X, y, X_new, y_new, members = good_and_noise
    fusion = LateFusionClassifier(members, weights="auto", scoring=scoring, cv=CV).fit(X, y)
    selection = fusion.weight_selection_
    assert selection["method"] == "bagged ensemble selection"
    assert not selection["fallback"]
    assert selection["gain"] > 2 * selection["gain_se"] > 0
    bags = selection["bag_weights"]
    assert bags.shape == (20, 2)
    assert_allclose(fusion.weights_, bags.mean(axis=0))
    # greedy selection with replacement adds one member per round, so each
    # bag's weights are counts over at most 25 rounds
    rounds = np.arange(1, 26)
    for bag in bags:
        counts = np.outer(rounds, bag)
        assert np.any(np.all(np.isclose(counts, np.round(counts)), axis=1)), bag
    assert fusion.weights_[0] > 0.7
    score = new_rows_score(fusion, members, X_new, y_new, CLASSIFIER_METRICS[scoring])
    assert score(fusion.weights_) > score([0.5, 0.5]) + 0.01


@pytest.mark.parametrize("scoring", ["f1_macro", "roc_auc", "balanced_accuracy"])
def test_selection_falls_back_to_equal_weights_where_the_members_are_alike(alike, scoring):
    X, y, members = alike
    fusion = LateFusionClassifier(members, weights="auto", scoring=scoring, cv=CV).fit(X, y)
    selection = fusion.weight_selection_
    assert selection["fallback"]
    assert not selection["gain"] > 2 * selection["gain_se"]
    assert_array_equal(fusion.weights_, [0.5, 0.5])
    # selection on a resample of the rows moves away from equal weights, and
    # the rows it left out say that this was noise
    assert np.any(selection["bag_weights"] != 0.5)
    assert selection["gain"] < 0


def test_selection_is_repeatable_and_leaves_the_global_seed_alone(good_and_noise):
    X, y, _, _, members = good_and_noise
    state = np.random.get_state()[1].copy()
    first = LateFusionClassifier(members, weights="auto", scoring="f1_macro", cv=CV).fit(X, y)
    second = LateFusionClassifier(members, weights="auto", scoring="f1_macro", cv=CV).fit(X, y)
    assert_array_equal(first.weights_, second.weights_)
    assert_array_equal(first.weight_selection_["bag_weights"],
                       second.weight_selection_["bag_weights"])
    assert_array_equal(np.random.get_state()[1], state)


def test_given_and_smooth_weights_say_how_they_came(binary):
    X, y, members = binary
    given = LateFusionClassifier(members, weights=[2, 1]).fit(X, y)
    assert given.weight_selection_ == {"method": "given"}
    # refitting with other weights replaces what an earlier fit learned
    given.set_params(weights="auto", cv=CV).fit(X, y)
    assert given.weight_selection_ == {"method": "simplex"}
    given.set_params(scoring="f1_macro").fit(X, y)
    assert given.weight_selection_["method"] == "bagged ensemble selection"
    given.set_params(weights=None).fit(X, y)
    assert given.weight_selection_ == {"method": "given"}

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


def test_callable_scorer_is_asked_about_bootstrap_draws_and_left_out_rows(binary):
    """A make_scorer callable is asked about fused out-of-fold probabilities
    of each bag's rows (as many as there are rows, with repeats, in each
    class's proportion) and of the rows the bag left out, with the user's
    labels."""
    X, y, members = binary
    labels = np.array(["no", "yes"])[y]
    asked = []

    def f2(y_true, y_pred):
        asked.append(np.asarray(y_true))
        return fbeta_score(y_true, y_pred, beta=2, pos_label="yes")

    LateFusionClassifier(members, weights="auto", scoring=make_scorer(f2), cv=CV).fit(X, labels)
    sizes = np.array([len(a) for a in asked])
    assert set(np.unique(np.concatenate(asked))) == {"no", "yes"}
    drawn = [a for a in asked if len(a) == len(y)]
    left_out = [a for a in asked if len(a) < len(y)]
    # 20 bags: 25 rounds of 2 trials and one look at equal weights each on
    # the draw, two looks (the bag's weights, equal weights) at the rest
    assert len(drawn) == 20 * (25 * 2 + 1)
    assert len(left_out) == 20 * 2
    assert sizes.max() == len(y)
    for draw in drawn:
        assert (draw == "yes").sum() == (labels == "yes").sum()
    assert all(0.2 * len(y) < len(a) < 0.5 * len(y) for a in left_out)


def test_sample_weight_reaches_the_scorer(binary):
    X, y, members = binary
    sample_weight = np.where(y == 1, 3.0, 1.0)
    received = []

    def weighted_f1(estimator, X_scored, y_true, sample_weight=None):
        received.append((np.asarray(y_true), sample_weight))
        return f1_score(y_true, estimator.predict(X_scored), average="macro",
                        sample_weight=sample_weight)

    fusion = LateFusionClassifier(members, weights="auto", scoring=weighted_f1, cv=CV)
    fusion.fit(X, y, sample_weight=sample_weight)
    assert len(received) > 2
    # each scored row comes with its own weight, whichever rows are scored
    for y_true, given in received:
        assert_array_equal(given, np.where(y_true == 1, 3.0, 1.0))


def test_hard_voting_learns_weights_for_a_scorer_of_labels():
    X, y = make_classification(n_samples=2300, n_features=9, n_informative=5,
                               n_classes=3, random_state=1)
    members = [
        ("lr", LogisticRegression(), [0, 1, 2]),
        ("tree", DecisionTreeClassifier(max_depth=3, random_state=0), [3, 4, 5]),
        ("nb", GaussianNB(), [6, 7, 8]),
    ]
    fusion = LateFusionClassifier(members, weights="auto", voting="hard",
                                  scoring="f1_macro", cv=CV).fit(X[:300], y[:300])
    assert not fusion.weight_selection_["fallback"]
    score = new_rows_score(fusion, members, X[300:], y[300:],
                           lambda y, p: f1_score(y, p.argmax(1), average="macro"),
                           method="predict")
    assert score(fusion.weights_) > score(np.full(3, 1 / 3)) + 0.01

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


def test_a_class_of_one_row_leaves_no_bag_to_score_and_keeps_equal_weights(good_and_noise):
    """A bag is scored only where the rows it left out hold every class it
    drew: a class of one row is always drawn, never left out."""
    X, y, _, _, members = good_and_noise
    y = y.copy()
    y[0] = 2  # a third class, of one row
    fusion = LateFusionClassifier(members, weights="auto", scoring="f1_macro",
                                  cv=KFold(5, shuffle=True, random_state=0)).fit(X, y)
    selection = fusion.weight_selection_
    assert selection["n_bags"] == 20 and selection["n_scored"] == 0
    assert selection["fallback"]
    assert_array_equal(fusion.weights_, [0.5, 0.5])


def test_a_single_member_weighs_one_without_a_fallback(good_and_noise):
    X, y, _, _, members = good_and_noise
    fusion = LateFusionClassifier(members[:1], weights="auto", scoring="f1_macro",
                                  cv=CV).fit(X, y)
    assert_array_equal(fusion.weights_, [1.0])
    assert not fusion.weight_selection_["fallback"]
