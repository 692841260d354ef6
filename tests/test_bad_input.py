"""Bad input an ordinary user gives (issue 18, section 4): each case is
refused with an error that names the estimator and the row, column,
member, parameter or partition at fault, before any member is fitted
where that is possible."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from skfusion import (
    EarlyFusionClassifier,
    EarlyFusionRegressor,
    LateFusionClassifier,
    LateFusionRegressor,
    StackingFusionClassifier,
    StackingFusionRegressor,
)
from skfusion.fusion import register_combiner

N = 12


def _frame():
    """Twelve rows: a short text column and two numeric ones."""
    rng = np.random.default_rng(0)
    words = ["good fit", "bad fabric"]
    return pd.DataFrame({
        "text": [f"{words[i % 2]} {i}" for i in range(N)],
        "a": rng.normal(size=N),
        "b": rng.normal(size=N),
    })


LABELS = np.array(["no", "yes"] * (N // 2), dtype=object)


def _text():
    return make_pipeline(TfidfVectorizer(), LogisticRegression())


def _late(**params):
    return LateFusionClassifier(
        [("text", _text(), "text"), ("tab", LogisticRegression(), ["a", "b"])], **params
    )


def _counting(base):
    """``base`` whose fits are recorded, to show none happened."""
    fits = []

    class Counting(base):
        def fit(self, X, y, **params):
            fits.append(len(X))
            return super().fit(X, y, **params)

    return Counting, fits


# 1. y of the wrong length ---------------------------------------------------

@pytest.mark.parametrize("make, base, missing", [
    (lambda m: LateFusionClassifier([("tab", m, ["a", "b"])]), LogisticRegression, "error"),
    (lambda m: LateFusionClassifier([("tab", m, ["a", "b"])], missing="renormalize"),
     LogisticRegression, "renormalize"),
    (lambda m: LateFusionRegressor([("tab", m, ["a", "b"])], missing="renormalize"),
     LinearRegression, "renormalize"),
    (lambda m: StackingFusionClassifier(
        [("tab", m, ["a", "b"])], HistGradientBoostingClassifier(max_iter=2),
        missing="indicator", cv=2), LogisticRegression, "indicator"),
    (lambda m: StackingFusionRegressor([("tab", m, ["a", "b"])], cv=2), LinearRegression,
     "error"),
    (lambda m: EarlyFusionClassifier([("tab", "passthrough", ["a", "b"])], m),
     LogisticRegression, None),
    (lambda m: EarlyFusionRegressor([("tab", "passthrough", ["a", "b"])], m),
     LinearRegression, None),
], ids=["late", "late-renormalize", "late-regressor", "stacking-indicator",
        "stacking-regressor", "early", "early-regressor"])
@pytest.mark.parametrize("n_y", [N + 1, N - 2], ids=["longer", "shorter"])
def test_y_of_the_wrong_length_is_refused_before_any_fit(make, base, missing, n_y):
    X = _frame()
    if missing in ("renormalize", "indicator"):
        X.loc[[1, 2], ["a", "b"]] = np.nan  # rows without the modality
    y = np.resize(LABELS if base is LogisticRegression else np.arange(N, dtype=float), n_y)
    if base is LogisticRegression and n_y > N:
        y[-1] = "maybe"  # a label no row of X has
    member, fits = _counting(base)
    estimator = make(member())
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=rf"^{name}: X has {N} rows but y has {n_y}; y must "
                       r"give one target per row of X, in the same order\.$"):
        estimator.fit(X, y)
    assert fits == []
    assert not hasattr(estimator, "classes_")


# 2. a modality missing from every row at fit ----------------------------------


@pytest.mark.parametrize("estimator", [
    _late(missing="renormalize"),
    StackingFusionClassifier(
        [("text", _text(), "text"), ("tab", LogisticRegression(), ["a", "b"])],
        HistGradientBoostingClassifier(max_iter=2), missing="indicator", cv=2),
], ids=["renormalize", "indicator"])
def test_a_modality_missing_from_every_row_is_named(estimator):
    X = _frame()
    X["text"] = None
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=rf"^{name}: no row of X has a value in any column of "
                       r"modality 'text' \(columns 'text'\), so member 'text' has nothing to "
                       r"be fitted on; drop the member \(set it to 'drop'\) or give X rows "
                       r"that have the modality\.$"):
        estimator.fit(X, LABELS)


def test_a_modality_missing_from_every_training_row_of_a_fold_is_named():
    X = _frame()
    X.loc[2:, "text"] = None  # rows 0 and 1 only: the first of two folds holds both
    fusion = _late(missing="renormalize", weights="auto", cv=2)
    with pytest.raises(ValueError, match=r"^LateFusionClassifier: no row of the training part "
                       r"of cross-validation fold 1 has a value in any column of modality "
                       r"'text' \(columns 'text'\), so member 'text' has nothing to be fitted "
                       r"on; use fewer folds \(cv\) or give more rows the modality\.$"):
        fusion.fit(X, LABELS)


# 3. a member that fails to fit on what its columns hold ------------------------


def test_a_member_fit_failure_names_the_member_and_keeps_its_type():
    X = _frame().astype({"text": object})
    X.loc[3, "text"] = 5  # an int in a text column: TfidfVectorizer calls .lower()
    with pytest.raises(AttributeError, match=r"^LateFusionClassifier: member 'text' \(columns "
                       r"'text'\) failed to fit: 'int' object has no attribute 'lower'$") as info:
        _late().fit(X, LABELS)
    assert isinstance(info.value.__cause__, AttributeError)


def test_a_failure_that_is_more_than_its_message_is_kept_with_a_note():
    class MissingKey(LogisticRegression):
        def fit(self, X, y):
            raise KeyError("a")

    fusion = LateFusionClassifier([("tab", MissingKey(), ["a", "b"])])
    with pytest.raises(KeyError, match=r"LateFusionClassifier: member 'tab' \(columns "
                       r"\['a', 'b'\]\) failed to fit") as info:
        fusion.fit(_frame(), LABELS)
    assert info.value.args == ("a",)


def test_a_block_fit_failure_names_the_block_and_keeps_its_type():
    X = _frame().astype({"text": object})
    X.loc[3, "text"] = 5.5
    early = EarlyFusionClassifier([("text", TfidfVectorizer(), "text")], LogisticRegression())
    with pytest.raises(AttributeError, match=r"^EarlyFusionClassifier: block 'text' \(columns "
                       r"'text'\) failed to fit: 'float' object has no attribute 'lower'$"):
        early.fit(X, LABELS)


# 4. missing labels --------------------------------------------------------------


@pytest.mark.parametrize("estimator", [
    _late(),
    StackingFusionClassifier([("tab", LogisticRegression(), ["a", "b"])], cv=2),
    EarlyFusionClassifier([("tab", "passthrough", ["a", "b"])], LogisticRegression()),
], ids=["late", "stacking", "early"])
@pytest.mark.parametrize("container", [np.asarray, list, pd.Series])
def test_missing_labels_name_their_rows(estimator, container):
    y = LABELS.copy()
    y[[4, 9]] = [np.nan, None]
    y = container(y)
    name = type(estimator).__name__
    with pytest.raises(ValueError, match=rf"^{name}: y has no value in 2 row\(s\) \(rows \[4, "
                       r"9\]\); drop those rows of X and y, or fill in their targets\.$"):
        estimator.fit(_frame(), y)


# 5. missing="indicator" with a final estimator that cannot take NaN --------------


@pytest.mark.parametrize("cls, suggestion", [
    (StackingFusionClassifier, "HistGradientBoostingClassifier"),
    (StackingFusionRegressor, "HistGradientBoostingRegressor"),
])
def test_indicator_needs_a_final_estimator_that_takes_nan(cls, suggestion):
    base = LogisticRegression if cls is StackingFusionClassifier else LinearRegression
    member, fits = _counting(base)
    stack = cls([("tab", member(), ["a", "b"])], missing="indicator", cv=2)
    default = "LogisticRegression" if cls is StackingFusionClassifier else "RidgeCV"
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: missing='indicator' gives the "
                       r"final estimator NaN member outputs for rows without a modality, "
                       rf"but {default} does not take NaN \(its allow_nan tag is False\); use "
                       rf"one that does, such as {suggestion}\(\), or a Pipeline that imputes "
                       r"first\.$"):
        stack.fit(_frame(), LABELS if base is LogisticRegression else np.arange(N, dtype=float))
    assert fits == []


@pytest.mark.parametrize("final", [
    make_pipeline(SimpleImputer(), LogisticRegression()),
    OneVsRestClassifier(HistGradientBoostingClassifier(max_iter=5)),
    VotingClassifier([("a", HistGradientBoostingClassifier(max_iter=5)),
                      ("b", HistGradientBoostingClassifier(max_iter=5, max_depth=2))],
                     voting="soft"),
    make_pipeline(make_column_transformer((SimpleImputer(), [0, 1, 2])), LogisticRegression()),
], ids=["imputing-pipeline", "wrapped", "ensemble", "imputing-column-transformer"])
def test_indicator_takes_a_final_estimator_that_takes_nan_through_a_wrapper(final):
    X = _frame()
    X.loc[[1, 2], ["a", "b"]] = np.nan
    stack = StackingFusionClassifier(
        [("text", _text(), "text"), ("tab", LogisticRegression(), ["a", "b"])],
        final, missing="indicator", cv=2,
    ).fit(X, LABELS)
    assert stack.transform(X).shape == (N, 3) and np.isnan(stack.transform(X)[1, 1])
    assert set(stack.predict(X)) <= {"no", "yes"}


# 6. scoring and cv: validated alike, used or not ---------------------------------


@pytest.mark.parametrize("weights", [None, "auto"])
@pytest.mark.parametrize("param, value", [("scoring", "f1_macr"), ("cv", "bad")])
def test_scoring_and_cv_are_validated_whether_used_or_not(weights, param, value):
    member, fits = _counting(LogisticRegression)
    fusion = LateFusionClassifier([("tab", member(), ["a", "b"])], weights=weights,
                                  **{param: value})
    with pytest.raises(InvalidParameterError, match=rf"The '{param}' parameter of "
                       rf"LateFusionClassifier must be .* Got '{value}' instead\."):
        fusion.fit(_frame(), LABELS)
    assert fits == []


# 7. a combiner that returns what soft voting cannot use --------------------------


def _negative(probas, weights):
    return 0.3 - np.einsum("mn,mnk->nk", weights, probas)


def _wrong_shape(probas, weights):
    return np.einsum("mn,mnk->nk", weights, probas)[:, :1]


def _zeros(probas, weights):
    return np.zeros(probas.shape[1:])


register_combiner("test_bad_input_negative", _negative, overwrite=True)


_EXPECTED = (r"a combiner must return finite, non-negative scores of shape \(n_samples, "
             r"n_classes\) = \(12, 2\), not all zero in any row\.$")


@pytest.mark.parametrize("combiner, match", [
    ("test_bad_input_negative", r"^LateFusionClassifier: combiner 'test_bad_input_negative' "
     r"returned negative or non-finite scores in \d+ of 12 rows \(row \d+: min -0\.\d+\); "
     + _EXPECTED),
    (_wrong_shape, r"^LateFusionClassifier: combiner '_wrong_shape' returned scores of shape "
     r"\(12, 1\); " + _EXPECTED),
    (_zeros, r"^LateFusionClassifier: combiner '_zeros' returned all-zero scores in 12 of 12 "
     r"rows \(first: row 0\); " + _EXPECTED),
])
def test_a_combiner_output_is_checked(combiner, match):
    fusion = _late(combiner=combiner).fit(_frame(), LABELS)
    with pytest.raises(ValueError, match=match):
        fusion.predict_proba(_frame())


# 8. n_jobs=0 --------------------------------------------------------------------


@pytest.mark.parametrize("estimator", [
    _late(n_jobs=0),
    StackingFusionClassifier([("tab", LogisticRegression(), ["a", "b"])], n_jobs=0),
    EarlyFusionClassifier([("tab", "passthrough", ["a", "b"])], LogisticRegression(),
                          n_jobs=0),
], ids=["late", "stacking", "early"])
def test_n_jobs_zero_is_refused(estimator):
    with pytest.raises(InvalidParameterError, match=rf"The 'n_jobs' parameter of "
                       rf"{type(estimator).__name__} must be None, an int in the range "
                       r"\(-inf, -1\] or an int in the range \[1, inf\)\. Got 0 instead\."):
        estimator.fit(_frame(), LABELS)


# 9. a Dask partition without a fitted column ---------------------------------------


def test_a_partition_without_a_fitted_column_is_named():
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    from skfusion.distributed import predict

    X = _frame()
    fusion = LateFusionClassifier([("tab", LogisticRegression(), ["a", "b"])]).fit(X, LABELS)
    # the collection says it has every column; its second partition does not
    parts = [X.iloc[:6], X.iloc[6:].drop(columns=["b"])]
    data = dd.from_delayed([dask.delayed(p) for p in parts], meta=X.iloc[:0],
                           verify_meta=False)
    out = predict(fusion, data)
    with pytest.raises(ValueError, match=r"^skfusion.distributed.predict: partition 1 lacks "
                       r"the column\(s\) \['b'\] that LateFusionClassifier was fitted on \(it "
                       r"has \['text', 'a'\]\); give every partition the columns of the "
                       r"collection\.$"):
        out.compute(scheduler="sync")
