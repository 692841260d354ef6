"""What every fusion estimator shares: modality triples and their
parameters, and fitting members on their own columns with a clear error
when one fails."""

from collections import namedtuple
from numbers import Integral

import numpy as np
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ..utils._doc_link import DocLinkMixin
from ..utils._modalities import ModalityInputMixin
from ..utils._sklearn_compat import Interval, _BaseComposition, _print_elapsed_time

#: ``n_jobs`` as joblib reads it: None, a number of jobs, or -1 (every
#: core) and below; 0 means nothing to joblib
N_JOBS = [
    None,
    Interval(Integral, None, -1, closed="right"),
    Interval(Integral, 1, None, closed="left"),
]

#: One modality: a name, the estimator that handles it (or "drop") and the
#: columns it sees (``None``: every column, as in ``VotingClassifier``).
Member = namedtuple("Member", ["name", "estimator", "columns"])


class _BaseMemberComposition(DocLinkMixin, ModalityInputMixin, _BaseComposition):
    """``get_params``/``set_params`` over ``(name, estimator[, columns])`` items,
    and the modalities they make (``get_modalities``, ``with_modality_input``).

    scikit-learn's ``_BaseComposition`` expects ``(name, estimator)`` pairs;
    like ``ColumnTransformer`` we expose pairs through ``_estimators`` and
    write the columns back unchanged on ``set_params``.
    """

    _members_attr = "estimators"
    #: the fitted attribute naming the members that are not dropped
    _names_attr = "_member_names_"

    @property
    def _estimators(self):
        try:
            return [(item[0], item[1]) for item in getattr(self, self._members_attr)]
        except (TypeError, IndexError):
            # malformed ``estimators``: fit reports it with a proper message
            return []

    @_estimators.setter
    def _estimators(self, value):
        items = getattr(self, self._members_attr)
        setattr(
            self,
            self._members_attr,
            [
                (name, est, *item[2:])
                for (name, est), item in zip(value, items, strict=True)
            ],
        )

    def get_params(self, deep=True):
        """Get parameters of this estimator and, with ``deep``, of its members.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return the members (by name) and their parameters
            (``name__param``).

        Returns
        -------
        params : dict
            Parameter names mapped to their values.

        See Also
        --------
        skfusion.fusion.LateFusionClassifier.set_params : Set them, members included.
        sklearn.base.BaseEstimator.get_params : The same for an estimator without members.

        Examples
        --------
        >>> from sklearn.linear_model import LinearRegression, Ridge
        >>> from skfusion.fusion import LateFusionRegressor
        >>> reg = LateFusionRegressor([("a", LinearRegression(), [0]), ("b", Ridge(), [1])])
        >>> params = reg.get_params()
        >>> params["b"], params["b__alpha"]
        (Ridge(), 1.0)
        >>> sorted(reg.get_params(deep=False))[:3]
        ['cv', 'estimators', 'memory']
        """
        return self._get_params("_estimators", deep=deep)

    def set_params(self, **params):
        """Set parameters of this estimator or of its members.

        A member can be replaced (``text=LogisticRegression()``), dropped
        (``text="drop"``) or tuned (``text__C=10``).

        Parameters
        ----------
        **params : dict
            Estimator parameters.

        Returns
        -------
        self : estimator instance
            This estimator, its parameters set.

        See Also
        --------
        skfusion.fusion.LateFusionClassifier.get_params : The parameters it sets.
        sklearn.base.BaseEstimator.set_params : The same for an estimator without members.

        Examples
        --------
        >>> from sklearn.linear_model import LinearRegression, Ridge
        >>> from skfusion.fusion import LateFusionRegressor
        >>> reg = LateFusionRegressor([("a", LinearRegression(), [0]), ("b", Ridge(), [1])])
        >>> reg.set_params(b__alpha=10.0, a="drop").get_params()["b__alpha"]
        10.0
        >>> reg.named_estimators.a
        'drop'
        """
        if self._members_attr in params:
            # the members first, so that parameters of new members can follow
            # (as in VotingClassifier)
            setattr(self, self._members_attr, params.pop(self._members_attr))
        members = {name for name, _ in self._estimators}
        if not members.intersection(params) and set(params).issubset(self.get_params(deep=False)):
            # only this estimator's own parameters (a grid search's weights):
            # what BaseEstimator.set_params does, without first walking every
            # member's parameters to find the keys it accepts
            for key, value in params.items():
                setattr(self, key, value)
            return self
        self._set_params("_estimators", **params)
        return self

    def get_modalities(self):
        """The columns of X each fitted member sees, by member name.

        Every skfusion fusion estimator implements it;
        :func:`~skfusion.inspection.modality_importance` asks it which
        columns make each modality.

        Returns
        -------
        modalities : dict of str to column spec
            ``{name: columns}`` of the members (early fusion: blocks) that
            are not dropped, in order, as resolved in ``fit``; ``None`` for
            a member that sees every column.

        See Also
        --------
        skfusion.inspection.modality_importance : Each modality's importance, by these columns.
        skfusion.fusion.LateFusionClassifier.named_estimators : The members as given.

        Examples
        --------
        >>> import numpy as np
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> X = np.arange(12.0).reshape(4, 3)
        >>> y = X.sum(axis=1)
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), [0, 1]), ("b", LinearRegression(), [2])]
        ... ).fit(X, y)
        >>> reg.get_modalities()
        {'a': [0, 1], 'b': [2]}
        """
        check_is_fitted(self, "_columns_")
        return dict(zip(getattr(self, self._names_attr), self._columns_))


