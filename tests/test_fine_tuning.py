"""Trainable text branches: a TextEncoder with ``trainable`` becomes a BERT
tower inside a KerasFusion model, built from the checkpoint the encoder
reads. CI runs these on TensorFlow and again on torch (``-m keras``)."""

import pickle

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from skfusion.encoders import TextEncoder  # noqa: E402
from skfusion.keras import KerasFusionClassifier, KerasFusionRegressor  # noqa: E402
from skfusion.keras._checkpoint import block_weights, read_checkpoint  # noqa: E402
from skfusion.keras._compat import dense_kernel  # noqa: E402
from skfusion.keras._sequences import length_batches, pad_batch  # noqa: E402
from skfusion.keras._tower import text_tower  # noqa: E402

pytestmark = pytest.mark.keras

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small",
         "great", "fabric", "poor", "return", "love", "it", "big", "fit", "color"]
N_LAYERS = 3


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    """A 3-layer, 16-wide BERT with an 18-word vocabulary, saved to disk."""
    path = tmp_path_factory.mktemp("tiny-bert")
    (path / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    transformers.BertTokenizer(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(WORDS), hidden_size=16, num_hidden_layers=N_LAYERS,
        num_attention_heads=2, intermediate_size=32, max_position_embeddings=32,
    )
    transformers.BertModel(config).save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS[5:], size=rng.integers(1, 14))) for _ in range(96)]
    X = pd.DataFrame({"text": texts, "age": rng.normal(size=len(texts))})
    y = np.array([("love" in t) + ("great" in t) - ("poor" in t) for t in texts], dtype=float)
    return X, y


def encoder(bert, **params):
    return TextEncoder(bert, max_length=32, **params)


def regressor(bert, epochs=4, **params):
    return KerasFusionRegressor(
        [("text", encoder(bert, **params), "text"), ("age", "passthrough", ["age"])],
        hidden_layers=(8,), epochs=epochs, batch_size=16, learning_rate=1e-2, random_state=0,
    )


def checkpoint(bert):
    return read_checkpoint(bert)


def block_layers(model):
    return {layer.name: layer for layer in model.layers if type(layer).__name__ == "BertBlock"}


def changed(block, weights, index):
    """Per sub-layer of a fitted block, whether it differs from the checkpoint."""
    out = {}
    for name, values in block_weights(weights, index).items():
        layer = block.sublayers()[name]
        current = ([keras.ops.convert_to_numpy(dense_kernel(layer)), keras.ops.convert_to_numpy(layer.bias)]
                   if isinstance(layer, keras.layers.Dense) else layer.get_weights())
        out[name] = any(not np.array_equal(c, v) for c, v in zip(current, values))
    return out


@pytest.mark.parametrize("start", [0, 1, N_LAYERS - 1])
def test_tower_pools_as_text_encoder(bert, data, start):
    """The Keras port of the checkpoint, untrained, gives TextEncoder's
    embeddings: from token ids (start 0) or from the torch bottom's states."""
    texts = data[0]["text"].tolist()
    for pooling in ("mean", "cls"):
        enc = encoder(bert, pooling=pooling).fit(texts)
        expected = enc.transform(texts)
        if start == 0:
            arrays = [np.asarray(ids, dtype=np.int32) for ids in enc.token_ids(texts)]
            states = keras.Input(shape=(None,), dtype="int32")
        else:
            arrays = enc.token_states(texts, start)
            states = keras.Input(shape=(None, 16))
        mask = keras.Input(shape=(None,))
        config, weights = checkpoint(bert)
        pooled, _ = text_tower(enc, f"t{start}{pooling}", states, mask, config, weights, start)
        padded, padding = pad_batch(arrays, 32)
        got = keras.ops.convert_to_numpy(keras.Model([states, mask], pooled)([padded, padding]))
        cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
        assert cosine.min() >= 0.9999
        assert_allclose(got, expected, atol=1e-4)


def test_token_states_are_the_checkpoints_hidden_states(bert, data, tmp_path):
    texts = data[0]["text"].tolist()[:10]
    enc = encoder(bert, cache=str(tmp_path)).fit(texts)
    model = transformers.AutoModel.from_pretrained(bert).eval()
    tokens = transformers.AutoTokenizer.from_pretrained(bert)
    states = enc.token_states(texts, 2)
    for text, got in zip(texts, states):
        with torch.no_grad():
            hidden = model(**tokens(text, return_tensors="pt"), output_hidden_states=True)
        assert_allclose(got, hidden.hidden_states[2][0].numpy(), atol=1e-5)
    # read back from the cache: the model does not run again
    def run_model(texts, layer):
        raise AssertionError("the model ran on cached texts")

    enc._states = run_model
    again = enc.token_states(texts, 2)
    for a, b in zip(again, states):
        assert_array_equal(a, b)


