"""The shortcuts that keep a cached weight search cheap must never change an
answer: a shortcut may cost a cache miss, never a stale or wrong hit."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skfusion import LateFusionClassifier
from skfusion.utils._cache import fingerprint
from skfusion.utils._cache import _model_identities, _pickle_digest
from skfusion.utils._columns import present_mask, select

pa = pytest.importorskip("pyarrow")
ARROW = pd.StringDtype("pyarrow", na_value=np.nan)


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    words = np.array(["soft", "runs small", "love it", "itchy", "perfect fit", "too long"])
    text = [" ".join(rng.choice(words, 3)) for _ in range(n)]
    return pd.DataFrame({
        "text": pd.array(text, dtype=ARROW),
        "dept": pd.array(rng.choice(["Tops", "Dresses", "Bottoms"], n), dtype=ARROW),
        "age": rng.integers(18, 80, n),
        "score": rng.normal(size=n),
    })


def _labels(X):
    return (X["text"].str.contains("love|perfect") ^ (X["age"] > 60)).astype(int).to_numpy().copy()


# -- fingerprints of pyarrow-backed string columns ----------------------------


def test_arrow_string_column_changed_in_place_gets_a_new_fingerprint():
    X = _frame()
    before = fingerprint(X)
    X.loc[5, "text"] = "something else entirely"
    changed = fingerprint(X)
    assert changed != before
    # the same content in a new frame gives the same fingerprint again
    assert fingerprint(X.copy()) == changed
    X.loc[5, "text"] = _frame().loc[5, "text"]
    assert fingerprint(X) == before


@pytest.mark.parametrize(
    "other",
    [
        pd.Series(["a", "b", "c"], dtype=ARROW),  # another string
        pd.Series(["a", None, "c"], dtype=ARROW),  # a missing value
        pd.Series(["a", "None", "c"], dtype=ARROW),  # the string "None"
        pd.Series(["a", "nan", "c"], dtype=ARROW),  # the string "nan"
        pd.Series(["a", "", "c"], dtype=ARROW),  # an empty string
        pd.Series(["a", "x", "c"], dtype="large_string[pyarrow]"),  # another Arrow type
    ],
)
def test_arrow_string_columns_with_the_same_ends_never_share_a_fingerprint(other):
    # the probe (length, first, last) is equal for all of them: only a
    # comparison of the whole column may reuse a digest
    seen = pd.Series(["a", "x", "c"], dtype=ARROW)
    fingerprint(seen)
    assert fingerprint(other) != fingerprint(seen)
    assert fingerprint(pd.Series(["a", "x", "c"], dtype=ARROW)) == fingerprint(seen)


def test_arrow_and_object_storage_are_told_apart_and_each_reused():
    values = ["so soft", None, "runs small"] * 20
    arrow = pd.Series(values, dtype=ARROW)
    python = pd.Series(values, dtype=pd.StringDtype("python", na_value=np.nan))
    plain = pd.Series(values, dtype=object)
    prints = {fingerprint(s) for s in (arrow, python, plain)}
    assert len(prints) == 3  # the dtype is part of the fingerprint
    assert fingerprint(arrow.take(np.arange(60))) == fingerprint(arrow)
    assert fingerprint(plain.copy()) == fingerprint(plain)


def test_lists_and_tuples_are_fingerprinted_by_their_items():
    prints = [fingerprint(v) for v in ([1, 2], (1, 2), [1, [2]], ["ab"], ["a", "b"], [], [np.arange(2)])]
    assert len(set(prints)) == len(prints)
    assert fingerprint([np.arange(3)]) == fingerprint([np.arange(3).copy()])


# -- selection and missing-modality masks -------------------------------------


@pytest.mark.parametrize("columns", [["dept", "age"], ["score", "text", "age"], ["age"]])
def test_selecting_columns_by_position_gives_what_labels_give(columns):
    X = _frame().iloc[::2]
    ours, theirs = select(X, columns), X[columns]
    pd.testing.assert_frame_equal(ours, theirs)
    assert fingerprint(ours) == fingerprint(theirs)


def test_selection_with_duplicated_column_names_keeps_every_duplicate():
    X = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    pd.testing.assert_frame_equal(select(X, ["a", "b"]), X[["a", "b"]])
    assert select(X, ["a", "b"]).shape == (1, 3)
    with pytest.raises(KeyError):
        select(_frame(), ["nope"])


@pytest.mark.parametrize(
    "part",
    [
        pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": pd.array(["x", None, "y"], dtype=ARROW)}),
        pd.DataFrame({"a": [np.nan, np.nan, 1.0], "b": pd.array([None, None, None], dtype=ARROW)}),
        pd.DataFrame({"a": [1, 2, 3], "b": [None, None, None]}),
        pd.DataFrame({"a": [None, "x", None], "b": [np.nan, np.nan, 2.0], "c": [pd.NaT] * 3}),
        pd.DataFrame({"a": pd.array([None, "x", None], dtype=ARROW)}),
        pd.Series([None, "x", np.nan], dtype=object),
        pd.Series(["x", None], dtype=ARROW),
        pd.DataFrame(index=range(3)),
    ],
)
def test_present_mask_column_by_column_equals_the_whole_frame_at_once(part):
    if isinstance(part, pd.Series):
        expected = part.notna().to_numpy()
    else:
        expected = ~part.isna().to_numpy().all(axis=1)
    assert_array_equal(present_mask(part), expected)


# -- the members' keys follow the models behind skfusion encoders -------------


class _Encoder(BaseEstimator):
    identity = "v1"

    def __init__(self, path="model"):
        self.path = path

    def _model_identity(self):
        return f"{self.path}@{type(self).identity}"


def test_model_identities_follow_the_files_even_after_members_without_encoders():
    plain = make_pipeline(TfidfVectorizer(), LogisticRegression())
    assert _model_identities(plain, _pickle_digest(plain)) == [] and _model_identities(plain, _pickle_digest(plain)) == []
    with_encoder = make_pipeline(_Encoder(), LogisticRegression())
    assert _model_identities(with_encoder, _pickle_digest(with_encoder)) == ["model@v1"]
    _Encoder.identity = "v2"  # the files behind the model changed
    try:
        assert _model_identities(with_encoder, _pickle_digest(with_encoder)) == ["model@v2"]
    finally:
        _Encoder.identity = "v1"


# -- end to end: data changed in place between calls --------------------------


def _fusion(memory=None):
    return LateFusionClassifier(
        [("text", make_pipeline(TfidfVectorizer(), LogisticRegression()), "text"),
         ("tab", LogisticRegression(), ["age", "score"])],
        weights=[0.7, 0.3],
        memory=memory,
    )


def test_data_changed_in_place_is_refitted_and_repredicted(tmp_path):
    X = _frame(200)
    y = _labels(X)
    cached = _fusion(str(tmp_path)).fit(X, y)
    cached.predict_proba(X)
    # same frame objects, changed in place: text, a number, a label
    X.loc[:40, "text"] = "love it love it"
    X.loc[3, "age"] = 99
    y[7] = 1 - y[7]
    refit = _fusion(str(tmp_path)).fit(X, y)
    plain = _fusion().fit(X, y)
    assert_array_equal(refit.predict_proba(X), plain.predict_proba(X))
    # and a frame changed in place after it was predicted
    X_test = _frame(50, seed=1)
    first = refit.predict_proba(X_test)
    X_test.loc[10:20, "text"] = "itchy itchy itchy"
    X_test.loc[0, "score"] = 100.0
    second = refit.predict_proba(X_test)
    assert_array_equal(second, plain.predict_proba(X_test))
    assert not np.allclose(first, second)


def test_cached_search_candidates_match_uncached_ones(tmp_path):
    from sklearn.model_selection import GridSearchCV

    X = _frame(150)
    y = _labels(X)
    grid = {"weights": [[w, 1 - w] for w in (0.2, 0.5, 0.8)]}
    cached = GridSearchCV(_fusion(str(tmp_path)), grid, cv=3, scoring="neg_log_loss").fit(X, y)
    plain = GridSearchCV(_fusion(), grid, cv=3, scoring="neg_log_loss").fit(X, y)
    assert_allclose(cached.cv_results_["mean_test_score"], plain.cv_results_["mean_test_score"],
                    rtol=0, atol=1e-12)


# -- checks skipped where they could find nothing ------------------------------


def test_predict_checks_column_names_unless_they_are_those_seen_in_fit():
    X = _frame(100)
    fusion = _fusion().fit(X, _labels(X))
    fusion.predict_proba(X)  # same names: nothing to say
    with pytest.raises(ValueError, match="feature names should match"):
        fusion.predict_proba(X[["dept", "text", "age", "score"]])
    with pytest.raises(ValueError, match="unseen at fit time:\n- extra"):
        fusion.predict_proba(X.assign(extra=1))
    with pytest.raises(ValueError, match="seen at fit time, yet now missing:\n- dept"):
        fusion.predict_proba(X.drop(columns="dept"))


def test_fit_records_the_column_names_validate_data_records():
    from sklearn.utils.validation import validate_data

    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    y = (X["a"] > 20).astype(int)
    fusion = LateFusionClassifier([("a", LogisticRegression(), [0]), ("b", LogisticRegression(), [1])])
    for data in (X, X.to_numpy(), X.set_axis([0, 1], axis=1), X.set_axis(["a", 1], axis=1), X):
        reference = BaseEstimator()
        try:
            validate_data(reference, data, skip_check_array=True, reset=True)
        except TypeError as exc:  # mixed str and int names
            with pytest.raises(TypeError, match=str(exc)[:40]):
                fusion.fit(data, y)
            continue
        fusion.fit(data, y)
        assert fusion.n_features_in_ == reference.n_features_in_
        if hasattr(reference, "feature_names_in_"):
            assert fusion.feature_names_in_.dtype == reference.feature_names_in_.dtype
            assert_array_equal(fusion.feature_names_in_, reference.feature_names_in_)
        else:
            assert not hasattr(fusion, "feature_names_in_")


def test_predict_warns_when_fit_had_names_and_x_has_none():
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    y = (X["a"] > 20).astype(int)
    fusion = LateFusionClassifier([("a", LogisticRegression(), [0]), ("b", LogisticRegression(), [1])]).fit(X, y)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        fusion.predict_proba(X.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fusion.predict_proba(X)


@pytest.mark.parametrize("y", [np.array([0, 1] * 10), np.array([True, False] * 10),
                               np.array([3, 1, 2, 1] * 5, dtype=np.uint8)])
def test_integer_labels_fit_as_class_labels(y):
    X = np.random.default_rng(0).normal(size=(20, 2))
    fusion = LateFusionClassifier([("a", LogisticRegression(), [0]), ("b", LogisticRegression(), [1])]).fit(X, y)
    assert_array_equal(fusion.classes_, np.unique(y))
    assert fusion.predict(X).dtype == y.dtype


def test_multilabel_and_continuous_targets_are_still_told_apart():
    X = np.random.default_rng(0).normal(size=(20, 2))
    Y = np.column_stack([np.arange(20) % 2, np.arange(20) // 10])
    assert LateFusionClassifier([("a", _MultiLabel(), [0])]).fit(X, Y)._target_.multilabel
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        LateFusionClassifier([("a", LogisticRegression(), [0])]).fit(X, np.linspace(0, 1, 20))


class _MultiLabel(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        self.classes_ = np.arange(y.shape[1])
        self.mean_ = np.asarray(y).mean(axis=0)
        return self

    def predict_proba(self, X):
        return np.tile(self.mean_, (len(X), 1))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def test_set_params_of_own_parameters_matches_the_general_path():
    from sklearn.base import BaseEstimator as Base

    def fresh():
        return LateFusionClassifier([("a", LogisticRegression(), [0]), ("b", LogisticRegression(), [1])])

    for params in ({"weights": [1, 2]}, {"weights": "auto", "voting": "hard"}, {}):
        ours, general = fresh().set_params(**params), fresh()
        Base.set_params(general, **params)
        ours, general = ours.get_params(deep=False), general.get_params(deep=False)
        assert repr(ours.pop("estimators")) == repr(general.pop("estimators"))
        assert ours == general
    # members, their parameters and the member list still take the general path
    fusion = fresh().set_params(a="drop", b__C=3.0)
    assert fusion.estimators[0][1] == "drop" and fusion.estimators[1][1].C == 3.0
    fusion.set_params(estimators=[("c", LogisticRegression(), [0])], c__C=0.5)
    assert fusion.estimators[0][1].C == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        fresh().set_params(weights=[1, 1], nope=1)
