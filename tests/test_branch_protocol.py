"""The branch protocol from outside: a third party's encoder, found through
an ``entry_points.txt`` of the ``skfusion.encoders`` group, trains as a
branch of KerasFusionClassifier and MultiTaskKerasEstimator, frozen and
trainable, on either Keras backend."""

import pickle
import textwrap

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.keras
keras = pytest.importorskip("keras")

from skfusion.encoders import make_encoder  # noqa: E402
from skfusion.keras import KerasFusionClassifier  # noqa: E402
from skfusion.multitask import MultiTaskKerasEstimator  # noqa: E402

# A character-level text encoder as a third party would ship it: it imports
# no skfusion encoder and no private name, only the public KerasBranch.
PLUGIN = textwrap.dedent('''
    import numpy as np
    from sklearn.base import BaseEstimator, TransformerMixin

    from skfusion.keras import KerasBranch

    LENGTH = 16


    def char_ids(texts, vocabulary):
        ids = np.zeros((len(texts), LENGTH), dtype="int32")
        for row, text in enumerate(texts):
            codes = [vocabulary.get(c, 1) for c in text[:LENGTH]]
            ids[row, :len(codes)] = codes
        return ids


    def column(X):
        texts = list(X.iloc[:, 0] if hasattr(X, "iloc") else np.asarray(X).ravel())
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise ValueError(f"row {row} of X is {text!r}, not a text")
        return texts


    class CharBranch(KerasBranch):
        """A trainable character embedding, max-pooled convolutions over it."""

        def fit(self, X):
            self.encoder.fit(X)
            return self

        def transform(self, X):
            return char_ids(column(X), self.encoder.vocabulary_)

        def build(self, name):
            import keras

            ids = keras.Input(shape=(LENGTH,), dtype="int32", name=name)
            embedding = keras.layers.Embedding(
                len(self.encoder.vocabulary_) + 2, 8, name=f"{name}_chars")
            x = embedding(ids)
            x = keras.layers.Conv1D(8, 3, activation="relu", name=f"{name}_conv")(x)
            # the embedding learns at its own rate
            self.rates_ = {v.path: self.encoder.embedding_rate for v in embedding.weights}
            return {name: ids}, keras.layers.GlobalMaxPooling1D(name=f"{name}_pool")(x)

        def learning_rates(self):
            return self.rates_


    class CharEncoder(TransformerMixin, BaseEstimator):
        """Frozen: per-character counts. Trainable: a CharBranch."""

        def __init__(self, trainable=False, embedding_rate=1.0):
            self.trainable = trainable
            self.embedding_rate = embedding_rate

        def fit(self, X, y=None):
            chars = sorted(set("".join(column(X))))
            self.vocabulary_ = {c: i + 2 for i, c in enumerate(chars)}
            return self

        def transform(self, X):
            counts = np.zeros((len(X), len(self.vocabulary_) + 2), dtype="float32")
            for row, ids in enumerate(char_ids(column(X), self.vocabulary_)):
                np.add.at(counts[row], ids[ids > 0], 1.0)
            return counts

        def keras_branch(self):
            return CharBranch(self) if self.trainable else None
''')


@pytest.fixture
def chars(install_plugin):
    install_plugin("skfusion.encoders", "chars", "skfusion_chars_plugin", "CharEncoder", PLUGIN)
    return lambda **params: make_encoder("chars", **params)


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    texts = ["".join(rng.choice(letters, size=rng.randint(4, 14))) for _ in range(160)]
    X = pd.DataFrame({"text": texts, "age": rng.normal(size=160)})
    vowels = X["text"].str.count("[aeiou]")
    Y = pd.DataFrame({"many": (vowels > vowels.median()).astype(int), "score": vowels / 5.0})
    return X, Y


def fusion(encoder, **params):
    params = {"hidden_layers": (8,), "epochs": 25, "batch_size": 32, "learning_rate": 1e-2,
              "random_state": 0, **params}
    return KerasFusionClassifier([("text", encoder, ["text"]), ("age", "passthrough", ["age"])],
                                 **params)


def multitask(encoder):
    return MultiTaskKerasEstimator(
        {"many": "binary", "score": "regression"},
        inputs=[("text", encoder, ["text"]), ("age", "passthrough", ["age"])],
        shared_layers=(8,), epochs=25, batch_size=32, learning_rate=1e-2, random_state=0)


def test_the_plugin_is_found_through_its_entry_point(chars):
    encoder = chars(trainable=True)
    assert type(encoder).__module__ == "skfusion_chars_plugin"
    assert type(encoder.keras_branch()).__name__ == "CharBranch"


