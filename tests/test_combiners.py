import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from skfusion import LateFusionClassifier
from skfusion.fusion import available_combiners, get_combiner, register_combiner

PLUGIN = '''
import numpy as np


def weighted_median(probas, weights):
    """Median of the member probabilities (weights only mark who is present)."""
    masked = np.where(weights[:, :, None] > 0, probas, np.nan)
    return np.nanmedian(masked, axis=0)
'''


def test_plugin_combiner_is_found_through_its_entry_point(install_plugin):
    install_plugin("skfusion.combiners", "median", "fusion_median_plugin", "weighted_median", PLUGIN)
    assert "median" in available_combiners()
    X, y = make_classification(n_samples=90, random_state=0)
    members = [
        ("a", LogisticRegression(), [0, 1]),
        ("b", LogisticRegression(C=0.01), [2, 3]),
        ("c", DecisionTreeClassifier(max_depth=2, random_state=0), [4, 5]),
    ]
    fusion = LateFusionClassifier(members, combiner="median").fit(X, y)
    probas = np.stack([est.predict_proba(X[:, cols]) for est, (_, _, cols) in zip(fusion.estimators_, members)])
    expected = np.median(probas, axis=0)
    assert_allclose(fusion.predict_proba(X), expected / expected.sum(axis=1, keepdims=True))


def test_register_combiner_and_refuse_silent_overwrite():
    def first(probas, weights):
        return probas[0]

    register_combiner("first-member", first)
    assert get_combiner("first-member") is first
    with pytest.raises(ValueError, match="a combiner named 'first-member' is already registered"):
        register_combiner("first-member", lambda p, w: p[1])
    with pytest.raises(TypeError, match="combiner 'x' must be callable, got int"):
        register_combiner("x", 3)


def test_builtin_combiners_keep_rows_on_the_simplex():
    rng = np.random.RandomState(0)
    probas = rng.dirichlet(np.ones(4), size=(3, 10))
    weights = rng.dirichlet(np.ones(3), size=10).T
    for name in ("mean", "geometric"):
        fused = get_combiner(name)(probas, weights)
        assert fused.shape == (10, 4)
        assert (fused >= 0).all()
    assert_allclose(get_combiner("mean")(probas, weights).sum(axis=1), 1)


def test_a_broken_plugin_does_not_hide_the_others(install_plugin):
    install_plugin("skfusion.combiners", "broken", "fusion_broken_plugin", "missing_attr", "x = 1\n")
    with pytest.warns(RuntimeWarning, match="skipping combiner plugin 'broken'"):
        names = available_combiners()
    assert "geometric" in names and "broken" not in names
