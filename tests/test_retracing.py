"""Predictions never retrace: each Keras estimator's model is traced once
however many rows each call brings, and no "triggered tf.function
retracing" warning reaches the user, not even after many models (the
folds of a cross-validation, a model per label). CI runs these on
TensorFlow and again on torch (``-m keras``), which runs models eagerly:
there they check that predictions log no such warning."""

import contextlib
import logging
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import BERT_WORDS
from numpy.testing import assert_allclose, assert_array_equal

keras = pytest.importorskip("keras")

from skfusion.encoders import ImageEncoder, TextEncoder  # noqa: E402
from skfusion.keras import (  # noqa: E402
    KerasFusionClassifier,
    KerasFusionRegressor,
    KerasMLPClassifier,
    KerasMLPRegressor,
)
from skfusion.multitask import MultiTaskKerasEstimator  # noqa: E402

pytestmark = pytest.mark.keras

#: rows per prediction: 22 calls, 1 to 2,500 rows, around the 1,024-row batch
SIZES = [1, 2500, 7, 64, 300, 40, 1, 3, 1023, 1024, 1025, 33, 100, 5, 999, 16, 48, 250, 2,
         12, 31, 700]
#: traces of one model over all of SIZES: each predict path has one batch shape
MAX_TRACES = 1
RETRACING = "triggered tf.function retracing"
TASKS = {"score": "regression", "big": "binary"}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = max(SIZES)
    texts = [" ".join(rng.choice(BERT_WORDS[5:], size=rng.integers(1, 40))) for _ in range(n)]
    photos = list(rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8))
    X = pd.DataFrame({"text": texts, "photo": photos, "a": rng.normal(size=n),
                      "b": rng.normal(size=n)})
    score = X["a"] + X["text"].str.count("love")
    Y = pd.DataFrame({"score": score, "big": (score > 0.5).astype(int)})
    return X, Y


def small_cnn():
    return keras.Sequential([
        keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv0"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
    ])


FAST = dict(epochs=1, batch_size=32, random_state=0)

# (estimator, the columns of X it takes (None: a and b, as a matrix), its
# target, the method predicting)
CASES = {
    "mlp-classifier": (lambda bert: KerasMLPClassifier(hidden_layers=(8,), **FAST),
                       None, "big", "predict_proba"),
    "mlp-regressor": (lambda bert: KerasMLPRegressor(hidden_layers=(8,), **FAST),
                      None, "score", "predict"),
    "fusion-frozen": (lambda bert: KerasFusionClassifier(
        [("a", "passthrough", ["a"]), ("b", "passthrough", ["b"])], hidden_layers=(8,), **FAST),
        ["a", "b"], "big", "predict_proba"),
    "fusion-trainable-text": (lambda bert: KerasFusionClassifier(
        [("text", TextEncoder(bert, max_length=64, trainable=True), "text"),
         ("a", "passthrough", ["a"])], hidden_layers=(8,), **FAST),
        ["text", "a"], "big", "predict_proba"),
    "fusion-trainable-image": (lambda bert: KerasFusionRegressor(
        [("photo", ImageEncoder(small_cnn(), image_size=(16, 16), trainable=1), "photo"),
         ("a", "passthrough", ["a"])], hidden_layers=(8,), **FAST),
        ["photo", "a"], "score", "predict"),
    "multitask": (lambda bert: MultiTaskKerasEstimator(TASKS, shared_layers=(8,), **FAST),
                  None, ["score", "big"], "predict"),
    "multitask-trainable-text": (lambda bert: MultiTaskKerasEstimator(
        TASKS, inputs=[("text", TextEncoder(bert, max_length=64, trainable=1), "text"),
                       ("b", "passthrough", ["b"])], shared_layers=(8,), **FAST),
        ["text", "b"], ["score", "big"], "predict"),
}