def test_trainable_false_leaves_every_pretrained_weight(bert, data):
    X, y = data
    reg = regressor(bert).fit(X, y)
    assert not block_layers(reg.model_)
    # the branch's embeddings are the checkpoint's, and so is the torch model
    assert_array_equal(reg.named_encoders_["text"].transform(X[["text"]]),
                       encoder(bert).fit(X[["text"]]).transform(X[["text"]]))
    _, weights = checkpoint(bert)
    state = reg.named_encoders_["text"]._loaded_model["model"].state_dict()
    for key, value in state.items():
        if key in weights:
            assert_array_equal(value.numpy(), weights[key])


def test_top_k_changes_exactly_the_top_k_layers(bert, data):
    X, y = data
    reg = regressor(bert, trainable=2).fit(X, y)
    blocks = block_layers(reg.model_)
    assert sorted(blocks) == ["branch0_text_layer1", "branch0_text_layer2"]
    _, weights = checkpoint(bert)
    for index in (1, 2):
        assert all(changed(blocks[f"branch0_text_layer{index}"], weights, index).values())
    # the bottom (embeddings and layer 0) is the checkpoint's: the model's
    # input is its states, computed by the untouched torch model
    assert [i.name for i in reg.model_.inputs if "text" in i.name] == [
        "branch0_text", "branch0_text_mask"]
    assert reg.model_.get_layer("branch0_text").output.shape[-1] == 16


def test_trainable_true_trains_embeddings_and_every_layer(bert, data):
    X, y = data
    reg = regressor(bert, trainable=True).fit(X, y)
    blocks = block_layers(reg.model_)
    assert len(blocks) == N_LAYERS
    _, weights = checkpoint(bert)
    for index in range(N_LAYERS):
        assert all(changed(blocks[f"branch0_text_layer{index}"], weights, index).values())
    embeddings = reg.model_.get_layer("branch0_text_embeddings")
    assert not np.array_equal(keras.ops.convert_to_numpy(embeddings.tokens),
                              weights["embeddings.word_embeddings.weight"])


def test_lora_trains_adapters_only(bert, data):
    X, y = data
    reg = regressor(bert, trainable=2, lora_rank=2).fit(X, y)
    _, weights = checkpoint(bert)
    for index in (1, 2):
        block = block_layers(reg.model_)[f"branch0_text_layer{index}"]
        assert not any(changed(block, weights, index).values())
        assert block.query.lora_enabled and block.value.lora_enabled
        assert np.abs(keras.ops.convert_to_numpy(block.query.lora_kernel_b)).max() > 0
    trainable = {w.path for w in reg.model_.trainable_weights if "text_layer" in w.path}
    assert trainable == {f"branch0_text_layer{i}/{d}/{w}" for i in (1, 2) for d in ("query", "value")
                         for w in ("lora_kernel_a", "lora_kernel_b")}
    X_test = X.iloc[:20]
    assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X_test), reg.predict(X_test))


def test_learning_rate_multiplier_and_layer_decay(bert, data):
    X, y = data
    _, weights = checkpoint(bert)

    def moved(reg):
        blocks = block_layers(reg.model_)
        return [np.abs(keras.ops.convert_to_numpy(blocks[f"branch0_text_layer{i}"].query.kernel)
                       - block_weights(weights, i)["query"][0]).max() for i in (1, 2)]

    # layer decay: the top layer, at the full rate, moves; the one below, at 1e-6, does not
    lower, top = moved(regressor(bert, trainable=2, epochs=2, layer_decay=1e-6).fit(X, y))
    assert lower < 1e-4 < top
    reg = regressor(bert, trainable=2, epochs=2, learning_rate_multiplier=1e-6).fit(X, y)
    assert max(moved(reg)) < 1e-4
    # a warm start after a pickle round trip keeps the per-layer rates (at the
    # full rate, two more epochs would move them as far as ``top``)
    again = pickle.loads(pickle.dumps(reg.set_params(warm_start=True)))
    again.fit(X, y)
    assert max(moved(again)) < 1e-4


def test_pickle_clone_and_grid_search(bert, data):
    X, y = data
    reg = regressor(bert, trainable=1, epochs=2).fit(X, y)
    pred = reg.predict(X)
    assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), pred)
    # the same random_state, the same model; row order does not matter
    assert_allclose(clone(reg).fit(X, y).predict(X), pred, atol=1e-5)
    assert_allclose(reg.predict(X.iloc[::-1]), pred[::-1], atol=1e-5)
    halves = np.arange(len(X)) % 2 == 0
    search = GridSearchCV(regressor(bert, trainable=1, epochs=1), {"learning_rate": [1e-3, 1e-2]},
                          cv=[(np.flatnonzero(halves), np.flatnonzero(~halves))]).fit(X, y)
    assert search.best_estimator_.named_encoders_["text"].trainable == 1


