"""StackingFusionClassifier/Regressor: StackingClassifier's contract plus
per-modality members, missing modalities, encoded passthrough and the
member cache."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import TABULAR, TEXT
from scipy import sparse
from sklearn import config_context
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    StackingClassifier,
    StackingRegressor,
)
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import (
    BayesianRidge,
    LinearRegression,
    LogisticRegression,
    Ridge,
    RidgeClassifier,
)
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skfusion import (
    EarlyFusionClassifier,
    LateFusionClassifier,
    StackingFusionClassifier,
    StackingFusionRegressor,
)
from skfusion.encoders import TabularEncoder


def test_regressor_equals_sklearn_stacking_regressor():
    X, y = make_regression(n_samples=120, n_features=6, noise=5.0, random_state=0)
    members = [("lin", LinearRegression()), ("tree", DecisionTreeRegressor(max_depth=3, random_state=0))]
    ours = StackingFusionRegressor(members, cv=5).fit(X, y)
    theirs = StackingRegressor(members, cv=5).fit(X, y)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_equals_sklearn_stacking_classifier(n_classes):
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=0)
    members = [("lr", LogisticRegression()), ("svc", LinearSVC()),
               ("tree", DecisionTreeClassifier(max_depth=3, random_state=0))]
    ours = StackingFusionClassifier(members).fit(X, y)
    theirs = StackingClassifier(members).fit(X, y)
    assert ours.stack_method_ == theirs.stack_method_ == [
        "predict_proba", "decision_function", "predict_proba"]
    np.testing.assert_allclose(ours.transform(X), theirs.transform(X), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10)
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), rtol=1e-10)
    np.testing.assert_allclose(ours.predict_log_proba(X), np.log(ours.predict_proba(X)), rtol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert isinstance(ours.final_estimator_, LogisticRegression)


def test_string_labels_and_per_modality_members():
    X, y = make_classification(n_samples=150, n_features=6, n_informative=4, n_classes=3, random_state=0)
    labels = np.array(["low", "mid", "high"])[y]
    members = [("lr", LogisticRegression(), [0, 1, 2]),
               ("ridge", RidgeClassifier(), [3, 4, 5])]
    stack = StackingFusionClassifier(members, cv=3).fit(X, labels)
    assert stack.stack_method_ == ["predict_proba", "decision_function"]
    assert stack.final_estimator_.n_features_in_ == 6
    proba = stack.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(stack.classes_[proba.argmax(axis=1)], stack.predict(X))
    assert set(stack.predict(X)) <= {"low", "mid", "high"}
    assert stack.get_modalities() == {"lr": [0, 1, 2], "ridge": [3, 4, 5]}
    assert stack.named_estimators.ridge is members[1][1]
    assert stack.named_estimators_.ridge is not members[1][1]
    assert stack.named_estimators_.ridge.coef_.shape == (3, 3)


def test_tfidf_linear_svm_member_on_reviews(reviews):
    X, y = reviews
    has_text = X[TEXT].notna()
    X, y = X[has_text], y[has_text]
    stack = StackingFusionClassifier(
        [("svm", make_pipeline(TfidfVectorizer(min_df=2), LinearSVC()), TEXT),
         ("tab", HistGradientBoostingClassifier(max_iter=20, random_state=0),
          ["Age", "Positive Feedback Count"])],
        cv=3,
    ).fit(X, y)
    assert stack.stack_method_ == ["decision_function", "predict_proba"]
    assert stack.score(X, y) > 0.85


def test_missing_modality_indicator_and_encoded_passthrough(reviews, members):
    X, y = reviews
    stack = StackingFusionClassifier(
        members,
        final_estimator=HistGradientBoostingClassifier(max_iter=20, random_state=0),
        passthrough=[("tabular", TabularEncoder(), ["Age", "Department Name"])],
        missing="indicator",
        cv=3,
    ).fit(X, y)
    width = stack.passthrough_.transform(X).shape[1]
    # one probability per member, an indicator for the text, then the passthrough
    assert stack.final_estimator_.n_features_in_ == 2 + 1 + width
    names = stack.get_feature_names_out()
    assert names[:3].tolist() == ["stackingfusionclassifier_text", "stackingfusionclassifier_tab",
                                  "stackingfusionclassifier_text_missing"]
    assert names[3].startswith("tabular__")
    no_text = X[TEXT].isna()
    Z = stack.transform(X)
    assert np.isnan(Z[no_text.to_numpy(), 0]).all() and not np.isnan(Z[~no_text.to_numpy(), 0]).any()
    np.testing.assert_array_equal(Z[:, 2], no_text.to_numpy().astype(float))
    proba = stack.predict_proba(X[no_text])
    assert np.isfinite(proba).all() and proba.shape == (int(no_text.sum()), 2)


def test_missing_modality_error_names_the_indicator(reviews, members):
    X, y = reviews
    with pytest.raises(ValueError, match=r"StackingFusionClassifier: 50 of 600 rows have no value in any column of modality 'text'.*set missing='indicator'"):
        StackingFusionClassifier(members, cv=3).fit(X, y)


def test_passthrough_true_keeps_sparse_input():
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    X = sparse.csc_matrix(X)
    stack = StackingFusionClassifier([("lr", LogisticRegression())], passthrough=True, cv=3).fit(X, y)
    Z = stack.transform(X)
    assert sparse.issparse(Z) and Z.format == "csc" and Z.shape == (100, 1 + 5)
    np.testing.assert_allclose(Z[:, 1:].toarray(), X.toarray())
    assert stack.get_feature_names_out().tolist() == [
        "stackingfusionclassifier_lr", "x0", "x1", "x2", "x3", "x4"]


def test_passthrough_of_text_columns_as_they_are(reviews, members):
    X, y = reviews
    stack = StackingFusionClassifier(members, HistGradientBoostingClassifier(max_iter=5),
                                     passthrough=True, missing="indicator", cv=3)
    with pytest.raises(ValueError, match=r"StackingFusionClassifier: the passthrough columns are not numeric .*give passthrough as \(name, transformer, columns\) triples"):
        stack.fit(X, y)


def test_passthrough_column_missing_at_predict(reviews, members):
    X, y = reviews
    stack = StackingFusionClassifier(
        members, final_estimator=HistGradientBoostingClassifier(max_iter=5),
        passthrough=[("rating", "passthrough", ["Rating"])], missing="indicator", cv=3,
    ).fit(X, y)
    with pytest.raises(ValueError, match=r"passthrough 'rating' selects column\(s\) \['Rating'\] that X does not have at predict time"):
        stack.predict(X.drop(columns="Rating"))
    with pytest.raises(ValueError, match=r"member 'tab' selects column\(s\) \['Age'\] that X does not have at predict time"):
        stack.predict(X.drop(columns="Age"))


def test_grid_search_over_the_final_estimator_refits_no_member(reviews, members, tmp_path):
    X, y = reviews
    X, y = X[X[TEXT].notna()], y[X[TEXT].notna()]

    def search(grid, location):
        stack = StackingFusionClassifier(members, LogisticRegression(), cv=3, memory=str(location))
        return GridSearchCV(stack, {"final_estimator__C": grid}, cv=3, scoring="neg_log_loss").fit(X, y)

    def stored(location):
        return len(list((location / "skfusion" / "member").rglob("*.entry")))

    one = search([0.1], tmp_path / "one")
    two = search([0.1, 10.0], tmp_path / "two")
    assert two.best_estimator_.final_estimator_.C == two.best_params_["final_estimator__C"]
    # the second value of C fitted no member: every member fit was stored once
    assert stored(tmp_path / "two") == stored(tmp_path / "one") > 0
    np.testing.assert_allclose(two.cv_results_["split0_test_score"][0],
                               one.cv_results_["split0_test_score"][0])


def test_cache_gives_the_same_stack(reviews, members, tmp_path):
    X, y = reviews
    kw = dict(final_estimator=HistGradientBoostingClassifier(max_iter=10, random_state=0),
              missing="indicator", cv=3)
    plain = StackingFusionClassifier(members, **kw).fit(X, y)
    cached = StackingFusionClassifier(members, memory=str(tmp_path), **kw).fit(X, y)
    again = StackingFusionClassifier(members, memory=str(tmp_path), **kw).fit(X, y)
    np.testing.assert_array_equal(cached.predict_proba(X), plain.predict_proba(X))
    np.testing.assert_array_equal(again.predict_proba(X), plain.predict_proba(X))


def test_prefit_and_frozen_members_are_fitted_once():
    X, y = make_classification(n_samples=200, n_features=6, random_state=0)
    lr = LogisticRegression().fit(X[:100], y[:100])
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X[:100], y[:100])
    prefit = StackingFusionClassifier([("lr", lr), ("tree", tree)], cv="prefit").fit(X[100:], y[100:])
    assert prefit.estimators_[0] is lr and prefit.estimators_[1] is tree
    frozen = StackingFusionClassifier(
        [("lr", FrozenEstimator(lr)), ("tree", FrozenEstimator(tree))], cv=3
    ).fit(X[100:], y[100:])
    np.testing.assert_allclose(frozen.transform(X), prefit.transform(X))
    np.testing.assert_array_equal(lr.coef_, LogisticRegression().fit(X[:100], y[:100]).coef_)


def test_prefit_members_must_be_fitted():
    X, y = make_classification(n_samples=60, random_state=0)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        StackingFusionClassifier([("lr", LogisticRegression())], cv="prefit").fit(X, y)


def test_predict_params_reach_the_final_estimator():
    X, y = make_regression(n_samples=80, n_features=4, noise=1.0, random_state=0)
    stack = StackingFusionRegressor(
        [("lr", LinearRegression(), [0, 1]), ("tree", DecisionTreeRegressor(random_state=0), [2, 3])],
        final_estimator=BayesianRidge(),
    ).fit(X, y)
    mean, std = stack.predict(X, return_std=True)
    assert mean.shape == std.shape == (80,) and (std > 0).all()


def test_metadata_routing_to_the_final_estimator():
    from sklearn.tests.metadata_routing_common import (
        ConsumingClassifier,
        _Registry,
        check_recorded_metadata,
    )

    X, y = make_classification(n_samples=60, random_state=0)
    with config_context(enable_metadata_routing=True):
        final = ConsumingClassifier(registry=_Registry()).set_predict_request(metadata=True)
        stack = StackingFusionClassifier(
            [("lr", LogisticRegression().set_fit_request(sample_weight=True))],
            final_estimator=final,
        ).fit(X, y, sample_weight=np.ones(60))
        stack.predict(X, metadata="a")
        assert len(stack.final_estimator_.registry)
        check_recorded_metadata(obj=stack.final_estimator_, method="predict",
                                parent="predict", metadata="a")


def test_hybrid_early_fusion_members(reviews):
    X, y = reviews
    X, y = X[X[TEXT].notna()], y[X[TEXT].notna()]
    early = EarlyFusionClassifier(
        [("text", TfidfVectorizer(min_df=2), TEXT), ("tab", TabularEncoder(), TABULAR)],
        LogisticRegression(max_iter=500),
    )
    fitted = StackingFusionClassifier(
        [("early", early), ("late", LateFusionClassifier(
            [("text", make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression()), TEXT)]))],
        cv=3,
    ).fit(X, y)
    assert fitted.transform(X).shape == (len(X), 2)
    assert fitted.score(X, y) > 0.8


def test_pickled_stack_predicts_identically(reviews, members):
    X, y = reviews
    stack = StackingFusionClassifier(
        members,
        final_estimator=HistGradientBoostingClassifier(max_iter=10, random_state=0),
        passthrough=[("tab", TabularEncoder(), TABULAR)],
        missing="indicator",
        cv=3,
    ).fit(X, y)
    again = pickle.loads(pickle.dumps(stack))
    np.testing.assert_array_equal(again.predict_proba(X), stack.predict_proba(X))


def test_multilabel_targets_stack_label_by_label():
    from sklearn.datasets import make_multilabel_classification
    from sklearn.neighbors import KNeighborsClassifier

    X, Y = make_multilabel_classification(n_samples=120, n_classes=3, random_state=0)
    stack = StackingFusionClassifier(
        [("tree", DecisionTreeClassifier(max_depth=4, random_state=0), [0, 1, 2, 3, 4]),
         ("ridge", RidgeClassifier(), list(range(5, 20)))],
        final_estimator=KNeighborsClassifier(),
    ).fit(X, Y)
    assert stack.transform(X).shape == (120, 6)
    assert stack.predict(X).shape == Y.shape
    proba = stack.predict_proba(X)
    assert proba.shape == Y.shape and ((proba >= 0) & (proba <= 1)).all()


@pytest.mark.parametrize(
    "params, error, match",
    [
        ({"final_estimator": Ridge()}, ValueError,
         r"'final_estimator' parameter should be a classifier. Got Ridge\(\)"),
        ({"stack_method": "predict_proba",
          "estimators": [("svc", LinearSVC())]}, ValueError,
         r"Underlying estimator svc does not implement the method predict_proba"),
        ({"missing": "renormalize"}, ValueError,
         r"The 'missing' parameter of StackingFusionClassifier must be a str among"),
    ],
)
def test_bad_parameters(params, error, match):
    X, y = make_classification(n_samples=60, random_state=0)
    stack = StackingFusionClassifier([("lr", LogisticRegression())]).set_params(**params)
    with pytest.raises(error, match=match):
        stack.fit(X, y)


def test_final_estimator_must_be_a_regressor():
    X, y = make_regression(n_samples=40, random_state=0)
    with pytest.raises(ValueError, match=r"'final_estimator' parameter should be a regressor"):
        StackingFusionRegressor([("lr", LinearRegression())], final_estimator=LogisticRegression()).fit(X, y)


def test_same_folds_for_every_member_with_a_shuffled_cv():
    X, y = make_regression(n_samples=90, n_features=4, random_state=0)
    cv = KFold(3, shuffle=True, random_state=np.random.RandomState(0))
    both = StackingFusionRegressor(
        [("a", Ridge(alpha=1.0)), ("b", Ridge(alpha=1e-6))], cv=cv).fit(X, y)
    one = clone(both).set_params(a="drop").fit(X, y)
    np.testing.assert_allclose(both.transform(X)[:, 1:], one.transform(X))
    assert isinstance(pd.Series(one.get_feature_names_out()), pd.Series)
