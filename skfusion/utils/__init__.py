"""Utilities shared across skfusion."""

from ._runtime import thread_budget
from ._trust import CacheWarning, SharedCache, UnsafeCacheError, user_cache_dir
from .discovery import all_estimators

__all__ = [
    "CacheWarning",
    "SharedCache",
    "UnsafeCacheError",
    "all_estimators",
    "thread_budget",
    "user_cache_dir",
]
