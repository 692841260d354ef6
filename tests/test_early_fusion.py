import pickle
import re

import numpy as np
import pandas as pd
import pytest
from conftest import TABULAR, TEXT
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

from skfusion import EarlyFusionClassifier, EarlyFusionRegressor, LateFusionClassifier
from skfusion.encoders import TabularEncoder


@pytest.fixture
def blocks():
    return [
        ("text", TfidfVectorizer(min_df=2), TEXT),
        ("tab", TabularEncoder(), TABULAR),
    ]


@pytest.fixture
def texts(reviews):
    """The reviews with text (early fusion's TF-IDF block needs it)."""
    X, y = reviews
    keep = X[TEXT].notna().to_numpy()
    return X[keep].reset_index(drop=True), y[keep].reset_index(drop=True)


def _wide_and_narrow(n=200, seed=0):
    rng = np.random.RandomState(seed)
    wide = rng.normal(scale=10.0, size=(n, 50))
    narrow = rng.normal(scale=0.1, size=(n, 2))
    return np.hstack([wide, narrow])


def _block_norms(Z, fusion):
    return {
        name: np.linalg.norm(Z[:, cols], axis=1).mean()
        for name, cols in fusion.output_indices_.items()
    }


def test_l2_scaling_gives_every_block_unit_mean_norm_times_its_weight():
    X = _wide_and_narrow()
    y = (X[:, -1] > 0).astype(int)
    fusion = EarlyFusionClassifier(
        [("wide", "passthrough", slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        LogisticRegression(),
        block_weights={"narrow": 3.0},
    ).fit(X, y)
    norms = _block_norms(fusion.transform(X), fusion)
    assert norms["wide"] == pytest.approx(1.0)
    assert norms["narrow"] == pytest.approx(3.0)
    # without scaling the wide block drowns the narrow one
    raw = EarlyFusionClassifier(
        [("wide", "passthrough", slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        LogisticRegression(),
        block_scaling=None,
    ).fit(X, y)
    raw_norms = _block_norms(raw.transform(X), raw)
    assert raw_norms["wide"] / raw_norms["narrow"] > 100


def test_standard_scaling_standardises_columns_and_divides_by_sqrt_width():
    X = _wide_and_narrow()
    y = (X[:, 0] > 0).astype(int)
    fusion = EarlyFusionClassifier(
        [("wide", "passthrough", slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        LogisticRegression(),
        block_scaling="standard",
    ).fit(X, y)
    Z = fusion.transform(X)
    np.testing.assert_allclose(Z[:, :50].std(axis=0), 1 / np.sqrt(50))
    np.testing.assert_allclose(Z[:, 50:].std(axis=0), 1 / np.sqrt(2))
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)


def test_projection_reduces_wide_blocks_and_names_their_components():
    X = _wide_and_narrow()
    y = (X[:, 0] > 0).astype(int)
    fusion = EarlyFusionClassifier(
        [("wide", StandardScaler(), slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        LogisticRegression(),
        projection=5,
    ).fit(X, y)
    assert fusion.output_indices_ == {"wide": slice(0, 5), "narrow": slice(5, 7)}
    names = fusion.get_feature_names_out().tolist()
    assert names[:2] == ["wide__proj0", "wide__proj1"]
    assert names[-2:] == ["narrow__x50", "narrow__x51"]
    pca = EarlyFusionClassifier(
        [("wide", "passthrough", slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        LogisticRegression(),
        projection=PCA(n_components=3),
    ).fit(X, y)
    assert pca.transform(X).shape == (200, 5)


def test_passthrough_block_of_named_columns_names_its_features():
    X = pd.DataFrame({"age": [20.0, 30, 40, 50], "count": [1.0, 0, 2, 3], "other": [0.0, 1, 0, 1]})
    fusion = EarlyFusionClassifier(
        [("scaled", StandardScaler(), ["count"]), ("age", "passthrough", ["age"])],
        LogisticRegression(),
    ).fit(X, [0, 1, 0, 1])
    assert fusion.get_feature_names_out().tolist() == ["scaled__count", "age__age"]


def test_text_and_tabular_blocks_fit_predict_and_name_features(texts, blocks):
    X, y = texts
    fusion = EarlyFusionClassifier(blocks, LogisticRegression(C=10, max_iter=500)).fit(X, y)
    assert fusion.score(X, y) > 0.95
    assert fusion.predict_proba(X.iloc[:4]).shape == (4, 2)
    np.testing.assert_array_equal(fusion.classes_, [0, 1])
    names = fusion.get_feature_names_out()
    assert names[0].startswith("text__") and names[-1].startswith("tab__")
    assert len(names) == fusion.transform(X.iloc[:2]).shape[1]
    assert list(fusion.named_encoders_) == ["text", "tab"]
    scores = cross_val_score(fusion, X, y, cv=3)
    assert scores.mean() > y.mean()  # beats always predicting "recommended"


def test_dropped_block_takes_no_columns(texts, blocks):
    X, y = texts
    fusion = EarlyFusionClassifier(blocks, LogisticRegression(max_iter=500)).set_params(tab="drop")
    fusion.fit(X, y)
    assert fusion.output_indices_["tab"] == slice(0, 0)
    assert fusion.named_encoders_["tab"] == "drop"
    assert all(name.startswith("text__") for name in fusion.get_feature_names_out())


def test_grid_search_over_classifier_and_block_weights(texts, blocks):
    X, y = texts
    search = GridSearchCV(
        EarlyFusionClassifier(blocks, LogisticRegression(max_iter=500)),
        {"classifier__C": [0.1, 10.0], "block_weights": [None, {"tab": 0.0}]},
        cv=3,
    ).fit(X, y)
    assert set(search.best_params_) == {"classifier__C", "block_weights"}
    assert search.cv_results_["mean_test_score"].shape == (4,)


def test_multilabel_end_to_end_with_sklearn_classifiers(texts, blocks):
    X, y = texts
    Y = np.column_stack([y, X["Department Name"].eq("Tops"), X["Age"].gt(40)]).astype(int)
    for classifier, proba_shape in [
        (OneVsRestClassifier(LogisticRegression(max_iter=500)), (5, 3)),
        (KNeighborsClassifier(n_neighbors=5), None),
    ]:
        fusion = EarlyFusionClassifier(blocks, classifier).fit(X, Y)
        assert fusion.predict(X.iloc[:5]).shape == (5, 3)
        proba = fusion.predict_proba(X.iloc[:5])
        if proba_shape is not None:
            assert proba.shape == proba_shape
        else:
            assert len(proba) == 3 and proba[0].shape == (5, 2)
    # the department label is read straight off a tabular column
    ovr = EarlyFusionClassifier(blocks, OneVsRestClassifier(LogisticRegression(max_iter=500)))
    assert (ovr.fit(X, Y).predict(X)[:, 1] == Y[:, 1]).mean() > 0.95


def test_hybrid_late_fusion_over_early_fusion_grid_searches_nested_params(texts, blocks, text_member):
    X, y = texts
    hybrid = LateFusionClassifier([
        ("early", EarlyFusionClassifier(blocks, LogisticRegression(max_iter=500))),
        ("text", text_member, TEXT),
    ])
    search = GridSearchCV(
        hybrid,
        {"early__classifier__C": [0.1, 1.0], "early__block_scaling": ["l2", "standard"]},
        cv=3,
        scoring="neg_log_loss",
    ).fit(X, y)
    assert search.best_estimator_.named_estimators_["early"].classifier_.C in (0.1, 1.0)
    assert search.best_estimator_.predict_proba(X.iloc[:3]).shape == (3, 2)


def test_pickle_round_trip_predicts_identically(texts, blocks):
    X, y = texts
    fusion = EarlyFusionClassifier(blocks, LogisticRegression(max_iter=500)).fit(X, y)
    again = pickle.loads(pickle.dumps(fusion))
    np.testing.assert_array_equal(again.predict_proba(X), fusion.predict_proba(X))


class _CountingScaler(StandardScaler):
    fits = []

    def fit(self, X, y=None):
        type(self).fits.append(len(X))
        return super().fit(X, y)


def test_memory_caches_block_fits(texts, tmp_path):
    X, y = texts
    _CountingScaler.fits.clear()
    fusion = EarlyFusionClassifier(
        [("tab", _CountingScaler(), ["Age", "Positive Feedback Count"])],
        LogisticRegression(),
        memory=str(tmp_path),
    )
    first = fusion.fit(X, y).predict_proba(X)
    second = clone(fusion).set_params(classifier__C=0.5).fit(X, y).predict_proba(X)
    assert _CountingScaler.fits == [len(X)]
    assert not np.allclose(first, second)


def test_regressor_fuses_blocks():
    X = _wide_and_narrow()
    y = X[:, 50] * 100 + X[:, 0]
    reg = EarlyFusionRegressor(
        [("wide", "passthrough", slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        Ridge(alpha=1e-6),
    ).fit(X, y)
    assert reg.score(X, y) > 0.999
    assert reg.predict(X[:3]).shape == (3,)


# -- errors ------------------------------------------------------------------


def test_block_selecting_no_columns(texts):
    X, y = texts
    fusion = EarlyFusionClassifier(
        [("text", TfidfVectorizer(), TEXT), ("tab", TabularEncoder(), [])], LogisticRegression()
    )
    with pytest.raises(ValueError, match=r"EarlyFusionClassifier: block 'tab' selects no columns of X \(columns=\[\]\)"):
        fusion.fit(X, y)


def test_block_output_with_nan():
    X = pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "b": [1.0, 2.0, 3.0, 4.0]})
    y = [0, 1, 0, 1]
    fusion = EarlyFusionClassifier([("a", "passthrough", ["a"]), ("b", StandardScaler(), ["b"])], LogisticRegression())
    with pytest.raises(ValueError, match=r"the output of block 'a' holds NaN or infinite values in 1 row\(s\) at fit time \(first row: 1\); impute"):
        fusion.fit(X, y)
    fitted = fusion.fit(X.fillna(0), y)
    with pytest.raises(ValueError, match="block 'a' holds NaN .* at predict time"):
        fitted.predict(X)


def test_multilabel_y_with_values_other_than_0_1():
    X = np.arange(20.0).reshape(10, 2)
    Y = np.tile([[0, 2], [1, 0]], (5, 1))
    with pytest.raises(ValueError, match=r"EarlyFusionClassifier: a 2-D y must be a 0/1 indicator matrix \(one column per label\), but column 1 holds \[2\]"):
        EarlyFusionClassifier([("x", "passthrough")], KNeighborsClassifier(n_neighbors=2)).fit(X, Y)


def test_3d_y():
    X = np.arange(16.0).reshape(8, 2)
    with pytest.raises(ValueError, match=r"EarlyFusionRegressor: y must be 1-D, or 2-D .* got a 3-D y of shape \(8, 1, 1\)"):
        EarlyFusionRegressor([("x", "passthrough")], LinearRegression()).fit(X, np.zeros((8, 1, 1)))


def test_block_weights_naming_an_unknown_block():
    X = np.arange(16.0).reshape(8, 2)
    fusion = EarlyFusionClassifier([("x", "passthrough")], LogisticRegression(), block_weights={"img": 2})
    with pytest.raises(ValueError, match=r"block_weights names \['img'\], which is not a block; the blocks are \['x'\]"):
        fusion.fit(X, [0, 1] * 4)


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, 2.0], r"block_weights has 2 entries but there are 1 blocks \('x',\)"),
        ({"x": -1.0}, r"block_weights must be finite and non-negative, got \{'x': -1.0\}"),
    ],
)
def test_bad_block_weights(weights, match):
    X = np.arange(16.0).reshape(8, 2)
    with pytest.raises(ValueError, match=match):
        EarlyFusionClassifier([("x", "passthrough")], LogisticRegression(), block_weights=weights).fit(X, [0, 1] * 4)


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match="EarlyFusionClassifier instance is not fitted yet"):
        EarlyFusionClassifier([("x", "passthrough")], LogisticRegression()).predict(np.zeros((2, 2)))


def test_missing_column_at_predict(texts, blocks):
    X, y = texts
    fusion = EarlyFusionClassifier(blocks, LogisticRegression(max_iter=500)).fit(X, y)
    with pytest.raises(ValueError, match=r"block 'tab' selects column\(s\) \['Age'\] that X does not have at predict time"):
        fusion.predict(X.drop(columns="Age"))


def test_classifier_that_is_a_regressor():
    X = np.arange(16.0).reshape(8, 2)
    with pytest.raises(TypeError, match="EarlyFusionClassifier: classifier must be a classifier, got LinearRegression; use EarlyFusionRegressor"):
        EarlyFusionClassifier([("x", "passthrough")], LinearRegression()).fit(X, [0, 1] * 4)


def test_block_that_is_not_a_transformer():
    X = np.arange(16.0).reshape(8, 2)
    with pytest.raises(TypeError, match="block 'x' needs a transformer .* got LogisticRegression"):
        EarlyFusionClassifier([("x", LogisticRegression())], LogisticRegression()).fit(X, [0, 1] * 4)


@pytest.mark.keras
def test_hybrid_with_a_keras_head_searches_its_layers(texts, blocks):
    from skfusion.keras import KerasMLPClassifier

    X, y = texts
    Y = np.column_stack([y, X["Department Name"].eq("Tops")]).astype(int)
    early = EarlyFusionClassifier(
        blocks, KerasMLPClassifier(hidden_layers=(8,), epochs=2, random_state=0)
    )
    hybrid = LateFusionClassifier([
        ("early", early),
        ("tab", OneVsRestClassifier(LogisticRegression(max_iter=500)), ["Age", "Positive Feedback Count"]),
    ])
    search = GridSearchCV(
        hybrid, {"early__classifier__hidden_layers": [(4,), (8,)]}, cv=2, scoring="f1_macro"
    ).fit(X, Y)
    fitted_early = search.best_estimator_.named_estimators_["early"]
    # a sparse TF-IDF block reaches the Keras head dense
    assert fitted_early.classifier_.hidden_layers == search.best_params_["early__classifier__hidden_layers"]
    proba = search.best_estimator_.predict_proba(X.iloc[:5])
    assert proba.shape == (5, 2) and ((proba >= 0) & (proba <= 1)).all()


def test_verbose_prints_the_time_of_each_block(capsys):
    X = _wide_and_narrow(n=40)
    y = (X[:, 0] > 0).astype(int)
    EarlyFusionClassifier(
        [("wide", StandardScaler(), slice(0, 50)), ("narrow", "passthrough", [50, 51])],
        LogisticRegression(),
        verbose=True,
    ).fit(X, y)
    out = capsys.readouterr().out
    assert re.search(r"\[EarlyFusion\] .* \(1 of 2\) Processing wide, total=\s*\d", out)
    assert "(2 of 2) Processing narrow" in out
