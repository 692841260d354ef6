"""Bad input gets an error that names the estimator, the member or column,
what was expected and what came."""

import re

import numpy as np
import pandas as pd
import pytest
from conftest import TABULAR, TEXT
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from skfusion import LateFusionClassifier, LateFusionRegressor

X, y = make_classification(n_samples=60, n_features=6, random_state=0)
PAIR = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1, 2, 3], r"LateFusionClassifier: weights has 3 entries but there are 2 estimators \('lr', 'tree'\); give one weight per estimator or a dict by name"),
        ([1, -1], r"LateFusionClassifier: weights must be finite and non-negative, got \{'lr': 1.0, 'tree': -1.0\}"),
        ([0, 0], r"LateFusionClassifier: weights of the estimators that are not dropped are all zero"),
        ({"lr": 1, "txet": 2}, r"LateFusionClassifier: weights names \['txet'\], which is not an estimator; the estimators are \['lr', 'tree'\]"),
    ],
)
def test_bad_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        LateFusionClassifier(PAIR, weights=weights).fit(X, y)


def test_weights_of_a_dropped_member_do_not_count():
    fusion = LateFusionClassifier([("lr", LogisticRegression()), ("tree", "drop")], weights=[0, 1])
    with pytest.raises(ValueError, match="not dropped are all zero"):
        fusion.fit(X, y)


def test_columns_not_in_X(reviews):
    Xr, yr = reviews
    fusion = LateFusionClassifier([("text", LogisticRegression(), ["Review", "Age"])])
    with pytest.raises(ValueError, match=re.escape("LateFusionClassifier: member 'text' selects column(s) ['Review'] that X does not have at fit time")):
        fusion.fit(Xr, yr)


def test_integer_columns_out_of_range():
    fusion = LateFusionClassifier([("lr", LogisticRegression(), [0, 9])])
    with pytest.raises(ValueError, match=r"member 'lr' selects columns \[0, 9\] that cannot be taken from X \(ndarray with 6 feature\(s\)\)"):
        fusion.fit(X, y)


def test_duplicate_member_names():
    fusion = LateFusionClassifier([("a", LogisticRegression()), ("a", DecisionTreeClassifier())])
    with pytest.raises(ValueError, match=r"LateFusionClassifier: estimators names must be unique, but \['a'\] appear more than once"):
        fusion.fit(X, y)


def test_malformed_estimators():
    with pytest.raises(ValueError, match=r"LateFusionClassifier: Invalid 'estimators' attribute, 'estimators' should be a non-empty list"):
        LateFusionClassifier([LogisticRegression()]).fit(X, y)


def test_all_members_dropped():
    with pytest.raises(ValueError, match="All estimators are dropped"):
        LateFusionClassifier([("a", "drop")]).fit(X, y)


def test_member_without_predict_proba_under_soft_voting():
    fusion = LateFusionClassifier([("svc", SVC()), ("lr", LogisticRegression())])
    with pytest.raises(AttributeError, match=r"LateFusionClassifier: member 'svc' \(SVC\) has no predict_proba, which voting='soft' needs"):
        fusion.fit(X, y)
    # hard voting only needs predict
    assert LateFusionClassifier([("svc", SVC()), ("lr", LogisticRegression())], voting="hard").fit(X, y).score(X, y) > 0.8


def test_y_with_a_single_class():
    with pytest.raises(ValueError, match=r"LateFusionClassifier: y has only one class, \[1\]; a classifier needs at least two"):
        LateFusionClassifier(PAIR).fit(X, np.ones(len(X), dtype=int))


def test_continuous_y_for_the_classifier():
    with pytest.raises(ValueError, match="LateFusionClassifier: Unknown label type: continuous.*use LateFusionRegressor"):
        LateFusionClassifier(PAIR).fit(X, np.linspace(0, 1, len(X)))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "transform"])
def test_predict_before_fit(method):
    with pytest.raises(NotFittedError, match="This LateFusionClassifier instance is not fitted yet"):
        getattr(LateFusionClassifier(PAIR), method)(X)


def test_X_missing_a_member_column_at_predict_time(reviews, members):
    Xr, yr = reviews
    fusion = LateFusionClassifier(members, missing="renormalize").fit(Xr, yr)
    with pytest.raises(ValueError, match=re.escape("LateFusionClassifier: member 'text' selects column(s) ['Review Text'] that X does not have at predict time")):
        fusion.predict(Xr.drop(columns=TEXT))


def test_fewer_features_at_predict_time():
    fusion = LateFusionClassifier(PAIR).fit(X, y)
    with pytest.raises(ValueError, match="X has 5 features, but LateFusionClassifier is expecting 6 features"):
        fusion.predict(X[:, :5])


