import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from conftest import TABULAR, TEXT
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.ensemble import RandomForestClassifier, VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils import get_tags

from skfusion import LateFusionClassifier, LateFusionRegressor
from skfusion.fusion import get_combiner


def test_members_see_only_their_columns(reviews, members):
    X, y = reviews
    fusion = LateFusionClassifier(members, missing="renormalize").fit(X, y)
    text = fusion.named_estimators_["text"]
    tab = fusion.named_estimators_["tab"]
    assert text[-1].n_features_in_ == len(text[0].vocabulary_)
    assert list(tab.feature_names_in_) == TABULAR
    assert fusion.n_features_in_ == X.shape[1]
    assert_array_equal(fusion.feature_names_in_, X.columns)


def test_soft_voting_is_the_weighted_mean_of_member_probabilities(reviews, members):
    X, y = reviews
    X = X[X[TEXT].notna()]
    y = y.loc[X.index]
    fusion = LateFusionClassifier(members, weights={"text": 3}).fit(X, y)
    p_text = fusion.named_estimators_["text"].predict_proba(X[TEXT])
    p_tab = fusion.named_estimators_["tab"].predict_proba(X[TABULAR])
    assert_allclose(fusion.predict_proba(X), 0.75 * p_text + 0.25 * p_tab)
    assert_allclose(fusion.weights_, [0.75, 0.25])
    assert_array_equal(fusion.predict(X), fusion.classes_[(0.75 * p_text + 0.25 * p_tab).argmax(1)])


def test_geometric_combiner_is_the_normalised_weighted_product():
    X, y = make_classification(n_samples=120, n_classes=3, n_informative=4, random_state=0)
    estimators = [("lr", LogisticRegression(), [0, 1, 2]), ("tree", DecisionTreeClassifier(max_depth=3, random_state=0), [3, 4])]
    fusion = LateFusionClassifier(estimators, weights=[2, 1], combiner="geometric").fit(X, y)
    p1 = fusion.estimators_[0].predict_proba(X[:, :3])
    p2 = np.clip(fusion.estimators_[1].predict_proba(X[:, 3:5]), 1e-12, None)
    expected = p1 ** (2 / 3) * p2 ** (1 / 3)
    expected /= expected.sum(axis=1, keepdims=True)
    assert_allclose(fusion.predict_proba(X), expected, rtol=1e-10)


def test_a_combiner_can_be_a_callable():
    X, y = make_classification(n_samples=80, random_state=0)

    def first_member_only(probas, weights):
        return probas[0]

    fusion = LateFusionClassifier(
        [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))],
        combiner=first_member_only,
    ).fit(X, y)
    assert_allclose(fusion.predict_proba(X), fusion.estimators_[0].predict_proba(X))


def test_hard_voting_is_the_weighted_majority():
    X, y = make_classification(n_samples=150, n_classes=3, n_informative=4, random_state=1)
    estimators = [
        ("lr", LogisticRegression()),
        ("tree", DecisionTreeClassifier(max_depth=2, random_state=0)),
        ("forest", RandomForestClassifier(n_estimators=5, random_state=0)),
    ]
    fusion = LateFusionClassifier(estimators, voting="hard", weights=[1, 1, 3]).fit(X, y)
    # the forest outweighs the other two together
    assert_array_equal(fusion.predict(X), fusion.estimators_[2].predict(X))
    assert not hasattr(fusion, "predict_proba")
    assert_array_equal(fusion.transform(X), np.column_stack([e.predict(X) for e in fusion.estimators_]))


