"""skfusion.io: every public estimator, fitted, saved and loaded without
pickle (here, in a fresh process and under the other Keras backend); files
that carry a payload, a newer format or other versions; model files bundled
with ``include_models=True``.

Run as a module by the fresh processes too (``predict_files``): the data
and the inputs of each estimator are built by the functions below."""

import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

pytest.importorskip("skops")

from skfusion import (  # noqa: E402
    EarlyFusionClassifier,
    EarlyFusionRegressor,
    LateFusionClassifier,
    LateFusionRegressor,
    StackingFusionClassifier,
    StackingFusionRegressor,
)
from skfusion.encoders import ImageEncoder, TabularEncoder, TextEncoder  # noqa: E402
from skfusion.io import (  # noqa: E402
    InconsistentVersionWarning,
    UntrustedTypesError,
    dump,
    get_untrusted_types,
    load,
)

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small",
         "great", "fabric", "poor", "return", "love", "it", "big", "fit", "color"]
TABLE = ["age", "dept"]


def make_data(n=32):
    """Texts, two table columns and 16x16 photos; labels and scores that
    follow the texts."""
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS[5:], size=rng.integers(1, 8))) for _ in range(n)]
    X = pd.DataFrame({
        "text": texts,
        "age": rng.normal(size=n),
        "dept": rng.choice(["tops", "dresses", "bottoms"], n),
        "photo": [rng.integers(0, 256, (16, 16, 3), dtype=np.uint8) for _ in range(n)],
    })
    score = np.array([("love" in t) + ("great" in t) - ("poor" in t) for t in texts], dtype=float)
    return X, np.where(score > 0, "yes", "no"), score


def inputs(name, X):
    """The columns each estimator of ``fitted`` takes."""
    return {"KerasMLPClassifier": X[["age"]], "KerasMLPRegressor": X[["age"]],
            "TextEncoder": X[["text"]], "ImageEncoder": X["photo"],
            "TabularEncoder": X[TABLE]}.get(name, X)


def outputs(estimator, X):
    """Every prediction and transform of ``estimator`` on X, as arrays by name."""
    found = {}
    for method in ("predict", "predict_proba", "transform"):
        if not hasattr(estimator, method):
            continue
        result = getattr(estimator, method)(X)
        parts = dict(result.items()) if isinstance(result, (dict, pd.DataFrame)) else {"": result}
        for key, value in parts.items():
            value = value.toarray() if hasattr(value, "toarray") else np.asarray(value)
            found[f"{method}_{key}"] = value.astype(str) if value.dtype == object else value
    return found


def predict_files(folder, backend):
    """In a fresh process: load every ``.skops`` file of ``folder`` and save
    its outputs on ``make_data()`` to ``outputs-<backend>.npz``."""
    X = make_data()[0]
    found = {}
    for path in sorted(Path(folder).glob("*.skops")):
        for key, value in outputs(load(path), inputs(path.stem, X)).items():
            found[f"{path.stem}__{key}"] = value
    np.savez(Path(folder) / f"outputs-{backend}.npz", **found)


def members(final):
    return [("text", make_pipeline(TfidfVectorizer(), final()), "text"),
            ("table", make_pipeline(TabularEncoder(), final()), TABLE)]


def classifier():
    return LogisticRegression(max_iter=200)


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def tabular_fusion(data):
    """A fitted late fusion of scikit-learn members, no Keras."""
    X, labels, _ = data
    return LateFusionClassifier(members(classifier), weights="auto", cv=2).fit(X, labels)


# -- every public estimator -------------------------------------------------------

