import re
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import TABULAR, TEXT
from joblib import parallel_config
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.compose import make_column_transformer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingRegressor, VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

import skfusion
from skfusion import (
    EarlyFusionClassifier,
    LateFusionClassifier,
    LateFusionRegressor,
    StackingFusionClassifier,
)
from skfusion.encoders import TabularEncoder
from skfusion.inspection import ModalityImportanceDisplay, modality_importance

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.fixture
def split(reviews):
    """400 reviews to fit on, 200 held out to measure on."""
    X, y = reviews
    return X.iloc[:400], y.iloc[:400], X.iloc[400:], y.iloc[400:]


@pytest.fixture
def late(split, members):
    X, y, _, _ = split
    return LateFusionClassifier(members, missing="renormalize").fit(X, y)


def test_text_matters_more_than_tabular(late, split):
    *_, X_test, y_test = split
    result = modality_importance(late, X_test, y_test, scoring="roc_auc", random_state=0)

    assert result.modalities == ["text", "tab"]
    assert result.columns == [[TEXT], TABULAR]
    assert result.score_name == "roc_auc"
    assert result.baseline_score == pytest.approx(
        roc_auc_score(y_test, late.predict_proba(X_test)[:, 1])
    )
    assert result.importances.shape == (2, 5)
    np.testing.assert_allclose(result.importances_mean, result.importances.mean(axis=1))
    np.testing.assert_allclose(result.importances_std, result.importances.std(axis=1))
    # reviews say whether they recommend; age and department do not (on 400
    # reviews the table only adds noise to the fused probabilities)
    text, tab = result.importances_mean
    assert text > 0.05
    assert text > tab + 0.05
    assert tab < 0.02
    assert result.masking_importances[0] > result.masking_importances[1]
    # without its text a review falls back on the table; without the table,
    # the held-out reviews that have no text would have nothing left, so the
    # table is replaced by neutral values instead
    assert result.masking == ["missing", "baseline"]
    assert result.masking_importances[0] > 0.05


def test_default_scoring_is_the_estimator_score(late, split):
    *_, X_test, y_test = split
    result = modality_importance(late, X_test, y_test, n_repeats=2, random_state=0)
    assert result.score_name == "accuracy"
    assert result.baseline_score == pytest.approx(late.score(X_test, y_test))


def test_same_random_state_same_results(late, split):
    *_, X_test, y_test = split
    first = modality_importance(late, X_test, y_test, scoring="roc_auc", n_repeats=3, random_state=7)
    again = modality_importance(
        late, X_test, y_test, scoring="roc_auc", n_repeats=3,
        random_state=np.random.RandomState(7),
    )
    with parallel_config(backend="threading"):
        parallel = modality_importance(
            late, X_test, y_test, scoring="roc_auc", n_repeats=3, random_state=7, n_jobs=2
        )
    other = modality_importance(late, X_test, y_test, scoring="roc_auc", n_repeats=3, random_state=8)

    for result in (again, parallel):
        np.testing.assert_array_equal(result.importances, first.importances)
        np.testing.assert_array_equal(result.masking_importances, first.masking_importances)
    assert not np.array_equal(other.importances, first.importances)
    # masking is deterministic: it does not draw
    np.testing.assert_array_equal(other.masking_importances, first.masking_importances)


def test_pure_noise_modality_is_near_zero(reviews, members):
    X, y = reviews
    rng = np.random.RandomState(0)
    X = X.assign(noise0=rng.normal(size=len(X)), noise1=rng.normal(size=len(X)))
    noise = ("noise", LogisticRegression(), ["noise0", "noise1"])
    fusion = LateFusionClassifier([*members, noise], missing="renormalize").fit(X[:400], y[:400])

    result = modality_importance(
        fusion, X[400:], y[400:], scoring="roc_auc", n_repeats=5, random_state=0
    )
    assert result.modalities == ["text", "tab", "noise"]
    text, _, noise_mean = result.importances_mean
    assert abs(noise_mean) < 0.01
    assert result.importances_std[2] < 0.03
    assert text > 10 * abs(noise_mean)