@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_learned_weights_are_no_worse_than_equal_weights(voting):
    X, y = make_classification(n_samples=300, n_features=10, n_informative=3, shuffle=False, random_state=0)
    # one informative member, one that sees only noise columns
    estimators = [("good", LogisticRegression(), [0, 1, 2, 3, 4]), ("noise", DecisionTreeClassifier(max_depth=3, random_state=0), [8, 9])]
    fusion = LateFusionClassifier(estimators, weights="auto", voting=voting, cv=3).fit(X, y)
    assert fusion.weights_.sum() == pytest.approx(1)
    assert fusion.weights_[0] > fusion.weights_[1]

    if voting == "soft":
        oof = [cross_val_predict(est, X[:, cols], y, cv=3, method="predict_proba")
               for _, est, cols in estimators]

        def log_loss(w):
            p = w[0] * oof[0] + w[1] * oof[1]
            return -np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-15, None)))

        assert log_loss(fusion.weights_) <= log_loss(np.array([0.5, 0.5]))


def test_weights_auto_for_regression_prefers_the_informative_member():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4))
    y = 3 * X[:, 0] + rng.normal(scale=0.1, size=200)
    reg = LateFusionRegressor(
        [("signal", LinearRegression(), [0]), ("noise", DecisionTreeRegressor(max_depth=2, random_state=0), [3])],
        weights="auto",
        cv=4,
    ).fit(X, y)
    assert reg.weights_[0] > 0.9
    assert reg.score(X, y) > 0.95


def test_regressor_averages_member_predictions():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(50, 3))
    y = X @ [1.0, 2.0, 0.5]
    reg = LateFusionRegressor([("a", LinearRegression(), [0, 1]), ("b", Ridge(), [2])], weights={"a": 4}).fit(X, y)
    expected = 0.8 * reg.estimators_[0].predict(X[:, :2]) + 0.2 * reg.estimators_[1].predict(X[:, [2]])
    assert_allclose(reg.predict(X), expected)
    assert_allclose(reg.transform(X), np.column_stack([e.predict(X[:, c]) for e, c in zip(reg.estimators_, ([0, 1], [2]))]))
    assert_array_equal(reg.get_feature_names_out(), ["latefusionregressor_a", "latefusionregressor_b"])


def test_multilabel_targets_are_fused_label_by_label():
    X, Y = make_multilabel_classification(n_samples=200, n_classes=3, random_state=0)
    estimators = [
        ("ovr", OneVsRestClassifier(LogisticRegression(max_iter=500)), slice(0, 10)),
        ("forest", RandomForestClassifier(n_estimators=10, random_state=0), slice(10, 20)),
    ]
    fusion = LateFusionClassifier(estimators).fit(X, Y)
    p_ovr = fusion.estimators_[0].predict_proba(X[:, :10])
    p_forest = np.column_stack([p[:, 1] for p in fusion.estimators_[1].predict_proba(X[:, 10:])])
    proba = fusion.predict_proba(X)
    assert proba.shape == (200, 3)
    assert_allclose(proba, (p_ovr + p_forest) / 2)
    assert_array_equal(fusion.predict(X), (proba > 0.5).astype(int))
    assert_array_equal(fusion.classes_, [0, 1, 2])

    hard = LateFusionClassifier(estimators, voting="hard", weights=[2, 1]).fit(X, Y)
    assert_array_equal(hard.predict(X), hard.estimators_[0].predict(X[:, :10]))

    auto = LateFusionClassifier(estimators, weights="auto", combiner="geometric", cv=3).fit(X, Y)
    assert auto.weights_.sum() == pytest.approx(1)
    assert auto.transform(X).shape == (200, 6)


def test_missing_modality_is_predicted_from_the_other_members(reviews, members):
    X, y = reviews
    no_text = X[TEXT].isna().to_numpy()
    fusion = LateFusionClassifier(members, missing="renormalize").fit(X, y)
    # the text member never saw a row without text
    assert len(fusion.named_estimators_["text"][0].vocabulary_) > 0
    proba = fusion.predict_proba(X)
    assert np.isfinite(proba).all()
    assert_allclose(proba.sum(axis=1), 1)
    tab_only = fusion.named_estimators_["tab"].predict_proba(X.loc[no_text, TABULAR])
    assert_allclose(proba[no_text], tab_only)
    transformed = fusion.transform(X)
    assert np.isnan(transformed[no_text, :2]).all()
    assert not np.isnan(transformed[~no_text]).any()


