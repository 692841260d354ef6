import sys

import pytest

from skfusion.encoders import available_encoders, make_encoder, register_encoder
from skfusion.utils._optional import import_optional

PLUGIN = '''
from sklearn.base import BaseEstimator, TransformerMixin


class WordCount(TransformerMixin, BaseEstimator):
    """Counts words: a third-party text encoder."""

    def __init__(self, lower=True):
        self.lower = lower

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return [[len(str(x).split())] for x in X]
'''


def test_plugin_encoder_is_found_through_its_entry_point(install_plugin):
    install_plugin("skfusion.encoders", "word-count", "skfusion_wordcount_plugin", "WordCount", PLUGIN)
    assert "word-count" in available_encoders()
    encoder = make_encoder("word-count", lower=False)
    assert type(encoder).__name__ == "WordCount" and encoder.lower is False
    assert encoder.fit_transform(["a b c", "d"]) == [[3], [1]]


def test_register_encoder_refuses_a_silent_overwrite():
    register_encoder("doc-test-encoder", dict)
    with pytest.raises(ValueError, match="an encoder named 'doc-test-encoder' is already registered"):
        register_encoder("doc-test-encoder", list)


@pytest.mark.parametrize("module, extra", [("torch", "text"), ("keras", "keras")])
def test_a_missing_backend_names_the_extra_to_install(monkeypatch, module, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=rf"""Encoder needs '{module}', which is not installed; install it with pip install "skfusion\[{extra}\]\""""):
        import_optional(module, owner="Encoder")
