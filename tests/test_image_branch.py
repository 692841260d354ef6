"""A partly trainable image branch: the frozen bottom computed once per
distinct image outside the model (within a memory budget, on disk beyond
it), the model holding the top blocks only, and augmentation while it
trains. Tiny backbones built here; CI runs these on TensorFlow and again on
torch (``-m keras``)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from skfusion.encoders import ImageEncoder  # noqa: E402
from skfusion.keras import KerasFusionClassifier  # noqa: E402
from skfusion.utils._cache import mapped, take_rows  # noqa: E402

SIZE = 16
CALLS = {"images": 0}


@keras.saving.register_keras_serializable(package="skfusion_test_image_branch")
class CountingLayer(keras.layers.Layer):
    """Passes its input on, counting the images it sees when run eagerly
    (as the encoder runs the bottom), except the one blank image that
    loading a model probes it with."""

    def call(self, inputs):
        if inputs.shape[0] not in (None, 1):
            CALLS["images"] += int(inputs.shape[0])
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def backbone(skip=False, seed=0):
    """Three named blocks; with ``skip``, block 1's output also joins block
    3's, so no one tensor separates block 3 from the blocks below. Models of
    the same ``seed`` have the same weights."""
    init = [keras.initializers.GlorotUniform(seed=seed + s) for s in range(3)]
    pixels = keras.Input((SIZE, SIZE, 3))
    x = CountingLayer(name="counting")(pixels)
    x = keras.layers.Rescaling(1 / 255)(x)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block1_conv",
                            kernel_initializer=init[0])(x)
    first = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="block2_conv",
                            kernel_initializer=init[1])(first)
    x = keras.layers.MaxPooling2D(name="block2_pool")(x)
    x = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="block3_conv",
                            kernel_initializer=init[2])(x)
    if skip:
        x = keras.layers.Concatenate(name="skip")([x, keras.layers.MaxPooling2D()(first)])
    return keras.Model(pixels, x)


@pytest.fixture(scope="module")
def photos():
    """64 rows of 16 distinct images (each four times): bright or dark."""
    rng = np.random.default_rng(0)
    distinct = [np.clip(rng.normal(180 if i % 2 else 60, 30, (SIZE, SIZE, 3)), 0, 255)
                .astype(np.uint8) for i in range(16)]
    order = np.tile(np.arange(16), 4)
    X = pd.DataFrame({"photo": [distinct[i] for i in order]})
    return X, order % 2


def classifier(model, **params):
    image = ImageEncoder(model, image_size=(SIZE, SIZE), **{"trainable": 1, **params})
    return KerasFusionClassifier([("photo", image, "photo")], hidden_layers=(4,), epochs=2,
                                 batch_size=16, learning_rate=1e-2, random_state=0)


def head(clf):
    """The layers of the model above the image branch."""
    return [layer for layer in clf.model_.layers if layer.weights
            and not layer.name.startswith("branch0_photo")]


def test_cut_is_the_one_tensor_below_the_top_blocks(photos):
    X, _ = photos
    model = backbone()

    def cut(model, **params):
        encoder = ImageEncoder(model, image_size=(SIZE, SIZE), **params)
        return encoder.keras_branch().fit(X.head(2)).cut_

    assert cut(model, trainable=1) == "block2_pool"
    assert cut(model, trainable=2) == "block1_bn"
    assert cut(model, trainable=3) is None  # every block: the model takes pixels
    assert cut(model, trainable=True) is None
    assert cut(model, trainable=1, augment=True) is None  # augmentation runs below the bottom
    assert cut(model, trainable=1, augment=[]) == "block2_pool"
    # block 3's output joins block 1's: two tensors cross, so pixels
    assert cut(backbone(skip=True), trainable=1) is None
    assert cut(backbone(skip=True), trainable=2) == "block1_bn"
    sequential = keras.Sequential([keras.Input((SIZE, SIZE, 3)), keras.layers.Rescaling(1 / 255),
                                   keras.layers.Conv2D(4, 3, name="conv0"),
                                   keras.layers.Conv2D(8, 3, name="conv1")])
    assert cut(sequential, trainable=1) == "conv0"


def test_top_above_the_cut_predicts_as_the_whole_backbone(photos):
    X, y = photos
    model = backbone()
    cut = classifier(model).fit(X, y)
    assert cut.model_.inputs[0].shape[1:] == (SIZE // 2, SIZE // 2, 4)
    copy = cut.model_.get_layer("branch0_photo_backbone")
    assert [layer.name for layer in copy.layers if layer.weights] == ["block3_conv"]
    assert not np.array_equal(copy.get_layer("block3_conv").get_weights()[0],
                              model.get_layer("block3_conv").get_weights()[0])
    # a no-op augmentation puts the whole backbone back in the model, its
    # bottom frozen: the same training, the bottom computed in every step
    whole = classifier(model, augment=[keras.layers.Identity()]).fit(X, y)
    assert whole.model_.inputs[0].shape[1:] == (SIZE, SIZE, 3)
    assert_allclose(cut.predict_proba(X), whole.predict_proba(X), rtol=1e-4, atol=1e-6)
    # with the same weights, the same predictions to float32 precision
    for layer in whole.model_.get_layer("branch0_photo_backbone").layers:
        if layer.name == "block3_conv":
            layer.set_weights(copy.get_layer("block3_conv").get_weights())
    for mine, theirs in zip(head(whole), head(cut), strict=True):
        mine.set_weights(theirs.get_weights())
    assert_allclose(cut.predict_proba(X), whole.predict_proba(X), rtol=1e-5, atol=1e-7)
    assert_array_equal(pickle.loads(pickle.dumps(cut)).predict_proba(X), cut.predict_proba(X))


def test_bottom_is_computed_once_per_distinct_image(photos, tmp_path):
    X, y = photos
    models = [backbone(seed=seed) for seed in (10, 20, 30)]
    model = models[0]
    CALLS["images"] = 0
    clf = classifier(model).fit(X, y)
    clf.predict(X)
    classifier(model).fit(X.iloc[::-1], y[::-1]).predict(X.head(5))
    assert CALLS["images"] == 16  # 64 rows, 16 distinct images, two fits and predictions
    # without memory, a cache directory serves them, to fresh encoders too
    CALLS["images"] = 0
    on_disk = ImageEncoder(models[1], image_size=(SIZE, SIZE), memory_budget=0, cache=tmp_path)
    stored = on_disk.fit(X).bottom(X, "block2_pool")
    assert CALLS["images"] == 16
    assert_array_equal(clone(on_disk).fit(X).bottom(X.iloc[::-1], "block2_pool"), stored[::-1])
    assert CALLS["images"] == 16
    # and without either, every call computes them again
    encoder = ImageEncoder(models[2], image_size=(SIZE, SIZE), memory_budget=0).fit(X)
    first = encoder.bottom(X, "block2_pool")
    assert_array_equal(encoder.bottom(X, "block2_pool"), first)
    assert CALLS["images"] == 16 + 2 * 16


def test_bottom_beyond_the_budget_is_a_private_file(photos, tmp_path, monkeypatch):
    import tempfile

    X, y = photos
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    model = backbone()
    encoder = ImageEncoder(model, image_size=(SIZE, SIZE)).fit(X)
    in_memory = encoder.bottom(X, "block2_pool")
    assert type(in_memory) is np.ndarray and in_memory.shape == (64, SIZE // 2, SIZE // 2, 4)
    per_image = in_memory[0].nbytes
    # a budget of 10 images' activations: 64 rows go to a file
    encoder.set_params(memory_budget=10 * per_image / 2**20)
    on_disk = encoder.bottom(X, "block2_pool")
    assert isinstance(on_disk, np.memmap)
    assert_array_equal(on_disk, in_memory)
    assert list(tmp_path.iterdir()) == []  # anonymous: nothing named, nothing left
    assert mapped(take_rows(np.asarray(on_disk), np.arange(5)))
    # fitted and predicted from the file, a validation split included
    clf = classifier(model, memory_budget=10 * per_image / 2**20)
    clf.set_params(validation_split=0.25)
    proba = clf.fit(X, y).predict_proba(X)
    assert clf.history_["val_loss"] and np.isfinite(proba).all()
    clf.named_encoders_["photo"].set_params(memory_budget=1024)
    assert_allclose(clf.predict_proba(X), proba, rtol=1e-6)
    with pytest.raises(ValueError, match=r"ImageEncoder: bottom: layer 'nope' is not a layer of "
                                         r"the backbone"):
        encoder.bottom(X, "nope")


def test_augment_trains_differently_and_never_predicts(photos):
    X, y = photos
    model = backbone()
    augmented = classifier(model, augment=True).fit(X, y)
    assert augmented.model_.inputs[0].shape[1:] == (SIZE, SIZE, 3)
    assert [layer.name for layer in augmented.model_.layers[1:5]] == [
        f"branch0_photo_augment{i}" for i in range(4)]
    proba = augmented.predict_proba(X)
    # seeded: the same fit twice
    assert_array_equal(classifier(model, augment=True).fit(X, y).predict_proba(X), proba)
    plain = classifier(model, augment=[keras.layers.Identity()]).fit(X, y)
    assert np.abs(plain.predict_proba(X) - proba).max() > 1e-4
    # inactive at predict: the plain model with the augmented one's weights
    backbone_copy = plain.model_.get_layer("branch0_photo_backbone")
    backbone_copy.set_weights(augmented.model_.get_layer("branch0_photo_backbone").get_weights())
    for mine, theirs in zip(head(plain), head(augmented), strict=True):
        mine.set_weights(theirs.get_weights())
    assert_allclose(plain.predict_proba(X), proba, rtol=1e-6, atol=1e-7)
    # a list: fresh copies of the user's layers, in order
    flip = keras.layers.RandomFlip("horizontal", seed=1)
    encoder = ImageEncoder(model, image_size=(SIZE, SIZE), trainable=1, augment=[flip, flip])
    inputs, output = encoder.keras_branch().fit(X.head(2)).build("photo")
    built = keras.Model(inputs, output)
    copies = [built.get_layer(f"photo_augment{i}") for i in range(2)]
    assert all(isinstance(c, keras.layers.RandomFlip) and c is not flip for c in copies)
    assert copies[0] is not copies[1] and copies[0].get_config()["seed"] == 1


@pytest.mark.parametrize("params, error, match", [
    ({"augment": "flip"}, ValueError, r"The 'augment' parameter of ImageEncoder must be"),
    ({"augment": ["flip"]}, ValueError,
     r"ImageEncoder: augment\[0\] is a str \('flip'\), not a Keras layer; augment must be True, "
     r"False or a list of Keras preprocessing layers"),
    ({"augment": True, "trainable": False}, ValueError,
     r"ImageEncoder: augment=True applies to a trainable branch, but trainable=False; set "
     r"trainable"),
    ({"memory_budget": -1}, ValueError, r"The 'memory_budget' parameter of ImageEncoder"),
])
def test_bad_augment_and_budget(photos, params, error, match):
    X, _ = photos
    encoder = ImageEncoder(backbone(), image_size=(SIZE, SIZE), **{"trainable": 1, **params})
    with pytest.raises(error, match=match):
        encoder.fit(X)


def test_default_augment_needs_a_contrast_that_keeps_the_range(photos, monkeypatch):
    X, y = photos

    class OldContrast(keras.layers.Layer):  # Keras before 3.8 clipped to [0, 255]
        def __init__(self, factor, seed=None):
            super().__init__()

    monkeypatch.setattr(keras.layers, "RandomContrast", OldContrast)
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'photo': augment=True "
                                         r"needs Keras 3.8 or later"):
        classifier(backbone(), augment=True).fit(X, y)
