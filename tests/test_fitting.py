"""What every estimator family's fit shares: a failed fit leaves the
estimator as its fit found it (unfitted, unless it continued a warm start),
``n_outputs_``, and methods that follow the final estimator."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeClassifier
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skfusion import (
    EarlyFusionClassifier,
    EarlyFusionRegressor,
    LateFusionClassifier,
    LateFusionRegressor,
    StackingFusionClassifier,
    StackingFusionRegressor,
)

X, y = make_classification(n_samples=60, n_features=4, random_state=0)
X_ml, Y_ml = make_multilabel_classification(n_samples=60, n_features=4, n_classes=3, random_state=0)


# made afresh for each estimator: set_params below changes the members in place
def halves(make=LogisticRegression):
    return [("a", make(), [0, 1]), ("b", make(), [2, 3])]


def blocks():
    return [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])]


BAD_C = r"'C' parameter of LogisticRegression must be"
BAD_ALPHA = r"'alpha' parameter of Ridge must be"

# each family, and a parameter that makes its refit fail once some of the
# new fitted state is set (members or blocks fitted)
FAMILIES = [
    (lambda: LateFusionClassifier(halves()), {"b__C": -1.0}, BAD_C),
    (lambda: LateFusionRegressor(halves(Ridge)), {"b__alpha": -1.0}, BAD_ALPHA),
    (lambda: StackingFusionClassifier(halves(), final_estimator=LogisticRegression()),
     {"final_estimator__C": -1.0}, BAD_C),
    (lambda: StackingFusionRegressor(halves(LinearRegression), final_estimator=Ridge()),
     {"final_estimator__alpha": -1.0}, BAD_ALPHA),
    (lambda: EarlyFusionClassifier(blocks(), LogisticRegression()), {"classifier__C": -1.0}, BAD_C),
    (lambda: EarlyFusionRegressor(blocks(), Ridge()), {"regressor__alpha": -1.0}, BAD_ALPHA),
]
IDS = ["late-clf", "late-reg", "stacking-clf", "stacking-reg", "early-clf", "early-reg"]


@pytest.mark.parametrize("make, bad, match", FAMILIES, ids=IDS)
def test_a_failed_refit_leaves_every_family_unfitted(make, bad, match):
    fusion = make().fit(X, y)
    with pytest.raises(ValueError, match=match):
        fusion.set_params(**bad).fit(X, y)
    assert [k for k in vars(fusion) if k.endswith("_") and not k.endswith("__")] == []
    with pytest.raises(NotFittedError, match=f"This {type(fusion).__name__} instance is not fitted yet"):
        fusion.predict(X)


def test_a_failed_warm_start_keeps_the_previous_fit():
    pytest.importorskip("keras")
    from skfusion.keras import KerasMLPClassifier

    labels = np.where(y == 1, "b", "a")
    clf = KerasMLPClassifier(hidden_layers=(4,), epochs=1, warm_start=True, random_state=0).fit(X, labels)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match=r"warm_start=True but y has classes \['c'\]"):
        clf.fit(X, np.where(y == 1, "b", "c"))
    assert_allclose(clf.predict_proba(X), before)
    assert clf.classes_.tolist() == ["a", "b"]


def _ovr():
    return OneVsRestClassifier(LogisticRegression())


Y_REG = X_ml[:, :2] @ np.array([[1.0, 0.5], [-1.0, 2.0]])


@pytest.mark.parametrize("fusion, Y", [
    (LateFusionClassifier(halves(_ovr)), Y_ml),
    (LateFusionRegressor(halves(LinearRegression)), Y_REG),
    (StackingFusionClassifier(halves(_ovr), final_estimator=_ovr()), Y_ml),
    (StackingFusionRegressor(halves(LinearRegression)), Y_REG),
    (EarlyFusionClassifier(blocks(), KNeighborsClassifier()), Y_ml),
    (EarlyFusionRegressor(blocks(), Ridge()), Y_REG),
], ids=IDS)
def test_n_outputs_is_the_columns_of_y(fusion, Y):
    assert clone(fusion).fit(X_ml, Y[:, 0]).n_outputs_ == 1
    assert fusion.fit(X_ml, Y).n_outputs_ == Y.shape[1]


def test_methods_follow_the_final_estimator_before_and_after_fit():
    # the default final estimator (final_estimator=None) has predict_proba
    stacking = StackingFusionClassifier(halves())
    assert hasattr(stacking, "predict_proba") and hasattr(stacking, "decision_function")
    no_proba = StackingFusionClassifier(halves(), final_estimator=SVC())
    assert not hasattr(no_proba, "predict_proba")
    assert not hasattr(no_proba.fit(X, y), "predict_proba")
    early = EarlyFusionClassifier(blocks(), RidgeClassifier())
    assert not hasattr(early, "predict_proba") and hasattr(early, "decision_function")
    assert not hasattr(early.fit(X, y), "predict_proba")
    assert hasattr(EarlyFusionClassifier(blocks(), LogisticRegression()), "predict_proba")
