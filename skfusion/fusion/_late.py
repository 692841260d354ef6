"""Late (decision-level) fusion: weighted voting over per-modality members."""

from numbers import Integral

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import (
    ClassifierMixin,
    clone,
    MetaEstimatorMixin,
    RegressorMixin,
    TransformerMixin,
    is_classifier,
)
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import check_cv
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch, get_tags
from sklearn.utils._repr_html.estimator import _VisualBlock
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ..utils._sklearn_compat import (
    HasMethods,
    StrOptions,
    _check_feature_names_in,
    _check_method_params,
    _fit_context,
    _raise_for_params,
    _routing_enabled,
)
from .._cache import member_store
from ._base import (
    Member,
    _BaseMemberComposition,
    _is_drop,
    as_matrix,
    check_columns_present,
    check_X,
    concat_blocks,
    fit_member,
    loaded,
    member_output,
    present_mask,
    resolve_columns,
    select,
    take_rows,
    validate_members,
)
from ._combiners import get_combiner

# log-loss of a probability of exactly 0 is infinite; the weight search clips
_LOG_EPS = 1e-15


class _BaseLateFusion(TransformerMixin, MetaEstimatorMixin, _BaseMemberComposition):
    """Member handling, weights, missing modalities and caching for late fusion.

    Subclasses say which member method gives the scores that are fused, how a
    member's raw output becomes a ``(n_samples, n_outputs)`` score block, how
    blocks are combined and which loss learns ``weights="auto"``.
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", dict, StrOptions({"auto"}), None],
        "final_estimator": [None, HasMethods(["fit", "predict"])],
        # a bool, a column spec or a (transformer, columns) pair: checked in fit
        "passthrough": "no_validation",
        "cv": ["cv_object"],
        "missing": [StrOptions({"error", "renormalize"})],
        "n_jobs": [None, Integral],
        "memory": [None, str, HasMethods(["cache"])],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        final_estimator=None,
        passthrough=None,
        cv=5,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=False,
    ):
        self.estimators = estimators
        self.weights = weights
        self.final_estimator = final_estimator
        self.passthrough = passthrough
        self.cv = cv
        self.missing = missing
        self.n_jobs = n_jobs
        self.memory = memory
        self.verbose = verbose

    # -- fit ---------------------------------------------------------------

    def _fit_or_reset(self, X, y, fit_params):
        """``_fit``; a fit that fails leaves the estimator unfitted, never
        half-updated (new labels over old members)."""
        try:
            return self._fit(X, y, fit_params)
        except BaseException:
            for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
                delattr(self, name)
            raise

    def _fit(self, X, y, fit_params):
        """Fit the members on ``y`` as the members see it (encoded labels);
        ``X`` has been through :func:`check_X`."""
        members = validate_members(self, self.estimators)
        self._check_member_methods(members)
        if self.final_estimator is not None and self.weights is not None:
            raise ValueError(
                f"{type(self).__name__}: weights={self.weights!r} has no effect with "
                "a final_estimator, which learns how to combine the members from "
                "their out-of-fold predictions; set weights=None, or "
                "final_estimator=None to vote with weights."
            )
        raw_weights = self._check_weights(members)
        self._check_columns(X, reset=True)

        active = [m for m in members if not _is_drop(m.estimator)]
        routed = self._route_fit_params(members, fit_params)
        # memory has been checked against _parameter_constraints
        store = member_store(self.memory)
        columns = [resolve_columns(self, m, X) for m in active]
        parts = [select(X, cols) for cols in columns]
        names = [m.name for m in active]
        masks = self._present_masks(parts, names, columns)

        jobs = []
        for idx, (m, part, mask) in enumerate(zip(active, parts, masks)):
            rows = None if mask.all() else np.flatnonzero(mask)
            args = self._fit_args(m, part, y, rows, routed[m.name]["fit"], store,
                                  message=self._log_message(m.name, idx + 1, len(active)))
            jobs.append(delayed(fit_member)(*args))
        results = Parallel(n_jobs=self.n_jobs)(jobs)

        self._check_prefit_classes(active, [fitted for fitted, _ in results])
        # fitted members, or StoredMember handles that load on first use
        self._members_ = [fitted for fitted, _ in results]
        self._fit_keys_ = [key for _, key in results]
        self._columns_ = columns
        self._member_names_ = names
        self._all_names_ = [m.name for m in members]

        if self.final_estimator is not None:
            self.weights_ = None
            oof = self._oof_scores(X, y, active, parts, masks, routed, store)
            self._fit_final_estimator(X, y, *oof, fit_params)
            return self
        if isinstance(raw_weights, str):
            oof = self._oof_scores(X, y, active, parts, masks, routed, store)
            weights = self._learn_weights(y, *oof, routed[active[0].name]["fit"])
        else:
            weights = raw_weights
        self.weights_ = weights / weights.sum()
        return self

    def _check_prefit_classes(self, members, fitted):
        """A prefit member must know only classes that y has."""
        classes = getattr(self, "classes_", None)
        if classes is None or getattr(self, "_multilabel", False):
            return
        for m, est in zip(members, fitted):
            extra = np.setdiff1d(getattr(est, "classes_", classes), classes) if _is_prefit(est) else []
            if len(extra):
                raise ValueError(
                    f"{type(self).__name__}: prefit member {m.name!r} predicts classes "
                    f"{extra.tolist()} that y does not have (y has {classes.tolist()}); "
                    "fit the fusion on y with every class the member knows."
                )

    def _fit_args(self, member, X_part, y, rows, fit_params, store, message=None):
        """Arguments of :func:`fit_member` for one member on its part of X
        and (optionally) some of its rows."""
        if rows is not None:
            fit_params = _check_method_params(X_part, fit_params, rows)
            X_part, y = take_rows(X_part, rows), take_rows(y, rows)
        context = {
            "owner": type(self).__name__,
            "name": member.name,
            "multilabel": getattr(self, "_multilabel", False),
        }
        return (member.estimator, X_part, y, fit_params, store, self._log_name,
                message, context, _is_prefit(member.estimator))

    _log_name = "Voting"

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
                    f"value in any column of modality {name!r} (columns "
                    f"{'all' if cols is None else cols!r}); set "
                    "missing='renormalize' to predict them from the other members, "
                    "or impute them."
                )
        return masks

    def _check_weights(self, members):
        """Weights of the non-dropped members as floats, or ``"auto"``."""
        names = [m.name for m in members]
        owner = type(self).__name__
        weights = self.weights
        if weights is None:
            values = np.ones(len(members))
        elif isinstance(weights, str):
            return weights
        elif isinstance(weights, dict):
            unknown = sorted(set(weights) - set(names))
            if unknown:
                raise ValueError(
                    f"{owner}: weights names {unknown} which is not an estimator; "
                    f"the estimators are {names}. Use their names as keys."
                )
            values = np.array([weights.get(name, 1.0) for name in names], dtype=float)
        else:
            values = np.asarray(weights, dtype=float).ravel()
            if values.size != len(members):
                raise ValueError(
                    f"{owner}: weights has {values.size} entries but there are "
                    f"{len(members)} estimators {tuple(names)}; give one weight per "
                    "estimator or a dict by name. Number of `estimators` and "
                    "weights must be equal."
                )
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(
                f"{owner}: weights must be finite and non-negative, got "
                f"{dict(zip(names, values.tolist()))}."
            )
        active = np.array([not _is_drop(m.estimator) for m in members])
        values = values[active]
        if values.sum() == 0:
            raise ValueError(
                f"{owner}: weights of the estimators that are not dropped are all "
                f"zero ({dict(zip(np.array(names)[active], values.tolist()))}); at "
                "least one must be positive."
            )
        return values

    def _route_fit_params(self, members, fit_params):
        if _routing_enabled():
            return process_routing(self, "fit", **fit_params)
        sample_weight = (
            {"sample_weight": fit_params["sample_weight"]}
            if fit_params.get("sample_weight") is not None
            else {}
        )
        return Bunch(**{m.name: Bunch(fit=sample_weight) for m in members})

    # -- out-of-fold member scores: learned weights and stacking -------------------

    def _oof_scores(self, X, y, members, parts, masks, routed, store):
        """Out-of-fold scores of every member (folds from ``cv``).

        Returns ``scores`` ``(n_members, n_samples, ...)``, ``available``
        ``(n_members, n_samples)`` (whether a member scored the row: its
        modality is present) and ``seen`` (rows some member scored).
        """
        y_cv = y if getattr(self, "_multilabel", False) else np.asarray(y)
        cv = check_cv(self.cv, y_cv, classifier=is_classifier(self))
        folds = list(cv.split(X, y_cv))
        method = self._fused_method()
        jobs, where = [], []
        for i, (m, part, mask) in enumerate(zip(members, parts, masks)):
            for train, test in folds:
                train, test = train[mask[train]], test[mask[test]]
                jobs.append(delayed(_oof_output)(
                    self._fit_args(m, part, y, train, routed[m.name]["fit"], store),
                    take_rows(part, test),
                    method,
                    store,
                ))
                where.append((i, test))
        outputs = Parallel(n_jobs=self.n_jobs)(jobs)

        n = masks[0].size
        scores, available = None, np.zeros((len(members), n), dtype=bool)
        for (i, test), (fitted, raw) in zip(where, outputs):
            if raw is None:  # the member sees no row of this test fold
                continue
            block = self._scores(fitted, raw, len(test), prefit=_is_prefit(fitted))
            if scores is None:
                scores = np.zeros((len(members), n, *block.shape[1:]))
            scores[i, test] = block
            available[i, test] = True

        return scores, available, available.any(axis=0)

    def _learn_weights(self, y, scores, available, seen, fit_params):
        """Weights on the simplex minimising the fusion loss on out-of-fold scores."""
        scores, available = scores[:, seen], available[:, seen]
        y_seen = take_rows(y, np.flatnonzero(seen))
        sample_weight = fit_params.get("sample_weight")
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight)[seen]

        m = len(scores)

        def loss(w):
            # the optimiser may step off the simplex; score the nearest point on it
            w = np.clip(w, 0.0, None)
            w = w / w.sum() if w.sum() > 0 else np.full(m, 1.0 / m)
            fused = self._fuse(scores, _row_weights(w, available))
            return self._weight_loss(fused, y_seen, sample_weight)

        if m == 1:
            return np.ones(1)
        result = minimize(
            loss,
            np.full(m, 1.0 / m),
            method="SLSQP",
            bounds=[(0.0, 1.0)] * m,
            constraints=({"type": "eq", "fun": lambda w: w.sum() - 1.0},),
        )
        weights = np.clip(result.x, 0.0, None)
        if weights.sum() == 0 or not loss(weights) <= loss(np.full(m, 1.0 / m)):
            # never worse than equal weights on the data it was learned from
            weights = np.full(m, 1.0 / m)
        return weights

    def _fit_final_estimator(self, X, y, scores, available, seen, fit_params):
        """Fit ``final_estimator`` on the out-of-fold member scores (and the
        passthrough features) of the rows some member could score."""
        self.passthrough_, self._passthrough_columns_ = self._fit_passthrough(X, y)
        self._score_shape_ = scores.shape[2:]
        if self.passthrough_ is not None:
            # a row no member can see still has its passthrough features
            seen = np.ones_like(seen)
        rows = np.flatnonzero(seen)
        X_seen = X if rows.size == len(seen) else take_rows(X, rows)
        Z = self._stack_input(X_seen, scores[:, seen], available[:, seen])
        sample_weight = fit_params.get("sample_weight")
        params = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)[seen]}
        self.final_estimator_ = clone(self.final_estimator).fit(Z, take_rows(y, rows), **params)

    def _fit_passthrough(self, X, y):
        """The fitted passthrough transformer (or ``"passthrough"``) and its
        columns, or ``(None, None)``."""
        spec = self.passthrough
        if spec is None or spec is False:
            return None, None
        if spec is True:
            transformer, columns = "passthrough", None
        elif (
            isinstance(spec, tuple)
            and len(spec) == 2
            and (hasattr(spec[0], "transform") or _is_passthrough(spec[0]))
        ):
            transformer, columns = spec
        else:
            transformer, columns = "passthrough", spec
        columns = resolve_columns(self, Member("passthrough", transformer, columns), X)
        if not _is_passthrough(transformer):
            transformer = clone(transformer).fit(select(X, columns), y)
        return transformer, columns

    def _stack_input(self, X, scores, available):
        """What ``final_estimator`` sees: member scores side by side (NaN
        where a member cannot see the row), then the passthrough features."""
        scores = np.array(scores, dtype=float)
        scores[~available] = np.nan
        if self._drops_first_score():
            # binary probabilities sum to one: the second column says it all
            scores = scores[..., 1:]
        blocks = [np.hstack([block.reshape(len(block), -1) for block in scores])]
        if self.passthrough_ is not None:
            part = select(X, self._passthrough_columns_)
            if not _is_passthrough(self.passthrough_):
                part = self.passthrough_.transform(part)
            try:
                blocks.append(as_matrix(part))
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{type(self).__name__}: the passthrough columns "
                    f"{self._passthrough_columns_!r} are not numeric ({exc}); give "
                    "passthrough=(transformer, columns), e.g. (TabularEncoder(), "
                    "columns), to encode them."
                ) from exc
        return concat_blocks(blocks)

    def _drops_first_score(self):
        return False

    @property
    def _stacking(self):
        return self.__dict__.get("final_estimator_") is not None

    def _stacked(self, X, method):
        """``final_estimator_.<method>`` on the stacked member scores of X."""
        X = check_X(self, X)
        # before the members' checks, so a missing column is named as ours
        check_columns_present(self, "passthrough", self._passthrough_columns_, X, when="predict")
        scores, available = self._member_scores(X, self._fused_method())
        Z = self._stack_input(X, scores, available)
        return getattr(self.final_estimator_, method)(Z)

    # -- predict ---------------------------------------------------------------

    def _member_scores(self, X, method):
        """Scores of every fitted member, ``(n_members, n_samples, ...)``, and
        which member could see which row, ``(n_members, n_samples)``."""
        check_is_fitted(self)
        X = check_X(self, X)
        # names first, so a missing column is reported by name and member
        for name, cols in zip(self._member_names_, self._columns_):
            check_columns_present(self, name, cols, X, when="predict")
        self._check_columns(X, reset=False)
        parts = [select(X, cols) for cols in self._columns_]
        masks = self._present_masks(parts, self._member_names_, self._columns_)
        store = member_store(self.memory)
        n = masks[0].size if masks else 0
        scores = None
        for i, (est, X_part, mask, key) in enumerate(
            zip(self._members_, parts, masks, self._fit_keys_)
        ):
            rows = np.flatnonzero(mask)
            if rows.size < n:
                X_part = take_rows(X_part, rows)
            if rows.size:
                raw = member_output(est, X_part, method, store, key)
                block = self._scores(est, raw, rows.size, prefit=_is_prefit(est))
            else:
                block = None
            if scores is None and block is not None:
                scores = np.full((len(self._members_), n, *block.shape[1:]), np.nan)
            if block is not None:
                scores[i, rows] = block
        if scores is None and self._stacking:
            # no member sees any row: the final estimator still has the
            # passthrough features (and NaN for every member)
            scores = np.full((len(self._members_), n, *self._score_shape_), np.nan)
        if scores is None:
            raise ValueError(
                f"{type(self).__name__}: no member can see any row of X; every "
                "modality is missing."
            )
        return scores, np.stack(masks)

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

    def _fused(self, X):
        """The weighted fusion of member scores for X."""
        scores, available = self._member_scores(X, self._fused_method())
        weights = _row_weights(self.weights_, available)
        empty = weights.sum(axis=0) == 0
        if empty.any():
            raise ValueError(
                f"{type(self).__name__}: {int(empty.sum())} rows have no modality "
                "present for any member, so they cannot be predicted (first row: "
                f"{int(np.flatnonzero(empty)[0])}); drop them or impute a modality."
            )
        return self._fuse(np.nan_to_num(scores), weights)

    def _transform_blocks(self, X):
        scores, _ = self._member_scores(X, self._transform_method())
        return scores

    @property
    def estimators_(self):
        """The fitted members that are not ``"drop"``, in order."""
        try:
            members = self.__dict__["_members_"]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute 'estimators_'"
            ) from None
        # members read from ``memory`` are loaded once, on first access
        members[:] = [loaded(m) for m in members]
        return members

    @property
    def named_estimators_(self):
        """Fitted members by name (``"drop"`` for dropped ones)."""
        fitted = iter(self.estimators_)
        return Bunch(**{
            name: next(fitted) if name in self._member_names_ else "drop"
            for name in self._all_names_
        })

    def __getstate__(self):
        state = dict(super().__getstate__())
        if "_members_" in state:
            # a pickle must not depend on the cache directory
            state["_members_"] = [loaded(m) for m in state["_members_"]]
        return state

    def _sk_visual_block_(self):
        names, estimators = zip(*[(item[0], item[1]) for item in self.estimators])
        return _VisualBlock("parallel", estimators, names=names)

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        ``fit`` routes metadata (``sample_weight`` and whatever a member
        requests) to each member's ``fit``; ``predict`` routes none.

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
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


def _is_passthrough(transformer):
    return isinstance(transformer, str) and transformer == "passthrough"


def _oof_output(fit_args, X_test, method, store):
    """Fit (or find) a fold's member, then predict its test rows (or read them)."""
    fitted, key = fit_member(*fit_args)
    raw = member_output(fitted, X_test, method, store, key) if X_test.shape[0] else None
    return fitted, raw


