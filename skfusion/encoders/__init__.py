"""Modality encoders: scikit-learn transformers from raw text, images and
tables to features, with a plugin registry and an embedding cache."""

from ._base import available_encoders, make_encoder, register_encoder
from ._image import ImageEncoder
from ._tabular import TabularEncoder
from ._text import TextEncoder

__all__ = [
    "ImageEncoder",
    "TabularEncoder",
    "TextEncoder",
    "available_encoders",
    "make_encoder",
    "register_encoder",
]
