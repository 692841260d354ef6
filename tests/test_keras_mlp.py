"""KerasMLPClassifier / KerasMLPRegressor: behaviour, scikit-learn
integration, seeding, pickling. Runs under every Keras backend."""

import pickle
import random

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import make_blobs, make_multilabel_classification, make_regression
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, check_cv
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import check_methods_subset_invariance

from skfusion import LateFusionClassifier
from skfusion.keras import KerasMLPClassifier, KerasMLPRegressor, _base

pytestmark = pytest.mark.keras

keras = pytest.importorskip("keras")

FAST = {"hidden_layers": (8,), "epochs": 5, "learning_rate": 0.05, "random_state": 0}


@pytest.fixture(scope="module")
def blobs():
    """Three well separated classes with string labels, 4 features."""
    X, y = make_blobs(n_samples=120, centers=3, n_features=4, random_state=0)
    return StandardScaler().fit_transform(X), np.array(["ant", "bee", "cat"])[y]


@pytest.fixture(scope="module")
def binary(blobs):
    X, y = blobs
    keep = y != "cat"
    return X[keep], y[keep]


def test_classifier_and_regressor_to_scikit_learn():
    assert is_classifier(KerasMLPClassifier())
    assert is_regressor(KerasMLPRegressor())
    assert get_tags(KerasMLPClassifier()).classifier_tags.multi_label
    assert get_tags(KerasMLPRegressor()).target_tags.multi_output


def test_multiclass_labels_of_any_type(blobs):
    X, y = blobs
    clf = KerasMLPClassifier(**FAST).fit(X, y)
    assert clf.classes_.tolist() == ["ant", "bee", "cat"]
    assert clf.n_outputs_ == 1 and clf.n_features_in_ == 4
    assert set(clf.predict(X)) <= {"ant", "bee", "cat"}
    assert clf.score(X, y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert clf.model_.layers[-1].activation.__name__ == "softmax"


def test_binary_is_a_softmax_over_two_classes_and_one_row_stays_2d(binary):
    X, y = binary
    clf = KerasMLPClassifier(**FAST).fit(X, y)
    assert clf.model_.output_shape == (None, 2)
    assert clf.predict_proba(X[:1]).shape == (1, 2)
    assert clf.predict(X[:1]).shape == (1,)
    assert clf.score(X, y) > 0.9


def test_multilabel_end_to_end():
    X, Y = make_multilabel_classification(n_samples=150, n_features=6, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = KerasMLPClassifier(hidden_layers=(16,), epochs=20, learning_rate=0.02, random_state=0)
    clf.fit(X, Y)
    assert clf.n_outputs_ == 3 and clf.classes_.tolist() == [0, 1, 2]
    assert clf.model_.layers[-1].activation.__name__ == "sigmoid"
    assert clf.model_.loss == "binary_crossentropy"
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3)
    assert not np.allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert pred.shape == Y.shape and pred.dtype == Y.dtype
    np.testing.assert_array_equal(pred, (proba > 0.5).astype(int))
    assert (pred == Y).mean() > 0.8
    assert clf.predict_proba(X[:1]).shape == (1, 3)


def test_multilabel_dataframe_y(binary):
    pd = pytest.importorskip("pandas")
    X, y = binary
    Y = pd.DataFrame({"is_ant": y == "ant", "first_positive": X[:, 0] > 0})
    clf = KerasMLPClassifier(**FAST).fit(X, Y)
    assert clf.predict(X).shape == (len(X), 2)


def test_regressor_one_and_several_outputs():
    X, y = make_regression(n_samples=120, n_features=4, noise=1.0, random_state=0)
    y = (y - y.mean()) / y.std()
    reg = KerasMLPRegressor(hidden_layers=(16,), epochs=20, learning_rate=0.02, random_state=0)
    assert reg.fit(X, y).predict(X).shape == (120,)
    assert reg.score(X, y) > 0.8
    Y = np.column_stack([y, -y])
    reg.fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.predict(X).shape == (120, 2)
    assert reg.predict(X[:1]).dtype == np.float64
    assert reg.model_.layers[-1].activation.__name__ == "linear"


def test_clone_keeps_routed_params_and_pickle_predicts_identically(blobs):
    X, y = blobs
    clf = KerasMLPClassifier(**FAST, optimizer__beta_1=0.8, fit__shuffle=False)
    copy = clone(clf)
    assert copy.get_params()["optimizer__beta_1"] == 0.8
    assert copy.get_params()["fit__shuffle"] is False
    clf.fit(X, y)
    data = pickle.dumps(clf)
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.classes_.tolist() == clf.classes_.tolist()
    # the model travels in Keras' own format: the bytes of a .keras zip archive
    assert pickle.loads(data).__getstate__()["model_"][:2] == b"PK"
    # a restored model keeps its optimizer and trains on
    restored.set_params(warm_start=True, epochs=1).fit(X, y)
    assert len(restored.history_["loss"]) == FAST["epochs"] + 1


def test_same_random_state_same_model(blobs):
    X, y = blobs
    params = {**FAST, "dropout": 0.2, "validation_split": 0.2}
    first = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    second = KerasMLPClassifier(**params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    other = KerasMLPClassifier(**{**params, "random_state": 1}).fit(X, y).predict_proba(X)
    assert not np.allclose(first, other)


def test_seeded_fit_leaves_global_random_state_alone(blobs):
    X, y = blobs
    random.seed(123)
    np.random.seed(123)
    python_state, numpy_state = random.getstate(), np.random.get_state()
    backend = keras.backend.backend()
    if backend == "torch":
        import torch

        torch_state = torch.get_rng_state()
    KerasMLPClassifier(**FAST).fit(X, y)
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])
    if backend == "torch":
        assert torch.equal(torch.get_rng_state(), torch_state)
    if backend == "tensorflow":
        # TensorFlow has no public getters for these two
        from tensorflow.python.eager import context
        from tensorflow.python.framework.config import is_op_determinism_enabled

        assert context.global_seed() is None
        assert not is_op_determinism_enabled()
    # unseeded fits after a seeded one train, and differ from each other
    unseeded = {**FAST, "random_state": None}
    first = KerasMLPClassifier(**unseeded).fit(X, y).predict_proba(X)
    second = KerasMLPClassifier(**unseeded).fit(X, y).predict_proba(X)
    assert not np.allclose(first, second)


