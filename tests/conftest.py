import os

# Two cores on CI: keep BLAS and joblib from oversubscribing them.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# user_cache_dir() (skfusion.io's unpacked models, the README's caches): the
# run's own, never the home directory
if "XDG_CACHE_HOME" not in os.environ:
    import tempfile

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="skfusion-tests-cache-")

import pytest
from sklearn.compose import make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

TEXT = "Review Text"
TABULAR = ["Age", "Positive Feedback Count", "Department Name", "Class Name"]


@pytest.fixture(scope="session")
def reviews():
    """600 bundled reviews (50 of them without text) and Recommended IND."""
    from skfusion.datasets import load_clothing_reviews

    X, y = load_clothing_reviews(return_X_y=True)
    no_text = X[TEXT].isna()
    keep = X.index[~no_text][:550].union(X.index[no_text][:50])
    return X.loc[keep].reset_index(drop=True), y.loc[keep].reset_index(drop=True)


@pytest.fixture
def text_member():
    return make_pipeline(TfidfVectorizer(min_df=2), LogisticRegression(max_iter=200))


@pytest.fixture
def tabular_member():
    return make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["Department Name", "Class Name"]),
            remainder="passthrough",
        ),
        HistGradientBoostingClassifier(max_iter=20, random_state=0),
    )


@pytest.fixture
def members(text_member, tabular_member):
    """A text member on the review and a tabular member on four columns."""
    return [("text", text_member, TEXT), ("tab", tabular_member, TABULAR)]


#: the vocabulary of ``tiny_bert``: review words, and BERT's special tokens
BERT_WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small",
              "love", "it", "too", "big", "fabric", "nice", "return", "great", "poor"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    """A 2-layer, 16-wide BERT with an 18-word vocabulary and 256 positions,
    saved to disk and loaded by the real code (one per test module)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    path = tmp_path_factory.mktemp("tiny-bert")
    (path / "vocab.txt").write_text("\n".join(BERT_WORDS) + "\n")
    tokenizer = transformers.BertTokenizer(vocab_file=str(path / "vocab.txt"))
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(BERT_WORDS), hidden_size=16, num_hidden_layers=2,
        num_attention_heads=2, intermediate_size=32, max_position_embeddings=256,
    )
    transformers.BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture
def install_plugin(tmp_path, monkeypatch):
    """Put a tiny distribution on sys.path whose entry point declares
    ``name = module:attr`` in ``group``; ``source`` is the module's code."""

    def install(group, name, module, attr, source):
        (tmp_path / f"{module}.py").write_text(source)
        dist_info = tmp_path / f"{module}-0.1.dist-info"
        dist_info.mkdir()
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n"
        )
        (dist_info / "entry_points.txt").write_text(f"[{group}]\n{name} = {module}:{attr}\n")
        monkeypatch.syspath_prepend(str(tmp_path))

    return install


# estimators whose models are Keras models: CI runs their tests once more
# under KERAS_BACKEND=torch (``pytest -m keras``), and the docstring examples
# of these modules too (a doctest's name is its object's dotted path)
_KERAS_MODULES = ("skfusion.keras", "skfusion.multitask", "skfusion.encoders._image")


def pytest_collection_modifyitems(items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        estimator = callspec.params.get("estimator") if callspec else None
        if estimator is not None and type(estimator).__module__.startswith(_KERAS_MODULES):
            item.add_marker(pytest.mark.keras)
        elif isinstance(item, pytest.DoctestItem) and (
                item.name.startswith(_KERAS_MODULES) or _example_uses_keras(item)):
            item.add_marker(pytest.mark.keras)


def _example_uses_keras(item):
    """A docstring example elsewhere that builds a Keras model (an
    ``ImageEncoder``'s, a text branch's ``keras_branch()``)."""
    return any("keras" in example.source or "ImageEncoder" in example.source
               for example in item.dtest.examples)
