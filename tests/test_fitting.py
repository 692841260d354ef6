"""What every estimator family's fit shares: methods that follow the
final estimator."""

from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from skfusion import EarlyFusionClassifier, StackingFusionClassifier

X, y = make_classification(n_samples=60, n_features=4, random_state=0)


def halves(make=LogisticRegression):
    return [("a", make(), [0, 1]), ("b", make(), [2, 3])]


def blocks():
    return [("a", StandardScaler(), [0, 1]), ("b", "passthrough", [2, 3])]


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