def test_classifier_with_validation_split_and_early_stopping(bert, data):
    X, y = data
    clf = KerasFusionClassifier(
        [("text", encoder(bert, trainable=1), "text")], hidden_layers=(8,), epochs=3,
        batch_size=16, validation_split=0.25, early_stopping=2, random_state=0,
    ).fit(X, y > 0)
    assert set(clf.history_) >= {"loss", "val_loss"}
    assert clf.predict_proba(X).shape == (len(X), 2)


def test_length_batches_cover_every_row_longest_then_shortest():
    lengths = np.array([5, 9, 2, 7, 7, 3, 8, 1, 4, 6, 2])
    batches = length_batches(lengths, 4, shuffle=True)
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(lengths)))
    assert lengths[batches[0]].max() == lengths.max()
    assert len(batches[1]) == 3  # the partial batch: TensorFlow sees both shapes
    batches = length_batches(lengths, 4, shuffle=False)
    assert [lengths[b].max() for b in batches] == [9, 2, 6]


def test_errors(bert, data, tmp_path):
    X, y = data
    config = transformers.DistilBertConfig(vocab_size=len(WORDS), dim=16, n_layers=1, n_heads=2,
                                           hidden_dim=32, max_position_embeddings=32)
    transformers.DistilBertModel(config).save_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(WORDS) + "\n")
    transformers.BertTokenizer(vocab_file=str(tmp_path / "vocab.txt")).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: branch 'text': cannot train model .*'distilbert' model.*"
                                         r"support BERT-family checkpoints"):
        regressor(str(tmp_path), trainable=1).fit(X, y)
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: branch 'text': asks for trainable=5 layers, but model "
                                         r".* has 3 transformer layers"):
        regressor(bert, trainable=5).fit(X, y)
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: branch 'text': has max_length=64, above the 32 "
                                         r"positions of model"):
        KerasFusionRegressor([("text", TextEncoder(bert, max_length=64, trainable=1), "text")]).fit(X, y)
    bad = X.copy()
    bad.loc[3, "text"] = None
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: branch 'text': TextEncoder: row 3 of "
                                         r"X is missing \(None/NaN\)"):
        regressor(bert, trainable=1).fit(bad, y)
    reg = regressor(bert, trainable=1, epochs=1).fit(X, y)
    bad.loc[3, "text"] = np.nan
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: branch 'text': TextEncoder: row 3 of "
                                         r"X is missing \(None/NaN\)"):
        reg.predict(bad)
    with pytest.raises(ValueError, match=r"branch 'text'.*'text'"):
        reg.predict(X.drop(columns="text"))
    with pytest.raises(ValueError, match="lora_rank"):
        regressor(bert, trainable=1, lora_rank=0).fit(X, y)


def test_branch_parameters_are_nested_and_searchable(bert, data):
    X, y = data
    reg = regressor(bert, trainable=1, epochs=1)
    params = reg.get_params()
    assert params["text__trainable"] == 1 and params["text"] is reg.inputs[0][1]
    assert "text__trainable" not in reg.get_params(deep=False)
    reg.set_params(text__trainable=2, text__lora_rank=2, epochs=1)
    assert reg.inputs[0][1].trainable == 2 and reg.inputs[0][1].lora_rank == 2
    new = encoder(bert)
    reg.set_params(text=new)
    assert reg.inputs[0][1] is new and reg.inputs[1][0] == "age"
    search = GridSearchCV(regressor(bert, epochs=1), {"text__trainable": [False, 1]}, cv=2,
                          error_score="raise").fit(X, y)
    assert search.best_params_["text__trainable"] in (False, 1)
    fitted = [len(block_layers(search.best_estimator_.model_))]
    assert fitted[0] == (1 if search.best_params_["text__trainable"] == 1 else 0)