def test_permutation_shuffles_a_modality_jointly():
    """Rows of a modality move together; every other column stays put."""
    X = pd.DataFrame({"a": np.arange(50.0), "b": np.arange(50.0) * 10, "c": np.arange(50.0)})
    recorder = _Recorder().fit(X, None)
    modality_importance(recorder, X, None, modalities={"ab": ["a", "b"]}, n_repeats=2,
                        masking="baseline", random_state=0)

    permuted = recorder.seen_[1:3]
    for X_perm in permuted:
        assert not X_perm["a"].equals(X["a"])
        np.testing.assert_array_equal(X_perm["b"], X_perm["a"] * 10)
        assert X_perm["c"].equals(X["c"])
        assert sorted(X_perm["a"]) == list(X["a"])


def test_masking_values():
    X = pd.DataFrame({
        "count": [1, 2, 3, 4, 100],
        "text": ["a long review", "so comfy", "runs small", None, "love it"],
        "kind": pd.Series(["top", "dress", "top", "top", "pants"], dtype="category"),
        "flag": [True, False, True, True, False],
    })
    columns = ["count", "text", "kind", "flag"]
    recorder = _Recorder().fit(X, None)

    result = modality_importance(recorder, X, None, modalities={"all": columns},
                                 n_repeats=1, masking="missing")
    missing = recorder.seen_[-1]
    assert result.masking == ["missing"]
    assert missing[columns].isna().all().all()
    assert missing["count"].dtype == float

    result = modality_importance(recorder, X, None, modalities={"all": columns},
                                 n_repeats=1, masking="baseline")
    neutral = recorder.seen_[-1]
    assert result.masking == ["baseline"]
    # an observed median, empty text, the most frequent category and flag
    assert neutral["count"].tolist() == [3] * 5
    assert neutral["text"].tolist() == [""] * 5
    assert neutral["kind"].tolist() == ["top"] * 5
    assert neutral["kind"].dtype == X["kind"].dtype
    assert neutral["flag"].tolist() == [True] * 5


def test_masking_values_on_arrays():
    X = np.array([[1, 5], [2, 6], [4, 7]])
    recorder = _Recorder().fit(X, None)
    modality_importance(recorder, X, None, modalities={"first": [0]}, n_repeats=1,
                        masking="missing")
    masked = recorder.seen_[-1]
    assert np.isnan(masked[:, 0]).all()
    np.testing.assert_array_equal(masked[:, 1], X[:, 1])

    modality_importance(recorder, X, None, modalities={"first": [0]}, n_repeats=1,
                        masking="baseline")
    np.testing.assert_array_equal(recorder.seen_[-1][:, 0], [2, 2, 2])


def test_masking_falls_back_to_neutral_values(split, members):
    X, y, X_test, y_test = split
    X, X_test = X.dropna(subset=[TEXT]), X_test.dropna(subset=[TEXT])
    y, y_test = y.loc[X.index], y_test.loc[X_test.index]
    strict = LateFusionClassifier(members, missing="error").fit(X, y)

    result = modality_importance(strict, X_test, y_test, scoring="roc_auc", random_state=0)
    assert result.masking == ["baseline", "baseline"]
    assert np.isfinite(result.masking_importances).all()
    assert result.masking_importances[0] > result.masking_importances[1]

    with pytest.raises(ValueError, match=(
        r"modality_importance: LateFusionClassifier cannot score X with modality "
        r"'text' \(columns \['Review Text'\]\) left out: with missing values it "
        r"raised ValueError: .*missing='renormalize'.*masking='auto'"
    )):
        modality_importance(strict, X_test, y_test, masking="missing")


def test_early_fusion(reviews):
    X, y = reviews
    X = X.dropna(subset=[TEXT])
    y = y.loc[X.index]
    fusion = EarlyFusionClassifier(
        [
            ("text", TfidfVectorizer(min_df=2), TEXT),
            ("tab", TabularEncoder(), ["Age", "Department Name", "Class Name"]),
            ("title", "drop", "Title"),
        ],
        LogisticRegression(),
    ).fit(X[:350], y[:350])

    result = modality_importance(fusion, X[350:], y[350:], scoring="roc_auc",
                                 n_repeats=3, random_state=0)
    # the dropped block is no modality
    assert result.modalities == ["text", "tab"]
    # TfidfVectorizer refuses a missing review: the text becomes empty instead
    assert result.masking[0] == "baseline"
    assert result.importances_mean[0] > result.importances_mean[1] + 0.05
    assert result.masking_importances[0] > result.masking_importances[1]


