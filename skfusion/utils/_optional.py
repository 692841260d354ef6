"""Optional frameworks and the cores they may use, for every part of
skfusion that imports torch, transformers, Keras or matplotlib lazily."""

import importlib
import os

#: extra that installs each optional framework
EXTRAS = {
    "torch": "text",
    "transformers": "text",
    "keras": "keras",
    "tensorflow": "keras",
    "PIL": "keras",
    "tqdm": "text",
    "matplotlib": "plot",
    "xgboost": "xgboost",
    "dask": "dask",
    "distributed": "dask",
    "pyarrow": "dask",
    "ray": "ray",
    "skops": "io",
}


def import_optional(module, *, owner):
    """Import an optional framework, or say which extra installs it.

    Parameters
    ----------
    module : str
        Dotted module name, such as ``"transformers"`` or ``"PIL.Image"``.

    owner : str
        What needs it, named in the error (an estimator's class name).

    Returns
    -------
    module : module
        The imported module.

    Raises
    ------
    ImportError
        When the module is not installed; the message names the
        ``pip install "skfusion[extra]"`` that installs it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = EXTRAS.get(top, "all")
        raise ImportError(
            f"{owner} needs {top!r}, which is not installed; install it with "
            f'pip install "skfusion[{extra}]"'
        ) from exc


def available_cores():
    """Cores this process may run on (all of them where the OS cannot say).

    Returns
    -------
    n_cores : int
        The size of the process' CPU affinity set: what a container, a
        ``taskset`` or a cluster worker allows, not every core of the machine.
    """
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1
