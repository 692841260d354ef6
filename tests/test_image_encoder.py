"""ImageEncoder on randomly initialised Keras backbones, a tiny CNN built,
saved and loaded in the test, plain callables, and fake ImageNet files in an
empty KERAS_HOME; no weights are downloaded and no network is reached."""

import io
import os
import pickle
import random
import re
import socket

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

keras = pytest.importorskip("keras")
Image = pytest.importorskip("PIL.Image")

from skfusion.encoders import ImageEncoder, make_encoder  # noqa: E402

SIZE = (32, 32)

# keras' own saving, behind model.save, pickle and clone, warns under numpy 2
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def _tiny_cnn(seed=0):
    """Conv2D with 4 filters and a global average: 4 features per image."""
    inputs = keras.Input((None, None, 3))
    conv = keras.layers.Conv2D(4, 3, kernel_initializer=keras.initializers.GlorotUniform(seed),
                               bias_initializer=keras.initializers.RandomUniform(seed=seed))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(conv(inputs)))


@pytest.fixture(scope="module")
def tiny_cnn():
    return _tiny_cnn()


class MeanColour:
    """A plain callable model: a fixed random projection of each image's mean
    colour, counting the batches and images it sees in ``seen``."""

    def __init__(self, seen):
        self.seen = seen
        self.projection = np.random.RandomState(0).normal(size=(3, 5)).astype(np.float32)

    def __call__(self, batch):
        self.seen["calls"] += 1
        self.seen["images"] += len(batch)
        return batch.mean(axis=(1, 2)) @ self.projection


@pytest.fixture
def seen():
    return {"calls": 0, "images": 0}


def _noise_images(n, shape=(40, 48, 3), seed=0):
    return np.random.RandomState(seed).randint(0, 256, size=(n, *shape), dtype=np.uint8)