def test_random_state_instance_is_accepted(binary):
    X, y = binary
    clf = KerasMLPClassifier(**{**FAST, "random_state": np.random.RandomState(0)}).fit(X, y)
    assert clf.score(X, y) > 0.9


def test_thread_count_is_restored(binary):
    if keras.backend.backend() != "torch":
        pytest.skip("torch's thread count is the one the estimator sets and restores")
    import torch

    before = torch.get_num_threads()
    KerasMLPClassifier(**FAST).fit(*binary).predict(binary[0])
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "make_ensemble",
    [
        lambda clf: VotingClassifier([("mlp", clf), ("lr", LogisticRegression())], voting="soft"),
        lambda clf: StackingClassifier([("mlp", clf), ("lr", LogisticRegression())], cv=2),
        lambda clf: CalibratedClassifierCV(clf, cv=2),
        lambda clf: LateFusionClassifier([("mlp", clf, [0, 1]), ("lr", LogisticRegression(), [2, 3])]),
    ],
    ids=["voting", "stacking", "calibrated", "late-fusion"],
)
def test_member_of_scikit_learn_and_skfusion_ensembles(blobs, make_ensemble):
    X, y = blobs
    ensemble = make_ensemble(KerasMLPClassifier(**FAST)).fit(X, y)
    assert ensemble.predict_proba(X).shape == (120, 3)
    assert ensemble.score(X, y) > 0.9


def test_grid_search_stratifies_and_routes_params(binary):
    X, y = binary
    clf = KerasMLPClassifier(**FAST)
    assert isinstance(check_cv(3, y, classifier=is_classifier(clf)), StratifiedKFold)
    search = GridSearchCV(
        clf, {"optimizer__beta_1": [0.5, 0.9], "fit__shuffle": [False]}, cv=2
    ).fit(X, y)
    best = search.best_estimator_
    assert best.get_params()["fit__shuffle"] is False
    assert float(best.model_.optimizer.beta_1) == search.best_params_["optimizer__beta_1"]
    assert search.best_score_ > 0.9


def test_set_params_routes_to_optimizer_compile_and_fit(binary):
    X, y = binary
    clf = KerasMLPClassifier(**FAST).set_params(
        optimizer__beta_1=0.5, compile__metrics=["accuracy"], fit__epochs=2
    )
    assert clf.get_params()["optimizer__beta_1"] == 0.5
    clf.fit(X, y)
    assert float(clf.model_.optimizer.beta_1) == 0.5
    assert len(clf.history_["accuracy"]) == 2  # fit__epochs wins over epochs


def test_optimizer_instance_or_class_is_copied(binary):
    X, y = binary
    sgd = keras.optimizers.SGD(momentum=0.5)
    clf = KerasMLPClassifier(**{**FAST, "optimizer": sgd}).fit(X, y)
    assert clf.model_.optimizer is not sgd
    assert isinstance(clf.model_.optimizer, keras.optimizers.SGD)
    assert float(clf.model_.optimizer.momentum) == 0.5
    assert np.isclose(float(clf.model_.optimizer.learning_rate), FAST["learning_rate"])
    assert clone(clf).fit(X, y).model_.optimizer is not clf.model_.optimizer
    clf = KerasMLPClassifier(**{**FAST, "optimizer": keras.optimizers.RMSprop}).fit(X, y)
    assert isinstance(clf.model_.optimizer, keras.optimizers.RMSprop)


def test_learning_rate_schedule(binary):
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=5, decay_rate=0.5)
    clf = KerasMLPClassifier(**{**FAST, "learning_rate": schedule}).fit(*binary)
    config = clf.model_.optimizer.get_config()["learning_rate"]
    assert config["class_name"] == "ExponentialDecay"
    assert float(clf.model_.optimizer.learning_rate) < 0.05


