"""scikit-learn's estimator checks over every public skfusion estimator.

Estimators are discovered by walking the package; each needs an entry in
``INSTANCES`` (how to build a small one), so a new estimator without one
fails here instead of going unchecked. ``EXPECTED_FAILURES`` lists each check
an estimator is known to fail, with the reason; it only ever shrinks.
"""

import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.preprocessing import MinMaxScaler, PolynomialFeatures, StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfusion.utils import all_estimators

def _tiny_bert():
    """A tiny BERT saved under a fixed temporary path (test ids must be the
    same in every pytest-xdist worker), so TextEncoder has a model."""
    import os
    import tempfile
    from pathlib import Path

    transformers = pytest.importorskip("transformers")
    path = Path(tempfile.gettempdir()) / "skfusion-common-tiny-bert"
    if (path / "config.json").exists():
        return str(path)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress"]
    staging = Path(tempfile.mkdtemp(prefix="skfusion-tiny-bert-"))
    (staging / "vocab.txt").write_text("\n".join(words) + "\n")
    transformers.BertTokenizer(vocab_file=str(staging / "vocab.txt")).save_pretrained(staging)
    config = transformers.BertConfig(vocab_size=len(words), hidden_size=8, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=16)
    transformers.BertModel(config).save_pretrained(staging)
    try:
        os.rename(staging, path)  # atomic: another worker may have won the race
    except OSError:
        pass
    return str(path)


INSTANCES = {
    "EarlyFusionClassifier": lambda cls: [
        cls([("scaled", StandardScaler(), [0, 1]), ("rest", "passthrough")], LogisticRegression()),
        cls(
            [("minmax", MinMaxScaler()), ("first", "passthrough", [0])],
            DecisionTreeClassifier(random_state=0),
            block_scaling="standard",
            block_weights={"first": 2.0},
        ),
        cls(
            [("all", "passthrough"), ("poly", PolynomialFeatures(), [0, 1])],
            LogisticRegression(),
            projection=PCA(n_components=2),
        ),
    ],
    "EarlyFusionRegressor": lambda cls: [
        cls([("scaled", StandardScaler(), [0, 1]), ("rest", "passthrough")], Ridge()),
        cls([("all", MinMaxScaler())], DecisionTreeRegressor(random_state=0), block_scaling=None),
    ],
    # tiny and quick, yet accurate enough for check_classifiers_train /
    # check_regressors_train: a large step makes up for few epochs
    "KerasMLPClassifier": lambda cls: [cls((8,), epochs=5, learning_rate=0.05)],
    "KerasMLPRegressor": lambda cls: [cls((8,), epochs=5, learning_rate=0.05)],
    # the checks vary the number of columns: every branch sees them all
    "KerasFusionClassifier": lambda cls: [
        cls([("scaled", StandardScaler(), slice(0, None)), ("raw", "passthrough", slice(0, None))],
            hidden_layers=(8,), epochs=5, learning_rate=0.05),
    ],
    "KerasFusionRegressor": lambda cls: [
        cls([("scaled", StandardScaler(), slice(0, None)), ("raw", "passthrough", slice(0, None))],
            fusion="shared", hidden_layers=(8,), epochs=5, learning_rate=0.05),
    ],
    # a single task takes a 1-D y, the model then a classifier or a regressor (a
    # multiclass task is checked on binary and multiclass y; the binary-only tag of
    # a binary task is tested in tests/test_multitask.py, as are several tasks of a
    # DataFrame Y)
    "MultiTaskKerasEstimator": lambda cls: [
        cls({task: task}, shared_layers=(8,), epochs=5, learning_rate=0.05, random_state=0)
        for task in ("multiclass", "regression")
    ],
    "TextEncoder": lambda cls: [cls(_tiny_bert())],
    "ImageEncoder": lambda cls: [cls("mobilenet_v2", weights=None, image_size=(32, 32))],
    "TabularEncoder": lambda cls: [cls(), cls(scale=None, max_categories=3)],
    "LateFusionClassifier": lambda cls: [
        cls([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]),
        cls(
            [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))],
            voting="hard",
            weights=[2, 1],
        ),
        cls(
            [("lr", LogisticRegression(), [0, 1]), ("tree", DecisionTreeClassifier(random_state=0))],
            weights="auto",
            combiner="geometric",
            cv=3,
        ),
        cls(
            [("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))],
            weights="auto",
            scoring="balanced_accuracy",
            cv=3,
        ),
    ],
    "LateFusionRegressor": lambda cls: [
        cls([("lr", LinearRegression()), ("tree", DecisionTreeRegressor(random_state=0))]),
        cls(
            [("lr", LinearRegression(), [0, 1]), ("tree", DecisionTreeRegressor(random_state=0))],
            weights="auto",
            cv=3,
        ),
        cls(
            [("lr", LinearRegression()), ("tree", DecisionTreeRegressor(random_state=0))],
            weights="auto",
            scoring="neg_mean_absolute_error",
            cv=3,
        ),
    ],
    "StackingFusionClassifier": lambda cls: [
        cls([("lr", LogisticRegression()), ("tree", DecisionTreeClassifier(random_state=0))]),
        cls(
            [("lr", LogisticRegression(), [0, 1]), ("svc", LinearSVC())],
            final_estimator=LogisticRegression(),
            passthrough=True,
            cv=3,
        ),
    ],
    "StackingFusionRegressor": lambda cls: [
        cls([("lr", LinearRegression()), ("tree", DecisionTreeRegressor(random_state=0))]),
        cls(
            [("lr", LinearRegression(), [0, 1]), ("tree", DecisionTreeRegressor(random_state=0))],
            final_estimator=Ridge(),
            passthrough=[("scaled", MinMaxScaler(), [0])],
            cv=3,
        ),
    ],
}

_KERAS_WEIGHTS = (
    "Keras averages a weighted loss over the rows of a batch, not over their total "
    "weight, and repeated rows make other batches: a weight of 2 and a repeated row "
    "agree in expectation, not to the check's rtol of 1e-7"
)

EXPECTED_FAILURES = {
    "KerasMLPClassifier": {"check_sample_weight_equivalence_on_dense_data": _KERAS_WEIGHTS},
    "KerasMLPRegressor": {"check_sample_weight_equivalence_on_dense_data": _KERAS_WEIGHTS},
    "KerasFusionClassifier": {"check_sample_weight_equivalence_on_dense_data": _KERAS_WEIGHTS},
    "KerasFusionRegressor": {"check_sample_weight_equivalence_on_dense_data": _KERAS_WEIGHTS},
    "MultiTaskKerasEstimator": {"check_sample_weight_equivalence_on_dense_data": _KERAS_WEIGHTS},
}


def _instances():
    for name, cls in all_estimators():
        if name not in INSTANCES:
            raise AssertionError(
                f"{name} is a public estimator without an entry in INSTANCES; add "
                "one so scikit-learn's checks cover it."
            )
        yield from INSTANCES[name](cls)


def _expected_failed_checks(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(list(_instances()), expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked():
    names = {name for name, _ in all_estimators()}
    assert names == set(INSTANCES), "INSTANCES must match the public estimators"
    assert {"LateFusionClassifier", "LateFusionRegressor", "TabularEncoder"} <= names