def test_regressor(reviews):
    X, _ = reviews
    X = X.dropna(subset=[TEXT])
    y = X.pop("Rating").astype(float)
    fusion = LateFusionRegressor(
        [
            ("text", make_pipeline(TfidfVectorizer(min_df=2), Ridge()), TEXT),
            ("tab", make_pipeline(
                make_column_transformer(
                    (OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                     ["Department Name"]),
                    remainder="passthrough",
                ),
                HistGradientBoostingRegressor(max_iter=20, random_state=0),
            ), ["Age", "Department Name"]),
        ],
        missing="renormalize",
    ).fit(X[:350], y[:350])

    result = modality_importance(fusion, X[350:], y[350:], n_repeats=3, random_state=0)
    assert result.score_name == "r2"
    assert result.baseline_score == pytest.approx(fusion.score(X[350:], y[350:]))
    assert result.masking == ["missing", "missing"]
    assert result.importances_mean[0] > 0.1
    assert result.importances_mean[0] > result.importances_mean[1] + 0.1


def test_explicit_modalities_for_any_estimator(split):
    X, y, X_test, y_test = split
    pipe = make_pipeline(
        make_column_transformer(
            (TfidfVectorizer(min_df=2), TEXT),
            (OneHotEncoder(handle_unknown="ignore"), ["Department Name"]),
        ),
        LogisticRegression(max_iter=500),
    ).fit(X.fillna({TEXT: ""}), y)
    X_test = X_test.fillna({TEXT: ""})

    result = modality_importance(
        pipe, X_test, y_test, modalities={"words": TEXT, "department": ["Department Name"]},
        scoring="roc_auc", n_repeats=3, random_state=0,
    )
    assert result.modalities == ["words", "department"]
    assert result.importances_mean[0] > result.importances_mean[1] + 0.1
    # ColumnTransformer cannot take a missing review: it gets an empty one
    assert result.masking == ["baseline", "missing"]


def test_modalities_by_name_keep_some_in_order(late, split):
    *_, X_test, y_test = split
    result = modality_importance(late, X_test, y_test, modalities=["tab", "text"], n_repeats=1)
    assert result.modalities == ["tab", "text"]


def test_modalities_with_callable_and_positions(split):
    X, y, X_test, y_test = split
    numeric = X[["Age", "Positive Feedback Count"]]
    fusion = LateFusionClassifier([
        ("age", LogisticRegression(), [0]),
        ("feedback", LogisticRegression(), lambda X: [1]),
    ]).fit(numeric.to_numpy(), y)
    result = modality_importance(
        fusion, X_test[["Age", "Positive Feedback Count"]].to_numpy(), y_test,
        n_repeats=1, random_state=0,
    )
    assert result.modalities == ["age", "feedback"]
    assert result.columns == [[0], [1]]


def test_pipeline_ending_in_fusion(split, members):
    X, y, X_test, y_test = split
    pipe = make_pipeline(FunctionTransformer(), LateFusionClassifier(members, missing="renormalize"))
    pipe.fit(X, y)
    result = modality_importance(pipe, X_test, y_test, scoring="roc_auc", n_repeats=2,
                                 random_state=0)
    direct = modality_importance(pipe[-1], X_test, y_test, scoring="roc_auc", n_repeats=2,
                                 random_state=0)
    assert result.modalities == ["text", "tab"]
    np.testing.assert_allclose(result.importances, direct.importances)


# -- members that read the same column ---------------------------------------


@pytest.fixture
def text_split(split):
    """The split without the reviews that have no text: two text members
    alone can predict every row."""
    X, y, X_test, y_test = split
    X, X_test = X.dropna(subset=[TEXT]), X_test.dropna(subset=[TEXT])
    return X, y.loc[X.index], X_test, y_test.loc[X_test.index]


