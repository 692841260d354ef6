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


def test_frames_seen_before_reuse_their_fingerprint_only_when_equal():
    """A grid search hands every candidate an equal frame: its fingerprint
    is reused, the same as computed afresh; any change of a value, a name, a
    dtype or the index is a new fingerprint, and frames whose equal values
    can differ in bytes (floats: 0.0 and -0.0) are hashed every time."""
    from skfusion.utils import _cache

    rng = np.random.default_rng(0)
    base = pd.DataFrame({
        "text": pd.Series(rng.choice(["so soft", "runs small", None], size=300), dtype="str"),
        "n": rng.integers(0, 9, size=300),
        "flag": rng.random(300) > 0.5,
    })
    rows = np.arange(0, 300, 2)
    first = fingerprint(base.iloc[rows])
    assert fingerprint(base.iloc[rows]) == first
    assert fingerprint(base.iloc[rows].copy()) == first
    saved = _cache._RECENT_FRAMES
    try:
        _cache._RECENT_FRAMES = _cache._RecentFrames()
        assert fingerprint(base.iloc[rows]) == first  # computed afresh, the same
    finally:
        _cache._RECENT_FRAMES = saved
    changed = base.iloc[rows].copy()
    changed.iloc[5, 1] += 1
    renamed = base.iloc[rows].rename(columns={"n": "m"})
    wider = base.iloc[rows].astype({"n": "int32"})
    moved = base.iloc[rows].set_axis(np.arange(len(rows)))
    for other in (changed, renamed, wider):
        assert fingerprint(other) != first
    # the fingerprint is of the values: a new index alone keeps it
    assert fingerprint(moved) == first
    y = pd.Series(rng.integers(0, 2, size=300))
    assert fingerprint(y.iloc[rows]) == fingerprint(y.iloc[rows])
    assert fingerprint(y.iloc[rows]) != fingerprint(1 - y.iloc[rows])
    zeros = pd.Series([0.0, 1.0])
    assert fingerprint(zeros) != fingerprint(pd.Series([-0.0, 1.0]))
    assert len(_cache._RECENT_FRAMES.entries) <= _cache._RECENT_FRAMES.size


def test_recent_frames_keep_within_their_budget():
    from skfusion.utils import _cache

    recent = _cache._RecentFrames(size=32, max_cells=1_000, budget=20_000)
    # ten shapes, ten probes of about 4 kB each: only the budget limits them
    frames = [pd.DataFrame({"n": np.arange(500 + i)}) for i in range(10)]
    for frame in frames:
        recent.bytes_for(frame)
    assert recent.weight == sum(w for alike in recent.entries.values() for _, _, w in alike)
    assert 0 < recent.weight <= 20_000
    # the most recent are kept, and found again
    assert recent.find(next(reversed(recent.entries)), frames[-1].equals) is not None
    # a frame over max_cells, or over a quarter of the budget in bytes (long
    # texts count by their length), is hashed and never kept
    kept = recent.weight
    recent.bytes_for(pd.DataFrame({"n": np.arange(2_000)}))
    recent.bytes_for(pd.Series(["a long review " * 100] * 10, dtype="str"))
    assert recent.weight == kept
    assert all(len(s) <= 1_000 for alike in recent.entries.values() for s, _, _ in alike)


def test_labels_that_compare_equal_keep_their_own_fingerprints():
    """1, 1.0 and True are equal as labels to pandas and to a tuple; the
    fingerprint tells them apart in whatever order they come."""
    columns = [1, 1.0, True]
    for order in (columns, columns[::-1]):
        frames = [pd.DataFrame({c: [1, 2, 3]}) for c in order]
        series = [pd.Series([1, 2, 3], name=c) for c in order]
        assert len({fingerprint(f) for f in frames}) == 3
        assert len({fingerprint(s) for s in series}) == 3


def test_the_folds_of_a_cross_validation_are_all_found_again():
    """Five folds' training frames share shape, names and dtypes; each is
    found again on the next candidate, not pushed out by the others."""
    from sklearn.model_selection import KFold

    from skfusion.utils import _cache

    X = pd.DataFrame({"n": np.arange(500), "t": pd.Series([f"r{i}" for i in range(500)],
                                                          dtype="str")})
    folds = [X.iloc[train] for train, _ in KFold(5).split(X)]
    for fold in folds:
        fingerprint(fold)
    calls = []
    original = _cache._frame_bytes
    try:
        _cache._frame_bytes = lambda obj: calls.append(obj) or original(obj)
        for fold in folds:
            fingerprint(fold.copy())
    finally:
        _cache._frame_bytes = original
    assert calls == []
