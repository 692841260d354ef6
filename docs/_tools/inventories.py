"""Intersphinx inventories written from the installed packages.

The documentation links to scikit-learn, NumPy, pandas, joblib and the
Python standard library, but the build fetches nothing: this module walks the
installed packages and writes one ``objects.inv`` per project (Sphinx's
version 2 format: four header lines, then zlib-compressed
``name domain:role priority uri dispname`` lines), each naming the project's
public online pages, so a reader's link goes to the right site while the
build stays offline. ``conf.py`` calls :func:`write_all` and points
``intersphinx_mapping`` at the files.

Run it alone to see what it writes::

    python docs/_tools/inventories.py docs/_build/inventories
"""

import builtins
import importlib
import inspect
import os
import pkgutil
import re
import sys
import warnings
import zlib
from pathlib import Path

# skfusion's docstrings name these standard-library modules; only their
# public classes and functions go into the Python inventory
PYTHON_MODULES = (
    "collections",
    "collections.abc",
    "concurrent.futures",
    "contextlib",
    "functools",
    "importlib.metadata",
    "io",
    "json",
    "multiprocessing",
    "numbers",
    "os",
    "pathlib",
    "pickle",
    "tempfile",
    "typing",
    "warnings",
    "zipfile",
)

# scikit-learn docstrings that skfusion's classes inherit (get_params,
# set_output, score, set_*_request) refer to these pages of its user guide
SKLEARN_LABELS = {
    "metadata_routing": ("metadata_routing.html", "Metadata Routing"),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html",
        "Introducing the set_output API",
    ),
    "df_output_transform": (
        "developers/develop.html#developer-api-for-set-output",
        "Developer API for set_output",
    ),
    "accuracy_score": ("modules/model_evaluation.html#accuracy-score", "Accuracy score"),
    "r2_score": ("modules/model_evaluation.html#r2-score", "R² score"),
    "multioutput": ("modules/multiclass.html", "Multiclass and multioutput algorithms"),
}

_TERM = re.compile(r":term:`(?:[^`<]*<)?([^`<>]+)>?`")


def _public_modules(package):
    """The package and every submodule without a private part in its name."""
    top = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(top.__path__, prefix=package + "."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts) or {"tests", "conftest", "externals", "experimental"} & set(parts):
            continue
        names.append(info.name)
    modules = []
    for name in names:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                modules.append(importlib.import_module(name))
        except Exception:  # an optional dependency of a corner module
            continue
    return modules