@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    """A 2-layer BERT with an 18-word vocabulary and a one-convolution CNN
    saved as .keras, built here."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    keras = pytest.importorskip("keras")
    root = tmp_path_factory.mktemp("models")
    bert = root / "bert"
    bert.mkdir()
    (bert / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    transformers.BertTokenizer(vocab_file=str(bert / "vocab.txt")).save_pretrained(bert)
    torch.manual_seed(0)
    transformers.BertModel(transformers.BertConfig(
        vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32)).save_pretrained(bert)
    small_cnn(keras).save(root / "cnn.keras")
    return bert, root / "cnn.keras"


def small_cnn(keras):
    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv0",
                               kernel_initializer=keras.initializers.GlorotUniform(0))
    features = conv(keras.layers.Rescaling(1 / 255)(inputs))
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(features))


@pytest.fixture(scope="module")
def fitted(data, model_files):
    """One fitted instance of every public estimator, by class name; the
    Keras fusion models hold a frozen text branch, a trainable image branch
    (a Keras model as ImageEncoder's model), a trainable text branch and a
    frozen image branch (a .keras weights file)."""
    import keras

    from skfusion.keras import (
        KerasFusionClassifier,
        KerasFusionRegressor,
        KerasMLPClassifier,
        KerasMLPRegressor,
    )
    from skfusion.multitask import MultiTaskKerasEstimator

    X, labels, score = data
    bert, cnn = (str(path) for path in model_files)
    text = TextEncoder(bert, max_length=32)
    trained_cnn = ImageEncoder(small_cnn(keras), image_size=(16, 16), trainable=True)
    keras_params = dict(epochs=1, batch_size=16, random_state=0)
    blocks = [("text", TfidfVectorizer(), "text"), ("table", TabularEncoder(), TABLE)]
    estimators = [
        (LateFusionClassifier(members(classifier), weights="auto", cv=2), labels),
        (LateFusionRegressor(members(Ridge), weights="auto", cv=2), score),
        (StackingFusionClassifier(members(classifier), cv=2,
                                  passthrough=[("table", TabularEncoder(), TABLE)]), labels),
        (StackingFusionRegressor(members(Ridge), cv=2), score),
        (EarlyFusionClassifier(blocks, classifier()), labels),
        (EarlyFusionRegressor(blocks, Ridge()), score),
        (KerasMLPClassifier((8,), **keras_params), labels),
        (KerasMLPRegressor((8,), **keras_params), score),
        (KerasFusionClassifier(
            [("text", text, "text"),
             ("photo", trained_cnn, "photo"),
             ("table", TabularEncoder(), TABLE)], hidden_layers=(8,), **keras_params), labels),
        (KerasFusionRegressor(
            [("text", TextEncoder(bert, max_length=32, trainable=1), "text"),
             ("photo", ImageEncoder("mobilenet_v2", weights=cnn, image_size=(16, 16)), "photo")],
            hidden_layers=(8,), **keras_params), score),
        (MultiTaskKerasEstimator(
            {"score": "regression", "label": "binary", "tags": ("multilabel", ["short", "long"])},
            inputs=[("text", text, "text"), ("table", TabularEncoder(), TABLE)],
            shared_layers=(8,), loss_weights="uncertainty", **keras_params),
         pd.DataFrame({"score": score, "label": labels, "short": (X["text"].str.len() < 20) * 1,
                       "long": (X["text"].str.len() > 30) * 1})),
        (TextEncoder(bert, max_length=32), None),
        (ImageEncoder("mobilenet_v2", weights=cnn, image_size=(16, 16)), None),
        (TabularEncoder(), None),
    ]
    return {type(est).__name__: est.fit(inputs(type(est).__name__, X), y)
            for est, y in estimators}


@pytest.mark.keras
def test_every_public_estimator_round_trips_here_in_a_fresh_process_and_on_the_other_backend(
        fitted, data, tmp_path):
    import keras

    from skfusion.utils import all_estimators

    assert set(fitted) == {name for name, _ in all_estimators()}
    X = data[0]
    expected = {}
    for name, estimator in fitted.items():
        dump(estimator, tmp_path / f"{name}.skops")
        assert get_untrusted_types(tmp_path / f"{name}.skops") == []
        before = outputs(estimator, inputs(name, X))
        again = outputs(load(tmp_path / f"{name}.skops"), inputs(name, X))
        assert again.keys() == before.keys()
        for key, value in before.items():
            assert_array_equal(again[key], value, err_msg=f"{name} {key}")
            expected[f"{name}__{key}"] = value
    assert len(expected) >= 30
    here = keras.backend.backend()
    other = "torch" if here == "tensorflow" else "tensorflow"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import test_io; "
            "test_io.predict_files(sys.argv[2], sys.argv[3])")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent),
                              str(tmp_path), backend], env={**env, "KERAS_BACKEND": backend},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for backend in (here, other)]
    for run in runs:
        _, errors = run.communicate(timeout=300)
        assert run.returncode == 0, errors[-3000:]
    fresh = np.load(tmp_path / f"outputs-{here}.npz")
    moved = np.load(tmp_path / f"outputs-{other}.npz")
    assert sorted(fresh.files) == sorted(moved.files) == sorted(expected)
    for key, value in expected.items():
        assert_array_equal(fresh[key], value, err_msg=key)
        if value.dtype.kind == "f":  # another backend's float kernels: the same to rounding
            assert_allclose(moved[key], value, rtol=1e-4, atol=1e-5, err_msg=key)
        else:
            assert_array_equal(moved[key], value, err_msg=key)


def test_a_pandas_index_as_columns_round_trips(data, tmp_path):
    X, labels, _ = data
    fusion = LateFusionClassifier([("text", members(classifier)[0][1], "text"),
                                   ("table", members(classifier)[1][1], X.columns[1:3])])
    fusion.fit(X, labels)
    dump(fusion, tmp_path / "fusion.skops")
    loaded = load(tmp_path / "fusion.skops")
    columns = loaded.estimators[1][2]
    assert isinstance(columns, pd.Index) and columns.equals(X.columns[1:3])
    assert_array_equal(loaded.predict_proba(X), fusion.predict_proba(X))


def test_a_shared_cache_parameter_round_trips_without_its_key(data, tmp_path, monkeypatch):
    from skfusion.utils import SharedCache

    monkeypatch.setenv("SKFUSION_CACHE_KEY", "a-team-key-of-16-or-more")
    X, labels, _ = data
    fusion = LateFusionClassifier(members(classifier), memory=SharedCache(tmp_path / "team"))
    fusion.fit(X, labels)
    dump(fusion, tmp_path / "fusion.skops")
    assert b"a-team-key" not in (tmp_path / "fusion.skops").read_bytes()
    loaded = load(tmp_path / "fusion.skops")
    assert loaded.memory == SharedCache(tmp_path / "team")
    assert_array_equal(loaded.predict_proba(X), fusion.predict_proba(X))


# -- files that must not load ---------------------------------------------------

class Payload:
    """Creates ``marker`` when unpickled or built from its state."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))

    def __setstate__(self, state):
        Path(state["marker"]).touch()


def test_a_payload_is_refused_by_name_and_never_runs(tabular_fusion, tmp_path):
    import pickle

    pickle.loads(pickle.dumps(Payload(str(tmp_path / "unpickled"))))
    assert (tmp_path / "unpickled").exists()  # what a pickle of it does
    marker = tmp_path / "payload-ran"
    tabular_fusion.calibration_ = Payload(str(marker))  # an attribute that travels along
    try:
        dump(tabular_fusion, tmp_path / "fusion.skops")
    finally:
        del tabular_fusion.calibration_
    assert get_untrusted_types(tmp_path / "fusion.skops") == ["test_io.Payload"]
    refused = r"holds types that skfusion.io does not build unless told to: \['test_io.Payload'\]"
    with pytest.raises(UntrustedTypesError, match=refused) as error:
        load(tmp_path / "fusion.skops")
    assert error.value.types == ["test_io.Payload"]
    # a file that says it trusts its own types changes nothing
    edit(tmp_path / "fusion.skops", header=lambda h: {**h, "trusted": ["test_io.Payload"]})
    with pytest.raises(UntrustedTypesError, match="test_io.Payload"):
        load(tmp_path / "fusion.skops")
    assert not marker.exists()
    # a function named in place of a type is refused by its name too
    edit(tmp_path / "fusion.skops", schema=lambda s: {**s, "__module__": "posix",
                                                      "__class__": "system",
                                                      "__loader__": "FunctionNode"})
    with pytest.raises(UntrustedTypesError, match=r"\['posix.system'\]"):
        load(tmp_path / "fusion.skops")


@pytest.mark.keras
def test_a_keras_model_that_would_run_code_is_refused_by_safe_mode(data, tmp_path):
    keras = pytest.importorskip("keras")
    marker = str(tmp_path / "lambda-ran")
    inputs = keras.Input((16, 16, 3))
    touch = keras.layers.Lambda(lambda x: (open(marker, "w").close(), x)[1])
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(touch(inputs)))
    encoder = ImageEncoder(model, image_size=(16, 16)).fit(data[0]["photo"])
    dump(encoder, tmp_path / "encoder.skops")
    os.remove(marker)  # building the model ran the function, here
    with pytest.raises(ValueError, match="deserialization of a `Lambda` layer .* arbitrary code"):
        load(tmp_path / "encoder.skops")
    assert not os.path.exists(marker)


