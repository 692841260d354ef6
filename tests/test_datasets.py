from pathlib import Path

import numpy as np

import skfusion
from skfusion.datasets import load_clothing_reviews


def test_reviews_ship_inside_the_package():
    data_file = Path(skfusion.__file__).parent / "datasets" / "data" / "womens_clothing_reviews.csv.gz"
    assert data_file.stat().st_size > 2_000_000


def test_load_clothing_reviews():
    bunch = load_clothing_reviews()
    assert bunch.frame.shape == (23486, 10)
    assert bunch.data.shape == (23486, 9)
    assert "Recommended IND" not in bunch.data.columns
    assert int(bunch.data["Review Text"].isna().sum()) == 845
    assert bunch.target.value_counts().to_dict() == {1: 19314, 0: 4172}
    assert bunch.target_names == ["Recommended IND"]


def test_multi_task_target_and_arrays():
    X, Y = load_clothing_reviews(return_X_y=True, target=["Rating", "Recommended IND"])
    assert list(Y.columns) == ["Rating", "Recommended IND"]
    assert set(Y["Rating"]) == {1, 2, 3, 4, 5}
    X_arr, y_arr = load_clothing_reviews(return_X_y=True, as_frame=False)
    assert isinstance(X_arr, np.ndarray) and X_arr.dtype == object
    assert y_arr.shape == (23486,)


def test_unknown_target_column():
    import pytest

    with pytest.raises(ValueError, match=r"load_clothing_reviews: target \['Stars'\] is not a column"):
        load_clothing_reviews(target="Stars")