def test_multitask_shared_fine_tuned_text_extractor(bert, data):
    from skfusion.multitask import MultiTaskKerasEstimator

    X, y = data
    Y = pd.DataFrame({"score": y, "positive": y > 0, "long": X["text"].str.len() > 30})
    model = MultiTaskKerasEstimator(
        {"score": "regression", "positive": "binary", "long": "binary"},
        inputs=[("text", encoder(bert, trainable=2), "text"), ("age", "passthrough", ["age"])],
        shared_layers=(8,), loss_weights={"score": 1.0, "positive": 0.5, "long": 0.8},
        epochs=3, batch_size=16, learning_rate=1e-2, random_state=0,
    ).fit(X, Y)
    assert sorted(block_layers(model.model_)) == ["branch0_text_layer1", "branch0_text_layer2"]
    assert {i.name for i in model.model_.inputs} == {"branch0_text", "branch0_text_mask",
                                                   "branch1_age"}
    _, weights = checkpoint(bert)
    block = block_layers(model.model_)["branch0_text_layer2"]
    assert all(changed(block, weights, 2).values())
    pred = model.predict(X)
    assert list(pred.columns) == ["score", "positive", "long"]
    assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), pred)
    assert model.get_params()["text__trainable"] == 2


def small_cnn():
    layers = [keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255)]
    for seed, filters in enumerate([4, 8]):
        layers.append(keras.layers.Conv2D(filters, 3, activation="relu", name=f"conv{seed}",
                                          kernel_initializer=keras.initializers.GlorotUniform(seed=seed)))
    return keras.Sequential(layers)


@pytest.fixture(scope="module")
def photos():
    rng = np.random.default_rng(0)
    bright = rng.random(64) > 0.5
    images = [np.clip(rng.normal(180 if b else 60, 30, (16, 16, 3)), 0, 255).astype(np.uint8)
              for b in bright]
    return pd.DataFrame({"photo": images, "age": rng.normal(size=64)}), bright.astype(int)


def test_image_branch_trains_the_top_blocks(photos):
    from skfusion.encoders import ImageEncoder

    X, y = photos
    backbone = small_cnn()

    def fitted(trainable):
        image = ImageEncoder(backbone, image_size=(16, 16), trainable=trainable)
        return KerasFusionClassifier([("photo", image, "photo"), ("age", "passthrough", ["age"])],
                                     hidden_layers=(4,), epochs=2, batch_size=16,
                                     learning_rate=1e-2, random_state=0).fit(X, y)

    clf = fitted(1)
    # the model holds the top block; the frozen one runs outside, once per image
    copy = clf.model_.get_layer("branch0_photo_backbone")
    assert [layer.name for layer in copy.layers if layer.weights] == ["conv1"]
    before = backbone.get_layer("conv1").get_weights()
    assert not any(np.array_equal(a, b) for a, b in zip(before, copy.get_layer("conv1").get_weights()))
    # frozen features are what ImageEncoder gives, before any training
    assert clf.n_branch_features_["photo"] == 8
    proba = clf.predict_proba(X)
    assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), proba)
    assert all(layer.trainable for layer in fitted(True).model_.get_layer(
        "branch0_photo_backbone").layers if layer.weights)
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'photo': asks for trainable=3 blocks, but its "
                                         r"backbone has 2"):
        fitted(3)
    bad = X.copy()
    bad.at[5, "photo"] = b"not an image"
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'photo': ImageEncoder: row 5 of "
                                         r"X cannot be read as an image"):
        clf.predict(bad)


def test_image_branch_keeps_batch_norm_statistics(photos):
    from skfusion.encoders import ImageEncoder

    X, y = photos
    backbone = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Rescaling(1 / 255),
                                 keras.layers.Conv2D(4, 3, name="conv"),
                                 keras.layers.BatchNormalization(name="bn")])
    image = ImageEncoder(backbone, image_size=(16, 16), trainable=True)
    clf = KerasFusionClassifier([("photo", image, "photo")], hidden_layers=(4,), epochs=2,
                                batch_size=8, learning_rate=1e-2, random_state=0).fit(X, y)
    bn = clf.model_.get_layer("branch0_photo_backbone").get_layer("bn")
    original = backbone.get_layer("bn")
    # the convolution trains; the batch norm stays frozen, statistics included
    conv = clf.model_.get_layer("branch0_photo_backbone").get_layer("conv")
    assert not np.array_equal(conv.get_weights()[0], backbone.get_layer("conv").get_weights()[0])
    for got, pretrained in zip(bn.get_weights(), original.get_weights()):
        assert_array_equal(got, pretrained)


