"""Late (decision-level) fusion by voting: what the classifier and the regressor
share, weights and missing modalities over the members' outputs."""

import numpy as np
from sklearn.metrics import get_scorer_names

from ..utils._cache import CACHE_CONSTRAINT
from ..utils._sklearn_compat import StrOptions
from ._base import N_JOBS, _is_drop, validate_members
from ._combiners import get_combiner
from ._members import _BaseMemberFusion
from ._oof import oof_blocks
from ._weights import learned_weights, resolve_weights, row_weights


class _BaseLateFusion(_BaseMemberFusion):
    """Weights, voting and missing modalities over the members' outputs.

    Subclasses say which member method gives the scores that are fused.
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", dict, StrOptions({"auto"}), None],
        "scoring": [None, StrOptions(set(get_scorer_names())), callable],
        "cv": ["cv_object"],
        "missing": [StrOptions({"error", "renormalize"})],
        "n_jobs": N_JOBS,
        "memory": CACHE_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def _fit(self, X, target, fit_params):
        """Fit the members on ``target.y_`` and settle the weights; ``X``
        has been through :func:`check_X`."""
        owner = type(self).__name__
        members = validate_members(self, self.estimators)
        auto = isinstance(self.weights, str) and self.weights == "auto"
        if not auto:
            active = np.array([not _is_drop(m.estimator) for m in members])
            weights = resolve_weights(
                owner, self.weights, [m.name for m in members], param="weights",
                kind="estimator", active=active, require_positive=True,
            )[active]
        self._target_ = target
        data = self._fit_members(X, target.y_, fit_params, members,
                                 multilabel=target.multilabel)
        if not auto:
            self.weights_ = weights / weights.sum()
            self.weight_selection_ = {"method": "given"}
            return self
        method = self._fused_method()
        blocks, available = oof_blocks(
            self, X, target.y_, data, [method] * len(data.members), self._block,
            multilabel=target.multilabel,
        )
        sample_weight = data.routed[data.members[0].name]["fit"].get("sample_weight")
        self.weights_, self.weight_selection_ = learned_weights(
            owner, target, self._score_array(blocks), available, target.y_,
            sample_weight, fuse=self._fuse, scoring=self.scoring,
            hard=self._fused_method() == "predict",
        )
        return self

    def _block(self, i, fitted, raw, n_rows, method):
        return self._target_.block(fitted, raw, n_rows, method, prefit=self._prefit_[i])

    def _score_array(self, blocks):
        """Member blocks as ``(n_members, n_samples, n_outputs)`` scores."""
        n = next(b.shape[0] for b in blocks if b is not None)
        width = next(b.shape[1] for b in blocks if b is not None)
        return np.stack([np.full((n, width), np.nan) if b is None else b for b in blocks])

    def _fuse(self, scores, weights):
        return self._target_.fuse(scores, weights, get_combiner("mean"))

    def _member_scores(self, X, method):
        """Scores of every fitted member for X, ``(n_members, n_samples,
        ...)`` (NaN where a member cannot see the row), and which member saw
        which row."""
        self._check_fitted()
        blocks, available = self._member_blocks(
            X, [method] * len(self.estimators_), self._block
        )
        if all(b is None for b in blocks):
            raise ValueError(
                f"{type(self).__name__}: no member can see any row of X; every "
                "modality is missing."
            )
        return self._score_array(blocks), available

    def _fused(self, X):
        """The weighted fusion of member scores for X."""
        scores, available = self._member_scores(X, self._fused_method())
        weights = row_weights(self.weights_, available)
        empty = weights.sum(axis=0) == 0
        if empty.any():
            raise ValueError(
                f"{type(self).__name__}: {int(empty.sum())} rows have no modality "
                "present for any member, so they cannot be predicted (first row: "
                f"{int(np.flatnonzero(empty)[0])}); drop them or impute a modality."
            )
        return self._fuse(np.nan_to_num(scores), weights)
