"""Every error the Keras estimators raise names the estimator, the parameter,
what was expected and what came."""

import sys

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from skfusion.keras import KerasMLPClassifier, KerasMLPRegressor

pytestmark = pytest.mark.keras

pytest.importorskip("keras")

X = np.random.RandomState(0).normal(size=(20, 4))
Y = np.tile(["a", "b"], 10)
FAST = {"hidden_layers": (4,), "epochs": 1}


@pytest.mark.parametrize(
    "params, match",
    [
        ({"fit__epochz": 3},
         r"^KerasMLPClassifier: fit__epochz is not a parameter of Model\.fit; did you mean fit__epochs\?$"),
        ({"optimizer__beta1": 0.5},
         r"optimizer__beta1 is not a parameter of the optimizer Adam; did you mean optimizer__beta_1\?"),
        ({"compile__run_eagerlyy": True},
         r"compile__run_eagerlyy is not a parameter of Model\.compile; did you mean compile__run_eagerly\?"),
        ({"optimiser__beta_1": 0.5},
         r"optimiser__beta_1 is not a parameter; did you mean optimizer__beta_1\? Routed "
         r"parameters start with optimizer__, compile__, fit__\."),
        ({"epochz": 3}, r"KerasMLPClassifier: epochz is not a parameter; did you mean epochs\?"),
        ({"fit__zzz": 3}, r"fit__zzz is not a parameter of Model\.fit; expected one of fit__batch_size"),
        ({"optimizer": "adamm"},
         r"optimizer='adamm' is not a Keras optimizer; expected a name such as 'adam'.*"
         r"did you mean 'adam'\?"),
        ({"activation": "relux"}, r"activation='relux' is not a Keras activation.*did you mean 'relu'\?"),
        ({"hidden_layers": (4, 0)},
         r"hidden_layers must be a sequence of positive ints .*, got \(4, 0\)"),
    ],
)
def test_mistyped_parameters_say_what_they_meant(params, match):
    with pytest.raises(ValueError, match=match):
        KerasMLPClassifier(**{**FAST, **params}).fit(X, Y)


def test_mistyped_routed_parameter_in_set_params_and_grid_search():
    from sklearn.model_selection import GridSearchCV

    clf = KerasMLPClassifier(**FAST).set_params(fit__shufle=False)
    with pytest.raises(ValueError, match=r"fit__shufle .* did you mean fit__shuffle\?"):
        clf.fit(X, Y)
    search = GridSearchCV(KerasMLPClassifier(**FAST), {"optimizer__beta_01": [0.5]}, cv=2,
                          error_score="raise")
    with pytest.raises(ValueError, match=r"did you mean optimizer__beta_1\?"):
        search.fit(X, Y)


def test_constraints_are_checked_in_fit():
    clf = KerasMLPClassifier(epochs=0)  # constructing validates nothing
    with pytest.raises(ValueError, match=r"The 'epochs' parameter of KerasMLPClassifier must be an int in the range \[1, inf\)\. Got 0"):
        clf.fit(X, Y)


def test_multilabel_y_must_be_zero_one():
    y = np.zeros((20, 2), dtype=int)
    y[0, 1] = 2
    with pytest.raises(
        ValueError,
        match=r"KerasMLPClassifier: a 2-D y must be a 0/1 indicator matrix \(one column per "
        r"label\), but column 1 holds \[2\]; binarize the labels .* or give class labels as a 1-D y",
    ):
        KerasMLPClassifier(**FAST).fit(X, y)


@pytest.mark.parametrize("cls", [KerasMLPClassifier, KerasMLPRegressor])
def test_3d_y_is_refused(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__}: y must be 1-D .* got an array of shape \(20, 2, 2\)"):
        cls(**FAST).fit(X, np.zeros((20, 2, 2)))


def test_y_none_is_refused():
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        KerasMLPRegressor(**FAST).fit(X, None)


def test_one_class_is_refused():
    with pytest.raises(
        ValueError,
        match=r"KerasMLPClassifier: y has only one class, \['a'\]; a classifier needs at least "
        r"two, so fit it on rows with at least two classes",
    ):
        KerasMLPClassifier(**FAST).fit(X, ["a"] * 20)


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_predict_before_fit(method):
    with pytest.raises(NotFittedError, match="This KerasMLPClassifier instance is not fitted yet"):
        getattr(KerasMLPClassifier(), method)(X)


def test_wrong_number_of_features_at_predict():
    clf = KerasMLPClassifier(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="X has 3 features, but KerasMLPClassifier is expecting 4"):
        clf.predict_proba(X[:, :3])


def test_warm_start_refuses_new_classes_or_outputs():
    clf = KerasMLPClassifier(**FAST, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match=r"warm_start=True but y has classes \['c'\] that the model"):
        clf.fit(X, np.tile(["a", "c"], 10))
    with pytest.raises(ValueError, match=r"warm_start=True but y has 2 output\(s\) while the model was fitted on 1"):
        clf.fit(X, np.tile([[0, 1], [1, 0]], (10, 1)))
    reg = KerasMLPRegressor(**FAST, warm_start=True).fit(X, X[:, 0])
    with pytest.raises(ValueError, match=r"KerasMLPRegressor: warm_start=True but y has 2 output\(s\)"):
        reg.fit(X, X[:, :2])


def test_failed_fit_leaves_no_half_state():
    clf = KerasMLPClassifier(**FAST).fit(X, Y)
    with pytest.raises(ValueError, match="y has only one class"):
        clf.fit(X[:, :3], ["a"] * 20)
    assert not hasattr(clf, "model_") and not hasattr(clf, "n_features_in_")


def test_missing_keras_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)
    with pytest.raises(ImportError, match=r'KerasMLPClassifier needs .keras.*pip install "skfusion\[keras\]"'):
        KerasMLPClassifier(**FAST).fit(X, Y)


@pytest.mark.parametrize("value, match", [(np.nan, "Input X contains NaN"), (1e300, "infinity or a value too large")])
def test_non_finite_rows_at_predict(value, match):
    clf = KerasMLPRegressor(**FAST).fit(X, X[:, 0])
    row = X[:1].copy()
    row[0, 2] = value
    with pytest.raises(ValueError, match=match):
        clf.predict(row)
