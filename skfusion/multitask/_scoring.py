"""Scoring one task of a multi-task estimator with any scikit-learn scorer."""

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import get_scorer
from sklearn.utils.validation import check_is_fitted


class _TaskView(BaseEstimator):
    """A fitted multi-task estimator seen as a single-task estimator (one
    task's predictions, probabilities and classes), so that scikit-learn's
    scorers apply to it unchanged. Built by :func:`task_scorer`, never fitted."""

    def __init__(self, estimator, task):
        self.estimator = estimator
        self.task = task

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        head = self.estimator._head(self.task)
        tags.estimator_type = "classifier" if head.is_classifier else "regressor"
        tags.target_tags.multi_output = head.kind == "multilabel"
        return tags

    def __sklearn_is_fitted__(self):
        return True

    @property
    def classes_(self):
        head = self.estimator._head(self.task)
        if head.kind == "multilabel":
            return [np.array([0, 1])] * head.n_labels_
        return head.classes_

    def predict(self, X):
        return self.estimator._predict_task(X, self.task, "decode")

    def predict_proba(self, X):
        return self.estimator._predict_task(X, self.task, "proba")


class _TaskScorer:
    """Callable ``(estimator, X, Y) -> float`` scoring one task; see
    :func:`task_scorer`."""

    def __init__(self, task, scoring):
        self.task = task
        self.scoring = scoring

    def __call__(self, estimator, X, Y, **kwargs):
        check_is_fitted(estimator)
        head = estimator._head(self.task)
        y_true = head.select(Y)
        y_true = y_true.to_numpy() if hasattr(y_true, "to_numpy") else np.asarray(y_true)
        view = _TaskView(estimator, self.task)
        if self.scoring is None:
            return float(head.score(y_true, estimator._outputs(X)[self.task]))
        return get_scorer(self.scoring)(view, X, y_true, **kwargs)

    def __repr__(self):
        return f"task_scorer({self.task!r}, {self.scoring!r})"


def task_scorer(task, scoring=None):
    """A scorer that scores one task of a :class:`MultiTaskKerasEstimator`.

    Use it as ``scoring=`` of :class:`~sklearn.model_selection.GridSearchCV`
    or :func:`~sklearn.model_selection.cross_validate` to search on one task
    while the model learns them all; a dict of them scores every task.

    Parameters
    ----------
    task : str
        The task's name, as a key of the estimator's ``tasks``.

    scoring : str, callable or None, default=None
        A scikit-learn scorer name (``"r2"``, ``"neg_mean_absolute_error"``,
        ``"roc_auc"``, ``"f1_macro"``, ...) or scorer callable, evaluated on
        that task's targets and predictions (probabilities for the scorers
        that need them). None: the task's default score, accuracy for a
        classification task (subset accuracy for a multilabel one) and R²
        for a regression task.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, Y)`` returns a float, greater is better.

    See Also
    --------
    MultiTaskKerasEstimator.score : Mean of the tasks' default scores.

    Examples
    --------
    >>> from skfusion.multitask import task_scorer
    >>> task_scorer("Rating", "r2")
    task_scorer('Rating', 'r2')
    """
    if scoring is not None:
        get_scorer(scoring)  # an unknown scorer name fails here, not mid-search
    return _TaskScorer(task, scoring)