def final_has(method):
    """Make ``method`` available (``available_if``) when the final estimator
    has it: the fitted one, else the one given, else (``None`` given) the
    default. The estimator names its final parameter in ``_final_param``."""

    def check(self):
        final = getattr(self, self._final_param + "_", None)
        if final is None:
            final = getattr(self, self._final_param)
        if final is None:
            final = self._default_final_estimator()
        getattr(final, method)
        return True

    return available_if(check)


def _owner(estimator):
    return type(estimator).__name__


def validate_members(owner, items, *, param="estimators", passthrough=False):
    """Turn the user's items into :class:`Member` tuples, or say what is wrong.

    ``passthrough`` allows ``"passthrough"`` in place of an estimator, as a
    block of early fusion may be.
    """
    kind = "(name, estimator) pairs or (name, estimator, columns) triples"
    if (
        not isinstance(items, (list, tuple))
        or len(items) == 0
        or not all(
            isinstance(item, (tuple, list))
            and len(item) in (2, 3)
            and isinstance(item[0], str)
            for item in items
        )
    ):
        raise ValueError(
            f"{_owner(owner)}: Invalid '{param}' attribute, '{param}' should be a "
            f"non-empty list of {kind}; got {items!r}."
        )
    members = [Member(item[0], item[1], item[2] if len(item) == 3 else None) for item in items]

    names = [m.name for m in members]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(
            f"{_owner(owner)}: {param} names must be unique, but {duplicated} "
            f"appear more than once in {names}; give each member its own name."
        )
    owner._validate_names(names)

    if all(_is_drop(m.estimator) for m in members):
        raise ValueError(
            f"{_owner(owner)}: All estimators are dropped. At least one is "
            f"required to be an estimator; {param} names: {names}."
        )
    for m in members:
        if passthrough and isinstance(m.estimator, str) and m.estimator == "passthrough":
            continue
        if not _is_drop(m.estimator) and not hasattr(m.estimator, "fit"):
            raise TypeError(
                f"{_owner(owner)}: member {m.name!r} must be an estimator with a "
                f"fit method or 'drop', got {m.estimator!r}."
            )
    return members


def _is_drop(estimator):
    return isinstance(estimator, str) and estimator == "drop"


# --- fitting one member --------------------------------------------------


def fit_one(estimator, X, y, fit_params, context=None):
    """Fit ``estimator`` (already a clone); turn the usual failures into
    messages that name the member.

    ``context`` is a dict with ``owner`` and ``name`` (the member), and
    optionally ``what`` (the member as a failure names it, see
    :func:`describe`), ``multilabel`` and ``message``, printed with the time
    taken (``verbose``).
    """
    context = context or {}
    with _print_elapsed_time(context.get("log_name"), context.get("message")):
        try:
            estimator.fit(X, y, **fit_params)
        except TypeError as exc:
            if "unexpected keyword argument 'sample_weight'" in str(exc):
                raise TypeError(
                    f"Underlying estimator {type(estimator).__name__} does not "
                    "support sample weights."
                ) from exc
            raise
        except Exception as exc:
            if (
                context.get("multilabel")
                and np.ndim(y) == 2
                and not _supports_multilabel(estimator)
            ):
                raise ValueError(
                    f"{context['owner']}: member {context['name']!r} "
                    f"({type(estimator).__name__}) cannot fit multi-label y of shape "
                    f"{np.shape(y)}: {exc} Wrap it in "
                    "sklearn.multiclass.OneVsRestClassifier or use an estimator "
                    "that supports multi-label targets."
                ) from exc
            if "what" in context:
                raise_named(exc, f"{context['owner']}: {context['what']} failed to fit")
            raise
    return estimator


def describe(kind, name, columns):
    """``member 'text' (columns 'text')``: a member (block, branch) and its
    columns, as errors name them."""
    return f"{kind} {name!r} ({'all columns' if columns is None else f'columns {columns!r}'})"


def raise_named(exc, prefix):
    """Raise ``exc`` again as ``"<prefix>: <its message>"``, of its own type
    and chained to it, so that code catching that type still does.

    The fusion cannot know what a member expects of its columns (text, say),
    so a member's failure is reported as it is, under the member's name. An
    exception that is more than its message (an ``OSError``'s errno, a
    ``KeyError``'s key) is raised unchanged, with ``prefix`` as a note.
    """
    message = str(exc)
    if exc.args == (message,):
        try:
            named = type(exc)(f"{prefix}: {message}")
        except Exception:
            named = None
        if named is not None and str(named) == f"{prefix}: {message}":
            raise named from exc
    exc.add_note(prefix)
    raise exc


def _supports_multilabel(estimator):
    """Whether a member says it fits multi-label y: its failure then has
    another cause, and is reported as it is."""
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.multioutput import ClassifierChain, MultiOutputClassifier
    from sklearn.utils import get_tags

    # scikit-learn's own multi-label wrappers do not say so in their tags
    last = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    if isinstance(last, (OneVsRestClassifier, MultiOutputClassifier, ClassifierChain)):
        return True
    try:
        classifier_tags = get_tags(estimator).classifier_tags
    except Exception:
        return False
    return classifier_tags is not None and classifier_tags.multi_label
