"""skfusion's Keras layers and loss are module-level classes, registered
under the names ``.keras`` files already hold, and a file with them loads
where only their modules are imported. CI runs these on TensorFlow and
again on torch (``-m keras``)."""

import ast
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("torch")
pytest.importorskip("transformers")

from skfusion.encoders import TextEncoder  # noqa: E402
from skfusion.keras import _layers  # noqa: E402
from skfusion.multitask import MultiTaskKerasEstimator  # noqa: E402
from skfusion.multitask import _layers as _multitask_layers  # noqa: E402

pytestmark = pytest.mark.keras

#: the names files written since trainable text branches and uncertainty
#: weighting landed hold: renaming any breaks loading them
REGISTERED = {
    "skfusion>BertEmbeddings": _layers.BertEmbeddings,
    "skfusion>BertBlock": _layers.BertBlock,
    "skfusion>TokenPooling": _layers.TokenPooling,
    "skfusion>TaskUncertainty": _multitask_layers.TaskUncertainty,
    "skfusion>UncertaintyWeightedLoss": _multitask_layers.UncertaintyWeightedLoss,
}


@pytest.mark.parametrize("name", REGISTERED)
def test_registered_names_are_unchanged(name):
    cls = REGISTERED[name]
    assert keras.saving.get_registered_name(cls) == name
    assert keras.saving.get_registered_object(name) is cls


LOAD = """
import sys
import numpy as np
import keras
import skfusion.keras._layers, skfusion.multitask._layers
model = keras.saving.load_model(sys.argv[1])  # safe_mode: registered classes only
inputs = dict(np.load(sys.argv[2]))
np.savez(sys.argv[3], *[np.asarray(o) for o in model.predict(inputs, verbose=0)])
print(sorted({f"{type(o).__module__}.{type(o).__qualname__}" for o in (*model.layers, *model.loss)
              if type(o).__module__.startswith("skfusion")}))
"""


def test_a_saved_model_loads_where_only_the_layer_modules_are_imported(tiny_bert, tmp_path):
    rng = np.random.default_rng(0)
    words = ["soft", "dress", "runs", "small", "love", "it", "great", "poor"]
    X = pd.DataFrame({"text": [" ".join(rng.choice(words, size=rng.integers(1, 6)))
                               for _ in range(24)]})
    Y = pd.DataFrame({"good": X["text"].str.contains("love") * 1,
                      "length": X["text"].str.len().astype(float)})
    model = MultiTaskKerasEstimator(
        {"good": "binary", "length": "regression"},
        inputs=[("text", TextEncoder(str(tiny_bert), max_length=16, trainable=True), "text")],
        shared_layers=(4,), loss_weights="uncertainty", epochs=1, batch_size=8, random_state=0,
    ).fit(X, Y).model_
    model.save(tmp_path / "model.keras")
    inputs = {tensor.name: (rng.integers(0, 18, (3, 8)).astype("int32") if "int" in tensor.dtype
                            else np.ones((3, 8), dtype="float32"))
              for tensor in model.inputs}
    np.savez(tmp_path / "inputs.npz", **inputs)
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(tmp_path / "model.keras"), str(tmp_path / "inputs.npz"),
         str(tmp_path / "outputs.npz")],
        capture_output=True, text=True,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert ast.literal_eval(out.stdout.strip().splitlines()[-1]) == [
        "skfusion.keras._layers.BertBlock", "skfusion.keras._layers.BertEmbeddings",
        "skfusion.keras._layers.TokenPooling", "skfusion.multitask._layers.TaskUncertainty",
        "skfusion.multitask._layers.UncertaintyWeightedLoss"]
    loaded = np.load(tmp_path / "outputs.npz")
    for i, expected in enumerate(model.predict(inputs, verbose=0)):
        np.testing.assert_allclose(loaded[f"arr_{i}"], expected, rtol=1e-5, atol=1e-6)