def test_multilabel_y_with_a_member_that_cannot_do_multilabel():
    Xm, Ym = make_multilabel_classification(n_samples=50, n_classes=3, random_state=0)
    fusion = LateFusionClassifier([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier())])
    with pytest.raises(ValueError, match=r"LateFusionClassifier: member 'lr' \(LogisticRegression\) cannot fit multi-label y of shape \(50, 3\).*OneVsRestClassifier"):
        fusion.fit(Xm, Ym)


def test_multilabel_values_other_than_0_1():
    with pytest.raises(ValueError, match=r"LateFusionClassifier: a 2-D y must be a 0/1 indicator matrix \(one column per label\), but column 1 holds \[2\]"):
        LateFusionClassifier(PAIR).fit(X, np.column_stack([y, y * 2]))


def test_missing_modality_with_missing_error_names_it(reviews, members):
    Xr, yr = reviews
    n_missing = int(Xr[TEXT].isna().sum())
    with pytest.raises(ValueError, match=rf"LateFusionClassifier: {n_missing} of {len(Xr)} rows have no value in any column of modality 'text' \(columns 'Review Text'\); set missing='renormalize'"):
        LateFusionClassifier(members).fit(Xr, yr)
    fitted = LateFusionClassifier(members, missing="renormalize").fit(Xr, yr)
    fitted.set_params(missing="error")
    with pytest.raises(ValueError, match="rows have no value in any column of modality 'text'"):
        fitted.predict(Xr)


def test_row_with_every_modality_missing(reviews, members):
    Xr, yr = reviews
    fusion = LateFusionClassifier(members, missing="renormalize").fit(Xr, yr)
    empty = Xr.iloc[:2].copy()
    empty[TABULAR + [TEXT]] = np.nan
    with pytest.raises(ValueError, match="LateFusionClassifier: no member can see any row of X"):
        fusion.predict(empty)
    mixed = pd.concat([Xr.iloc[:3], empty], ignore_index=True)
    with pytest.raises(ValueError, match=r"LateFusionClassifier: 2 rows have no modality present for any member, so they cannot be predicted \(first row: 3\)"):
        fusion.predict(mixed)


def test_unknown_combiner():
    with pytest.raises(ValueError, match=r"unknown combiner 'no-such-rule'; available: \[.*'geometric'.*\]"):
        LateFusionClassifier(PAIR, combiner="no-such-rule").fit(X, y)


@pytest.mark.parametrize("param, value", [("voting", "soft-ish"), ("missing", "impute")])
def test_invalid_parameter_values(param, value):
    with pytest.raises(ValueError, match=rf"The '{param}' parameter of LateFusionClassifier must be"):
        LateFusionClassifier(PAIR, **{param: value}).fit(X, y)


def test_regressor_errors():
    with pytest.raises(ValueError, match="LateFusionRegressor requires y to be passed"):
        LateFusionRegressor([("lr", LinearRegression())]).fit(X, None)
    with pytest.raises(ValueError, match=r"LateFusionRegressor: weights has 1 entries but there are 2 estimators"):
        LateFusionRegressor([("a", LinearRegression()), ("b", LinearRegression())], weights=[1]).fit(X, y)
    with pytest.raises(NotFittedError, match="This LateFusionRegressor instance is not fitted yet"):
        LateFusionRegressor([("a", LinearRegression())]).predict(X)


def test_a_failed_refit_leaves_the_estimator_unfitted():
    labels2 = np.where(y == 1, "owl", "dog")
    fusion = LateFusionClassifier([("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]).fit(X, labels2)
    labels3 = np.array(["cat", "dog", "owl"])[np.arange(len(y)) % 3]
    with pytest.raises(ValueError, match="weights has 3 entries"):
        fusion.set_params(weights=[1, 2, 3]).fit(X, labels3)
    with pytest.raises(NotFittedError, match="This LateFusionClassifier instance is not fitted yet"):
        fusion.predict(X)


def test_a_prefit_member_with_classes_y_lacks():
    from sklearn.frozen import FrozenEstimator

    labels = np.array(["a", "b", "c"])[np.arange(len(y)) % 3]
    prefit = LogisticRegression().fit(X[:, :3], labels)
    keep = labels != "b"
    fusion = LateFusionClassifier([("old", FrozenEstimator(prefit), [0, 1, 2]), ("new", LogisticRegression(), [3, 4])])
    with pytest.raises(ValueError, match=r"LateFusionClassifier: prefit member 'old' predicts classes \['b'\] that y does not have \(y has \['a', 'c'\]\)"):
        fusion.fit(X[keep], labels[keep])


def test_a_member_fit_error_names_the_member():
    class Broken(LogisticRegression):
        def fit(self, X, y):
            raise RuntimeError("boom")

    fusion = LateFusionClassifier([("good", LogisticRegression()), ("bad", Broken())])
    with pytest.raises(RuntimeError, match=r"^LateFusionClassifier: member 'bad' \(all "
                       r"columns\) failed to fit: boom$") as info:
        fusion.fit(X, y)
    assert isinstance(info.value.__cause__, RuntimeError)
