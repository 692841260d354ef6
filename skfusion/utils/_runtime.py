"""What one process shares between the estimators it runs: loaded models,
its thread budget and the defaults a cluster's worker set-up gives it.

Engine-independent: a Dask or Ray worker, a joblib (loky) process, a Spark
executor and a notebook all go through the same three pieces.

* :func:`shared_model`: every encoder with the same model identity, device
  and precision in one process shares one loaded model, so copies of an
  encoder unpickled on a worker (one per task, per fold or per partition)
  load it once.
* :func:`thread_budget`: the threads a model may use here, following the
  engine (an explicit ``n_threads``, :func:`set_process_defaults`,
  ``OMP_NUM_THREADS``, which Dask, Ray and Spark set per worker), never every
  core of the machine.
* :func:`torch_threads`: each thread sets torch's (per-thread OpenMP) count
  for its own block and puts its own back, so two threads of one worker
  encoding at once never restore each other's.
"""

import collections
import contextlib
import os
import threading

from ._optional import available_cores
from ._trust import SharedCache

#: the most models a process keeps loaded; the least recently used goes first
MAX_MODELS = 8

_MODELS = collections.OrderedDict()  # key -> what the loader returned
_LOADS = collections.Counter()  # description -> loads in this process
_MODELS_LOCK = threading.Lock()
_KEY_LOCKS = {}

_DEFAULTS = {"n_threads": None, "cache": None}


def shared_model(key, description, load):
    """The model behind ``key``, loaded by ``load()`` once per process.

    Parameters
    ----------
    key : hashable
        The model's identity and everything that changes the loaded object
        (device, precision, input shape); never the parameters that only
        change what is done with its outputs.

    description : str
        What :func:`model_loads` counts the load under (class and model).

    load : callable
        Builds the model; called at most once per key while it is kept,
        even by threads asking at the same time.

    Returns
    -------
    model : object
        What ``load`` returned, shared by every caller with the same key.
    """
    with _MODELS_LOCK:
        if key in _MODELS:
            _MODELS.move_to_end(key)
            return _MODELS[key]
        key_lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with key_lock:
        with _MODELS_LOCK:
            if key in _MODELS:
                return _MODELS[key]
        model = load()
        with _MODELS_LOCK:
            _MODELS[key] = model
            _LOADS[description] += 1
            while len(_MODELS) > MAX_MODELS:
                # encoders still holding an evicted model keep it alive; the
                # next copy to ask for it loads (and counts) it again
                evicted, _ = _MODELS.popitem(last=False)
                _KEY_LOCKS.pop(evicted, None)
        return model


def model_loads():
    """How many times each model was loaded in this process.

    On a cluster, ask every worker: ``client.run(model_loads)`` (Dask).

    Returns
    -------
    loads : dict of str to int
        Per model (encoder class and model), the loads so far; 1 when every
        copy of the encoder sent to this process shared one model.

    See Also
    --------
    skfusion.distributed.setup_workers : Defaults on every Dask worker.
    skfusion.encoders.TextEncoder : An encoder whose model is shared.

    Examples
    --------
    Copies of an encoder (as a worker unpickles them, one per task) share
    the model the first one loaded. A two-layer BERT made in place:

    >>> import pickle, tempfile, transformers
    >>> from skfusion.distributed import model_loads
    >>> from skfusion.encoders import TextEncoder
    >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "soft", "dress"]
    >>> bert = tempfile.TemporaryDirectory()
    >>> with open(f"{bert.name}/vocab.txt", "w") as f:
    ...     _ = f.write("\\n".join(words))
    >>> _ = transformers.BertTokenizer(f"{bert.name}/vocab.txt").save_pretrained(bert.name)
    >>> config = transformers.BertConfig(vocab_size=len(words), hidden_size=8, num_hidden_layers=1,
    ...                                  num_attention_heads=2, intermediate_size=16)
    >>> transformers.BertModel(config).save_pretrained(bert.name)
    >>> encoder = TextEncoder(bert.name).fit(["soft dress"])
    >>> encoder.transform(["soft dress"]).shape
    (1, 8)
    >>> loads = model_loads()
    >>> copies = [pickle.loads(pickle.dumps(encoder)) for _ in range(3)]
    >>> [copy.transform(["dress"]).shape for copy in copies]
    [(1, 8), (1, 8), (1, 8)]
    >>> model_loads() == loads
    True
    >>> bert.cleanup()
    """
    with _MODELS_LOCK:
        return dict(_LOADS)