@pytest.mark.keras
def test_a_keras_estimator_is_read_only_with_its_model_from_a_keras_member(data, tmp_path):
    import skops.io

    from skfusion.keras import KerasMLPRegressor

    X, _, score = data
    model = KerasMLPRegressor((4,), epochs=1, random_state=0).fit(X[["age"]], score)
    # plain skops keeps the model as the bytes the pickle protocol makes of it,
    # which the estimator would read back itself: refused unless trusted
    (tmp_path / "plain.skops").write_bytes(skops.io.dumps(model))
    edit(tmp_path / "plain.skops", header=lambda h: {"format": 1, "versions": {}})
    with pytest.raises(UntrustedTypesError, match=r"\['skfusion.keras._mlp.KerasMLPRegressor'\]"):
        load(tmp_path / "plain.skops")
    edit(tmp_path / "plain.skops",
         schema=lambda s: {**s, "__loader__": "SkfusionKerasEstimatorNode"})
    with pytest.raises(ValueError, match="has a model_ of type bytes, not a Keras model read from"):
        load(tmp_path / "plain.skops")
    dump(model, tmp_path / "model.skops")
    edit(tmp_path / "model.skops", schema=lambda s: rename_keras_member(s, "model.h5"))
    with pytest.raises(ValueError, match=r"reads Keras models from \.keras members only"):
        load(tmp_path / "model.skops")