def test_a_row_whose_only_modality_weighs_zero_uses_that_modality(reviews, members):
    X, y = reviews
    no_text = X[TEXT].isna().to_numpy()
    fusion = LateFusionClassifier(members, weights=[1, 0], missing="renormalize").fit(X, y)
    proba = fusion.predict_proba(X)
    assert_allclose(proba[~no_text], fusion.named_estimators_["text"].predict_proba(X.loc[~no_text, TEXT]))
    assert_allclose(proba[no_text], fusion.named_estimators_["tab"].predict_proba(X.loc[no_text, TABULAR]))


def test_string_labels_reach_xgboost_encoded():
    xgboost = pytest.importorskip("xgboost")
    X, y = make_classification(n_samples=120, n_classes=3, n_informative=4, random_state=0)
    labels = np.array(["bad", "good", "ok"])[y]
    fusion = LateFusionClassifier(
        [("xgb", xgboost.XGBClassifier(n_estimators=10, max_depth=2, n_jobs=1), [0, 1, 2, 3]),
         ("lr", LogisticRegression(), [4, 5, 6])]
    ).fit(X, labels)
    assert_array_equal(fusion.classes_, ["bad", "good", "ok"])
    assert set(fusion.predict(X)) <= {"bad", "good", "ok"}
    assert (fusion.predict(X) == labels).mean() > 0.7


def test_frozen_member_is_not_refitted():
    X, y = make_classification(n_samples=100, random_state=0)
    labels = np.where(y == 1, "yes", "no")
    prefit = LogisticRegression().fit(X[:50, :5], labels[:50])
    coef = prefit.coef_.copy()
    fusion = LateFusionClassifier(
        [("old", FrozenEstimator(prefit), list(range(5))), ("new", DecisionTreeClassifier(random_state=0), list(range(5, 20)))],
        weights="auto",
        cv=3,
    ).fit(X, labels)
    assert fusion.named_estimators_["old"].estimator is prefit
    assert_array_equal(prefit.coef_, coef)
    p_old = prefit.predict_proba(X[:, :5])
    p_new = fusion.estimators_[1].predict_proba(X[:, 5:])
    w = fusion.weights_
    assert_allclose(fusion.predict_proba(X), w[0] * p_old + w[1] * p_new)


def test_transform_names_and_pandas_output(reviews, members):
    X, y = reviews
    fusion = LateFusionClassifier(members, missing="renormalize").fit(X, y)
    names = fusion.get_feature_names_out()
    assert_array_equal(names, ["latefusionclassifier_text0", "latefusionclassifier_text1", "latefusionclassifier_tab0", "latefusionclassifier_tab1"])
    out = fusion.set_output(transform="pandas").transform(X)
    assert isinstance(out, pd.DataFrame)
    assert_array_equal(out.columns, names)
    assert_array_equal(out.index, X.index)


def test_tags_follow_the_members():
    allow_nan = LateFusionClassifier([("a", RandomForestClassifier()), ("b", DecisionTreeClassifier())])
    assert get_tags(allow_nan).input_tags.allow_nan
    assert get_tags(allow_nan).classifier_tags.multi_label
    mixed = LateFusionClassifier([("a", RandomForestClassifier()), ("b", LogisticRegression())])
    assert not get_tags(mixed).input_tags.allow_nan
    assert not get_tags(mixed).classifier_tags.multi_label
    assert get_tags(mixed).estimator_type == "classifier"
    assert get_tags(LateFusionRegressor([("a", Ridge())])).estimator_type == "regressor"


def test_sample_weight_reaches_the_members():
    X, y = make_classification(n_samples=100, random_state=0)
    sw = np.random.RandomState(0).uniform(size=100)
    fusion = LateFusionClassifier([("lr", LogisticRegression(), [0, 1, 2])]).fit(X, y, sample_weight=sw)
    direct = LogisticRegression().fit(X[:, :3], y, sample_weight=sw)
    assert_allclose(fusion.estimators_[0].coef_, direct.coef_)


