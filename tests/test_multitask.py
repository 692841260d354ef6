"""MultiTaskKerasEstimator: every task kind, branches, loss weighting,
search, pickling, seeding, and scikit-learn's checks that apply to it."""

import pickle
import random

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_checks

from skfusion.multitask import MultiTaskKerasEstimator, task_scorer

pytestmark = pytest.mark.keras

TASKS = {
    "price": "regression",
    "big": "binary",
    "size": "multiclass",
    "tags": ("multilabel", ["tag_a", "tag_b"]),
}


def make_data(n=120, seed=0):
    """Four learnable tasks from five numeric features."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    Y = pd.DataFrame({
        "price": 3.0 * X[:, 0] + 10.0,
        "big": np.where(X[:, 1] > 0, "yes", "no"),
        "size": np.array(["S", "M", "L"])[np.digitize(X[:, 2], [-0.4, 0.4])],
        "tag_a": (X[:, 3] > 0).astype(int),
        "tag_b": (X[:, 4] > 0).astype(int),
    })
    return X, Y


def small(**params):
    defaults = dict(shared_layers=(16,), epochs=3, batch_size=16, random_state=0)
    return MultiTaskKerasEstimator(TASKS, **{**defaults, **params})


def quick(**params):
    """For tests of the scikit-learn plumbing, which fit many times: two
    epochs, run eagerly (on TensorFlow, tracing a tiny model's train step
    costs more than a few eager steps; the routed compile__ parameter)."""
    return small(**{"epochs": 2, "batch_size": 32, "compile__run_eagerly": True, **params})


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return small(epochs=60, batch_size=32, learning_rate=2e-2).fit(X, Y)


def test_predict_has_a_column_per_task_and_label_with_original_labels(data, fitted):
    X, Y = data
    pred = fitted.predict(X)
    assert pred.columns.tolist() == ["price", "big", "size", "tag_a", "tag_b"]
    assert set(pred["big"]) <= {"yes", "no"} and set(pred["size"]) <= {"S", "M", "L"}
    assert set(np.unique(pred[["tag_a", "tag_b"]])) <= {0, 1}
    assert pred["price"].dtype == np.float64
    assert fitted.tasks_ == list(TASKS)
    assert fitted.classes_["size"].tolist() == ["L", "M", "S"]
    assert fitted.classes_["tags"].tolist() == ["tag_a", "tag_b"]
    assert fitted.n_features_in_ == 5


def test_model_learns_every_task(data, fitted):
    X, Y = data
    pred = fitted.predict(X)
    assert (pred["big"] == Y["big"]).mean() > 0.9
    assert (pred["size"] == Y["size"]).mean() > 0.8
    assert (pred[["tag_a", "tag_b"]].to_numpy() == Y[["tag_a", "tag_b"]].to_numpy()).mean() > 0.9
    assert task_scorer("price", "r2")(fitted, X, Y) > 0.9
    history = fitted.history_
    assert len(history["loss"]) == 60
    for task in TASKS:
        assert history[f"{task}_loss"][-1] < history[f"{task}_loss"][0]
    assert history["price_mae"][-1] < history["price_mae"][0]
    assert history["big_accuracy"][-1] > 0.9


def test_predict_proba_per_classification_task(data, fitted):
    X, _ = data
    proba = fitted.predict_proba(X[:7])
    assert set(proba) == {"big", "size", "tags"}
    assert proba["big"].shape == (7, 2) and proba["size"].shape == (7, 3)
    assert proba["tags"].shape == (7, 2)
    np.testing.assert_allclose(proba["size"].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(proba["big"].sum(axis=1), 1.0)
    decoded = fitted.classes_["size"][proba["size"].argmax(axis=1)]
    np.testing.assert_array_equal(decoded, fitted.predict(X[:7])["size"])


def test_score_is_the_mean_of_the_task_scores(data, fitted):
    X, Y = data
    per_task = [task_scorer(task)(fitted, X, Y) for task in TASKS]
    assert fitted.score(X, Y) == pytest.approx(np.mean(per_task))
    pred = fitted.predict(X)
    assert per_task[1] == pytest.approx((pred["big"] == Y["big"]).mean())
    tags = (pred[["tag_a", "tag_b"]].to_numpy() == Y[["tag_a", "tag_b"]].to_numpy()).all(axis=1)
    assert per_task[3] == pytest.approx(tags.mean())


def test_task_scorer_uses_probabilities_where_the_scorer_needs_them(data, fitted):
    from sklearn.metrics import roc_auc_score

    X, Y = data
    auc = task_scorer("big", "roc_auc")(fitted, X, Y)
    assert auc == pytest.approx(roc_auc_score(Y["big"] == "yes", fitted.predict_proba(X)["big"][:, 1]))
    assert task_scorer("tags", "f1_macro")(fitted, X, Y) > 0.8
    assert task_scorer("price", "neg_mean_absolute_error")(fitted, X, Y) < 0
    assert repr(task_scorer("price", "r2")) == "task_scorer('price', 'r2')"


def test_predict_follows_the_index_of_X_and_task_columns(data):
    X, Y = data
    frame = pd.DataFrame(X, columns=list("abcde"), index=np.arange(100, 100 + len(X)))
    model = MultiTaskKerasEstimator(
        {"rating": ("regression", "price"), "is_big": ("binary", "big")},
        shared_layers=(4,), epochs=1, random_state=0,
    ).fit(frame, Y.set_index(frame.index))
    pred = model.predict(frame.iloc[:3])
    assert pred.index.tolist() == [100, 101, 102]
    assert pred.columns.tolist() == ["price", "big"]
    assert model.feature_names_in_.tolist() == list("abcde")
    assert list(model.predict_proba(frame.iloc[:3])) == ["is_big"]


def test_predict_proba_exists_only_with_a_classification_task():
    assert not hasattr(MultiTaskKerasEstimator({"a": "regression"}), "predict_proba")
    assert hasattr(MultiTaskKerasEstimator({"a": "regression", "b": "binary"}), "predict_proba")


def test_tags_follow_the_tasks():
    from sklearn.utils import get_tags

    tags = {kind: get_tags(MultiTaskKerasEstimator({"y": kind}))
            for kind in ("binary", "multiclass", "multilabel", "regression")}
    assert tags["binary"].estimator_type == tags["multiclass"].estimator_type == "classifier"
    assert not tags["binary"].classifier_tags.multi_class
    assert tags["multiclass"].classifier_tags.multi_class
    assert tags["regression"].estimator_type == "regressor"
    for several in (tags["multilabel"], get_tags(MultiTaskKerasEstimator(TASKS))):
        assert several.estimator_type is None and several.target_tags.multi_output
    # what scikit-learn's checks ask of a binary-only classifier
    X = np.random.RandomState(0).normal(size=(9, 2))
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: task 'y' is binary but column "
                       r"'y' has 3 classes \[0, 1, 2\]\. Only binary classification is supported "
                       r"by a binary task; declare it 'multiclass'"):
        MultiTaskKerasEstimator({"y": "binary"}, epochs=1).fit(X, np.arange(9) % 3)


def test_a_single_task_takes_a_1d_y_as_a_classifier_or_a_regressor(data):
    from sklearn.base import is_classifier, is_regressor
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import cross_val_score

    X, Y = data
    clf = quick().set_params(tasks={"big": "binary"})
    assert is_classifier(clf) and not is_regressor(clf)
    pred = clf.fit(X, Y["big"].tolist()).predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == (len(X),)
    assert set(pred) <= {"no", "yes"} and clf.classes_.tolist() == ["no", "yes"]
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], pred)
    weights = np.arange(len(X)) % 3
    assert clf.score(X, Y["big"], sample_weight=weights) == pytest.approx(
        accuracy_score(Y["big"], pred, sample_weight=weights))

    reg = quick().set_params(tasks={"price": "regression"})
    assert is_regressor(reg)
    pred = reg.fit(X, Y["price"]).predict(X)
    assert pred.shape == (len(X),) and not hasattr(reg, "classes_")
    assert reg.score(X, Y["price"].to_numpy()) == pytest.approx(r2_score(Y["price"], pred))
    assert cross_val_score(quick().set_params(tasks={"size": "multiclass"}), X, Y["size"],
                           cv=2).shape == (2,)

    # a DataFrame Y keeps the multi-task outputs
    clf.fit(X, Y[["big"]])
    assert clf.predict(X).columns.tolist() == ["big"] and list(clf.classes_) == ["big"]
    assert list(clf.predict_proba(X)) == ["big"]


def test_uncertainty_weighting_learns_a_weight_per_task(data):
    X, Y = data
    model = small(loss_weights="uncertainty", epochs=15, learning_rate=1e-2).fit(X, Y)
    log_vars = model.model_.get_layer("task_uncertainty").get_weights()[0]
    assert log_vars.shape == (4,) and np.all(log_vars != 0)
    weights = {task: model.history_[f"{task}_weight"] for task in TASKS}
    assert all(len(w) == 15 for w in weights.values())
    # exp(-s) * 1/2 for regression, exp(-s) otherwise, s the learned log-variance
    assert weights["price"][-1] == pytest.approx(0.5 * np.exp(-log_vars[0]), rel=1e-5)
    assert weights["big"][-1] == pytest.approx(np.exp(-log_vars[1]), rel=1e-5)
    assert model.score(X, Y) > 0.6


def test_fixed_loss_weights_steer_training(data):
    X, Y = data
    params = dict(tasks={"price": "regression", "big": "binary"}, shared_layers=(16,),
                  epochs=20, learning_rate=1e-2, random_state=0)
    only_big = MultiTaskKerasEstimator(loss_weights={"price": 0.0}, **params).fit(X, Y)
    both = MultiTaskKerasEstimator(**params).fit(X, Y)
    assert task_scorer("price", "r2")(both, X, Y) > 0.8
    assert task_scorer("price", "r2")(only_big, X, Y) < 0.5
    # with weight 0 the price loss is still reported, unweighted
    assert only_big.history_["price_loss"][-1] > both.history_["price_loss"][-1]


def test_inputs_branches_with_a_head_on_a_branch():
    rng = np.random.RandomState(0)
    words = np.array(["soft", "small", "lovely", "tight"])
    n = 80
    X = pd.DataFrame({
        "text": [" ".join(rng.choice(words, 3)) for _ in range(n)],
        "age": rng.uniform(20, 60, n),
        "height": rng.normal(170, 8, n),
    })
    Y = pd.DataFrame({
        "fit": np.where(X["text"].str.contains("tight"), "tight", "ok"),
        "older": X["age"] > 40,
        "score": X["height"] / 10,
    })
    model = MultiTaskKerasEstimator(
        {"fit": ("binary", None, "text"), "older": "binary", "score": ("regression", None, "body")},
        inputs=[("text", TfidfVectorizer(), "text"), ("body", StandardScaler(), ["age", "height"])],
        shared_layers=(8,), epochs=40, learning_rate=1e-2, random_state=0,
    ).fit(X, Y)
    assert set(model.named_encoders_) == {"text", "body"}
    assert model.n_branch_features_ == {"text": len(model.named_encoders_["text"].vocabulary_), "body": 2}
    layers = {layer.name for layer in model.model_.layers}
    assert {"branch0_text", "branch1_body", "branch1_body_dense0", "task0_with_branch", "task2_with_branch"} <= layers
    assert model.model_.get_layer("branch1_body_dense0").units == 8
    assert model.model_.get_layer("branch0_text_dense0").units == 8
    pred = model.predict(X)
    assert (pred["fit"] == Y["fit"]).mean() > 0.9
    assert pred["older"].dtype == bool
    assert model.n_features_in_ == 3


def test_passthrough_branch_and_array_X():
    X, Y = make_data(40)
    model = MultiTaskKerasEstimator(
        {"price": "regression"}, inputs=[("first", "passthrough", [0, 1]), ("rest", StandardScaler(), [2, 3, 4])],
        shared_layers=(4,), epochs=1, random_state=0,
    ).fit(X, Y)
    assert model.model_.get_layer("branch0_first").output.shape[-1] == 2
    assert model.predict(X).shape == (40, 1)


def test_one_branch_reads_its_own_input_through_with_modality_input():
    X, Y = make_data(40)
    model = MultiTaskKerasEstimator(
        {"price": "regression"}, inputs=[("first", "passthrough", [0, 1]), ("rest", StandardScaler(), [2, 3, 4])],
        shared_layers=(4,), epochs=1, random_state=0,
    ).fit(X, Y)
    shuffled = X[np.random.RandomState(0).permutation(len(X))]
    mixed = X.copy()
    mixed[:, :2] = shuffled[:, :2]
    view = model.with_modality_input("first", shuffled)
    np.testing.assert_allclose(view.predict(X), model.predict(mixed), rtol=1e-6)
    assert not np.allclose(view.predict(X), model.predict(X))


def test_seeded_fit_is_reproducible_and_leaves_global_random_state_alone(data):
    import keras

    def global_states():
        states = [random.getstate(), np.random.get_state()[1].tolist()]
        if keras.backend.backend() == "torch":
            import torch

            states.append(torch.get_rng_state().tolist())
        return states

    X, Y = data
    random.seed(1)
    np.random.seed(1)
    before = global_states()
    first = small(dropout=0.2).fit(X, Y).predict(X)
    assert global_states() == before
    pd.testing.assert_frame_equal(first, small(dropout=0.2).fit(X, Y).predict(X))
    other = small(dropout=0.2, random_state=1).fit(X, Y).predict(X)
    assert not np.allclose(first["price"], other["price"])


@pytest.mark.parametrize("loss_weights", [None, "uncertainty"])
def test_pickle_round_trip_predicts_the_same(data, loss_weights):
    X, Y = data
    model = quick(loss_weights=loss_weights).fit(X, Y)
    restored = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(restored.predict(X), model.predict(X))
    np.testing.assert_allclose(restored.predict_proba(X)["size"], model.predict_proba(X)["size"], rtol=1e-6)
    assert restored.history_ == model.history_


def test_validation_split_and_early_stopping(data):
    X, Y = data
    model = small(epochs=200, validation_split=0.25, early_stopping=True, learning_rate=5e-2).fit(X, Y)
    assert "val_price_loss" in model.history_ and "val_big_accuracy" in model.history_
    assert len(model.history_["loss"]) < 200


def test_grid_search_over_loss_weights_and_shared_layers(data):
    X, Y = data
    grid = {"loss_weights": [{"price": 0.2}, "uncertainty"], "shared_layers": [(8,), (16, 8)]}
    search = GridSearchCV(quick(), grid, cv=2).fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X).shape == (len(X), 5)
    assert search.best_estimator_.get_params()["compile__run_eagerly"] is True

    by_price = GridSearchCV(quick(), {"loss_weights": [None, {"big": 0.1}]}, cv=2,
                            scoring=task_scorer("price", "r2")).fit(X, Y)
    assert by_price.best_score_ == max(by_price.cv_results_["mean_test_score"])
    assert by_price.score(X, Y) == pytest.approx(task_scorer("price", "r2")(by_price.best_estimator_, X, Y))


def mean_score(estimator, X, Y):
    return estimator.score(X, Y)


def test_cross_validate_splits_the_dataframe_Y(data):
    X, Y = data
    scoring = {"all": mean_score, "price": task_scorer("price", "r2"),
               "big": task_scorer("big", "accuracy")}
    result = cross_validate(quick(), X, Y, cv=KFold(3), scoring=scoring)
    assert result["test_all"].shape == (3,) and np.isfinite(result["test_price"]).all()
    assert ((0 <= result["test_big"]) & (result["test_big"] <= 1)).all()


# -- scikit-learn's estimator checks --------------------------------------
# parametrize_with_checks feeds a 1-D y to most checks, which a multi-task
# estimator refuses (Y is a DataFrame naming its tasks): tests/test_common.py
# lists this class without instances and the checks that do not fit run here,
# the ones that need a fit as equivalents with a multi-task Y.

NO_FIT_CHECKS = [
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimators_unfitted",
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
]


@pytest.mark.parametrize("check", NO_FIT_CHECKS)
def test_sklearn_check(check):
    for estimator in (small(), small(inputs=[("x", "passthrough", [0, 1])], loss_weights="uncertainty")):
        getattr(estimator_checks, check)(type(estimator).__name__, estimator)


def test_fit_does_not_change_or_add_public_params(data):
    import joblib

    X, Y = data
    tasks = {k: v for k, v in TASKS.items()}
    estimator = quick(loss_weights={"price": 0.5}, inputs=[("x", StandardScaler(), [0, 1, 2, 3, 4])])
    estimator.tasks = tasks
    params = estimator.get_params()
    digest = joblib.hash(params)
    public_before = {k for k in vars(estimator) if not k.startswith("_")}
    estimator.fit(pd.DataFrame(X), Y)
    assert joblib.hash(estimator.get_params()) == digest
    added = {k for k in vars(estimator) if not k.startswith("_")} - public_before
    assert added and all(k.endswith("_") for k in added)
    assert tasks == TASKS


def test_unfitted_errors_and_clone_forgets_the_fit(data):
    X, Y = data
    estimator = quick()
    for method in ("predict", "predict_proba"):
        with pytest.raises(NotFittedError):
            getattr(estimator, method)(X)
    with pytest.raises(NotFittedError):
        estimator.score(X, Y)
    with pytest.raises(NotFittedError):
        task_scorer("price")(estimator, X, Y)
    estimator.fit(X, Y)
    assert not hasattr(clone(estimator), "model_")


def test_predict_leaves_the_estimator_unchanged_and_checks_n_features(data, fitted):
    import joblib

    X, _ = data
    state = {k: v for k, v in vars(fitted).items() if k != "model_"}
    digest = joblib.hash(state)
    fitted.predict(X)
    fitted.predict_proba(X)
    assert joblib.hash({k: v for k, v in vars(fitted).items() if k != "model_"}) == digest
    with pytest.raises(ValueError, match="X has 4 features, but MultiTaskKerasEstimator is expecting 5"):
        fitted.predict(X[:, :4])
