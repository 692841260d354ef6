"""Stacking: LateFusion* with a final_estimator fitted on out-of-fold member
outputs, and passthrough features beside them."""

import pickle

import numpy as np
import pytest
from conftest import TABULAR, TEXT
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    StackingClassifier,
    StackingRegressor,
)
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skfusion import LateFusionClassifier, LateFusionRegressor
from skfusion.encoders import TabularEncoder


def test_regressor_stacking_equals_sklearn_stacking_regressor():
    X, y = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
    members = [("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]
    ours = LateFusionRegressor(members, final_estimator=Ridge(), cv=5).fit(X, y)
    theirs = StackingRegressor(members, final_estimator=Ridge(), cv=5).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)
    assert ours.weights_ is None


def test_classifier_stacking_equals_sklearn_stacking_classifier():
    X, y = make_classification(n_samples=150, n_features=6, random_state=0)
    members = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=3, random_state=0))]
    ours = LateFusionClassifier(members, final_estimator=LogisticRegression(), cv=5).fit(X, y)
    theirs = StackingClassifier(members, final_estimator=LogisticRegression(), cv=5).fit(X, y)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    # binary probabilities: one column per member, as StackingClassifier
    assert ours.final_estimator_.n_features_in_ == 2


def test_stacking_with_string_labels_and_three_classes():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0)
    labels = np.array(["low", "mid", "high"])[y]
    members = [("lr", LogisticRegression(), [0, 1, 2]), ("tree", DecisionTreeClassifier(max_depth=3, random_state=0), [3, 4, 5])]
    fusion = LateFusionClassifier(members, final_estimator=LogisticRegression(), cv=3).fit(X, labels)
    assert fusion.final_estimator_.n_features_in_ == 6
    assert set(fusion.predict(X)) <= {"low", "mid", "high"}
    proba = fusion.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(fusion.classes_[proba.argmax(axis=1)], fusion.predict(X))


def test_passthrough_encodes_columns_for_the_final_estimator(reviews, members):
    X, y = reviews
    fusion = LateFusionClassifier(
        members,
        final_estimator=HistGradientBoostingClassifier(max_iter=20, random_state=0),
        passthrough=(TabularEncoder(), ["Age", "Department Name"]),
        missing="renormalize",
        cv=3,
    ).fit(X, y)
    width = fusion.passthrough_.transform(X[["Age", "Department Name"]]).shape[1]
    assert fusion.final_estimator_.n_features_in_ == 2 + width
    no_text = X[TEXT].isna()
    proba = fusion.predict_proba(X[no_text])
    assert np.isfinite(proba).all() and proba.shape == (int(no_text.sum()), 2)


def test_passthrough_true_and_column_names():
    X, y = make_classification(n_samples=100, n_features=4, random_state=0)
    members = [("lr", LogisticRegression())]
    all_columns = LateFusionClassifier(members, final_estimator=LogisticRegression(), passthrough=True, cv=3).fit(X, y)
    assert all_columns.final_estimator_.n_features_in_ == 1 + 4
    some = LateFusionClassifier(members, final_estimator=LogisticRegression(), passthrough=[0, 2], cv=3).fit(X, y)
    assert some.final_estimator_.n_features_in_ == 1 + 2


def test_grid_search_over_the_final_estimator(reviews, members):
    X, y = reviews
    X, y = X[X[TEXT].notna()], y[X[TEXT].notna()]
    search = GridSearchCV(
        LateFusionClassifier(members, final_estimator=LogisticRegression(), cv=3),
        {"final_estimator__C": [0.1, 10.0]},
        cv=3,
        scoring="neg_log_loss",
    ).fit(X, y)
    assert search.best_params_["final_estimator__C"] in (0.1, 10.0)
    assert search.best_estimator_.final_estimator_.C == search.best_params_["final_estimator__C"]


def test_hard_voting_members_stack_their_labels():
    X, y = make_classification(n_samples=120, n_features=6, random_state=1)
    members = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(max_depth=2, random_state=0))]
    fusion = LateFusionClassifier(members, voting="hard", final_estimator=LogisticRegression(), cv=3).fit(X, y)
    assert fusion.final_estimator_.n_features_in_ == 4  # one-hot labels per member
    assert hasattr(fusion, "predict_proba")
    assert fusion.predict_proba(X).shape == (120, 2)
    assert (fusion.predict(X) == y).mean() > 0.8


def test_pickled_stack_predicts_identically(reviews, members):
    X, y = reviews
    fusion = LateFusionClassifier(
        members,
        final_estimator=HistGradientBoostingClassifier(max_iter=10, random_state=0),
        passthrough=(TabularEncoder(), TABULAR),
        missing="renormalize",
        cv=3,
    ).fit(X, y)
    again = pickle.loads(pickle.dumps(fusion))
    np.testing.assert_array_equal(again.predict_proba(X), fusion.predict_proba(X))


def test_weights_with_a_final_estimator():
    X, y = make_classification(n_samples=60, random_state=0)
    fusion = LateFusionClassifier([("lr", LogisticRegression())], weights=[1.0], final_estimator=LogisticRegression())
    with pytest.raises(ValueError, match=r"LateFusionClassifier: weights=\[1.0\] has no effect with a final_estimator.*set weights=None"):
        fusion.fit(X, y)


def test_passthrough_of_text_columns_without_a_transformer(reviews, members):
    X, y = reviews
    fusion = LateFusionClassifier(
        members, final_estimator=HistGradientBoostingClassifier(max_iter=5),
        passthrough=["Age", "Department Name"], missing="renormalize", cv=3,
    )
    with pytest.raises(ValueError, match=r"the passthrough columns \['Age', 'Department Name'\] are not numeric .*give passthrough=\(transformer, columns\)"):
        fusion.fit(X, y)


def test_passthrough_column_missing_at_predict(reviews, members):
    X, y = reviews
    fusion = LateFusionClassifier(
        members, final_estimator=HistGradientBoostingClassifier(max_iter=5),
        passthrough=["Age", "Rating"], missing="renormalize", cv=3,
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"member 'passthrough' selects column\(s\) \['Rating'\] that X does not have at predict time"):
        fusion.predict(X.drop(columns="Rating"))