@pytest.mark.parametrize("trainable", [1, True])
def test_a_trainable_text_branch_with_missing_texts(bert, data, trainable):
    """missing="learned": rows without text enter the tower as one zero
    token (ids or states) that the missing embedding replaces; the
    encoder never sees them, and they predict as among the others."""
    X, y = data
    X = X.copy()
    X.loc[X.index[:10], "text"] = None
    reg = KerasFusionRegressor(
        [("text", encoder(bert, trainable=trainable), "text"), ("age", "passthrough", ["age"])],
        missing="learned", modality_dropout=0.2, hidden_layers=(8,), epochs=2, batch_size=16,
        learning_rate=1e-2, random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert np.isfinite(pred).all()
    np.testing.assert_allclose(reg.predict(X.iloc[[0, 50]]), pred[[0, 50]], rtol=1e-5)
    assert reg.predict(X.iloc[:10]).shape == (10,)  # no text at all among them
    assert reg.model_.get_layer("branch0_text_missing").get_weights()[0].any()


@pytest.mark.parametrize("trainable", [1, True])
def test_token_attention_attends_over_every_token(bert, data, trainable):
    """token_attention=True: the text branch enters fusion="attention" as its
    top layer's token states, padding masked out; a row predicts the same
    alone (no padding) as among longer rows, and the model pickles."""
    X, y = data
    reg = KerasFusionRegressor(
        [("text", encoder(bert, trainable=trainable), "text"), ("age", "passthrough", ["age"])],
        fusion="attention", token_attention=True, fusion_units=8, hidden_layers=(8,),
        epochs=4, batch_size=16, learning_rate=1e-2, random_state=0).fit(X, y)
    names = [layer.name for layer in reg.model_.layers]
    assert type(reg.model_.get_layer("fusion")).__name__ == "TokenAttentionFusion"
    assert "branch0_text_pooling" not in names
    pred = reg.predict(X)
    lengths = X["text"].str.split().str.len()
    shortest = int(lengths.idxmin())
    assert lengths.max() > lengths[shortest]
    assert_allclose(reg.predict(X.iloc[[shortest]]), pred[[shortest]], rtol=1e-4, atol=1e-5)
    assert_allclose(pickle.loads(pickle.dumps(reg)).predict(X), pred, rtol=1e-6)
    # it trains, and what it predicts follows the words
    loss = reg.history_["loss"]
    assert loss[-1] < loss[0]
    same_age = pd.DataFrame({"text": ["soft big fit color runs", "great", "return it"],
                             "age": [0.0, 0.0, 0.0]})
    assert np.ptp(reg.predict(same_age)) > 1e-4


def test_token_attention_with_missing_texts_and_in_the_multitask_model(bert, data, tmp_path):
    from skfusion.multitask import MultiTaskKerasEstimator

    X, y = data
    X = X.copy()
    X.loc[X.index[:10], "text"] = None
    reg = KerasFusionRegressor(
        [("text", encoder(bert, trainable=1), "text"), ("age", "passthrough", ["age"])],
        fusion="attention", token_attention=True, missing="learned", modality_dropout=0.2,
        fusion_units=8, hidden_layers=(8,), epochs=2, batch_size=16, learning_rate=1e-2,
        random_state=0).fit(X, y)
    # the missing text is one learned token, which trained
    assert reg.model_.get_layer("branch0_text_missing").get_weights()[0].any()
    assert np.isfinite(reg.predict(X.iloc[:10])).all()
    # its layers are registered: skfusion.io saves and loads it without pickle
    from skfusion.io import dump, load

    dump(reg, tmp_path / "model.skops")
    assert_allclose(load(tmp_path / "model.skops").predict(X), reg.predict(X), rtol=1e-6)

    Y = pd.DataFrame({"score": y, "positive": y > 0})
    model = MultiTaskKerasEstimator(
        # a head on the text branch reads the mean of its tokens
        {"score": "regression", "positive": ("binary", None, "text")},
        inputs=[("text", encoder(bert, trainable=1), "text"), ("age", "passthrough", ["age"])],
        fusion="attention", token_attention=True, missing="learned", fusion_units=8,
        shared_layers=(8,), epochs=2, batch_size=16, learning_rate=1e-2, random_state=0,
    ).fit(X, Y)
    assert type(model.model_.get_layer("fusion")).__name__ == "TokenAttentionFusion"
    assert "task1_branch_pooling" in [layer.name for layer in model.model_.layers]
    assert list(model.predict(X).columns) == ["score", "positive"]


def test_token_attention_errors(bert, data):
    X, y = data
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: token_attention=True attends "
                       r"over a text branch's tokens inside fusion='attention'; got "
                       r"fusion='gated'"):
        regressor(bert, trainable=1).set_params(fusion="gated", token_attention=True).fit(X, y)
    with pytest.raises(ValueError, match=r"KerasFusionRegressor: token_attention=True attends "
                       r"over the token states of trainable branches that give them .* but no "
                       r"branch of \['text', 'age'\] does"):
        regressor(bert).set_params(fusion="attention", token_attention=True).fit(X, y)
