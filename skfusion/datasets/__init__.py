"""Datasets bundled with skfusion."""

from ._loaders import load_clothing_reviews

__all__ = ["load_clothing_reviews"]