def test_metadata_routing_sends_requested_metadata():
    import sklearn

    X, y = make_classification(n_samples=60, random_state=0)
    sw = np.arange(60) % 3 + 1.0
    with sklearn.config_context(enable_metadata_routing=True):
        fusion = LateFusionClassifier(
            [("lr", LogisticRegression().set_fit_request(sample_weight=True), [0, 1]),
             ("plain", LogisticRegression().set_fit_request(sample_weight=False), [2, 3])]
        ).fit(X, y, sample_weight=sw)
    weighted = LogisticRegression().fit(X[:, :2], y, sample_weight=sw)
    unweighted = LogisticRegression().fit(X[:, 2:4], y)
    assert_allclose(fusion.estimators_[0].coef_, weighted.coef_)
    assert_allclose(fusion.estimators_[1].coef_, unweighted.coef_)


def test_grid_search_over_weights_voting_and_combiner(reviews, members):
    X, y = reviews
    search = GridSearchCV(
        LateFusionClassifier(members, missing="renormalize"),
        {"weights": [[1, 1], [3, 1]], "voting": ["soft", "hard"], "combiner": [None, "geometric"], "text__logisticregression__C": [1.0]},
        cv=3,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_score_ > y.mean() - 0.05


class CountingClassifier(ClassifierMixin, BaseEstimator):
    """Logistic regression that counts its fit and predict_proba calls."""

    calls = {"fit": 0, "predict_proba": 0}

    def __init__(self, C=1.0):
        self.C = C

    def fit(self, X, y):
        CountingClassifier.calls["fit"] += 1
        self.model_ = LogisticRegression(C=self.C).fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        CountingClassifier.calls["predict_proba"] += 1
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(1)]


def test_memory_fits_each_member_once_per_fold_in_a_weight_search(tmp_path):
    X, y = make_classification(n_samples=150, random_state=0)
    CountingClassifier.calls.update(fit=0, predict_proba=0)
    fusion = LateFusionClassifier(
        [("a", CountingClassifier(), [0, 1, 2]), ("b", CountingClassifier(C=0.1), [3, 4, 5])],
        memory=str(tmp_path),
    )
    grid = {"weights": [[w, 1 - w] for w in np.linspace(0.1, 0.9, 5)], "combiner": ["mean", "geometric"]}
    GridSearchCV(fusion, grid, cv=3, scoring="neg_log_loss").fit(X, y)
    # 2 members x (3 folds + 1 refit)
    assert CountingClassifier.calls["fit"] == 8
    # each member scores each test fold once; the other 9 candidates read it
    assert CountingClassifier.calls["predict_proba"] == 6


def test_memory_gives_the_same_results_as_no_memory(tmp_path, reviews, members):
    X, y = reviews
    plain = LateFusionClassifier(members, weights="auto", cv=3, missing="renormalize").fit(X, y)
    cached = clone(plain).set_params(memory=joblib.Memory(tmp_path, verbose=0))
    first = cached.fit(X, y).predict_proba(X)
    again = clone(cached).fit(X, y).predict_proba(X)
    assert_allclose(first, plain.predict_proba(X))
    assert_array_equal(first, again)
    assert_allclose(cached.weights_, plain.weights_)


def test_pickle_round_trip_predicts_identically(reviews, members, tmp_path):
    X, y = reviews
    fusion = LateFusionClassifier(members, weights="auto", cv=3, missing="renormalize", memory=str(tmp_path)).fit(X, y)
    restored = pickle.loads(pickle.dumps(fusion))
    assert_array_equal(restored.predict_proba(X), fusion.predict_proba(X))
    assert_array_equal(restored.predict(X), fusion.predict(X))