def test_warm_start_trains_the_same_model_on(binary):
    X, y = binary
    clf = KerasMLPClassifier(**{**FAST, "epochs": 2}, warm_start=True).fit(X, y)
    model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is model
    assert len(clf.history_["loss"]) == 4
    # a subset of the known classes is fine
    clf.fit(X[y == "ant"][:5].tolist() + X[y == "bee"][:5].tolist(), ["ant"] * 5 + ["bee"] * 5)
    clf.set_params(warm_start=False).fit(X, y)
    assert clf.model_ is not model and len(clf.history_["loss"]) == 2


def test_early_stopping_on_a_random_validation_split():
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(80, 4)), np.repeat([0, 1], 40)  # sorted, pure noise
    clf = KerasMLPClassifier(
        hidden_layers=(32,), epochs=60, learning_rate=0.05, validation_split=0.25,
        early_stopping=3, random_state=0,
    ).fit(X, y)
    assert len(clf.history_["val_loss"]) == len(clf.history_["loss"]) < 60
    # early stopping without a validation split watches the training loss
    clf.set_params(validation_split=0.0, early_stopping=True, epochs=3).fit(X, y)
    assert "val_loss" not in clf.history_


def test_class_weight_and_sample_weight_shift_predictions():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 2))
    y = np.where(X[:, 0] + rng.normal(scale=2.0, size=100) > 0, "pos", "neg")
    plain = KerasMLPClassifier(**FAST).fit(X, y)
    weighted = KerasMLPClassifier(**FAST, class_weight={"neg": 1.0, "pos": 20.0}).fit(X, y)
    assert (weighted.predict(X) == "pos").sum() > (plain.predict(X) == "pos").sum()
    by_rows = KerasMLPClassifier(**FAST).fit(X, y, sample_weight=np.where(y == "pos", 20.0, 1.0))
    assert (by_rows.predict(X) == "pos").sum() > (plain.predict(X) == "pos").sum()
    assert KerasMLPClassifier(**FAST, class_weight="balanced").fit(X, y).score(X, y) > 0.5


def test_predict_runs_batches_of_one_shape_without_model_predict(blobs, monkeypatch):
    X, y = blobs
    clf = KerasMLPClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)

    def no_predict(*args, **kwargs):
        raise AssertionError("Model.predict is slow for few rows; predict on batches")

    shapes = []
    predict_batch = _base.predict_batch

    def recording_predict_batch(keras, model, x):
        shapes.append(x.shape)
        return predict_batch(keras, model, x)

    monkeypatch.setattr(clf.model_, "predict", no_predict)
    monkeypatch.setattr(_base, "predict_batch", recording_predict_batch)
    monkeypatch.setattr("skfusion.keras._base._PREDICT_BATCH", 7)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 3)
    # 7-row batches run other float32 kernels than 1024-row ones: a few ulps
    np.testing.assert_allclose(proba, expected, rtol=1e-5)
    # 120 rows: 17 full batches and the last 1 row padded to 7
    assert shapes == [(7, 4)] * 18


@pytest.mark.parametrize("Estimator, method", [(KerasMLPClassifier, "predict_proba"),
                                               (KerasMLPRegressor, "predict")])
def test_a_rows_prediction_does_not_depend_on_the_rows_beside_it(Estimator, method):
    # float32 matmul kernels sum in an order that depends on the batch shape
    # (scikit-learn's check_methods_subset_invariance caught a 3e-7 drift with
    # the default hidden layer); every row must get the same bits regardless
    X, y = make_regression(n_samples=1000, n_features=20, random_state=0)
    X = StandardScaler().fit_transform(X)
    if Estimator is KerasMLPClassifier:
        y = np.digitize(y, np.quantile(y, [1 / 3, 2 / 3]))
    model = Estimator(epochs=1, random_state=0).fit(X, y)
    predict = getattr(model, method)
    in_1000 = predict(X)
    for row in (0, 1, 500, 998, 999):
        alone = predict(X[row:row + 1])
        others = np.delete(np.arange(len(X)), row)[:6]
        in_7 = predict(np.insert(X[others], 3, X[row], axis=0))[3:4]
        np.testing.assert_array_equal(alone, in_1000[row:row + 1])
        np.testing.assert_array_equal(in_7, in_1000[row:row + 1])


@pytest.mark.parametrize("Estimator", [KerasMLPClassifier, KerasMLPRegressor])
def test_default_parameters_pass_methods_subset_invariance(Estimator):
    check_methods_subset_invariance(Estimator.__name__, Estimator(random_state=0))


def test_feature_names_are_checked(binary):
    pd = pytest.importorskip("pandas")
    X, y = binary
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = KerasMLPClassifier(**FAST).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["a", "b", "c", "d"]
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        clf.predict(frame[["b", "a", "c", "d"]])
