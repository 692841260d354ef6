"""Utilities shared across skfusion."""

from ._trust import CacheWarning, SharedCache, UnsafeCacheError, user_cache_dir
from .discovery import all_estimators

__all__ = ["CacheWarning", "SharedCache", "UnsafeCacheError", "all_estimators", "user_cache_dir"]