def _counts_member():
    return make_pipeline(CountVectorizer(binary=True, min_df=2), MultinomialNB())


def _importance(estimator, X, y, **params):
    return modality_importance(estimator, X, y, scoring="roc_auc", random_state=0, **params)


def test_zero_weight_member_on_a_shared_column_is_measured_alone(text_split, text_member):
    """Issue 22: two late-fusion members read the review; the one that
    weighs nothing cannot change a prediction, so it matters exactly 0,
    and the other matters as much as in the model without it."""
    X, y, X_test, y_test = text_split
    fusion = LateFusionClassifier(
        [("counts", _counts_member(), TEXT), ("tfidf", text_member, TEXT)], weights=[0, 1]
    ).fit(X, y)

    result = _importance(fusion, X_test, y_test)
    assert result.modalities == ["counts", "tfidf"]
    assert result.perturbed == "input"
    assert result.columns == [[TEXT], [TEXT]]
    assert (result.importances[0] == 0).all()
    assert result.masking_importances[0] == 0
    assert result.importances_mean[1] > 0.1

    alone = _importance(clone(fusion).set_params(counts="drop").fit(X, y), X_test, y_test)
    assert alone.modalities == ["tfidf"]
    np.testing.assert_allclose(result.importances[1], alone.importances[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        result.masking_importances[1], alone.masking_importances[0], rtol=0, atol=1e-12
    )
    # the review's column, perturbed for both members: only tfidf listens
    column = _importance(fusion, X_test, y_test, modalities={"review": TEXT})
    assert column.perturbed == "columns"
    np.testing.assert_allclose(column.importances[0], result.importances[1], rtol=0, atol=1e-12)

    fusion.set_params(weights=[0.3, 0.7]).fit(X, y)
    result = _importance(fusion, X_test, y_test)
    column = _importance(fusion, X_test, y_test, modalities={"review": TEXT})
    counts, tfidf = result.importances_mean
    assert counts > 0.05 and tfidf > 0.05
    # shuffled by the same permutation, repeat by repeat
    assert np.abs(result.importances[0] - result.importances[1]).max() > 0.02
    # each member keeps reading the real review while the other's is shuffled
    assert column.importances_mean[0] > max(counts, tfidf) + 0.1
    masked_counts, masked_tfidf = result.masking_importances
    assert abs(masked_counts - masked_tfidf) > 0.05
    assert column.masking_importances[0] > max(masked_counts, masked_tfidf) + 0.1


@pytest.mark.parametrize("second", ["constant", "counts"])
def test_stacked_members_on_a_shared_column(text_split, text_member, second):
    X, y, X_test, y_test = text_split
    other = DummyClassifier() if second == "constant" else _counts_member()
    stack = StackingFusionClassifier(
        [("tfidf", text_member, TEXT), (second, other, TEXT)], LogisticRegression()
    ).fit(X, y)

    result = _importance(stack, X_test, y_test)
    column = _importance(stack, X_test, y_test, modalities={"review": TEXT})
    assert result.modalities == ["tfidf", second]
    if second == "constant":
        # its output never moves: nothing it reads matters, and the column
        # matters exactly as much as tfidf's input
        assert (result.importances[1] == 0).all() and result.masking_importances[1] == 0
        np.testing.assert_allclose(column.importances[0], result.importances[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(
            column.masking_importances[0], result.masking_importances[0], rtol=0, atol=1e-12
        )
    else:
        tfidf, counts = result.importances_mean
        assert tfidf > 0.05 and counts > 0.05
        assert np.abs(result.importances[0] - result.importances[1]).max() > 0.02
        assert column.importances_mean[0] > max(tfidf, counts) + 0.1


def test_early_fusion_blocks_on_a_shared_column(text_split):
    X, y, X_test, y_test = text_split
    fusion = EarlyFusionClassifier(
        [("tfidf", TfidfVectorizer(min_df=2), TEXT),
         ("counts", CountVectorizer(binary=True, min_df=2), TEXT)],
        LogisticRegression(max_iter=500),
        block_weights={"counts": 0},
    ).fit(X, y)

    result = _importance(fusion, X_test, y_test)
    column = _importance(fusion, X_test, y_test, modalities={"review": TEXT})
    assert result.modalities == ["tfidf", "counts"]
    # a block weighted 0 enters the classifier as zeros, whatever it reads
    assert (result.importances[1] == 0).all() and result.masking_importances[1] == 0
    np.testing.assert_allclose(column.importances[0], result.importances[0], rtol=0, atol=1e-12)

    fusion.set_params(block_weights=None).fit(X, y)
    result = _importance(fusion, X_test, y_test)
    column = _importance(fusion, X_test, y_test, modalities={"review": TEXT})
    tfidf, counts = result.importances_mean
    assert tfidf > 0.05 and counts > 0.05
    assert np.abs(result.importances[0] - result.importances[1]).max() > 0.02
    assert column.importances_mean[0] > max(tfidf, counts) + 0.1


def test_members_sharing_columns_are_one_group_without_with_modality_input():
    """An estimator that tells its modalities but cannot feed one of them
    its own input: members that share a column (also through a third) are
    measured together, by their columns, and named after all of them."""
    X = pd.DataFrame(np.arange(60.0).reshape(12, 5), columns=list("abcde"))
    declared = {"first": ["a", "b"], "second": ["b", "c"], "alone": ["e"], "third": ["d", "c"]}
    recorder = _DeclaringRecorder(declared).fit(X, None)

    result = modality_importance(recorder, X, None, n_repeats=1, masking="baseline",
                                 random_state=0)
    assert result.perturbed == "columns"
    assert result.modalities == ["first + second + third", "alone"]
    assert result.columns == [["a", "b", "c", "d"], ["e"]]
    permuted = recorder.seen_[1]
    assert not permuted["a"].equals(X["a"])
    for column in "bcd":
        np.testing.assert_array_equal(permuted[column] - permuted["a"], X[column] - X["a"])
    assert permuted["e"].equals(X["e"])

    # a member's name selects its group
    result = modality_importance(recorder, X, None, modalities=["alone", "third", "first"],
                                 n_repeats=1, random_state=0)
    assert result.modalities == ["alone", "first + second + third"]


def test_display_says_what_was_perturbed(text_split, text_member):
    X, y, X_test, y_test = text_split
    fusion = LateFusionClassifier(
        [("counts", _counts_member(), TEXT), ("tfidf", text_member, TEXT)]
    ).fit(X, y)
    members = ModalityImportanceDisplay.from_estimator(fusion, X_test, y_test, n_repeats=1,
                                                       random_state=0)
    assert [label.get_text() for label in members.ax_.get_yticklabels()] == ["counts", "tfidf"]
    assert members.ax_.get_ylabel() == "Member (its own input perturbed)"

    declared = _DeclaringRecorder(fusion.get_modalities()).fit(X_test, None)
    group = ModalityImportanceDisplay.from_estimator(declared, X_test, None, n_repeats=1,
                                                     random_state=0)
    assert [label.get_text() for label in group.ax_.get_yticklabels()] == ["counts + tfidf"]
    assert group.ax_.get_ylabel() == "Column group (perturbed in X, for all that read it)"


# -- with_modality_input ------------------------------------------------------


@pytest.mark.parametrize("kind", ["late", "stacking", "early"])
def test_with_modality_input_replaces_one_members_input(split, members, kind):
    """With members on their own columns, a view that feeds one member
    other rows predicts what the estimator predicts on X with those
    columns replaced; the estimator itself is left as it was."""
    X, y, X_test, y_test = split
    X, X_test = X.fillna({TEXT: ""}), X_test.fillna({TEXT: ""})
    if kind == "late":
        fusion = LateFusionClassifier(members)
    elif kind == "stacking":
        fusion = StackingFusionClassifier(members, cv=2)
    else:
        fusion = EarlyFusionClassifier(
            [("text", TfidfVectorizer(min_df=2), TEXT), ("tab", TabularEncoder(), TABULAR)],
            LogisticRegression(max_iter=500),
        )
    fusion.fit(X, y)
    before = fusion.predict_proba(X_test)
    shuffled = X_test.sample(frac=1.0, random_state=0)
    mixed = X_test.copy()
    mixed[TEXT] = shuffled[TEXT].to_numpy()

    view = fusion.with_modality_input("text", shuffled)
    np.testing.assert_array_equal(view.predict_proba(X_test), fusion.predict_proba(mixed))
    assert not np.allclose(view.predict_proba(X_test), before)
    np.testing.assert_array_equal(fusion.predict_proba(X_test), before)
    # views chain: the table too
    both = view.with_modality_input("tab", shuffled)
    np.testing.assert_allclose(both.predict_proba(X_test), fusion.predict_proba(shuffled))


def test_with_modality_input_errors(late, split, members):
    *_, X_test, _ = split
    with pytest.raises(ValueError, match=(
        r"LateFusionClassifier: with_modality_input got name='txt', which is none of "
        r"its modalities \['text', 'tab'\]; pass one of these names."
    )):
        late.with_modality_input("txt", X_test)
    with pytest.raises(ValueError, match=(
        r"LateFusionClassifier: modality 'text' selects column\(s\) \['Review Text'\] "
        r"that X does not have .*; pass data with the columns the estimator was fitted on."
    )):
        late.with_modality_input("text", X_test.drop(columns=TEXT))
    view = late.with_modality_input("text", X_test.iloc[:10])
    with pytest.raises(ValueError, match=(
        r"LateFusionClassifier: the input given to modality 'text' through "
        r"with_modality_input has 10 rows but X has 200; give it one row per row of X."
    )):
        view.predict_proba(X_test)
    with pytest.raises(NotFittedError):
        LateFusionClassifier(members).with_modality_input("text", X_test)


def test_with_modality_input_checks_the_width_of_an_array():
    X = np.arange(12.0).reshape(6, 2)
    late = LateFusionRegressor([("a", LinearRegression(), [0]),
                                ("b", LinearRegression(), [1])]).fit(X, X.sum(axis=1))
    with pytest.raises(ValueError, match=r"LateFusionRegressor: with_modality_input got X with "
                                         r"1 columns, but LateFusionRegressor was fitted on 2"):
        late.with_modality_input("a", X[:, :1])


def test_top_level_names():
    assert skfusion.modality_importance is modality_importance
    assert skfusion.ModalityImportanceDisplay is ModalityImportanceDisplay
    assert skfusion.inspection.modality_importance is modality_importance


# -- errors -------------------------------------------------------------------


def test_unfitted_estimator(reviews, members):
    X, y = reviews
    with pytest.raises(ValueError, match=(
        "modality_importance: this LateFusionClassifier instance is not fitted yet; "
        "fit it before"
    )):
        modality_importance(LateFusionClassifier(members), X, y)


@pytest.mark.parametrize("n_repeats", [0, -1, 1.5, True])
def test_n_repeats_below_one(late, split, n_repeats):
    *_, X_test, y_test = split
    with pytest.raises(ValueError, match=(
        rf"modality_importance: n_repeats must be an integer >= 1, got {n_repeats!r}"
    )):
        modality_importance(late, X_test, y_test, n_repeats=n_repeats)


def test_unknown_modality_name(late, split):
    *_, X_test, y_test = split
    with pytest.raises(ValueError, match=(
        r"modality_importance: unknown modality name\(s\) \['txt'\] in modalities; "
        r"LateFusionClassifier has modalities \['text', 'tab'\]"
    )):
        modality_importance(late, X_test, y_test, modalities=["txt", "tab"])


def test_modalities_of_wrong_type(late, split):
    *_, X_test, y_test = split
    for modalities in ("text", [], 3):
        with pytest.raises(TypeError, match=(
            "modality_importance: modalities must be None, a non-empty list of modality "
            rf"names or a dict \{{name: columns\}}, got {re.escape(repr(modalities))}"
        )):
            modality_importance(late, X_test, y_test, modalities=modalities)
    with pytest.raises(ValueError, match="modalities must map modality names"):
        modality_importance(late, X_test, y_test, modalities={})


def test_column_not_in_X(late, split):
    *_, X_test, y_test = split
    with pytest.raises(ValueError, match=(
        r"modality_importance: modality 'tab' selects column\(s\) \['Height'\] that X "
        r"does not have \(X has columns \['Clothing ID'.*\]\); fix modalities"
    )):
        modality_importance(late, X_test, y_test, modalities={"tab": ["Age", "Height"]})
    with pytest.raises(ValueError, match=(
        r"modality_importance: member 'text' of LateFusionClassifier selects "
        r"column\(s\) \['Review Text'\] that X does not have .*; pass the columns the "
        "estimator was fitted on"
    )):
        # the estimator's own modalities: it says which member lacks its column
        modality_importance(late, X_test.drop(columns=TEXT), y_test)


def test_positions_out_of_range():
    X = np.zeros((4, 2))
    recorder = _Recorder().fit(X, None)
    with pytest.raises(ValueError, match=(
        r"modality_importance: modality 'far' selects columns \[5\] that cannot be "
        r"taken from X \(ndarray with 2 feature\(s\)\); fix modalities. Selecting them "
        "raised"
    )):
        modality_importance(recorder, X, None, modalities={"far": [5]})


def test_no_discoverable_modalities(split):
    X, y, X_test, y_test = split
    numeric = ["Age", "Positive Feedback Count"]
    lr = LogisticRegression().fit(X[numeric], y)
    with pytest.raises(ValueError, match=(
        "modality_importance: cannot find the modalities of LogisticRegression: it has "
        r"no get_modalities\(\) method.*Pass modalities=\{name: columns\}"
    )):
        modality_importance(lr, X_test[numeric], y_test)


def test_members_that_see_every_column(split):
    X, y, X_test, y_test = split
    numeric = ["Age", "Positive Feedback Count"]
    voting = LateFusionClassifier([("lr", LogisticRegression()), ("lr2", LogisticRegression(C=0.1))])
    voting.fit(X[numeric], y)
    with pytest.raises(ValueError, match=(
        "modality_importance: member 'lr' of LateFusionClassifier sees every column of X"
    )):
        modality_importance(voting, X_test[numeric], y_test)
    sklearn_voting = VotingClassifier([("lr", LogisticRegression())]).fit(X[numeric], y)
    with pytest.raises(ValueError, match=(
        r"cannot find the modalities of VotingClassifier: it has no get_modalities\(\)"
    )):
        modality_importance(sklearn_voting, X_test[numeric], y_test)


def test_pipeline_with_positional_members(split):
    X, y, X_test, y_test = split
    numeric = X[["Age", "Positive Feedback Count"]]
    pipe = make_pipeline(
        FunctionTransformer(),
        LateFusionClassifier([("age", LogisticRegression(), [0]),
                              ("feedback", LogisticRegression(), [1])]),
    ).fit(numeric.to_numpy(), y)
    with pytest.raises(ValueError, match=(
        r"modality_importance: member 'age' of the last step of "
        r"Pipeline\(\.\.\. LateFusionClassifier\) selects columns \[0\] of the "
        "transformed data"
    )):
        modality_importance(pipe, numeric.to_numpy(), y)


def test_bad_masking_scoring_and_sparse_X(late, split):
    from scipy import sparse

    *_, X_test, y_test = split
    with pytest.raises(ValueError, match="masking must be one of"):
        modality_importance(late, X_test, y_test, masking="zeros")
    with pytest.raises(ValueError, match="scoring must be one metric"):
        modality_importance(late, X_test, y_test, scoring=["roc_auc", "accuracy"])
    recorder = _Recorder().fit(np.zeros((3, 2)), None)
    with pytest.raises(TypeError, match="X is a sparse matrix"):
        modality_importance(recorder, sparse.csr_matrix(np.eye(3)), None, modalities={"a": [0]})


def test_member_error_names_the_modality():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0, 3.0]})
    fragile = _Recorder(fail_on=lambda X_seen: not X_seen["b"].equals(X["b"])).fit(X, None)
    with pytest.raises(ValueError, match=(
        "modality_importance: _Recorder failed to score X with modality 'B' permuted: "
        "RuntimeError: refused"
    )):
        modality_importance(fragile, X, None, modalities={"A": ["a"], "B": ["b"]},
                            random_state=0)

    constant_refused = _Recorder(fail_on=lambda X_seen: X_seen["b"].nunique() <= 1)
    constant_refused.fit(X, None)
    with pytest.raises(ValueError, match=(
        r"modality_importance: _Recorder cannot score X with modality 'B' \(columns "
        r"\['b'\]\) left out: with missing values it raised RuntimeError: refused; "
        "with neutral values it raised RuntimeError: refused. Leave this modality out"
    )):
        modality_importance(constant_refused, X, None, modalities={"A": ["a"], "B": ["b"]},
                            random_state=0)


