"""Fingerprints key the member store and the embedding cache: different data
must never share one."""

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from skfusion.utils._cache import fingerprint


@pytest.mark.parametrize(
    "a, b",
    [
        (pd.Series(["x", np.nan]), pd.Series(["x", "nan"])),
        (pd.Series(["x", None], dtype="str"), pd.Series(["x", "nan"], dtype="str")),
        (pd.Series([1, 2, 3], dtype=object), pd.Series(["1", "2", "3"], dtype=object)),
        (pd.Series([True, False], dtype=object), pd.Series(["True", "False"], dtype=object)),
        (pd.Series(pd.Categorical(["a", "b"], categories=["a", "b"])),
         pd.Series(pd.Categorical(["a", "b"], categories=["b", "a"]))),
        (pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"b": [1, 2]})),
        (pd.DataFrame({"a": [1, 2]}), pd.DataFrame({"a": [1.0, 2.0]})),
        (np.array([1, 2]), np.array([1.0, 2.0])),
        (np.array([[1, 2]]), np.array([[1], [2]])),
        (sparse.csr_matrix(np.eye(2)), sparse.csr_matrix(np.eye(2) * 2)),
        ("1", 1),
    ],
)
def test_different_data_gets_different_fingerprints(a, b):
    assert fingerprint(a) != fingerprint(b)


def test_equal_data_gets_equal_fingerprints():
    frame = pd.DataFrame({"t": ["so soft", None], "n": [1, 2]})
    assert fingerprint(frame) == fingerprint(frame.copy())
    assert fingerprint(frame.iloc[[1, 0]].iloc[[1, 0]]) == fingerprint(frame)
    assert fingerprint(np.arange(3)) == fingerprint(np.arange(3).copy())


def test_string_columns_seen_before_reuse_their_hash_only_when_equal():
    from skfusion.utils import _cache

    base = pd.DataFrame({"t": ["so soft", "runs small", None, "love it"] * 50})
    first = fingerprint(base.iloc[:100])
    # the same strings in a new frame (as cross-validation makes them) reuse the hash
    assert fingerprint(base.take(np.arange(100))) == first
    changed = base.iloc[:100].copy()
    changed.iloc[50, 0] = "runs big"
    assert fingerprint(changed) != first
    missing_moved = base.iloc[:100].copy()
    missing_moved.iloc[2, 0], missing_moved.iloc[3, 0] = "love it", None
    assert fingerprint(missing_moved) != first
    with_nan_string = base.iloc[:100].fillna("None")
    assert fingerprint(with_nan_string) != first
    assert len(_cache._RECENT_STRINGS.entries) <= _cache._RECENT_STRINGS.size


def test_labels_that_compare_equal_keep_their_own_fingerprints():
    """1, 1.0 and True are equal as labels to pandas and to a tuple; the
    fingerprint tells them apart in whatever order they come (a memo keyed
    on the labels as a tuple once mixed them up)."""
    columns = [1, 1.0, True]
    for order in (columns, columns[::-1]):
        frames = [pd.DataFrame({c: [1, 2, 3]}) for c in order]
        series = [pd.Series([1, 2, 3], name=c) for c in order]
        assert len({fingerprint(f) for f in frames}) == 3
        assert len({fingerprint(s) for s in series}) == 3
