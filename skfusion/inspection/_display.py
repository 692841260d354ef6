"""Plot of modality importances, in the style of scikit-learn's Displays."""

import numpy as np

from ..utils._optional import import_optional
from ._importance import modality_importance


#: what a row is, by what was perturbed to measure it
_AXIS_LABELS = {
    "input": "Member (its own input perturbed)",
    "columns": "Column group (perturbed in X, for all that read it)",
}


class ModalityImportanceDisplay:
    """Modality importance visualization: one row of bars per modality.

    The vertical axis says what was measured (``result.perturbed``): each
    member's own input alone ("Member"), or a group of columns of X, which
    every member that reads them sees perturbed ("Column group"); members
    that share a column are then one row named after all of them
    (``"text + minilm"``). See
    :func:`~skfusion.inspection.modality_importance`.

    It is recommended to use
    :func:`~skfusion.inspection.ModalityImportanceDisplay.from_estimator` to
    create a :class:`ModalityImportanceDisplay`. All parameters are stored as
    attributes. The plot needs matplotlib (``pip install "skfusion[plot]"``).

    Parameters
    ----------
    result : :class:`~sklearn.utils.Bunch`
        What :func:`~skfusion.inspection.modality_importance` returns.

    estimator_name : str, default=None
        Name of the estimator, shown in the title. ``None`` shows no title.

    Attributes
    ----------
    bars_ : matplotlib BarContainer
        The permutation importances (mean over repeats); its ``errorbar``
        draws their standard deviation.

    masking_bars_ : matplotlib BarContainer or None
        The masking (leave-one-modality-out) importances; hatched where the
        modality was replaced by neutral values rather than missing ones.
        ``None`` when ``show_masking`` is False.

    ax_ : matplotlib Axes
        Axes with the bars.

    figure_ : matplotlib Figure
        Figure containing the bars.

    See Also
    --------
    modality_importance : Compute the importances.
    ModalityImportanceDisplay.from_estimator : Compute and plot them.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LinearRegression
    >>> from skfusion import LateFusionRegressor
    >>> from skfusion.inspection import ModalityImportanceDisplay, modality_importance
    >>> rng = np.random.RandomState(0)
    >>> X = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "noise"])
    >>> y = 3 * X["a"]
    >>> reg = LateFusionRegressor(
    ...     [("a", LinearRegression(), ["a"]),
    ...      ("noise", LinearRegression(), ["noise"])],
    ... ).fit(X, y)
    >>> result = modality_importance(reg, X, y, n_repeats=2, random_state=0)
    >>> disp = ModalityImportanceDisplay(result, estimator_name="fusion").plot()
    >>> [label.get_text() for label in disp.ax_.get_yticklabels()]
    ['a', 'noise']
    >>> disp.ax_.get_ylabel()
    'Member (its own input perturbed)'
    """

    def __init__(self, result, *, estimator_name=None):
        self.result = result
        self.estimator_name = estimator_name

    def plot(self, *, ax=None, show_masking=True, bar_kw=None, masking_kw=None):
        """Draw horizontal bars: permutation importance with its spread, and
        masking importance beside it.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on. ``None`` creates a figure and axes.

        show_masking : bool, default=True
            Also draw the masking (leave-one-modality-out) importances.

        bar_kw : dict, default=None
            Keywords for the permutation bars (``matplotlib.axes.Axes.barh``),
            e.g. ``{"color": "tab:green"}``.

        masking_kw : dict, default=None
            Keywords for the masking bars.

        Returns
        -------
        display : :class:`ModalityImportanceDisplay`
            Object that stores the computed values and the drawn artists.

        See Also
        --------
        ModalityImportanceDisplay.from_estimator : Compute the importances and plot them.
        skfusion.inspection.modality_importance : The importances it draws.
        sklearn.inspection.permutation_importance : The same measure per feature.

        Examples
        --------
        >>> import matplotlib.pyplot as plt
        >>> import numpy as np
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion.fusion import LateFusionRegressor
        >>> from skfusion.inspection import ModalityImportanceDisplay, modality_importance
        >>> rng = np.random.RandomState(0)
        >>> X = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "noise"])
        >>> y = 3 * X["a"]
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), ["a"]), ("noise", LinearRegression(), ["noise"])]
        ... ).fit(X, y)
        >>> result = modality_importance(reg, X, y, n_repeats=2, random_state=0)
        >>> fig, ax = plt.subplots()
        >>> disp = ModalityImportanceDisplay(result).plot(ax=ax, show_masking=False)
        >>> disp.ax_ is ax, len(ax.patches)
        (True, 2)
        >>> plt.close(fig)
        """
        plt = import_optional("matplotlib.pyplot", owner=f"{type(self).__name__}.plot")
        if ax is None:
            fig, ax = plt.subplots()
        else:
            fig = ax.figure

        result = self.result
        names = list(result.modalities)
        rows = np.arange(len(names))
        # two bars per modality share its row
        height = 0.4 if show_masking else 0.8
        shift = height / 2 if show_masking else 0.0
        n_repeats = np.shape(result.importances)[1]

        bar_kw = {
            "color": "tab:blue",
            "label": f"permuted (mean ± std over {n_repeats})",
            "error_kw": {"ecolor": "black", "capsize": 3},
            **(bar_kw or {}),
        }
        self.bars_ = ax.barh(
            rows - shift, result.importances_mean, height, xerr=result.importances_std, **bar_kw
        )

        self.masking_bars_ = None
        if show_masking:
            baseline = [how == "baseline" for how in result.masking]
            label = "left out (masked)"
            if any(baseline):
                label += "; hatched: neutral values"
            masking_kw = {"color": "tab:orange", "label": label, **(masking_kw or {})}
            self.masking_bars_ = ax.barh(
                rows + shift, result.masking_importances, height, **masking_kw
            )
            for patch, neutral in zip(self.masking_bars_.patches, baseline):
                if neutral:
                    patch.set_hatch("//")

        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.set_yticks(rows, labels=names)
        # first modality on top, as listed
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_xlabel(f"Decrease in {result.score_name}")
        ax.set_ylabel(_AXIS_LABELS[result.perturbed])
        if self.estimator_name is not None:
            ax.set_title(f"Modality importance: {self.estimator_name}")
        ax.legend(loc="best")

        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        modalities=None,
        scoring=None,
        n_repeats=5,
        masking="auto",
        n_jobs=None,
        random_state=None,
        name=None,
        ax=None,
        show_masking=True,
        bar_kw=None,
        masking_kw=None,
    ):
        """Compute the modality importances of a fitted estimator and plot them.

        Parameters
        ----------
        estimator : estimator
            A fitted fusion estimator (or any estimator, with
            ``modalities``).

        X : DataFrame or array-like of shape (n_samples, n_features)
            Data to score on, usually held out.

        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets of ``X``.

        modalities : dict, list of str or None, default=None
            Which modalities to measure; see
            :func:`~skfusion.inspection.modality_importance`.

        scoring : str, callable or None, default=None
            One metric; ``None`` uses ``estimator.score``.

        n_repeats : int, default=5
            Number of permutations per modality.

        masking : {"auto", "missing", "baseline"}, default="auto"
            How a modality is left out.

        n_jobs : int or None, default=None
            Jobs that score in parallel through joblib.

        random_state : int, RandomState instance or None, default=None
            Draws the permutations.

        name : str, default=None
            Title of the plot; ``None`` uses the estimator's class name.

        ax : matplotlib Axes, default=None
            Axes to draw on. ``None`` creates a figure and axes.

        show_masking : bool, default=True
            Also draw the masking importances.

        bar_kw : dict, default=None
            Keywords for the permutation bars.

        masking_kw : dict, default=None
            Keywords for the masking bars.

        Returns
        -------
        display : :class:`ModalityImportanceDisplay`

        See Also
        --------
        modality_importance : The numbers behind the plot.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion import LateFusionRegressor
        >>> from skfusion.inspection import ModalityImportanceDisplay
        >>> rng = np.random.RandomState(0)
        >>> X = pd.DataFrame(rng.normal(size=(100, 2)), columns=["a", "noise"])
        >>> y = 3 * X["a"]
        >>> reg = LateFusionRegressor(
        ...     [("a", LinearRegression(), ["a"]),
        ...      ("noise", LinearRegression(), ["noise"])],
        ... ).fit(X, y)
        >>> disp = ModalityImportanceDisplay.from_estimator(
        ...     reg, X, y, n_repeats=2, random_state=0)
        >>> disp.ax_.get_xlabel()
        'Decrease in r2'
        """
        import_optional("matplotlib.pyplot", owner=f"{cls.__name__}.from_estimator")
        result = modality_importance(
            estimator,
            X,
            y,
            modalities=modalities,
            scoring=scoring,
            n_repeats=n_repeats,
            masking=masking,
            n_jobs=n_jobs,
            random_state=random_state,
        )
        if name is None:
            name = type(estimator).__name__
        display = cls(result, estimator_name=name)
        return display.plot(
            ax=ax, show_masking=show_masking, bar_kw=bar_kw, masking_kw=masking_kw
        )