# -- display ------------------------------------------------------------------


def test_display_from_estimator(late, split):
    *_, X_test, y_test = split
    disp = ModalityImportanceDisplay.from_estimator(
        late, X_test, y_test, scoring="roc_auc", n_repeats=3, random_state=0
    )
    result = modality_importance(late, X_test, y_test, scoring="roc_auc", n_repeats=3,
                                 random_state=0)

    assert len(disp.bars_) == 2
    assert len(disp.masking_bars_) == 2
    assert [label.get_text() for label in disp.ax_.get_yticklabels()] == ["text", "tab"]
    np.testing.assert_allclose([bar.get_width() for bar in disp.bars_], result.importances_mean)
    np.testing.assert_allclose(
        [bar.get_width() for bar in disp.masking_bars_], result.masking_importances
    )
    # the table was masked with neutral values: its bar is hatched
    assert [bar.get_hatch() for bar in disp.masking_bars_] == [None, "//"]
    # error bars span mean ± std
    segments = disp.bars_.errorbar.lines[2][0].get_segments()
    np.testing.assert_allclose(
        [seg[1, 0] - seg[0, 0] for seg in segments], 2 * result.importances_std
    )
    assert disp.ax_.get_xlabel() == "Decrease in roc_auc"
    assert disp.ax_.get_title() == "Modality importance: LateFusionClassifier"
    legend = [text.get_text() for text in disp.ax_.get_legend().get_texts()]
    assert legend == ["permuted (mean ± std over 3)", "left out (masked); hatched: neutral values"]
    assert disp.figure_ is disp.ax_.figure