def _is_prefit(estimator):
    """A member fitted elsewhere, on the original labels, and never refitted."""
    return isinstance(estimator, FrozenEstimator)


def _check_y_given(estimator, y):
    if y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y "
            "is None."
        )


def _positive_proba(per_label, classes=None):
    """``(n_samples, n_labels)`` probabilities of label 1 from one
    ``(n_samples, n_classes_j)`` array per label (0 where a label never
    saw a 1)."""
    if classes is None:
        classes = [np.arange(p.shape[1]) for p in per_label]
    return np.column_stack([
        p[:, list(c).index(1)] if 1 in list(c) else np.zeros(len(p))
        for p, c in zip(per_label, classes)
    ])


def _row_weights(weights, available):
    """Member weights per row, zero where a member cannot see the row,
    normalised to sum to one over the members that can.

    A row whose visible members all weigh zero is shared equally among them:
    a weight ranks members against each other, it does not veto the only
    modality a row has.
    """
    w = np.asarray(weights, dtype=float)[:, None] * available
    unweighted = w.sum(axis=0) == 0
    w[:, unweighted] = available[:, unweighted]
    total = w.sum(axis=0, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)


class LateFusionClassifier(ClassifierMixin, _BaseLateFusion):
    """Decision-level fusion: each modality's classifier votes, weighted.

    Each member is a classifier (any scikit-learn classifier or Pipeline,
    XGBoost, a Keras-based estimator, or a prefit model wrapped in
    :class:`sklearn.frozen.FrozenEstimator`) fitted on its own columns. Soft
    voting fuses their class probabilities with a weighted ``combiner``; hard
    voting takes the weighted majority of their labels. With ``(name,
    estimator)`` pairs every member sees every column, so this is a drop-in
    replacement for :class:`sklearn.ensemble.VotingClassifier` that adds
    per-modality columns, learned weights, missing modalities, multi-label
    targets and cached members.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) or (str, estimator) tuples
        The members. ``columns`` selects what the member sees, exactly like
        :class:`~sklearn.compose.ColumnTransformer` (a name, a list of names,
        ints, a slice, a boolean mask or a callable such as
        :func:`~sklearn.compose.make_column_selector`); a pair means all
        columns. A member can be set to ``"drop"``. Members are cloned and
        fitted on integer-encoded labels (see ``le_``), except
        ``FrozenEstimator`` members, which are used as they are.

    weights : array-like of shape (n_estimators,), dict, "auto" or None, \
            default=None
        Member weights. ``None`` weighs members equally; a list gives one
        weight per entry of ``estimators`` (dropped ones included); a dict
        maps member names to weights (members it omits weigh 1); ``"auto"``
        learns weights on the simplex from out-of-fold member predictions
        (folds from ``cv``) by minimising the log-loss of the fused
        probabilities (soft voting) or the Brier score of the fused votes
        (hard voting), never ending worse than equal weights. ``weights``
        is settled by ``fit`` (``weights_``), while ``voting`` and
        ``combiner`` are read when predicting; with ``memory`` a refit for
        new weights refits no member.

    voting : {"soft", "hard"}, default="soft"
        ``"soft"`` fuses predicted probabilities with ``combiner``;
        ``"hard"`` predicts the weighted majority of the members' labels
        (ties go to the smaller class). ``predict_proba`` only exists for
        soft voting.

    combiner : str or callable, default=None
        Soft-voting rule: ``None`` or ``"mean"`` (weighted arithmetic mean),
        ``"geometric"`` (weighted geometric mean, renormalised), any name
        registered with :func:`register_combiner` or through the
        ``skfusion.combiners`` entry-point group, or a callable with the same
        signature. Ignored by hard voting.

    final_estimator : estimator, default=None
        Turns voting into stacking: a classifier fitted on the members'
        out-of-fold outputs (folds from ``cv``; probabilities, without the
        redundant first column for binary y) and any ``passthrough``
        features, then used to predict from the members refitted on all of
        X. A row whose modality is missing has NaN in that member's columns
        (``missing="renormalize"``), so pick a final estimator that takes
        NaN, such as :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
        ``weights`` must then be None. Its parameters are searchable as
        ``final_estimator__<param>``.

    passthrough : bool, column spec or (transformer, columns), default=None
        Raw features handed to ``final_estimator`` beside the member outputs:
        ``True`` for every column of X, a column spec (as in ``estimators``)
        for some numeric columns, or a ``(transformer, columns)`` pair whose
        transformer (cloned, fitted on all rows) encodes them, such as
        ``(TabularEncoder(), ["Age", "Department Name"])``: combine some
        features early, merge predictions late. Ignored without a
        ``final_estimator``.

    cv : int, cross-validation generator or iterable, default=5
        Folds for the out-of-fold predictions that learn ``weights="auto"``
        or fit ``final_estimator``; an int gives (stratified) k-fold as in
        :func:`~sklearn.model_selection.cross_val_predict`. Splitters that
        need ``groups`` are not supported yet; pass the folds as an iterable.

    missing : {"error", "renormalize"}, default="error"
        What to do with rows where every column of a member's modality is
        null. ``"error"`` raises, naming the modality and the number of such
        rows. ``"renormalize"`` fits each member only on rows where its
        modality is present and predicts such rows from the other members,
        with their weights renormalised (shared equally when they all weigh
        zero).

    n_jobs : int, default=None
        Number of jobs fitting members (and out-of-fold folds) in parallel
        through joblib; ``None`` means 1 unless in a
        :func:`joblib.parallel_backend` context (Dask included).

    memory : str, joblib.Memory or None, default=None
        Cache for fitted members and their predictions, keyed on each
        member's parameters (and the model files of skfusion encoders inside
        it) and a fingerprint of its data, under ``<location>/skfusion``. A
        grid search over ``weights``, ``voting`` or ``combiner`` then fits
        each member once per fold and reads every prediction it needs for
        scoring from the cache. A member found in the cache is loaded from it
        on first use, so keep the directory while the estimator is in use
        (pickling loads every member); ``Memory.clear()`` does not remove it.

    verbose : bool, default=False
        Print the time taken to fit each member.

    flatten_transform : bool, default=True
        With soft voting, ``transform`` returns ``(n_samples, n_members *
        n_classes)`` if True and ``(n_members, n_samples, n_classes)`` if
        False, as in ``VotingClassifier``.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members that are not ``"drop"``.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        Fitted members by name (``"drop"`` for dropped ones).

    weights_ : ndarray of shape (n_fitted_members,) or None
        The weights used, aligned with ``estimators_`` and summing to one;
        None when a ``final_estimator`` combines the members.

    le_ : :class:`~sklearn.preprocessing.LabelEncoder` or None
        Encodes the labels the members are fitted on; None for multi-label y.

    classes_ : ndarray of shape (n_classes,)
        Class labels, or ``arange(n_labels)`` for multi-label y.

    final_estimator_ : estimator
        The fitted ``final_estimator`` (only when one is given).

    passthrough_ : transformer, "passthrough" or None
        The fitted ``passthrough`` transformer (only with a ``final_estimator``).

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    LateFusionRegressor : The regression sibling.
    sklearn.ensemble.VotingClassifier : Voting over members that all see X.

    Notes
    -----
    Multi-label ``y`` (a 2-D 0/1 indicator) is fused label by label: each
    label's probability is a two-class distribution combined like any other.
    ``predict_proba`` then returns ``(n_samples, n_labels)`` positive-class
    probabilities. A member that cannot fit multi-label y raises an error
    that names it.

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingClassifier
    >>> from sklearn.feature_extraction.text import TfidfVectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from skfusion import LateFusionClassifier
    >>> from skfusion.datasets import load_clothing_reviews
    >>> X, y = load_clothing_reviews(return_X_y=True)
    >>> X, y = X.iloc[:2000], y.iloc[:2000]
    >>> fusion = LateFusionClassifier(
    ...     [
    ...         ("text", make_pipeline(TfidfVectorizer(), LogisticRegression()),
    ...          "Review Text"),
    ...         ("tab", HistGradientBoostingClassifier(max_iter=20, random_state=0),
    ...          ["Age", "Positive Feedback Count"]),
    ...     ],
    ...     weights={"text": 2, "tab": 1},
    ...     missing="renormalize",
    ... ).fit(X, y)
    >>> fusion.weights_.round(3).tolist()
    [0.667, 0.333]
    >>> fusion.predict_proba(X.iloc[:3]).shape
    (3, 2)
    """

    _parameter_constraints: dict = {
        **_BaseLateFusion._parameter_constraints,
        "voting": [StrOptions({"soft", "hard"})],
        "combiner": [None, str, callable],
        "flatten_transform": ["boolean"],
    }

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        voting="soft",
        combiner=None,
        final_estimator=None,
        passthrough=None,
        cv=5,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=False,
        flatten_transform=True,
    ):
        super().__init__(
            estimators,
            weights=weights,
            final_estimator=final_estimator,
            passthrough=passthrough,
            cv=cv,
            missing=missing,
            n_jobs=n_jobs,
            memory=memory,
            verbose=verbose,
        )
        self.voting = voting
        self.combiner = combiner
        self.flatten_transform = flatten_transform

    @_fit_context(
        # members are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit every member on its columns and settle the weights.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data; a DataFrame when members select columns by name.

        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a 0/1 indicator matrix for multi-label targets.

        **fit_params : dict
            ``sample_weight``, passed to every member (and used by the weight
            search); with metadata routing enabled, any metadata the members
            request.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
        _check_y_given(self, y)
        X = check_X(self, X)
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        # integer labels in one column are binary or multiclass, which fit
        # treats alike: type_of_target would only spend time to say which
        if y.ndim == 1 and y.dtype.kind in "biu":
            y_type = "multiclass"
        else:
            y_type = type_of_target(y, input_name="y")
        owner = type(self).__name__
        if y_type in ("unknown", "continuous", "continuous-multioutput"):
            raise ValueError(
                f"{owner}: Unknown label type: {y_type}. y must hold class labels "
                "(or a 0/1 indicator matrix for multi-label); for a continuous "
                "target use LateFusionRegressor."
            )
        if y_type == "multiclass-multioutput":
            raise ValueError(
                f"{owner}: y of type 'multiclass-multioutput' is not supported; give "
                "1-D class labels or a 0/1 indicator matrix (multi-label)."
            )
        self._multilabel = y_type == "multilabel-indicator"
        if self._multilabel:
            self.le_ = None
            y_fit = np.asarray(y).astype(int)
            self.classes_ = np.arange(y_fit.shape[1])
        else:
            # what LabelEncoder().fit_transform does, in one pass over y
            classes, y_fit = np.unique(y, return_inverse=True)
            self.le_ = LabelEncoder()
            self.le_.classes_ = self.classes_ = classes
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{owner}: y has only one class ({self.classes_[0]!r}); a "
                    "classifier needs at least two classes in y."
                )
        self._check_combiner()
        return self._fit_or_reset(X, y_fit, fit_params)

    def _check_combiner(self):
        if callable(self.combiner):
            return self.combiner
        return get_combiner("mean" if self.combiner is None else self.combiner)

    def _check_member_methods(self, members):
        if self.voting != "soft":
            return
        for m in members:
            if not _is_drop(m.estimator) and not hasattr(m.estimator, "predict_proba"):
                raise AttributeError(
                    f"{type(self).__name__}: member {m.name!r} "
                    f"({type(m.estimator).__name__}) has no predict_proba, which "
                    "voting='soft' needs; use voting='hard', enable probabilities "
                    "(e.g. SVC(probability=True)) or wrap it in "
                    "sklearn.calibration.CalibratedClassifierCV."
                )

    def _fused_method(self):
        return "predict_proba" if self.voting == "soft" else "predict"

    _transform_method = _fused_method

    def _drops_first_score(self):
        return self.voting == "soft" and not self._multilabel and len(self.classes_) == 2

    def _scores(self, estimator, raw, n_rows, *, prefit):
        """A member's raw output as scores over our classes (or labels)."""
        owner = type(self).__name__
        if self._multilabel:
            if isinstance(raw, list):  # one (n, n_classes_j) array per label
                raw = _positive_proba(raw, getattr(estimator, "classes_", None))
            raw = np.asarray(raw, dtype=float)
            if raw.shape != (n_rows, len(self.classes_)):
                raise ValueError(
                    f"{owner}: a member's {self._fused_method()} returned shape "
                    f"{raw.shape} for multi-label y with {len(self.classes_)} labels; "
                    f"expected ({n_rows}, {len(self.classes_)})."
                )
            return raw
        n_classes = len(self.classes_)
        if self.voting == "hard":
            labels = np.asarray(raw)
            codes = self.le_.transform(labels) if prefit else labels.astype(int)
            return np.eye(n_classes)[codes]
        member_classes = getattr(estimator, "classes_", np.arange(raw.shape[1]))
        positions = (
            np.searchsorted(self.classes_, member_classes)
            if prefit
            else np.asarray(member_classes, dtype=int)
        )
        out = np.zeros((n_rows, n_classes))
        out[:, positions] = raw
        return out

    def _fuse(self, scores, weights):
        """Fuse member scores: the combiner for soft voting, a weighted vote for hard."""
        combine = self._check_combiner() if self.voting == "soft" else get_combiner("mean")
        if self._multilabel:
            m, n, n_labels = scores.shape
            pairs = np.stack([1.0 - scores, scores], axis=-1).reshape(m, n * n_labels, 2)
            fused = combine(pairs, np.repeat(weights, n_labels, axis=1))
            fused = fused / fused.sum(axis=1, keepdims=True)
            return fused[:, 1].reshape(n, n_labels)
        fused = combine(scores, weights)
        return fused / fused.sum(axis=1, keepdims=True)

    def _weight_loss(self, fused, y, sample_weight):
        if self._multilabel:
            truth = np.asarray(y, dtype=float)
            p = np.clip(fused, _LOG_EPS, 1 - _LOG_EPS)
            per_row = -(truth * np.log(p) + (1 - truth) * np.log(1 - p)).mean(axis=1)
        elif self.voting == "soft":
            p = np.clip(fused[np.arange(len(y)), y], _LOG_EPS, None)
            per_row = -np.log(p)
        else:
            per_row = ((fused - np.eye(fused.shape[1])[y]) ** 2).sum(axis=1)
        return np.average(per_row, weights=sample_weight)

    def predict(self, X):
        """Predict class labels (or a label indicator matrix) for X.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Predicted labels.
        """
        if self._stacking:
            labels = np.asarray(self._stacked(X, "predict"))
            return labels if self._multilabel else self.le_.inverse_transform(labels.astype(int))
        fused = self._fused(X)
        if self._multilabel:
            return (fused > 0.5).astype(int)
        return self.le_.inverse_transform(np.argmax(fused, axis=1))

    def _check_voting(self):
        if self.final_estimator is not None:
            final = self.__dict__.get("final_estimator_", self.final_estimator)
            return hasattr(final, "predict_proba")
        if self.voting == "hard":
            raise AttributeError(
                f"predict_proba is not available when voting={self.voting!r}"
            )
        return True

    @available_if(_check_voting)
    def predict_proba(self, X):
        """Fused class probabilities for X (soft voting only).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes) or (n_samples, n_labels)
            Class probabilities in the order of ``classes_``; for multi-label
            y, the probability of each label.
        """
        if not self._stacking:
            return self._fused(X)
        proba = self._stacked(X, "predict_proba")
        if self._multilabel:
            # one (n_samples, 2) array per label from, e.g., a tree
            return _positive_proba(proba) if isinstance(proba, list) else np.asarray(proba)
        out = np.zeros((proba.shape[0], len(self.classes_)))
        out[:, np.asarray(self.final_estimator_.classes_, dtype=int)] = proba
        return out

    def transform(self, X):
        """Each member's output for X, side by side.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        member_outputs : ndarray
            Soft voting: member probabilities, ``(n_samples, n_members *
            n_classes)``, or ``(n_members, n_samples, n_classes)`` when
            ``flatten_transform=False`` (per label for multi-label y). Hard
            voting: ``(n_samples, n_members)`` integer-encoded labels (one
            column per member and label for multi-label y). Rows a member
            cannot see (missing modality) are NaN in its columns.
        """
        scores = self._transform_blocks(X)
        if self.voting == "hard" and not self._multilabel:
            votes = np.where(np.isnan(scores).any(axis=2), np.nan, scores.argmax(axis=2))
            return votes.T if not np.isnan(votes).any() else votes.T.astype(float)
        if self.voting == "soft" and not self.flatten_transform:
            return scores
        return np.hstack(scores)

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of ``transform``'s output.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``<classname>_<member><k>`` per class (or label) for soft voting,
            ``<classname>_<member>`` for hard voting.
        """
        check_is_fitted(self, "n_features_in_")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        if self.voting == "soft" and not self.flatten_transform:
            raise ValueError(
                "get_feature_names_out is not supported when `voting='soft'` and "
                "`flatten_transform=False`"
            )
        per_member = len(self.classes_) if (self.voting == "soft" or self._multilabel) else 0
        names = []
        for name in self._member_names_:
            if per_member:
                names.extend(f"{prefix}_{name}{k}" for k in range(per_member))
            else:
                names.append(f"{prefix}_{name}")
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        return self._with_member_tags(super().__sklearn_tags__())


class LateFusionRegressor(RegressorMixin, _BaseLateFusion):
    """Decision-level fusion for regression: a weighted mean of member predictions.

    Each member is a regressor fitted on its own columns; predictions are
    averaged with ``weights`` (renormalised per row over the members whose
    modality is present when ``missing="renormalize"``). With ``(name,
    estimator)`` pairs it is a drop-in replacement for
    :class:`sklearn.ensemble.VotingRegressor`.

    Parameters
    ----------
    estimators : list of (str, estimator, columns) or (str, estimator) tuples
        The members, as in :class:`LateFusionClassifier`.

    weights : array-like of shape (n_estimators,), dict, "auto" or None, \
            default=None
        Member weights as in :class:`LateFusionClassifier`; ``"auto"``
        minimises the squared error of the fused out-of-fold predictions over
        the simplex.

    final_estimator : estimator, default=None
        Turns averaging into stacking: a regressor fitted on the members'
        out-of-fold predictions (folds from ``cv``) and any ``passthrough``
        features, as in :class:`LateFusionClassifier`.

    passthrough : bool, column spec or (transformer, columns), default=None
        Raw features handed to ``final_estimator`` beside the member
        predictions, as in :class:`LateFusionClassifier`.

    cv : int, cross-validation generator or iterable, default=5
        Folds for the out-of-fold predictions that learn ``weights="auto"``
        or fit ``final_estimator``.

    missing : {"error", "renormalize"}, default="error"
        As in :class:`LateFusionClassifier`.

    n_jobs : int, default=None
        Number of jobs fitting members in parallel through joblib.

    memory : str, joblib.Memory or None, default=None
        Cache for fitted members and their predictions.

    verbose : bool, default=False
        Print the time taken to fit each member.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted members that are not ``"drop"``.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        Fitted members by name.

    weights_ : ndarray of shape (n_fitted_members,)
        The weights used, summing to one.

    final_estimator_ : estimator
        The fitted ``final_estimator`` (only when one is given).

    passthrough_ : transformer, "passthrough" or None
        The fitted ``passthrough`` transformer (only with a ``final_estimator``).

    n_features_in_ : int
        Number of columns of X seen in ``fit``.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of X seen in ``fit``, when it had string column names.

    See Also
    --------
    LateFusionClassifier : The classification sibling.
    sklearn.ensemble.VotingRegressor : Averaging members that all see X.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.tree import DecisionTreeRegressor
    >>> from skfusion import LateFusionRegressor
    >>> X = np.array([[0.0, 1.0], [1.0, 3.0], [2.0, 2.0], [3.0, 5.0]])
    >>> y = np.array([1.0, 4.0, 4.0, 8.0])
    >>> reg = LateFusionRegressor(
    ...     [("a", LinearRegression(), [0]), ("b", DecisionTreeRegressor(random_state=0), [1])],
    ...     weights=[3, 1],
    ... ).fit(X, y)
    >>> reg.predict(X).round(2).tolist()
    [1.08, 3.4, 4.97, 7.55]
    """

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        final_estimator=None,
        passthrough=None,
        cv=5,
        missing="error",
        n_jobs=None,
        memory=None,
        verbose=False,
    ):
        super().__init__(
            estimators,
            weights=weights,
            final_estimator=final_estimator,
            passthrough=passthrough,
            cv=cv,
            missing=missing,
            n_jobs=n_jobs,
            memory=memory,
            verbose=verbose,
        )

    @_fit_context(
        # members are validated by their own fit
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, **fit_params):
        """Fit every member on its columns and settle the weights.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values.

        **fit_params : dict
            ``sample_weight``, passed to every member; with metadata routing
            enabled, any metadata the members request.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        _raise_for_params(fit_params, self, "fit", allow=["sample_weight"])
        _check_y_given(self, y)
        X = check_X(self, X)
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y", estimator=self)
        if y.ndim > 2:
            raise ValueError(
                f"{type(self).__name__}: y must be 1-D or 2-D, got shape {y.shape}."
            )
        return self._fit_or_reset(X, y, fit_params)

    def _check_member_methods(self, members):
        """Regressors only need ``predict``, which ``fit`` already implies."""

    def _fused_method(self):
        return "predict"

    _transform_method = _fused_method

    def _scores(self, estimator, raw, n_rows, *, prefit):
        raw = np.asarray(raw, dtype=float)
        return raw.reshape(n_rows, -1)

    def _fuse(self, scores, weights):
        fused = np.einsum("mn,mnk->nk", weights, scores)
        return fused[:, 0] if fused.shape[1] == 1 else fused

    def _weight_loss(self, fused, y, sample_weight):
        err = (np.asarray(fused).reshape(len(y), -1) - np.asarray(y).reshape(len(y), -1))
        return np.average((err**2).sum(axis=1), weights=sample_weight)

    def predict(self, X):
        """Weighted mean of the member predictions for X (with a
        ``final_estimator``: its prediction from them).

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predicted values.
        """
        if self._stacking:
            return self._stacked(X, "predict")
        return self._fused(X)

    def transform(self, X):
        """Each member's predictions for X, side by side.

        Parameters
        ----------
        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            The input samples.

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_members * n_outputs)
            NaN where a member cannot see a row (missing modality).
        """
        return np.hstack(self._transform_blocks(X))

    def get_feature_names_out(self, input_features=None):
        """Names of the columns of ``transform``'s output: ``<classname>_<member>``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        check_is_fitted(self, "n_features_in_")
        _check_feature_names_in(self, input_features, generate_names=False)
        prefix = type(self).__name__.lower()
        return np.asarray([f"{prefix}_{name}" for name in self._member_names_], dtype=object)

    def __sklearn_tags__(self):
        return self._with_member_tags(super().__sklearn_tags__())
