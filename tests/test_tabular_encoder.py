import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skfusion.datasets import load_clothing_reviews
from skfusion.encoders import TabularEncoder, available_encoders, make_encoder


def test_columns_are_treated_by_dtype():
    X = pd.DataFrame({"age": [20.0, np.nan, 40.0, 60.0], "dept": ["Tops", None, "Tops", "Dresses"], "sale": [True, False, True, True]})
    encoder = TabularEncoder().fit(X)
    assert encoder.numeric_columns_ == ["age", "sale"]
    assert encoder.categorical_columns_ == ["dept"]
    out = encoder.transform(X)
    names = encoder.get_feature_names_out().tolist()
    assert names == ["tabular_age", "tabular_sale", "tabular_missingindicator_age", "tabular_dept_Dresses", "tabular_dept_Tops", "tabular_dept_missing"]
    # median imputation, then standard scaling
    assert_allclose(out[:, 0], (np.array([20, 40, 40, 60]) - 40) / np.std([20, 40, 40, 60]))
    # the missing-value indicator is standardised with the other numeric columns
    assert_allclose(out[:, 2], (np.array([0, 1, 0, 0]) - 0.25) / np.std([0, 1, 0, 0]))
    assert_array_equal(out[:, 3:], [[0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])


def test_unseen_and_rare_categories():
    X = pd.DataFrame({"c": list("aaaaabbbbc")})
    encoder = TabularEncoder(min_frequency=2).fit(X)
    assert encoder.get_feature_names_out().tolist() == ["tabular_c_a", "tabular_c_b", "tabular_c_infrequent_sklearn"]
    assert_array_equal(encoder.transform(pd.DataFrame({"c": ["z", "c"]})), [[0, 0, 1], [0, 0, 1]])


def test_on_the_bundled_reviews_in_a_pipeline():
    X, y = load_clothing_reviews(return_X_y=True)
    cols = ["Age", "Positive Feedback Count", "Division Name", "Department Name", "Class Name"]
    X, y = X[cols].iloc[:2000], y.iloc[:2000]
    pipe = make_pipeline(TabularEncoder(), LogisticRegression(max_iter=500)).fit(X, y)
    assert pipe.score(X, y) > 0.8
    out = TabularEncoder().set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame) and out.columns[0] == "tabular_Age"
    assert not out.isna().any().any()


def test_numpy_input_and_wrong_width():
    X = np.array([[1.0, 2.0], [3.0, np.nan]])
    encoder = TabularEncoder(scale=None).fit(X)
    assert_allclose(encoder.transform(X)[:, :2], [[1, 2], [3, 2]])
    with pytest.raises(ValueError, match="X has 3 features, but TabularEncoder is expecting 2 features"):
        encoder.transform(np.ones((1, 3)))


def test_registry_has_the_builtin_encoders():
    assert {"text", "image", "tabular"} <= set(available_encoders())
    assert make_encoder("tabular", max_categories=5).max_categories == 5
    with pytest.raises(ValueError, match=r"unknown encoder 'nope'; available: \[.*'tabular'.*\]"):
        make_encoder("nope")


def test_awkward_but_common_columns():
    X = pd.DataFrame({
        "flag": pd.Series([True, None, False, True], dtype=object),
        "size": pd.Categorical([1, 2, None, 1]),
        "mixed": pd.Series([1, "M", None, 1], dtype=object),
        "n": [1.0, 2.0, 3.0, 4.0],
    })
    encoder = TabularEncoder().fit(X)
    out = encoder.transform(X)
    assert out.shape == (4, 1 + 3 + 3 + 3)
    assert not np.isnan(out).any()
    names = encoder.get_feature_names_out().tolist()
    assert "tabular_flag_True" in names and "tabular_size_1.0" in names and "tabular_mixed_M" in names


def test_integer_column_labels_are_names_not_positions():
    X = pd.DataFrame({1: ["a", "b", "a"], 0: [1.0, 2.0, 3.0]})
    encoder = TabularEncoder(scale=None).fit(X)
    assert encoder.numeric_columns_ == [0] and encoder.categorical_columns_ == [1]
    assert_allclose(encoder.transform(X), [[1, 1, 0], [2, 0, 1], [3, 1, 0]])