def clear_models():
    """Forget every loaded model and the load counts of this process."""
    with _MODELS_LOCK:
        _MODELS.clear()
        _LOADS.clear()
        _KEY_LOCKS.clear()


def set_process_defaults(*, n_threads=None, cache=None):
    """Defaults for every encoder in this process that leaves them as None.

    :func:`skfusion.distributed.setup_workers` calls it on each worker, so
    that a search whose estimators say ``n_threads=None, cache=None`` uses
    the worker's thread budget and one embedding cache shared by every
    worker.

    Parameters
    ----------
    n_threads : int or None, default=None
        Threads a model may use; None follows ``OMP_NUM_THREADS`` or the
        cores this process may run on.

    cache : str, path-like, SharedCache or None, default=None
        Embedding cache directory for encoders whose ``cache`` is None.

    Returns
    -------
    previous : dict
        The defaults before the call, to restore them.
    """
    previous = dict(_DEFAULTS)
    if cache is not None and not isinstance(cache, SharedCache):
        cache = os.fspath(cache)
    _DEFAULTS.update(n_threads=n_threads, cache=cache)
    return previous


def process_default(name):
    """The process default ``name`` ("n_threads" or "cache") or None."""
    return _DEFAULTS[name]


def thread_budget(n_threads=None):
    """Threads a model may use in this process.

    What a :class:`~skfusion.encoders.TextEncoder` whose ``n_threads`` is
    None uses, and what skfusion's Keras models hold the backend to; give
    another library's model the same to compare like with like.

    Parameters
    ----------
    n_threads : int or None, default=None
        An estimator's own setting, which wins.

    Returns
    -------
    n_threads : int
        ``n_threads``; else the process default
        (:func:`skfusion.distributed.setup_workers` sets it on each worker);
        else ``OMP_NUM_THREADS`` (Dask's nanny, Ray and Spark set it to the
        worker's share); else the cores this process may run on (its CPU
        affinity, not every core of the machine).

    See Also
    --------
    skfusion.distributed.setup_workers : Sets the process default it reads.
    skfusion.encoders.TextEncoder : Runs torch with this many threads.

    Examples
    --------
    >>> from skfusion.utils import thread_budget
    >>> thread_budget(3)
    3
    >>> thread_budget() >= 1
    True
    """
    if n_threads is not None:
        return int(n_threads)
    if _DEFAULTS["n_threads"] is not None:
        return int(_DEFAULTS["n_threads"])
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.strip().isdigit() and int(env) > 0:
        return min(int(env), available_cores())
    return available_cores()


@contextlib.contextmanager
def torch_threads(torch, n_threads, *, at_most_current=False):
    """Run torch with ``n_threads`` intra-op threads inside the block.

    Torch's OpenMP thread count belongs to the calling thread once that
    thread has run an operation (new threads start from the last count
    set anywhere): each thread sets its own on the way in and puts back
    its own on the way out, so two threads of one worker encoding at once
    cannot restore each other's count, and the main thread's count is
    never touched by a pool thread.

    Parameters
    ----------
    torch : module
        The imported torch.

    n_threads : int
        Threads wanted.

    at_most_current : bool, default=False
        Only ever lower the current count (a user who set fewer threads
        keeps them).
    """
    previous = torch.get_num_threads()
    wanted = min(previous, n_threads) if at_most_current else n_threads
    if wanted == previous:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        # a count the block itself changed is the block's to keep
        if torch.get_num_threads() == wanted:
            torch.set_num_threads(previous)