def rename_keras_member(schema, name):
    schema["content"]["content"]["model_"]["file"] = name
    return schema


@pytest.mark.keras
def test_keras_older_than_3_12_is_refused_with_the_reason(data, tmp_path, monkeypatch):
    import keras

    from skfusion.keras import KerasMLPRegressor

    X, _, score = data
    dump(KerasMLPRegressor((4,), epochs=1).fit(X[["age"]], score), tmp_path / "model.skops")
    monkeypatch.setattr(keras, "version", lambda: "3.11.3")
    with pytest.raises(ImportError, match=r"Keras models only with keras>=3\.12: older releases "
                                          r"have known ways around safe_mode.*3\.11\.3"):
        load(tmp_path / "model.skops")


def edit(path, *, header=None, schema=None):
    """Rewrite (or add) the header, or rewrite schema.json, of a file in place."""
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if header is not None:
        before = json.loads(members.get("skfusion.json", "{}"))
        members["skfusion.json"] = json.dumps(header(before))
    if schema is not None:
        members["schema.json"] = json.dumps(schema(json.loads(members["schema.json"])))
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


# -- versions and formats ------------------------------------------------------------

def test_the_file_records_versions_and_warns_under_others(tabular_fusion, tmp_path):
    import sklearn

    import skfusion

    dump(tabular_fusion, tmp_path / "fusion.skops")
    with zipfile.ZipFile(tmp_path / "fusion.skops") as archive:
        header = json.loads(archive.read("skfusion.json"))
    assert header == {"format": 1, "versions": {"skfusion": skfusion.__version__,
                                                "scikit-learn": sklearn.__version__}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(tmp_path / "fusion.skops")
    edit(tmp_path / "fusion.skops",
         header=lambda h: {"format": 1, "versions": {**h["versions"], "skfusion": "0.0.1"}})
    with pytest.warns(InconsistentVersionWarning, match=r"written with skfusion 0\.0\.1, and skfusion "
                                                        rf"{skfusion.__version__} is installed"):
        load(tmp_path / "fusion.skops")


def test_a_newer_format_a_damaged_header_and_a_pickle_are_clear_errors(tabular_fusion, tmp_path):
    import pickle

    dump(tabular_fusion, tmp_path / "fusion.skops")
    edit(tmp_path / "fusion.skops", header=lambda h: {**h, "format": 2})
    with pytest.raises(ValueError, match=r"is in format 2, written by skfusion .*; skfusion "
                                         r".* reads formats up to 1\. Upgrade skfusion"):
        load(tmp_path / "fusion.skops")
    edit(tmp_path / "fusion.skops", header=lambda h: {**h, "format": "one"})
    with pytest.raises(ValueError, match="has a damaged header"):
        load(tmp_path / "fusion.skops")
    (tmp_path / "fusion.pkl").write_bytes(pickle.dumps(tabular_fusion))
    with pytest.raises(ValueError, match=r"was not written by skfusion.io.dump .*A pickle or "
                                         r"joblib file loads with pickle or joblib"):
        load(tmp_path / "fusion.pkl")


def test_trusted_is_a_list_of_names_or_types(tabular_fusion, tmp_path):
    dump(tabular_fusion, tmp_path / "fusion.skops")
    with pytest.raises(TypeError, match="trusted must be a list of type names or types, got True"):
        load(tmp_path / "fusion.skops", trusted=True)
    assert load(tmp_path / "fusion.skops", trusted=[Payload]).weights_ == pytest.approx(
        tabular_fusion.weights_)


# -- bundled model files ---------------------------------------------------------------

@pytest.mark.keras
def test_include_models_loads_where_the_model_files_are_gone(data, model_files, tmp_path):
    X, _, score = data
    copy = tmp_path / "copy"
    shutil.copytree(model_files[0], copy / "bert")
    shutil.copy(model_files[1], copy / "cnn.keras")
    fusion = EarlyFusionRegressor(
        [("text", TextEncoder(str(copy / "bert"), max_length=32), "text"),
         ("photo", ImageEncoder("mobilenet_v2", weights=str(copy / "cnn.keras"),
                                image_size=(16, 16)), "photo")], Ridge()).fit(X, score)
    expected = fusion.predict(X)
    dump(fusion, tmp_path / "fusion.skops", include_models=True)
    dump(fusion, tmp_path / "paths.skops")
    shutil.rmtree(copy)
    unpacked = tmp_path / "unpacked"
    loaded = load(tmp_path / "fusion.skops", model_dir=unpacked)
    assert_array_equal(loaded.predict(X), expected)
    text = loaded.named_encoders_["text"].model
    assert Path(text).parent == unpacked and (Path(text) / "model.safetensors").is_file()
    assert Path(loaded.named_encoders_["photo"].weights).name == "cnn.keras"
    # the same files: the digests the encoders recorded at fit still hold
    assert all(loaded.named_encoders_[name].model_digest_ == encoder.model_digest_
               for name, encoder in fusion.named_encoders_.items())
    # a second load finds the files unpacked; one that differs is not used
    assert load(tmp_path / "fusion.skops", model_dir=unpacked).named_encoders_["text"].model == text
    (Path(text) / "vocab.txt").write_text("changed\n")
    with pytest.raises(ValueError, match=r"does not hold the model files the file bundles"):
        load(tmp_path / "fusion.skops", model_dir=unpacked)
    # without the files, the paths name what is gone
    with pytest.raises(OSError, match="bert"):
        load(tmp_path / "paths.skops").predict(X)
    # the encoders load the unpacked files later: a model_dir others can
    # write is refused as a cache directory is, before anything is unpacked
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o777)
    os.chmod(shared, 0o777)
    with pytest.raises(PermissionError, match=r"skfusion.io.load: refusing the cache at "
                                              r"'.*shared' \(model_dir=\).*mode 0777"):
        load(tmp_path / "fusion.skops", model_dir=shared)
    assert not list(shared.iterdir())
    # an image encoder loads a bundled .keras file itself: the same Keras
    # floor as the Keras models skfusion.io reads
    import keras

    image_only = EarlyFusionRegressor([("photo", ImageEncoder(
        "mobilenet_v2", weights=str(model_files[1]), image_size=(16, 16)), "photo")], Ridge())
    dump(image_only.fit(X, score), tmp_path / "image.skops", include_models=True)
    original = keras.version
    try:
        keras.version = lambda: "3.11.3"
        with pytest.raises(ImportError, match=r"keras>=3\.12.*3\.11\.3"):
            load(tmp_path / "image.skops", model_dir=unpacked)
    finally:
        keras.version = original


