"""Name -> factory registries for plugins (combiners now, encoders later).

A registry holds the built-in entries and discovers third-party ones through
an entry-point group. Entry points are looked up again whenever a name is not
found, so a plugin installed (or put on ``sys.path``) after ``import
skfusion`` is still found.
"""

import warnings
from importlib.metadata import entry_points


class Registry:
    """A named collection of factories with entry-point discovery.

    Parameters
    ----------
    kind : str
        What the registry holds, used in error messages ("combiner").

    group : str
        The entry-point group scanned for plugins ("skfusion.combiners").
    """

    def __init__(self, kind, group):
        self.kind = kind
        self.group = group
        self._entries = {}

    def register(self, name, factory, *, overwrite=False):
        """Register ``factory`` under ``name`` and return it."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{self.kind} name must be a non-empty str, got {name!r}.")
        if not callable(factory):
            raise TypeError(
                f"{self.kind} {name!r} must be callable, got {type(factory).__name__}."
            )
        if name in self._entries and not overwrite and self._entries[name] is not factory:
            raise ValueError(
                f"{'an' if self.kind[0] in 'aeiou' else 'a'} {self.kind} named "
                f"{name!r} is already registered; pass "
                "overwrite=True to replace it."
            )
        self._entries[name] = factory
        return factory

    def _load_entry_points(self):
        for ep in entry_points(group=self.group):
            if ep.name in self._entries:
                continue
            try:
                self._entries[ep.name] = ep.load()
            except Exception as exc:
                # one broken plugin must not hide the others
                warnings.warn(
                    f"skipping {self.kind} plugin {ep.name!r} ({ep.value}): it fails "
                    f"to load: {exc!r}",
                    RuntimeWarning,
                    stacklevel=3,
                )

    def get(self, name):
        """Return the factory registered as ``name``."""
        if name not in self._entries:
            self._load_entry_points()
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(
                f"unknown {self.kind} {name!r}; available: {self.names()}. "
                f"Register one with register_{self.kind}(name, func) or through "
                f"the {self.group!r} entry-point group."
            ) from None

    def names(self):
        """Sorted names of every registered and discoverable entry."""
        self._load_entry_points()
        return sorted(self._entries)
