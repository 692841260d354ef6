"""Decision-level fusion's members: each fitted on its own columns (on the
rows where its modality is present), through the one member cache, and
asked for its output on new rows. What late fusion and stacking share."""

from functools import partial

import numpy as np
import pandas as pd
from sklearn.base import MetaEstimatorMixin, TransformerMixin
from sklearn.frozen import FrozenEstimator
from sklearn.utils import Bunch, get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._cache import loaded, member_cache
from ..utils._columns import (
    check_columns_present,
    check_X,
    present_mask,
    resolve_columns,
    select,
    take_rows,
)
from ..utils._fitting import n_outputs
from ..utils._sklearn_compat import _check_method_params, _routing_enabled, _VisualBlock
from ._base import _BaseMemberComposition, _is_drop, describe, fit_one


class _FitData:
    """What fitting the members leaves for the out-of-fold predictions: the
    members that are not dropped, their parts of X, the rows where each
    modality is present, routed metadata and the cache."""

    def __init__(self, members, parts, masks, routed, cache, prefit):
        self.members = members
        self.parts = parts
        self.masks = masks
        self.routed = routed
        self.cache = cache
        self.prefit = prefit


class _BaseMemberFusion(TransformerMixin, MetaEstimatorMixin, _BaseMemberComposition):
    """Members on their own columns, missing modalities and the member
    cache, for the estimators that fuse member outputs."""

    #: what ``missing`` must be set to for a row without a modality
    _missing_fix = "missing='renormalize' to predict them from the other members"
    #: the prefix of ``verbose`` messages, as in scikit-learn's ensembles
    _log_name = "Voting"

    @property
    def named_estimators(self):
        """The members as given, by name (a parameter view, as in
        scikit-learn's ensembles; ``named_estimators_`` holds the fitted ones).

        Returns
        -------
        named_estimators : :class:`~sklearn.utils.Bunch`
            Each member's estimator (or ``"drop"``) under its name.

        See Also
        --------
        skfusion.fusion.LateFusionClassifier.get_modalities : The columns of each fitted member.
        sklearn.ensemble.VotingClassifier : The scikit-learn ensemble with the same view.

        Examples
        --------
        >>> from sklearn.linear_model import LinearRegression, Ridge
        >>> from skfusion.fusion import LateFusionRegressor
        >>> reg = LateFusionRegressor([("a", LinearRegression(), [0]), ("b", Ridge(), [1])])
        >>> reg.named_estimators.b
        Ridge()
        >>> list(reg.named_estimators)
        ['a', 'b']
        """
        return Bunch(**{item[0]: item[1] for item in self.estimators})

    # -- fit -----------------------------------------------------------------

    def _fit_members(self, X, y, fit_params, members, *, multilabel=False,
                     prefit_all=False):
        """Fit every member that is not dropped on its columns and the rows
        where its modality is present; set the fitted attributes.

        ``members`` are the :class:`~skfusion.fusion._base.Member` tuples
        that :func:`~skfusion.fusion._base.validate_members` made.
        ``prefit_all`` (``cv="prefit"``) uses every member as it is.
        Returns the :class:`_FitData` the out-of-fold predictions need.
        """
        self._check_members(members)
        self._check_columns(X, reset=True)
        self.n_outputs_ = n_outputs(y)
        active = [m for m in members if not _is_drop(m.estimator)]
        routed = self._route_fit_params(members, fit_params)
        cache = member_cache(self.memory, type(self).__name__)
        columns = [resolve_columns(self, m, X) for m in active]
        active = [m._replace(columns=cols) for m, cols in zip(active, columns)]
        parts = [select(X, cols) for cols in columns]
        names = [m.name for m in active]
        masks = self._present_masks(parts, names, columns)
        prefit = [prefit_all or isinstance(m.estimator, FrozenEstimator) for m in active]
        if prefit_all:
            for m in active:
                check_is_fitted(m.estimator)

        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_member)(
                *self._member_fit_args(m, part, y, mask, routed[m.name]["fit"], cache,
                                       is_prefit, multilabel=multilabel,
                                       message=self._log_message(m.name, i, len(active)))
            )
            for i, (m, part, mask, is_prefit) in enumerate(
                zip(active, parts, masks, prefit), start=1)
        )
        self.estimators_ = [loaded(fitted) for fitted, _ in results]
        self._fit_keys_ = [key for _, key in results]
        self._columns_ = columns
        self._member_names_ = names
        self._all_names_ = [m.name for m in members]
        self._prefit_ = prefit
        fitted = dict(zip(names, self.estimators_))
        self.named_estimators_ = Bunch(**{
            m.name: fitted.get(m.name, "drop") for m in members
        })
        return _FitData(active, parts, masks, routed, cache, prefit)

    def _check_members(self, members):
        """Refuse members the fusion cannot use (each subclass says which)."""

    def _member_fit_args(self, member, X_part, y, rows, fit_params, cache, prefit,
                         *, multilabel=False, message=None, fold=None):
        """Arguments of :func:`_fit_member` for one member (its columns
        resolved) on its part of X and the ``rows`` (indices or a mask; None
        or all-true: every row) of all of X or of cross-validation ``fold``
        (numbered from 1)."""
        if rows is not None and rows.dtype == bool:
            rows = None if rows.all() else np.flatnonzero(rows)
        if rows is not None and rows.size == 0 and not prefit:
            if fold is None:
                where = "X"
                fix = "drop the member (set it to 'drop') or give X rows that have the modality"
            else:
                where = f"the training part of cross-validation fold {fold}"
                fix = "use fewer folds (cv) or give more rows the modality"
            raise ValueError(
                f"{type(self).__name__}: no row of {where} has a value in any column of "
                f"{describe('modality', member.name, member.columns)}, so member "
                f"{member.name!r} has nothing to be fitted on; {fix}."
            )
        if rows is not None:
            fit_params = _check_method_params(X_part, fit_params, rows)
            X_part, y = take_rows(X_part, rows), take_rows(y, rows)
        context = {
            "owner": type(self).__name__,
            "name": member.name,
            "what": describe("member", member.name, member.columns),
            "multilabel": multilabel,
            "log_name": self._log_name,
            "message": message,
        }
        return member.estimator, X_part, y, fit_params, cache, context, prefit

    def _log_message(self, name, idx, total):
        if not self.verbose:
            return None
        return f"({idx} of {total}) Processing {name}"

    def _present_masks(self, parts, names, columns):
        """Per member, the rows where its modality (its part of X) has a value."""
        masks = [present_mask(part) for part in parts]
        for name, cols, mask in zip(names, columns, masks):
            n_missing = int((~mask).sum())
            if n_missing and self.missing == "error":
                raise ValueError(
                    f"{type(self).__name__}: {n_missing} of {mask.size} rows have no "
                    f"value in any column of {describe('modality', name, cols)}; set "
                    f"{self._missing_fix}, or impute them."
                )
        return masks

    def _route_fit_params(self, members, fit_params):
        if _routing_enabled():
            return process_routing(self, "fit", **fit_params)
        sample_weight = (
            {"sample_weight": fit_params["sample_weight"]}
            if fit_params.get("sample_weight") is not None
            else {}
        )
        return Bunch(**{m.name: Bunch(fit=sample_weight) for m in members})

    def _check_columns(self, X, *, reset):
        """``validate_data(self, X, skip_check_array=True, reset=reset)``, done
        directly for a DataFrame whose column names are all strings: fit
        records them (as validate_data would, without looking up every
        member's tags and wrapping X), and a later call with exactly those
        names has nothing to check."""
        if isinstance(X, pd.DataFrame):
            columns = X.columns.tolist()
            if columns and all(type(c) is str for c in columns):
                if reset:
                    self.feature_names_in_ = np.asarray(columns, dtype=object)
                    self.n_features_in_ = len(columns)
                    return
                names = self.__dict__.get("feature_names_in_")
                if names is not None and columns == names.tolist():
                    return
        validate_data(self, X, skip_check_array=True, reset=reset)

    # -- member outputs on new rows -------------------------------------------

    def _check_fitted(self):
        """``check_is_fitted(self, "estimators_")``, asked only when that
        attribute is not there: it looks the tags up, which asks every
        member for theirs, and a weight search predicts once per candidate."""
        if "estimators_" not in vars(self):
            check_is_fitted(self, "estimators_")

    def _member_blocks(self, X, methods, to_block):
        """Each fitted member's output for the rows of X where its modality
        is present, as a block by ``to_block(i, member, raw, n_rows, method)``.

        Returns the blocks, ``(n_samples, width_i)`` each with NaN in the
        rows a member cannot see, and ``available`` ``(n_members,
        n_samples)``: which member saw which row.
        """
        self._check_fitted()
        X = check_X(self, X)
        # names first, so a missing column is reported by name and member
        for name, cols in zip(self._member_names_, self._columns_):
            check_columns_present(self, f"member {name!r}", cols, X, when="predict")
        self._check_columns(X, reset=False)
        parts = [self._modality_input(X, name, cols)
                 for name, cols in zip(self._member_names_, self._columns_)]
        masks = self._present_masks(parts, self._member_names_, self._columns_)
        cache = member_cache(self.memory, type(self).__name__)
        n = X.shape[0]
        blocks = []
        for i, (est, X_part, mask, key, method) in enumerate(
            zip(self.estimators_, parts, masks, self._fit_keys_, methods)
        ):
            rows = np.flatnonzero(mask)
            block = None
            if rows.size:
                if rows.size < n:
                    X_part = take_rows(X_part, rows)
                raw = cache.output(est, key, X_part, method)
                block = to_block(i, est, raw, rows.size, method)
            blocks.append(_spread(block, rows, n))
        return blocks, np.stack(masks) if masks else np.zeros((0, n), dtype=bool)

    # -- inspection, routing, tags ---------------------------------------------

    def _sk_visual_block_(self):
        names, estimators = zip(*[(item[0], item[1]) for item in self.estimators])
        return _VisualBlock("parallel", estimators, names=names)

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        ``fit`` routes metadata (``sample_weight`` and whatever a member
        requests) to each member's ``fit``.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.

        See Also
        --------
        sklearn.utils.metadata_routing.get_routing_for_object : Routing of any object.
        sklearn.ensemble.VotingClassifier.get_metadata_routing : The same routing in scikit-learn.

        Examples
        --------
        >>> import sklearn
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> with sklearn.config_context(enable_metadata_routing=True):
        ...     member = LinearRegression().set_fit_request(sample_weight=True)
        ...     reg = LateFusionRegressor([("a", member, [0]), ("b", LinearRegression(), [1])])
        ...     routing = reg.get_metadata_routing()
        >>> sorted(routing.consumes("fit", ["sample_weight"]))
        ['sample_weight']
        """
        router = MetadataRouter(owner=self)
        for name, estimator in self._estimators:
            router.add(
                **{name: estimator},
                method_mapping=MethodMapping().add(callee="fit", caller="fit"),
            )
        return router

    def _with_member_tags(self, tags):
        """``tags`` with what follows from the members' tags, each looked up
        once (a grid search asks for our tags several times per candidate).

        Subclasses apply it to their mixin's tags: ``ClassifierMixin`` would
        replace classifier tags set by this base class.
        """
        try:
            members = [item[1] for item in self.estimators if not _is_drop(item[1])]
            member_tags = [get_tags(est) for est in members]
        except Exception:
            # malformed ``estimators``: fit raises a clear error about it
            return tags
        tags.input_tags.allow_nan = all(t.input_tags.allow_nan for t in member_tags)
        tags.input_tags.sparse = all(t.input_tags.sparse for t in member_tags)
        tags.target_tags.multi_output = all(t.target_tags.multi_output for t in member_tags)
        tags.transformer_tags.preserves_dtype = []
        if tags.classifier_tags is not None:
            # a fusion of classifiers is multi-label when every member is
            tags.classifier_tags.multi_label = all(
                t.classifier_tags is not None and t.classifier_tags.multi_label
                for t in member_tags
            )
        return tags


def _fit_member(estimator, X, y, fit_params, cache, context, prefit):
    """Fit (or find in ``cache``) one member; a prefit member is used as it
    is: never cloned, refitted or cached. Returns ``(fitted, key)``."""
    if prefit:
        return estimator, None
    return cache.fit(estimator, X, y, fit_params, partial(_fit_clone, context=context))


def _fit_clone(estimator, X, y, fit_params, *, context):
    return fit_one(estimator, X, y, fit_params, context)


def _spread(block, rows, n):
    """A block of ``rows`` as ``(n, width)`` rows, NaN elsewhere (None: a
    member that saw no row, whose width is not known yet)."""
    if block is None or rows.size == n:
        return block
    out = np.full((n, block.shape[1]), np.nan)
    out[rows] = block
    return out