@pytest.mark.keras
def test_pickled_weights_are_neither_bundled_nor_unpacked(data, model_files, tmp_path):
    X = data[0]
    shutil.copytree(model_files[0], tmp_path / "bert")
    encoder = TextEncoder(str(tmp_path / "bert"), max_length=32).fit(X[["text"]])
    dump(encoder, tmp_path / "encoder.skops", include_models=True)
    (tmp_path / "bert" / "pytorch_model.bin").write_bytes(b"a pickle")
    with pytest.raises(ValueError, match=r"holds \['pytorch_model.bin'\], pickled weights that "
                                         r"include_models=True does not bundle"):
        dump(encoder, tmp_path / "other.skops", include_models=True)
    edit(tmp_path / "encoder.skops", schema=lambda s: {
        **s, "bundle": {**s["bundle"], "files": ["../../outside.txt"]}})
    with pytest.raises(ValueError, match="expects plain relative paths of files that are no "
                                         "pickles"):
        load(tmp_path / "encoder.skops")


def test_skops_internals_are_where_skfusion_io_expects():
    # skfusion.io extends skops through these private names (io/_compat.py)
    from skops.io._audit import NODE_TYPE_MAPPING, Node, get_tree  # noqa: F401
    from skops.io._protocol import PROTOCOL
    from skops.io._utils import _get_state, get_module, get_state, gettype  # noqa: F401

    from skfusion.io import _nodes

    _nodes.register()
    assert NODE_TYPE_MAPPING[("SkfusionEncoderNode", PROTOCOL)] is _nodes.EncoderNode
    assert _get_state.dispatch(TextEncoder) is _nodes._encoder_state