def test_display_plot_on_given_axes_without_masking(late, split):
    import matplotlib.pyplot as plt

    *_, X_test, y_test = split
    result = modality_importance(late, X_test, y_test, n_repeats=2, random_state=0)
    _, ax = plt.subplots()
    disp = ModalityImportanceDisplay(result).plot(ax=ax, show_masking=False,
                                                  bar_kw={"color": "tab:green"})
    assert disp.ax_ is ax
    assert disp.masking_bars_ is None
    assert len(ax.patches) == 2
    assert matplotlib.colors.to_hex(disp.bars_[0].get_facecolor()) == matplotlib.colors.to_hex(
        "tab:green"
    )
    assert ax.get_title() == ""
    assert ax.get_xlabel() == "Decrease in accuracy"


def test_display_without_matplotlib(late, split, monkeypatch):
    *_, X_test, y_test = split
    result = modality_importance(late, X_test, y_test, n_repeats=1, random_state=0)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "skfusion\[plot\]"'):
        ModalityImportanceDisplay(result).plot()
    with pytest.raises(ImportError, match=r"ModalityImportanceDisplay.from_estimator needs"):
        ModalityImportanceDisplay.from_estimator(late, X_test, y_test)


class _DeclaringRecorder(ClassifierMixin, BaseEstimator):
    """Scores 1.0, keeps every X it is scored on and tells its modalities,
    but has no with_modality_input."""

    def __init__(self, declared=None):
        self.declared = declared

    def fit(self, X, y):
        self.seen_ = []
        return self

    def get_modalities(self):
        return self.declared

    def score(self, X, y):
        self.seen_.append(X.copy())
        return 1.0


class _Recorder(ClassifierMixin, BaseEstimator):
    """Scores 1.0 and keeps every X it is scored on; refuses the X for which
    ``fail_on(X)`` is true."""

    def __init__(self, fail_on=None):
        self.fail_on = fail_on

    def fit(self, X, y):
        self.seen_ = []
        return self

    def score(self, X, y):
        self.seen_.append(X.copy())
        if self.fail_on is not None and self.fail_on(X):
            raise RuntimeError("refused")
        return 1.0
