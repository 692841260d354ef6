"""n_jobs goes through joblib, so a Dask cluster runs the same search."""

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.tree import DecisionTreeClassifier

from skfusion import LateFusionClassifier

X, y = make_classification(n_samples=200, n_features=8, random_state=0)


def _search(n_jobs):
    fusion = LateFusionClassifier(
        [("lr", LogisticRegression(), [0, 1, 2, 3]), ("tree", DecisionTreeClassifier(max_depth=3, random_state=0), [4, 5, 6, 7])],
        n_jobs=n_jobs,
    )
    grid = {"weights": [[1, 1], [2, 1], [1, 2], "auto"], "voting": ["soft", "hard"]}
    return GridSearchCV(fusion, grid, cv=3, n_jobs=n_jobs).fit(X, y)


def test_members_fit_in_parallel_give_the_same_model():
    one = _search(1)
    two = _search(2)
    assert_array_equal(one.cv_results_["mean_test_score"], two.cv_results_["mean_test_score"])


def test_grid_search_on_a_dask_cluster_matches_n_jobs_1():
    distributed = pytest.importorskip("dask.distributed")
    serial = _search(1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster):
            with joblib.parallel_backend("dask"):
                on_dask = _search(-1)
    assert_array_equal(serial.cv_results_["mean_test_score"], on_dask.cv_results_["mean_test_score"])
    assert serial.best_params_ == on_dask.best_params_
    assert_allclose(serial.best_estimator_.predict_proba(X), on_dask.best_estimator_.predict_proba(X))
    assert np.isfinite(on_dask.best_score_)
