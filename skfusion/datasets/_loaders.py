from importlib import resources

import pandas as pd

_REVIEWS_FILE = "womens_clothing_reviews.csv.gz"

_TEXT_COLUMNS = ["Title", "Review Text"]
_NUMERIC_COLUMNS = ["Age", "Positive Feedback Count"]
_CATEGORICAL_COLUMNS = ["Clothing ID", "Division Name", "Department Name", "Class Name"]
_TARGET_COLUMNS = ["Rating", "Recommended IND"]


def load_clothing_reviews(*, as_frame=True, return_X_y=False, target="Recommended IND"):
    """Load the Women's E-Commerce Clothing Reviews dataset (23,486 reviews).

    Real, anonymised customer reviews of a women's clothing web shop (CC0),
    shipped inside the package so that it needs no network. The 845 reviews
    without text are a real missing modality.

    ================== =====================================================
    Text columns       ``Title`` (3,810 missing), ``Review Text`` (845 missing)
    Numeric columns    ``Age``, ``Positive Feedback Count``
    Categorical        ``Clothing ID``, ``Division Name``, ``Department Name``,
                       ``Class Name``
    Targets            ``Rating`` (1-5), ``Recommended IND`` (0/1)
    ================== =====================================================

    Parameters
    ----------
    as_frame : bool, default=True
        If True, ``data`` is a :class:`pandas.DataFrame` and ``target`` a
        :class:`pandas.Series` (or DataFrame for several targets). If False,
        both are numpy arrays (``data`` of object dtype).

    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    target : str or list of str, default="Recommended IND"
        Column(s) returned as the target. They are removed from ``data``;
        the other target column stays in ``data`` and ``frame``. Use
        ``target=["Rating", "Recommended IND", "Department Name"]`` for a
        multi-task target.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data``, ``target``, ``frame`` (the whole table),
        ``feature_names``, ``target_names``, ``text_columns``,
        ``numeric_columns``, ``categorical_columns`` and ``DESCR``.

    (data, target) : tuple
        The features and the target, when ``return_X_y`` is True.

    See Also
    --------
    sklearn.datasets.fetch_openml : Other tables of mixed text and numbers.
    skfusion.fusion.LateFusionClassifier : Fuses its text and table columns.

    Examples
    --------
    >>> from skfusion.datasets import load_clothing_reviews
    >>> X, y = load_clothing_reviews(return_X_y=True)
    >>> X.shape
    (23486, 9)
    >>> int(X["Review Text"].isna().sum())
    845
    >>> sorted(y.unique().tolist())
    [0, 1]
    """
    from sklearn.utils import Bunch

    with resources.files(__package__).joinpath("data", _REVIEWS_FILE).open("rb") as f:
        frame = pd.read_csv(f, compression="gzip")

    target_names = [target] if isinstance(target, str) else list(target)
    unknown = [name for name in target_names if name not in frame.columns]
    if unknown:
        raise ValueError(
            f"load_clothing_reviews: target {unknown} is not a column of the "
            f"dataset; choose from {list(frame.columns)}."
        )
    data = frame.drop(columns=target_names)
    y = frame[target_names[0]] if isinstance(target, str) else frame[target_names]
    if not as_frame:
        data, y = data.to_numpy(dtype=object), y.to_numpy()
    if return_X_y:
        return data, y
    return Bunch(
        data=data,
        target=y,
        frame=frame,
        feature_names=list(frame.columns.drop(target_names)),
        target_names=target_names,
        text_columns=_TEXT_COLUMNS,
        numeric_columns=_NUMERIC_COLUMNS,
        categorical_columns=_CATEGORICAL_COLUMNS,
        DESCR=load_clothing_reviews.__doc__,
    )
