"""The learned fusions of the Keras models (gated, weighted, attention):
they learn, pickle, grid-search beside concat and shared, pass
scikit-learn's checks, and the multi-task model has them too."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from skfusion.keras import KerasFusionClassifier, KerasFusionRegressor  # noqa: E402
from skfusion.multitask import MultiTaskKerasEstimator  # noqa: E402

LEARNED = ["gated", "weighted", "attention"]
LAYERS = {"gated": "GatedFusion", "weighted": "WeightedFusion", "attention": "AttentionFusion"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(160, 6))
    y = (X[:, 0] + X[:, 4] > 0).astype(int)
    return X, y


def branches():
    return [("left", StandardScaler(), [0, 1, 2]), ("right", "passthrough", [3, 4, 5])]


@pytest.mark.parametrize("fusion", LEARNED)
def test_a_learned_fusion_learns_and_pickles(data, fusion):
    X, y = data
    clf = KerasFusionClassifier(branches(), fusion=fusion, fusion_units=8, hidden_layers=(8,),
                                epochs=20, learning_rate=1e-2, random_state=0).fit(X, y)
    layer = clf.model_.get_layer("fusion")
    assert type(layer).__name__ == LAYERS[fusion] and layer.units == 8
    assert clf.score(X, y) > 0.85
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), proba)
    again = KerasFusionClassifier(branches(), fusion=fusion, fusion_units=8, hidden_layers=(8,),
                                  epochs=20, learning_rate=1e-2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)


def test_weighted_fusion_learns_its_weights(data):
    X, y = data
    # the label reads one column of each branch: both keep weight, and the
    # weights move from the equal start
    reg = KerasFusionRegressor(branches(), fusion="weighted", hidden_layers=(8,), epochs=30,
                               learning_rate=1e-2, random_state=0).fit(X, X[:, 0] * 3)
    weights = reg.model_.get_layer("fusion").branch_weights()
    assert weights.shape == (2,) and np.isclose(weights.sum(), 1.0)
    assert not np.allclose(weights, 0.5)


def test_the_default_width_is_the_widest_branch_at_most_128(data):
    X, y = data
    clf = KerasFusionClassifier(branches(), fusion="gated", hidden_layers=(), epochs=1,
                                random_state=0).fit(X, y)
    assert clf.model_.get_layer("fusion").units == 3


def test_attention_heads_and_layers(data):
    X, y = data
    clf = KerasFusionClassifier(branches(), fusion="attention", fusion_units=8, attention_heads=4,
                                attention_layers=2, hidden_layers=(), epochs=1,
                                random_state=0).fit(X, y)
    layer = clf.model_.get_layer("fusion")
    assert (layer.heads, layer.layers) == (4, 2)
    assert [a.num_heads for a in layer.attentions] == [4, 4]


def test_grid_search_over_fusion(data):
    X, y = data
    search = GridSearchCV(
        KerasFusionClassifier(branches(), hidden_layers=(4,), epochs=3, learning_rate=1e-2,
                              fusion_units=4, random_state=0),
        {"fusion": ["concat", "shared", "gated", "weighted", "attention"]}, cv=2,
        error_score="raise",
    ).fit(X, y)
    assert len(search.cv_results_["mean_test_score"]) == 5
    assert search.best_params_["fusion"] in {"concat", "shared", "gated", "weighted", "attention"}


def test_bad_fusion_parameters_are_clear_errors(data):
    X, y = data
    with pytest.raises(ValueError, match=r"The 'fusion' parameter of KerasFusionClassifier must be "
                       r"a str among .*'attention'.*Got 'gate' instead"):
        KerasFusionClassifier(branches(), fusion="gate").fit(X, y)
    with pytest.raises(ValueError, match=r"The 'attention_heads' parameter of "
                       r"KerasFusionClassifier must be an int in the range \[1, inf\)"):
        KerasFusionClassifier(branches(), fusion="attention", attention_heads=0).fit(X, y)
    with pytest.raises(ValueError, match=r"The 'fusion' parameter of MultiTaskKerasEstimator must "
                       r"be a str among .*Got 'shared' instead"):
        MultiTaskKerasEstimator({"a": "binary"}, inputs=branches(), fusion="shared").fit(
            X, pd.DataFrame({"a": y}))


def test_a_learned_fusion_saves_and_loads_without_pickle(data, tmp_path):
    from skfusion.io import dump, load

    X, y = data
    clf = KerasFusionClassifier(branches(), fusion="attention", hidden_layers=(4,), epochs=2,
                                random_state=0).fit(X, y)
    dump(clf, tmp_path / "model.skops")
    np.testing.assert_array_equal(load(tmp_path / "model.skops").predict_proba(X),
                                  clf.predict_proba(X))


@pytest.mark.parametrize("fusion", LEARNED)
def test_the_multitask_model_fuses_its_branches(data, fusion):
    X, y = data
    Y = pd.DataFrame({"a": y, "b": X[:, 0] + X[:, 3]})
    model = MultiTaskKerasEstimator({"a": "binary", "b": "regression"}, inputs=branches(),
                                    fusion=fusion, shared_layers=(8,), epochs=20,
                                    learning_rate=1e-2, random_state=0).fit(X, Y)
    assert type(model.model_.get_layer("fusion")).__name__ == LAYERS[fusion]
    pred = model.predict(X)
    assert (pred["a"] == y).mean() > 0.8
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), pred)


# the estimator is the same whatever the fusion layer, so the checks run on
# the largest of the three (on a quiet 2-core machine about two minutes
# each; the gated and weighted layers share its projections and code path)
@parametrize_with_checks([
    KerasFusionClassifier([("scaled", StandardScaler(), slice(0, None)),
                           ("raw", "passthrough", slice(0, None))],
                          fusion="attention", hidden_layers=(8,), epochs=5, learning_rate=0.05)
], expected_failed_checks=lambda estimator: {
    # as for every Keras model (tests/test_common.py)
    "check_sample_weight_equivalence_on_dense_data":
        "Keras averages a weighted loss over the rows of a batch, not over their total "
        "weight, and repeated rows make other batches: a weight of 2 and a repeated row "
        "agree in expectation, not to the check's rtol of 1e-7",
})
def test_sklearn_checks(estimator, check):
    check(estimator)