def _png_bytes(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def _resized(array, size=SIZE):
    """Pillow's bilinear resize, by hand, as float32 pixels."""
    image = Image.fromarray(array).convert("RGB").resize(size[::-1], Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float32)


@pytest.mark.parametrize("name, dim", [("mobilenet_v2", 1280), ("efficientnet_b0", 1280), ("resnet50", 2048)])
def test_backbone_shape_dtype_names_and_determinism(name, dim):
    images = _noise_images(3)
    encoder = ImageEncoder(name, weights=None, image_size=SIZE).fit(images)
    Z = encoder.transform(images)
    assert Z.shape == (3, dim)
    assert Z.dtype == np.float32
    assert np.all(np.isfinite(Z)) and np.any(Z != 0)
    assert encoder.n_features_out_ == dim
    assert_array_equal(encoder.get_feature_names_out(), [f"image{i}" for i in range(dim)])
    assert_array_equal(encoder.transform(images), Z)
    # weights=None is one fixed initialisation, not a fresh draw per fit
    assert_array_equal(ImageEncoder(name, weights=None, image_size=SIZE).fit_transform(images), Z)


def test_weights_none_leaves_the_random_state_alone():
    random.seed(123)
    expected = random.random()
    random.seed(123)
    ImageEncoder("mobilenet_v2", weights=None, image_size=SIZE).fit(_noise_images(1))
    assert random.random() == expected


def test_saved_keras_file_replaces_the_backbone_like_the_in_memory_model(tiny_cnn, tmp_path):
    images = _noise_images(4)
    tiny_cnn.save(tmp_path / "tiny.keras")
    from_file = ImageEncoder(weights=tmp_path / "tiny.keras", image_size=SIZE).fit(images)
    in_memory = ImageEncoder(tiny_cnn, image_size=SIZE).fit(images)
    assert from_file.n_features_out_ == in_memory.n_features_out_ == 4
    Z = in_memory.transform(images)
    assert_allclose(from_file.transform(images), Z, atol=1e-6)
    # no preprocessing for a user's model: resized 0-255 pixels go straight in
    by_hand = np.asarray(tiny_cnn(np.stack([_resized(a) for a in images]), training=False))
    assert_allclose(Z, by_hand, rtol=1e-5)


def test_weights_file_loads_into_the_named_backbone_with_its_own_preprocessing(tmp_path):
    images = _noise_images(2)
    random.seed(1)  # another initialisation than the encoder's own for weights=None
    trained = keras.applications.ResNet50(include_top=False, weights=None, pooling="max",
                                          input_shape=(*SIZE, 3))
    trained.save_weights(tmp_path / "trained.weights.h5")
    encoder = ImageEncoder("resnet50", weights=str(tmp_path / "trained.weights.h5"),
                           image_size=SIZE, pooling="max")
    Z = encoder.fit_transform(images)
    # ResNet50's "caffe" preprocessing: BGR order, ImageNet means subtracted
    pixels = keras.applications.resnet50.preprocess_input(np.stack([_resized(a) for a in images]))
    assert_allclose(Z, np.asarray(trained(pixels, training=False)), rtol=1e-4, atol=1e-5)
    assert Z.max() > 1
    untrained = ImageEncoder("resnet50", weights=None, image_size=SIZE, pooling="max").fit_transform(images)
    assert not np.allclose(Z, untrained, rtol=1e-2)


def test_path_bytes_pil_and_array_give_identical_features(tiny_cnn, tmp_path):
    array = _noise_images(1)[0]
    path = tmp_path / "noise.png"
    Image.fromarray(array).save(path)
    read_back = np.asarray(Image.open(path))
    encoder = ImageEncoder(tiny_cnn, image_size=SIZE).fit([path])
    Z = encoder.transform([path])
    for same in (str(path), path.read_bytes(), Image.open(path), read_back, read_back.copy(order="F")):
        assert_array_equal(encoder.transform([same]), Z)


@pytest.mark.parametrize("mode, to_array", [
    ("L", lambda a: a), ("L", lambda a: a[..., None]), ("RGBA", lambda a: a), ("P", None),
])
def test_grayscale_rgba_and_palette_images_become_rgb(tiny_cnn, tmp_path, mode, to_array):
    image = Image.fromarray(_noise_images(1)[0]).convert(mode)
    image.save(tmp_path / "image.png")
    encoder = ImageEncoder(tiny_cnn, image_size=SIZE).fit([image])
    Z = encoder.transform([tmp_path / "image.png"])
    assert_array_equal(encoder.transform([image]), Z)
    if to_array is not None:
        assert_array_equal(encoder.transform([to_array(np.asarray(image))]), Z)
    rgb = np.asarray(image.convert("RGB"))
    assert_allclose(Z, np.asarray(tiny_cnn(_resized(rgb)[None], training=False)), rtol=1e-5)


@pytest.mark.parametrize("pooling, reduce", [("avg", np.mean), ("max", np.max)])
def test_spatial_outputs_of_a_callable_are_pooled(pooling, reduce):
    images = _noise_images(3, shape=(*SIZE, 3))
    encoder = ImageEncoder(lambda batch: batch, image_size=SIZE, pooling=pooling).fit(images)
    Z = encoder.transform(images)
    assert encoder.n_features_out_ == 3
    assert_allclose(Z, reduce(images.astype(np.float32), axis=(1, 2)), rtol=1e-6)


def _pixels_as_features(batch):
    """A callable model whose features are the pixels it is given."""
    return batch.reshape(len(batch), -1)


def test_arrays_are_resized_like_pillow_and_floats_are_not_rounded():
    images = _noise_images(2)
    as_uint8 = ImageEncoder(_pixels_as_features, image_size=SIZE).fit_transform(images)
    assert_array_equal(as_uint8, np.stack([_resized(a) for a in images]).reshape(2, -1))
    as_float = ImageEncoder(_pixels_as_features, image_size=SIZE).fit_transform(images.astype(np.float64))
    assert_allclose(as_float, as_uint8, atol=1)  # Pillow rounds uint8 results
    assert not np.array_equal(as_float, np.round(as_float))
    at_size = ImageEncoder(_pixels_as_features, image_size=(40, 48)).fit_transform(images.astype(np.float32))
    assert_array_equal(at_size, images.reshape(2, -1))


@pytest.mark.parametrize("bad, problem", [
    (b"not an image", r"cannot be read as an image \(cannot identify image file"),
    ("no-such-image.png", r"cannot be read as an image \(.*No such file or directory"),
    (None, r"is missing \(None/NaN\)"),
    (np.nan, r"is missing \(None/NaN\)"),
    (3, r"is a int, not an image"),
    (np.zeros((4, 4, 2), dtype=np.uint8), r"is an array of shape \(4, 4, 2\) and dtype uint8, not a numeric HxW"),
])
def test_unreadable_image_names_its_row(tiny_cnn, bad, problem):
    X = pd.Series([_png_bytes(a) for a in _noise_images(2)] + [bad], dtype=object)
    with pytest.raises(ValueError, match=rf"ImageEncoder: row 2 of X {problem}.*every row must be a path"):
        ImageEncoder(tiny_cnn, image_size=SIZE).fit(X)


def test_truncated_file_is_caught_while_decoding_with_its_row(tiny_cnn, tmp_path):
    images = [_png_bytes(a) for a in _noise_images(3)]
    (tmp_path / "cut.png").write_bytes(images[2][: len(images[2]) // 2])
    encoder = ImageEncoder(tiny_cnn, image_size=SIZE).fit(images)
    with pytest.raises(ValueError, match=r"ImageEncoder: row 2 of X \('.*cut.png'\) cannot be read as an "
                                         r"image \(image file is truncated\)"):
        encoder.transform(images[:2] + [tmp_path / "cut.png"])


def test_init_loads_nothing_and_pickle_and_clone_give_the_same_features(tiny_cnn):
    images = _noise_images(3)
    for encoder in (ImageEncoder("mobilenet_v2", weights=None, image_size=SIZE),
                    ImageEncoder(tiny_cnn, image_size=SIZE)):
        assert not hasattr(encoder, "_loaded_model")
        fitted = encoder.fit(images)
        Z = fitted.transform(images)
        assert "_loaded_model" not in fitted.__getstate__()
        restored = pickle.loads(pickle.dumps(fitted))
        assert not hasattr(restored, "_loaded_model")
        assert_array_equal(restored.transform(images), Z)
        assert_array_equal(clone(fitted).fit(images).transform(images), Z)


def test_cache_encodes_each_distinct_image_once(tmp_path, seen):
    a, b = _noise_images(2)
    images = [a, b, a.copy(), a, b]
    model = MeanColour(seen)
    uncached = ImageEncoder(model, image_size=SIZE).fit(images).transform(images)
    seen.update(calls=0, images=0)
    first = ImageEncoder(model, image_size=SIZE, cache=tmp_path).fit(images)
    seen.update(calls=0, images=0)  # fit probes the model once for its width
    assert_array_equal(first.transform(images), uncached)
    assert seen["images"] == 2
    assert_array_equal(first.transform(images), uncached)
    assert seen["images"] == 2
    second = ImageEncoder(model, image_size=SIZE, cache=str(tmp_path)).fit(images)
    seen.update(calls=0, images=0)
    assert_array_equal(second.transform(images[::-1]), uncached[::-1])
    assert seen["calls"] == 0


def test_cache_key_follows_the_model_weights_and_output_parameters(tmp_path):
    images = _noise_images(2)
    one = ImageEncoder(_tiny_cnn(seed=0), image_size=SIZE, cache=tmp_path).fit_transform(images)
    other = ImageEncoder(_tiny_cnn(seed=1), image_size=SIZE, cache=tmp_path).fit_transform(images)
    assert_allclose(other, ImageEncoder(_tiny_cnn(seed=1), image_size=SIZE).fit_transform(images), rtol=1e-6)
    assert not np.allclose(one, other)
    bigger = ImageEncoder(_tiny_cnn(seed=0), image_size=(36, 36), cache=tmp_path).fit_transform(images)
    assert_allclose(bigger, ImageEncoder(_tiny_cnn(seed=0), image_size=(36, 36)).fit_transform(images), rtol=1e-6)


def _colour_photos(directory, n=12):
    """n tiny noisy photos, alternately reddish (label 0) and bluish (label 1)."""
    rng = np.random.RandomState(0)
    paths, labels = [], []
    for i in range(n):
        label = i % 2
        pixels = rng.randint(0, 80, size=(20, 24, 3))
        pixels[..., 2 if label else 0] += 160
        paths.append(str(directory / f"photo{i}.png"))
        Image.fromarray(pixels.astype(np.uint8)).save(paths[-1])
        labels.append(label)
    return paths, np.array(labels)


def test_inside_a_column_transformer_and_a_pipeline(tiny_cnn, tmp_path):
    paths, y = _colour_photos(tmp_path)
    X = pd.DataFrame({"photo": paths, "price": np.arange(12.0)})
    ct = make_column_transformer((ImageEncoder(tiny_cnn, image_size=SIZE), "photo"), ("passthrough", ["price"]))
    out = ct.fit_transform(X)
    assert out.shape == (12, 5)
    assert_allclose(out[:, :4], ImageEncoder(tiny_cnn, image_size=SIZE).fit_transform(paths), rtol=1e-6)
    assert_array_equal(out[:, 4], np.arange(12.0))
    pipe = make_pipeline(ImageEncoder(tiny_cnn, image_size=SIZE), LogisticRegression(max_iter=1000))
    assert_array_equal(pipe.fit(X[["photo"]], y).predict(X[["photo"]]), y)
    out = ImageEncoder(tiny_cnn, image_size=SIZE).set_output(transform="pandas").fit_transform(X[["photo"]])
    assert list(out.columns) == ["image0", "image1", "image2", "image3"]


def test_unknown_backbone_is_a_clear_error():
    with pytest.raises(ValueError, match=r"ImageEncoder: model 'resnet5' is not a known backbone; did you "
                                         r"mean 'resnet50'\? choose one of \[.*'mobilenet_v2'.*\] or pass a "
                                         r"keras.Model or a callable"):
        ImageEncoder("resnet5").fit(_noise_images(1))


def test_missing_weights_file_is_a_clear_error(tmp_path):
    with pytest.raises(OSError, match=r"ImageEncoder: weights '.*missing.weights.h5' is not a readable "
                                      r"\.keras or \.weights\.h5 file; expected None, 'imagenet'"):
        ImageEncoder("mobilenet_v2", weights=tmp_path / "missing.weights.h5", image_size=SIZE).fit(_noise_images(1))


@pytest.mark.parametrize("name", ["broken.weights.h5", "broken.keras"])
def test_corrupt_weights_file_is_a_clear_error(tmp_path, name):
    (tmp_path / name).write_bytes(b"not a weights file")
    with pytest.raises(OSError, match=rf"ImageEncoder: cannot load weights '.*{name}' \(.*\); expected a model saved"):
        ImageEncoder("mobilenet_v2", weights=tmp_path / name, image_size=SIZE).fit(_noise_images(1))


MOBILENET_96 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty KERAS_HOME, no network, and Keras' download function replaced
    by one that serves ``$KERAS_HOME/<subdir>/<file>`` (read when called: Keras
    itself reads KERAS_HOME once, on import) or fails as Keras does offline.
    Returns the list of files Keras asked for and the models directory."""
    def no_network(*args, **kwargs):
        pytest.fail("a test tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    asked = []

    def get_file(fname, origin=None, cache_subdir="datasets", **kwargs):
        asked.append(fname)
        path = os.path.join(os.environ["KERAS_HOME"], cache_subdir, fname)
        if os.path.isfile(path):
            return path
        raise Exception(f"URL fetch failure on {origin}: None -- no network in tests")

    # the function keras.applications call (keras.utils.get_file is the same one)
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", get_file)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    return asked, tmp_path / "models"


def test_imagenet_is_the_default_and_offline_its_missing_file_is_named_before_any_download(keras_home):
    asked, models = keras_home
    encoder = ImageEncoder("mobilenet_v2", image_size=(96, 96))
    assert encoder.get_params()["weights"] == "imagenet"
    with pytest.raises(OSError, match=rf"ImageEncoder: weights='imagenet' reads Keras' file '{MOBILENET_96}' "
                                      rf"for backbone 'mobilenet_v2' from '{re.escape(str(models))}' \(Keras' "
                                      r"downloads: \$KERAS_HOME/models, by default ~/.keras/models\), but it is "
                                      r"not there and HF_HUB_OFFLINE forbids downloading it. Fit once with "
                                      r"network access, copy the file into that directory \(or set KERAS_HOME.*"
                                      r"or pass weights= the path of a .weights.h5 or .keras file"):
        encoder.fit(_noise_images(1))
    assert asked == []


# one backbone per keras.applications module (but efficientnet_v2, slow to
# build), and mobilenet_v2's sizes
@pytest.mark.parametrize("name, size, file", [
    ("mobilenet_v2", 96, MOBILENET_96),
    ("mobilenet_v2", 32, "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
    ("mobilenet_v3_small", 32, "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"),
    ("resnet50", 32, "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    ("efficientnet_b0", 32, "efficientnetb0_notop.h5"),
    ("convnext_tiny", 32, "convnext_tiny_notop.h5"),
])
# Keras' own: at other sizes, it loads the weights made for 224x224
@pytest.mark.filterwarnings("ignore:`input_shape` is undefined or non-square:UserWarning")
def test_failed_imagenet_download_names_the_file_keras_asked_for(keras_home, monkeypatch, name, size, file):
    asked, models = keras_home
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(OSError, match=rf"ImageEncoder: weights='imagenet' reads Keras' file '{file}' for "
                                      rf"backbone '{name}' from '{re.escape(str(models))}' .*, but it is not "
                                      r"there and downloading it failed \(URL fetch failure on https://"):
        ImageEncoder(name, image_size=(size, size)).fit(_noise_images(1))
    assert asked == [file]


def test_imagenet_file_in_keras_home_is_loaded_without_network(keras_home, tmp_path):
    asked, models = keras_home
    images = _noise_images(3, shape=(96, 96, 3))
    pixels = keras.applications.mobilenet_v2.preprocess_input(images.astype(np.float32))
    # a randomly initialised MobileNetV2 at 96x96 as Keras' ImageNet file (in
    # the legacy .h5 layout of Keras' files; Keras checks no hash of this one)
    random.seed(1)
    fake = keras.applications.MobileNetV2(include_top=False, weights=None, pooling="avg",
                                          input_shape=(96, 96, 3))
    models.mkdir()
    fake.save(models / MOBILENET_96)
    encoder = ImageEncoder("mobilenet_v2", image_size=(96, 96), cache=tmp_path / "cache").fit(images)
    assert_allclose(encoder.transform(images), np.asarray(fake(pixels, training=False)), rtol=1e-5, atol=1e-6)
    assert asked == [MOBILENET_96]
    assert encoder.model_digest_ is not None
    # the cache and the fitted encoder follow the file, not the name "imagenet"
    conv = fake.get_layer("Conv1")
    conv.set_weights([2 * w for w in conv.get_weights()])
    fake.save(models / MOBILENET_96)
    refitted = ImageEncoder("mobilenet_v2", image_size=(96, 96), cache=tmp_path / "cache").fit(images)
    assert refitted.model_digest_ != encoder.model_digest_
    assert_allclose(refitted.transform(images), np.asarray(fake(pixels, training=False)), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=rf"ImageEncoder: the model files at '{re.escape(str(models / MOBILENET_96))}' "
                                         r"\(weights=\) changed since this encoder was fitted"):
        pickle.loads(pickle.dumps(encoder)).transform(images)


def test_damaged_imagenet_file_is_named(keras_home):
    _, models = keras_home
    models.mkdir()
    (models / MOBILENET_96).write_bytes(b"cut short")
    with pytest.raises(OSError, match=rf"ImageEncoder: weights='imagenet' reads Keras' file '{MOBILENET_96}' "
                                      r"for backbone 'mobilenet_v2' from .*, but Keras could not load it \(.*\); "
                                      r"delete it if it is damaged. Fit once with network access"):
        ImageEncoder("mobilenet_v2", image_size=(96, 96)).fit(_noise_images(1))


def test_imagenet_download_kept_outside_keras_home_is_an_error(keras_home, monkeypatch, tmp_path):
    # Keras reads KERAS_HOME once, when imported: one set later moves nothing
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(96, 96, 3)).save(
        elsewhere / MOBILENET_96)
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", lambda fname, *args, **kwargs: str(elsewhere / fname))
    with pytest.raises(OSError, match=r"ImageEncoder: weights='imagenet' reads Keras' file .*, but Keras put its "
                                      r"download elsewhere \(it reads KERAS_HOME once, when it is imported: set "
                                      r"KERAS_HOME before that\)"):
        ImageEncoder("mobilenet_v2", image_size=(96, 96)).fit(_noise_images(1))


def test_weights_apply_to_a_backbone_name_only(tiny_cnn, tmp_path):
    weights = str(tmp_path / "tiny.weights.h5")
    tiny_cnn.save_weights(weights)
    with pytest.raises(ValueError, match=r"ImageEncoder: weights='.*tiny.weights.h5' applies to a backbone "
                                         r"name, but model is a Functional, which brings its own weights; "
                                         r"leave weights at its default"):
        ImageEncoder(tiny_cnn, weights=weights).fit(_noise_images(1))
    # the default, "imagenet", is a backbone's: a model of one's own ignores it
    assert ImageEncoder(tiny_cnn, weights="imagenet", image_size=SIZE).fit(_noise_images(1)).n_features_out_ == 4


@pytest.mark.parametrize("size", [(32,), (32, 0), (32.0, 32)])
def test_image_size_must_be_two_positive_integers(size):
    with pytest.raises(ValueError, match=r"ImageEncoder: image_size must be \(height, width\), two positive integers"):
        ImageEncoder(lambda batch: batch, image_size=size).fit(_noise_images(1))


def test_callable_with_a_bad_output_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"ImageEncoder: model returned shape \(1,\) for a batch of "
                                         r"shape \(1, 32, 32, 3\); expected \(n, dim\)"):
        ImageEncoder(lambda batch: batch[:, 0, 0, 0], image_size=SIZE).fit(_noise_images(1))


def test_progress_bar_and_batches(tiny_cnn, capsys):
    images = _noise_images(5)
    one_batch = ImageEncoder(tiny_cnn, image_size=SIZE, batch_size=8).fit_transform(images)
    batched = ImageEncoder(tiny_cnn, image_size=SIZE, batch_size=2, progress=True).fit_transform(images)
    assert "ImageEncoder" in capsys.readouterr().err
    assert_allclose(batched, one_batch, rtol=1e-5)


def test_registry_builds_the_image_encoder(tiny_cnn):
    encoder = make_encoder("image", model=tiny_cnn, pooling="max")
    assert isinstance(encoder, ImageEncoder) and encoder.pooling == "max" and encoder.model is tiny_cnn