@pytest.mark.parametrize("trainable", [False, True])
def test_a_plugin_branch_in_keras_fusion(chars, data, trainable):
    X, Y = data
    clf = fusion(chars(trainable=trainable, embedding_rate=2.0)).fit(X, Y["many"])
    layers = {layer.name for layer in clf.model_.layers}
    assert ("branch0_text_chars" in layers) == trainable
    assert clf.branches_.trains == trainable
    assert list(clf.named_encoders_) == ["text"]
    # frozen: the counts' width; trainable: the pooled convolutions'
    width = 8 if trainable else len(clf.named_encoders_["text"].vocabulary_) + 2
    assert clf.n_branch_features_ == {"text": width, "age": 1}
    if trainable:
        embedding = clf.model_.get_layer("branch0_text_chars")
        assert clf.branches_.learning_rates == {v.path: 2.0 for v in embedding.weights}
    assert clf.score(X, Y["many"]) > 0.8
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), proba)
    # one row predicts as it does among the others
    np.testing.assert_allclose(clf.predict_proba(X.iloc[[7]]), proba[[7]], rtol=1e-6)


def test_a_trainable_plugin_branch_learns(chars, data):
    """The embedding trains (its weights leave their initial values) and the
    same seed gives the same model."""
    X, Y = data
    clf = fusion(chars(trainable=True), epochs=1).fit(X, Y["many"])
    before = clf.model_.get_layer("branch0_text_chars").get_weights()[0]
    clf.set_params(warm_start=True, epochs=3).fit(X, Y["many"])
    after = clf.model_.get_layer("branch0_text_chars").get_weights()[0]
    assert not np.allclose(before, after)
    again = fusion(chars(trainable=True), epochs=1).fit(X, Y["many"])
    np.testing.assert_array_equal(
        again.model_.get_layer("branch0_text_chars").get_weights()[0], before)


@pytest.mark.parametrize("trainable", [False, True])
def test_a_plugin_branch_in_the_multitask_model(chars, data, trainable):
    X, Y = data
    model = multitask(chars(trainable=trainable)).fit(X, Y)
    assert ("branch0_text_chars" in {layer.name for layer in model.model_.layers}) == trainable
    pred = model.predict(X)
    assert list(pred.columns) == ["many", "score"]
    assert (pred["many"] == Y["many"]).mean() > 0.8
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), pred)


def test_plugin_errors_name_the_estimator_and_branch(chars, data):
    X, Y = data
    bad = X.copy()
    bad.loc[3, "text"] = None
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'text': row 3 of X is "
                       r"nan, not a text"):
        fusion(chars(trainable=True), epochs=1).fit(bad, Y["many"])
    with pytest.raises(ValueError, match=r"MultiTaskKerasEstimator: branch 'text': row 3 of X is "
                       r"nan, not a text"):
        multitask(chars(trainable=True)).set_params(epochs=1).fit(bad, Y)


class _NotABranch:
    def __init__(self, encoder):
        self.encoder = encoder


class _Encoder:
    """A transformer whose keras_branch gives what the protocol refuses."""

    def __init__(self, branch):
        self.branch = branch

    def get_params(self, deep=True):
        return {"branch": self.branch}

    def set_params(self, **params):
        vars(self).update(params)
        return self

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.zeros((len(X), 1))

    def keras_branch(self):
        return self.branch(self)


def test_a_broken_branch_is_a_clear_error(data):
    from skfusion.keras import KerasBranch

    X, Y = data

    class WrongInput(KerasBranch):
        def transform(self, X):
            return np.zeros((len(X), 2), dtype="float32")

        def build(self, name):
            x = keras.Input(shape=(2,), name="elsewhere")
            return {"elsewhere": x}, keras.layers.Dense(2)(x)

    class WrongRows(WrongInput):
        def transform(self, X):
            return np.zeros((3, 2), dtype="float32")

    with pytest.raises(TypeError, match=r"KerasFusionClassifier: branch 'text': "
                       r"_Encoder.keras_branch\(\) returned _NotABranch; expected a "
                       r"skfusion.keras.KerasBranch \(or None for a frozen branch\)"):
        fusion(_Encoder(_NotABranch), epochs=1).fit(X, Y["many"])
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'text': "
                       r"WrongInput.build\('branch0_text'\) must return .* inputs named "
                       r"\['branch0_text'\]; got inputs \['elsewhere'\]"):
        fusion(_Encoder(WrongInput), epochs=1).fit(X, Y["many"])
    with pytest.raises(ValueError, match=r"KerasFusionClassifier: branch 'text': "
                       r"WrongRows.transform gave an array of shape \(3, 2\) for 160 rows"):
        fusion(_Encoder(WrongRows), epochs=1).fit(X, Y["many"])