def test_same_random_state_gives_the_same_result():
    X, y = make_classification(n_samples=200, random_state=0)

    def fitted():
        return LateFusionClassifier(
            [("forest", RandomForestClassifier(n_estimators=10, random_state=3), [0, 1, 2, 3]),
             ("tree", DecisionTreeClassifier(max_features=2, random_state=4), [4, 5, 6])],
            weights="auto",
        ).fit(X, y)

    first, second = fitted(), fitted()
    assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    assert_array_equal(first.weights_, second.weights_)


def test_drop_in_for_voting_classifier_with_pairs():
    X, y = make_classification(n_samples=120, n_classes=3, n_informative=4, random_state=0)
    estimators = [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]
    ours = LateFusionClassifier(estimators, weights=[1, 2]).fit(X, y)
    theirs = VotingClassifier(estimators, voting="soft", weights=[1, 2]).fit(X, y)
    assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-12)
    assert_allclose(ours.transform(X), theirs.transform(X))
    assert get_combiner("mean") is get_combiner("arithmetic")


def test_user_scikeras_model_as_a_member():
    scikeras = pytest.importorskip("scikeras.wrappers")
    keras = pytest.importorskip("keras")

    def model(meta):
        inputs = keras.Input((meta["n_features_in_"],))
        outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(inputs)
        return keras.Model(inputs, outputs)

    X, y = make_classification(n_samples=100, random_state=0)
    net = scikeras.KerasClassifier(model, loss="sparse_categorical_crossentropy", epochs=2, verbose=0, random_state=0)
    fusion = LateFusionClassifier([("net", net, [0, 1, 2]), ("lr", LogisticRegression(), [3, 4])]).fit(X, y)
    proba = fusion.predict_proba(X)
    assert proba.shape == (100, 2)
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)


def test_learned_weights_survive_a_fold_where_a_member_sees_no_row():
    from sklearn.model_selection import KFold

    X, y = make_classification(n_samples=40, n_features=4, random_state=0)
    X = X.copy()
    X[30:, :2] = np.nan  # the last fold has no value for member "a"
    estimators = [("a", LogisticRegression(), [0, 1]), ("b", LogisticRegression(), [2, 3])]
    fusion = LateFusionClassifier(estimators, weights="auto", missing="renormalize", cv=KFold(4)).fit(X, y)
    assert fusion.weights_.sum() == pytest.approx(1)
    reg = LateFusionRegressor([("a", LinearRegression(), [0, 1]), ("b", LinearRegression(), [2, 3])],
                              weights="auto", missing="renormalize", cv=KFold(4)).fit(X, y.astype(float))
    assert np.isfinite(reg.predict(X)).all()


def test_memory_follows_the_model_files_behind_an_encoder(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    from skfusion.encoders import TextEncoder

    path = tmp_path / "bert"
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "dress"]
    path.mkdir()
    (path / "vocab.txt").write_text("\n".join(words) + "\n")
    transformers.BertTokenizer(vocab_file=str(path / "vocab.txt")).save_pretrained(path)

    def save_model(seed):
        torch.manual_seed(seed)
        config = transformers.BertConfig(vocab_size=len(words), hidden_size=8, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=16)
        transformers.BertModel(config).save_pretrained(path)

    X = pd.DataFrame({"t": ["good dress", "bad dress", "good", "bad"] * 5, "n": np.arange(20.0)})
    y = np.array([1, 0, 1, 0] * 5)

    def fusion(memory):
        return LateFusionClassifier(
            [("text", make_pipeline_text(TextEncoder(path)), "t"), ("n", LogisticRegression(), ["n"])],
            memory=memory,
        )

    save_model(0)
    fusion(str(tmp_path / "cache")).fit(X, y)
    save_model(1)
    cached = fusion(str(tmp_path / "cache")).fit(X, y)
    fresh = fusion(None).fit(X, y)
    assert_allclose(cached.predict_proba(X), fresh.predict_proba(X))


def make_pipeline_text(encoder):
    from sklearn.pipeline import make_pipeline

    return make_pipeline(encoder, LogisticRegression())
