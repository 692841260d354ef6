"""KerasFusionClassifier / KerasFusionRegressor: one Keras input per
(name, encoder, columns) branch, fused inside the network."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import TruncatedSVD
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

pytest.importorskip("keras")

from skfusion import LateFusionClassifier
from skfusion.encoders import TabularEncoder
from skfusion.inspection import modality_importance
from skfusion.keras import KerasFusionClassifier, KerasFusionRegressor

pytestmark = pytest.mark.keras

TEXT = "Review Text"
TABULAR = ["Age", "Positive Feedback Count", "Department Name"]


@pytest.fixture(scope="module")
def data(reviews):
    X, y = reviews
    return X.fillna({TEXT: ""}).iloc[:300], y.iloc[:300]


def branches():
    return [
        ("text", make_pipeline(TfidfVectorizer(min_df=2), TruncatedSVD(8, random_state=0)), TEXT),
        ("tabular", TabularEncoder(), TABULAR),
    ]


def test_one_model_input_per_branch(data):
    X, y = data
    clf = KerasFusionClassifier(branches(), hidden_layers=(16,), epochs=3, random_state=0).fit(X, y)
    assert sorted(i.name for i in clf.model_.inputs) == ["branch0_text", "branch1_tabular"]
    assert clf.n_branch_features_["text"] == 8
    assert list(clf.named_encoders_) == ["text", "tabular"]
    assert clf.get_modalities() == {"text": TEXT, "tabular": TABULAR}
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert_array_equal(clf.classes_, [0, 1])
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict_proba(X), proba)
    # the same random_state gives the same model
    twin = clone(clf).fit(X, y)
    assert_allclose(twin.predict_proba(X), proba)


def test_multilabel_y_gets_one_sigmoid_per_label(data):
    X, _ = data
    Y = np.column_stack([(X["Rating"] >= 4), (X["Age"] > 40), (X["Positive Feedback Count"] > 0)])
    clf = KerasFusionClassifier(branches(), hidden_layers=(8,), epochs=2, random_state=0)
    clf.fit(X, Y.astype(int))
    assert clf.model_.layers[-1].get_config()["activation"] == "sigmoid"
    predicted = clf.predict(X)
    assert predicted.shape == (len(X), 3)
    assert set(np.unique(predicted)) <= {0, 1}


def test_shared_fusion_applies_one_layer_to_every_branch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6))
    reg = KerasFusionRegressor(
        [("a", StandardScaler(), [0, 1, 2]), ("b", "passthrough", [3, 4, 5])],
        fusion="shared", hidden_layers=(4, 4), epochs=2, random_state=0,
    ).fit(X, X[:, 0] - X[:, 4])
    shared = reg.model_.get_layer("shared")
    # one Dense layer, called once per branch
    assert len(shared._inbound_nodes) == 2
    assert reg.predict(X).shape == (80,)
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: fusion='shared' applies one "
                       r"Dense layer to every branch, which needs branches of one width; got "
                       r"\{'a': 3, 'b': 2\}"):
        clone(reg).set_params(inputs=[("a", "passthrough", [0, 1, 2]),
                                      ("b", "passthrough", [3, 4])]).fit(X, X[:, 0])


def test_shared_fusion_projects_branches_of_different_widths_with_fusion_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 7))
    y = X[:, 0] - X[:, 5]
    inputs = [("a", "passthrough", [0, 1, 2, 3, 4]), ("b", StandardScaler(), [5, 6])]
    reg = KerasFusionRegressor(inputs, fusion="shared", fusion_units=3, hidden_layers=(4,),
                               epochs=2, random_state=0).fit(X, y)
    # each branch its own projection to 3 units, then the one shared layer
    assert reg.model_.get_layer("project0_a").kernel.shape == (5, 3)
    assert reg.model_.get_layer("project1_b").kernel.shape == (2, 3)
    shared = reg.model_.get_layer("shared")
    assert shared.kernel.shape == (3, 4)
    assert len(shared._inbound_nodes) == 2
    assert reg.predict(X).shape == (80,)
    # repeatable, and the same after pickling
    again = clone(reg).fit(X, y)
    np.testing.assert_allclose(again.predict(X), reg.predict(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X),
                               rtol=1e-6, atol=1e-6)


def test_one_branch_reads_its_own_input_through_with_modality_input():
    """Two branches on the same columns: a view feeds one of them other
    rows, which is how modality_importance measures each branch alone."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    reg = KerasFusionRegressor(
        [("a", StandardScaler(), [0, 1, 2]), ("b", "passthrough", [0, 1, 2])],
        hidden_layers=(4,), epochs=2, random_state=0,
    ).fit(X, X[:, 0] - X[:, 2])
    shuffled = X[rng.permutation(len(X))]

    a_alone = reg.with_modality_input("a", shuffled).predict(X)
    both = reg.with_modality_input("a", shuffled).with_modality_input("b", shuffled).predict(X)
    assert_allclose(both, reg.predict(shuffled), rtol=1e-6)
    assert not np.allclose(a_alone, reg.predict(X))
    assert not np.allclose(a_alone, both)
    result = modality_importance(reg, X, X[:, 0] - X[:, 2], n_repeats=2, random_state=0)
    assert (result.modalities, result.perturbed) == (["a", "b"], "input")


