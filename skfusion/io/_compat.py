"""The pieces of skops that skfusion.io builds on besides its public
``dump``/``load``/``get_untrusted_types``: the ``Node`` base of loaders, the
table of loaders, and the dispatch of ``get_state`` by type. skops extends
itself with numpy and scipy types through exactly these, but keeps them
private, so they live here, in one place. Checked against skops 0.16.0;
``tests/test_io.py::test_skops_internals_are_where_skfusion_io_expects``
fails loudly when they move."""

from ..utils._optional import import_optional

import_optional("skops.io", owner="skfusion.io")

from skops.io._audit import NODE_TYPE_MAPPING, Node, get_tree  # noqa: E402
from skops.io._protocol import PROTOCOL  # noqa: E402
from skops.io._utils import _get_state, get_module, get_state, gettype  # noqa: E402

__all__ = ["NODE_TYPE_MAPPING", "PROTOCOL", "Node", "default_state", "get_module", "get_state",
           "get_tree", "gettype", "register_state", "register_loader"]


def register_state(cls, function):
    """Have skops store instances of ``cls`` (and its subclasses) with
    ``function(obj, save_context)``."""
    _get_state.register(cls)(function)


def default_state(obj, save_context):
    """How skops stores ``obj`` without skfusion's functions: as a plain
    object (its ``__getstate__`` or ``__dict__``)."""
    return _get_state.dispatch(object)(obj, save_context)


def register_loader(name, node_class):
    """Have skops read states whose ``__loader__`` is ``name`` with ``node_class``."""
    NODE_TYPE_MAPPING[(name, PROTOCOL)] = node_class