@contextlib.contextmanager
def counting_forward_runs(model):
    """Count the runs of ``model``'s Python forward pass (its ``call``): on
    TensorFlow one per trace, since a traced graph runs without Python.

    Private Keras behaviour, checked against keras 3.15.1 with tensorflow
    2.21: ``Layer.__call__`` looks ``call`` up on the instance each time,
    so an instance attribute wraps it (a count of 0 says it no longer does).
    """
    runs = []

    def call(*args, **kwargs):
        runs.append(1)
        return type(model).call(model, *args, **kwargs)

    model.call = call
    try:
        yield runs
    finally:
        del model.call


@contextlib.contextmanager
def retracing_reports(capfd):
    """Every report of retracing while the block runs: TensorFlow's and
    absl's loggers (at WARNING at least, whatever earlier code set), Python
    warnings, and whatever reaches stdout or stderr."""
    found = []

    class Collect(logging.Handler):
        def emit(self, record):
            found.append(record.getMessage())

    handler = Collect(logging.WARNING)
    loggers = [logging.getLogger(name) for name in ("tensorflow", "absl", "")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(min(logger.level or logging.WARNING, logging.WARNING))
    capfd.readouterr()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield found
    finally:
        for logger, level in zip(loggers, levels):
            logger.removeHandler(handler)
            logger.setLevel(level)
    found.extend(str(w.message) for w in caught)
    found.extend(capfd.readouterr())
    found[:] = [report for report in found if RETRACING in report]


@pytest.mark.parametrize("case", list(CASES))
def test_predictions_trace_each_model_once(case, data, tiny_bert, capfd):
    make, columns, target, method = CASES[case]
    X, Y = data
    X = X[["a", "b"]].to_numpy() if columns is None else X[columns]
    estimator = make(tiny_bert).fit(X[:32], Y[target][:32])  # one train step
    predict = getattr(estimator, method)
    firsts = []
    with retracing_reports(capfd) as reports, counting_forward_runs(estimator.model_) as runs:
        for n in SIZES:
            out = predict(X[:n])
            firsts.append(out.iloc[:1].to_numpy(float) if hasattr(out, "iloc") else out[:1])
    assert not reports
    if keras.backend.backend() == "tensorflow":
        # elsewhere nothing is traced (torch runs every call in Python)
        assert 1 <= len(runs) <= MAX_TRACES, f"{len(runs)} traces over {len(SIZES)} predictions"
    # a row's outputs whatever rows come with it; a text row's batch is
    # padded to its longest text, which sums attention over more zeros
    for first in firsts[1:]:
        if "text" in case:
            assert_allclose(first, firsts[0], rtol=1e-5, atol=1e-6)
        else:
            assert_array_equal(first, firsts[0])


MANY_MODELS = """
import numpy as np
import pandas as pd
from skfusion.keras import KerasMLPClassifier, KerasMLPRegressor
from skfusion.multitask import MultiTaskKerasEstimator

rng = np.random.default_rng(0)
X = rng.normal(size=(120, 3)).astype(np.float32)
y = (X[:, 0] > 0).astype(int)
Y = pd.DataFrame({"score": X[:, 1], "big": y})
for seed in range(2):
    for model, target in ((KerasMLPClassifier(epochs=1, random_state=seed), y),
                          (KerasMLPRegressor(epochs=1, random_state=seed), X[:, 1]),
                          (MultiTaskKerasEstimator({"score": "regression", "big": "binary"},
                                                   epochs=1, random_state=seed), Y)):
        model.fit(X[:80], target[:80])
        model.predict(X[80:])
        model.predict(X[80:81])
print("predicted")
"""


def test_many_models_predicting_a_few_times_log_no_retracing():
    # TensorFlow counts traces per traced Python function in the whole
    # process, and warns at most twice each: a fresh interpreter shows what
    # a user's run of six models, each predicting twice, would log
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(MANY_MODELS)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "predicted" in run.stdout
    assert RETRACING not in run.stdout + run.stderr