def test_grid_search_and_late_fusion_member(data):
    X, y = data
    clf = KerasFusionClassifier(branches(), hidden_layers=(8,), epochs=2, random_state=0)
    search = GridSearchCV(clf, {"fusion": ["concat"], "hidden_layers": [(4,), (8,)]}, cv=2).fit(X, y)
    assert search.best_params_["hidden_layers"] in [(4,), (8,)]
    late = LateFusionClassifier([("keras", clf, [TEXT, *TABULAR]),
                                 ("lr", LogisticRegression(), ["Age"])]).fit(X, y)
    assert late.predict_proba(X).shape == (len(X), 2)


def test_branch_names_alike_after_sanitising_stay_apart():
    X = np.random.default_rng(0).normal(size=(40, 4))
    reg = KerasFusionRegressor([("a b", "passthrough", [0]), ("a_b", "passthrough", [1, 2, 3])],
                               hidden_layers=(4,), epochs=1, random_state=0).fit(X, X[:, 0])
    assert reg.n_branch_features_ == {"a b": 1, "a_b": 3}
    assert sorted(i.name for i in reg.model_.inputs) == ["branch0_a_b", "branch1_a_b"]


def test_small_tensorflow_fits_train_eagerly_and_leave_no_mode_behind():
    keras = pytest.importorskip("keras")
    X = np.random.default_rng(0).normal(size=(64, 2))
    reg = KerasFusionRegressor([("x", "passthrough", [0, 1])], hidden_layers=(4,), epochs=2,
                               batch_size=32, warm_start=True, random_state=0).fit(X, X[:, 0])
    # whatever the first fit did, the next (warm) one makes its own train function
    assert reg.model_.run_eagerly is False
    if keras.backend.backend() == "tensorflow":
        assert reg.model_.train_function is None
    reg.set_params(epochs=40).fit(X, X[:, 0])  # 80 steps: traced
    assert reg.model_.train_function is not None
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: inputs changed since fit \(the "
                       r"model was fitted on branches \['x'\]\); set warm_start=False"):
        reg.set_params(inputs=[("y", "passthrough", [0, 1])]).fit(X, X[:, 0])


def test_errors_name_the_branch(data):
    X, y = data
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: inputs must be a non-empty "
                       r"list of \(name, encoder, columns\) triples"):
        KerasFusionClassifier([("text", TabularEncoder())]).fit(X, y)
    with pytest.raises(TypeError, match=r"KerasFusionClassifier: branch 'model' must have a "
                       r"scikit-learn transformer \(fit and transform\) or 'passthrough'"):
        KerasFusionClassifier([("model", LogisticRegression(), ["Age"])]).fit(X, y)
    with pytest.raises(TypeError, match=r"KerasFusionClassifier: branch 'scaled' must have a "
                       r"scikit-learn transformer"):
        KerasFusionClassifier([("scaled", StandardScaler, ["Age"])]).fit(X, y)
    one_class = KerasFusionClassifier([("age", "passthrough", ["Age"])], epochs=1)
    with pytest.raises(ValueError, match="one class"):
        one_class.fit(X, np.zeros(len(X), dtype=int))
    with pytest.raises(NotFittedError):
        one_class.get_modalities()
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: inputs names must be unique"):
        KerasFusionClassifier([("a", "passthrough", ["Age"]), ("a", "passthrough", ["Age"])]).fit(X, y)
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'age' has NaN or "
                       r"infinite values in \d+ row\(s\) at fit time"):
        KerasFusionClassifier([("age", "passthrough", ["Age"])]).fit(
            X.assign(Age=np.where(X.index % 7 == 0, np.nan, X["Age"])), y)
    clf = KerasFusionClassifier(branches(), hidden_layers=(4,), epochs=1, random_state=0)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X, y)
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'tabular' selects "
                       r"column\(s\) \['Age'\] that X does not have at predict time"):
        clf.predict(X.drop(columns="Age"))
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'text' selects "
                       r"columns by name"):
        KerasFusionClassifier(branches()).fit(X.to_numpy(), y)
    frame = pd.DataFrame({"word": ["a", "b"] * 10})
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'word' gives values "
                       r"that are not numbers"):
        KerasFusionClassifier([("word", "passthrough", ["word"])]).fit(frame, [0, 1] * 10)