def _exported(module, package):
    """(name, object) pairs a module makes public: its ``__all__``, or its
    public attributes that the package itself defines, and in either case the
    public classes and functions defined in the module itself (an
    ``__all__`` can miss one: scikit-learn documents
    ``sklearn.exceptions.InconsistentVersionWarning``, which its
    ``__all__`` leaves out)."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    own = [
        n
        for n, obj in vars(module).items()
        if not n.startswith("_") and getattr(obj, "__module__", None) == module.__name__
    ]
    for name in dict.fromkeys([*names, *own]):
        obj = getattr(module, name, None)
        if obj is None or inspect.ismodule(obj):
            continue
        owner = getattr(obj, "__module__", None) or ""
        if (inspect.isclass(obj) or callable(obj)) and owner.split(".")[0] == package:
            yield name, obj


def _role(obj):
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    return "function"


def _package_entries(package, page):
    """Entries of one package; ``page(full_name)`` is the URI of an object."""
    entries = {}
    for module in _public_modules(package):
        entries[module.__name__] = ("py:module", page(module.__name__, module=True))
        for name, obj in _exported(module, package):
            full = f"{module.__name__}.{name}"
            if full in entries:
                continue
            entries[full] = (f"py:{_role(obj)}", page(full))
            if not inspect.isclass(obj):
                continue
            # inherited methods too: each class page documents them
            for attr in dir(obj):
                if attr.startswith("_"):
                    continue
                member = inspect.getattr_static(obj, attr, None)
                if isinstance(member, property):
                    role = "py:attribute"
                elif callable(getattr(obj, attr, None)):
                    role = "py:method"
                else:
                    continue
                entries[f"{full}.{attr}"] = (role, page(f"{full}.{attr}", owner=full))
    return entries


def sklearn_entries():
    import sklearn

    major, minor = sklearn.__version__.split(".")[:2]
    root = f"https://scikit-learn.org/{major}.{minor}/"

    def page(full, module=False, owner=None):
        if module:
            return f"{root}api/{full}.html"
        return f"{root}modules/generated/{owner or full}.html#{full}"

    entries = _package_entries("sklearn", page)
    # glossary terms, as scikit-learn's docstrings use them
    terms = set()
    for module in _public_modules("sklearn"):
        for _, obj in _exported(module, "sklearn"):
            docs = [obj.__doc__ or ""]
            if inspect.isclass(obj):
                docs += [getattr(m, "__doc__", None) or "" for m in vars(obj).values()]
            for doc in docs:
                terms.update(t.strip() for t in _TERM.findall(doc if isinstance(doc, str) else ""))
    from sphinx.util.nodes import _make_id

    for term in terms:
        entries[term.lower()] = ("std:term", f"{root}glossary.html#term-{_make_id(term)}", term)
    for label, (path, title) in SKLEARN_LABELS.items():
        entries[label] = ("std:label", root + path, title)
    return "scikit-learn", sklearn.__version__, entries


def numpy_entries():
    import numpy

    major, minor = numpy.__version__.split(".")[:2]
    root = f"https://numpy.org/doc/{major}.{minor}/reference/"
    # pages outside reference/generated/
    special = {
        "numpy.random.Generator": "random/generator.html#numpy.random.Generator",
        "numpy.random.RandomState": "random/legacy.html#numpy.random.RandomState",
        "numpy.random.default_rng": "random/generator.html#numpy.random.default_rng",
    }

    def page(full, module=False, owner=None):
        if module:
            return f"{root}routines.html"
        if full in special:
            return root + special[full]
        if full.startswith("numpy.random.") and owner is None:
            return f"{root}random/generated/{full}.html#{full}"
        return f"{root}generated/{full}.html#{full}"

    entries = {}
    for name in ("numpy", "numpy.random", "numpy.linalg", "numpy.typing"):
        module = importlib.import_module(name)
        entries[name] = ("py:module", page(name, module=True))
        for attr in getattr(module, "__all__", dir(module)):
            obj = getattr(module, attr, None)
            if attr.startswith("_") or obj is None or inspect.ismodule(obj):
                continue
            if not (inspect.isclass(obj) or callable(obj)):
                continue
            full = f"{name}.{attr}"
            entries[full] = (f"py:{_role(obj)}", page(full))
            if inspect.isclass(obj):
                for member in dir(obj):
                    if not member.startswith("_") and callable(getattr(obj, member, None)):
                        entries[f"{full}.{member}"] = ("py:method", page(f"{full}.{member}"))
    entries["numpy.ndarray.shape"] = ("py:attribute", page("numpy.ndarray.shape"))
    entries["numpy.nan"] = ("py:data", f"{root}constants.html#numpy.nan")
    return "NumPy", numpy.__version__, entries


def pandas_entries():
    import pandas

    root = f"https://pandas.pydata.org/pandas-docs/version/{pandas.__version__}/reference/api/"

    def page(full, module=False, owner=None):
        if module:
            return f"https://pandas.pydata.org/pandas-docs/version/{pandas.__version__}/reference/index.html"
        return f"{root}{full}.html#{full}"

    entries = {"pandas": ("py:module", page("pandas", module=True))}
    for attr in dir(pandas):
        obj = getattr(pandas, attr, None)
        if attr.startswith("_") or obj is None or inspect.ismodule(obj):
            continue
        if not (inspect.isclass(obj) or callable(obj)):
            continue
        full = f"pandas.{attr}"
        entries[full] = (f"py:{_role(obj)}", page(full))
        if inspect.isclass(obj):
            for member in dir(obj):
                if member.startswith("_"):
                    continue
                value = inspect.getattr_static(obj, member, None)
                role = "py:method" if callable(getattr(obj, member, None)) else "py:attribute"
                if isinstance(value, property):
                    role = "py:attribute"
                entries[f"{full}.{member}"] = (role, page(f"{full}.{member}"))
    return "pandas", pandas.__version__, entries


def joblib_entries():
    import joblib

    root = "https://joblib.readthedocs.io/en/stable/"

    def page(full, module=False, owner=None):
        if module:
            return root
        return f"{root}generated/{owner or full}.html#{full}"

    entries = {"joblib": ("py:module", page("joblib", module=True))}
    for name in joblib.__all__:
        obj = getattr(joblib, name)
        full = f"joblib.{name}"
        entries[full] = (f"py:{_role(obj)}", page(full))
        if inspect.isclass(obj):
            for attr in dir(obj):
                if not attr.startswith("_") and callable(getattr(obj, attr, None)):
                    entries[f"{full}.{attr}"] = ("py:method", page(f"{full}.{attr}", owner=full))
    return "joblib", joblib.__version__, entries


def python_entries():
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    root = f"https://docs.python.org/{version}/"
    entries = {}
    for name, obj in vars(builtins).items():
        if name.startswith("_"):
            continue
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            entries[name] = ("py:exception", f"{root}library/exceptions.html#{name}")
        elif inspect.isclass(obj) or callable(obj):
            entries[name] = (f"py:{_role(obj)}", f"{root}library/functions.html#{name}")
    for name in ("None", "True", "False", "NotImplemented", "Ellipsis"):
        entries[name] = ("py:data", f"{root}library/constants.html#{name}")
    for module_name in PYTHON_MODULES:
        module = importlib.import_module(module_name)
        # a package's page is its own name: collections.abc.html
        url = f"{root}library/{module_name}.html"
        entries[module_name] = ("py:module", f"{url}#module-{module_name}")
        for attr in getattr(module, "__all__", dir(module)):
            obj = getattr(module, attr, None)
            if attr.startswith("_") or obj is None or inspect.ismodule(obj):
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj):
                full = f"{module_name}.{attr}"
                entries[full] = (f"py:{_role(obj)}", f"{url}#{full}")
    return "Python", version, entries


def write_inventory(path, project, version, entries):
    """Write ``entries`` ({name: (domain:role, uri[, dispname])}) to ``path``.

    Returns
    -------
    site : str
        The URL the inventory's locations are relative to (intersphinx joins
        them to the base URL of ``intersphinx_mapping``).
    """
    uris = [uri for _, uri, *_ in entries.values()]
    site = os.path.commonprefix(uris)
    site = site[: site.rindex("/") + 1]
    lines = []
    for name in sorted(entries):
        role, uri, *display = entries[name]
        line = f"1 {uri[len(site):]} {display[0] if display else '-'}\n"
        lines.append(f"{name} {role} {line}")
        # classes named like functions (make_column_selector,
        # parallel_backend) are called like them, and docstrings name them
        # with :func:
        if role == "py:class" and name.rpartition(".")[2].islower():
            lines.append(f"{name} py:function {line}")
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header.encode() + zlib.compress("".join(lines).encode()))
    return site


def write_all(directory):
    """Write the inventories into ``directory``.

    Returns
    -------
    mapping : dict
        ``intersphinx_mapping`` for ``conf.py``: project key to
        (online site, local inventory file).
    """
    directory = Path(directory)
    sites = {
        "sklearn": sklearn_entries,
        "numpy": numpy_entries,
        "pandas": pandas_entries,
        "joblib": joblib_entries,
        "python": python_entries,
    }
    mapping = {}
    for key, make in sites.items():
        project, version, entries = make()
        target = directory / f"{key}.inv"
        mapping[key] = (write_inventory(target, project, version, entries), str(target))
    return mapping


if __name__ == "__main__":
    for key, (site, path) in write_all(sys.argv[1]).items():
        print(f"{key}: {path} -> {site}")
