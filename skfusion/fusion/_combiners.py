"""Rules that merge member probabilities in soft voting.

A combiner is a function ``combiner(probas, weights) -> ndarray`` where
``probas`` has shape ``(n_members, n_samples, n_classes)`` and ``weights``
shape ``(n_members, n_samples)``: non-negative, summing to one over the
members of each sample (a member that cannot see a sample has weight 0 there).
It returns scores of shape ``(n_samples, n_classes)``; the estimator
normalises each row to sum to one, so a combiner need not.
"""

import numpy as np

from .._registry import Registry

_COMBINERS = Registry("combiner", "skfusion.combiners")

# probabilities of exactly 0 would make the geometric mean 0 whatever the
# other members say; clip them to a tiny value instead
_EPS = 1e-12


def register_combiner(name, func, *, overwrite=False):
    """Register a soft-voting rule under ``name``.

    Parameters
    ----------
    name : str
        Name to pass as ``combiner=name`` to :class:`LateFusionClassifier`.

    func : callable
        ``func(probas, weights)`` with ``probas`` of shape
        ``(n_members, n_samples, n_classes)`` and ``weights`` of shape
        ``(n_members, n_samples)``; returns ``(n_samples, n_classes)``.

    overwrite : bool, default=False
        Replace an existing entry of the same name.

    Returns
    -------
    func : callable
        ``func`` itself, so this can be used as a decorator factory's body.

    See Also
    --------
    get_combiner : Look a registered combiner up by name.
    available_combiners : The names registered so far.
    skfusion.fusion.LateFusionClassifier : Fuses its members' probabilities with ``combiner=``.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.fusion import register_combiner, get_combiner
    >>> def weighted_max(probas, weights):
    ...     return (probas * weights[:, :, None]).max(axis=0)
    >>> _ = register_combiner("doc_max", weighted_max)
    >>> get_combiner("doc_max") is weighted_max
    True
    """
    return _COMBINERS.register(name, func, overwrite=overwrite)


def get_combiner(name):
    """Return the combiner registered as ``name`` (built-in or plugin).

    Parameters
    ----------
    name : str
        ``"mean"``, ``"geometric"``, or a name registered with
        :func:`register_combiner` or through the ``skfusion.combiners``
        entry-point group.

    Returns
    -------
    combiner : callable
        ``combiner(probas, weights)``, as described in :func:`register_combiner`.

    See Also
    --------
    register_combiner : Add a combiner under a new name.
    available_combiners : The names it accepts.

    Examples
    --------
    >>> import numpy as np
    >>> from skfusion.fusion import get_combiner
    >>> probas = np.array([[[0.2, 0.8]], [[0.6, 0.4]]])
    >>> get_combiner("mean")(probas, np.array([[0.5], [0.5]])).round(6).tolist()
    [[0.4, 0.6]]
    """
    return _COMBINERS.get(name)


def available_combiners():
    """Names of every registered combiner, plugins included.

    Returns
    -------
    names : list of str
        Sorted; each one :func:`get_combiner` returns.

    See Also
    --------
    get_combiner : The combiner behind each name.
    register_combiner : Add a name to this list.

    Examples
    --------
    >>> from skfusion.fusion import available_combiners
    >>> {"mean", "geometric"} <= set(available_combiners())
    True
    """
    return _COMBINERS.names()


def checked(owner, name, combiner):
    """``combiner`` whose scores are checked before they are normalised:
    ``(n_samples, n_classes)``, finite, non-negative and not all zero in any
    row, or a clear error naming ``owner`` and the combiner ``name``."""
    expected = (
        "a combiner must return finite, non-negative scores of shape (n_samples, "
        "n_classes) = {}, not all zero in any row."
    )

    def combine(probas, weights):
        scores = np.asarray(combiner(probas, weights), dtype=float)
        shape = probas.shape[1:]
        if scores.shape != shape:
            raise ValueError(
                f"{owner}: combiner {name!r} returned scores of shape {scores.shape}; "
                + expected.format(shape)
            )
        bad = ~np.isfinite(scores) | (scores < 0)
        bad_rows = np.flatnonzero(bad.any(axis=1))
        if bad_rows.size:
            row = int(bad_rows[0])
            raise ValueError(
                f"{owner}: combiner {name!r} returned negative or non-finite scores in "
                f"{bad_rows.size} of {len(scores)} rows (row {row}: min "
                f"{np.min(scores[row]):.3g}); " + expected.format(shape)
            )
        zero_rows = np.flatnonzero(scores.sum(axis=1) == 0)
        if zero_rows.size:
            raise ValueError(
                f"{owner}: combiner {name!r} returned all-zero scores in "
                f"{zero_rows.size} of {len(scores)} rows (first: row "
                f"{int(zero_rows[0])}); " + expected.format(shape)
            )
        return scores

    return combine


def arithmetic_mean(probas, weights):
    """Weighted arithmetic mean of the member probabilities."""
    return np.einsum("mn,mnk->nk", weights, probas)


def geometric_mean(probas, weights):
    """Weighted geometric mean (a product of experts), renormalised per row.

    It rewards classes every member finds plausible and punishes a class that
    one confident member rules out.
    """
    log_p = np.log(np.clip(probas, _EPS, None))
    log_mean = np.einsum("mn,mnk->nk", weights, log_p)
    log_mean -= log_mean.max(axis=1, keepdims=True)
    return np.exp(log_mean)


register_combiner("mean", arithmetic_mean)
register_combiner("arithmetic", arithmetic_mean)
register_combiner("geometric", geometric_mean)
