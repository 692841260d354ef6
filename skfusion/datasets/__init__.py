"""Datasets bundled with skfusion.

:func:`load_clothing_reviews` loads the reviews;
:mod:`skfusion.datasets.clothing_reviews` names their columns and builds the
members that the demo, the examples and the benchmarks fit on them.
"""

from ._loaders import load_clothing_reviews

__all__ = ["load_clothing_reviews"]
