"""Modality inputs: how an estimator lets one of its modalities read an
input of its own while every other modality reads the X given to predict.

The public half of the protocol by which inspection asks an estimator about
its modalities (the other half is ``get_modalities()``): the fusion
estimators and the Keras models mix it in, and
:func:`~skfusion.inspection.modality_importance` uses it to perturb one
member even when another member reads the same columns.
"""

from ._columns import check_columns_present, check_X, select


class ModalityInputMixin:
    """``with_modality_input``: a view of a fitted estimator in which one
    modality reads its own input.

    The estimator tells its modalities through ``get_modalities()`` and
    takes each modality's part of X through :meth:`_modality_input`.
    """

    def with_modality_input(self, name, X):
        """A view of this fitted estimator in which modality ``name`` reads ``X``.

        The view predicts, transforms and scores like the estimator, except
        that the modality (member, block or branch) ``name`` takes its
        columns from ``X``: row ``i`` of ``X`` stands in for row ``i`` of
        the data the view is given, which every other modality still reads.
        So when two members read the same column, one of them can be fed
        shuffled or blank values while the other sees the real ones: this is
        how :func:`~skfusion.inspection.modality_importance` measures one
        member alone. Views chain: a view's ``with_modality_input`` replaces
        one more modality's input.

        The view shares the estimator's fitted state (nothing is copied or
        refitted) and is meant for predicting; the estimator itself is left
        unchanged.

        Parameters
        ----------
        name : str
            One of the names ``get_modalities()`` returns.

        X : {array-like, sparse matrix, DataFrame} of shape (n_samples, n_features)
            Data with the columns the estimator was fitted on, from which
            modality ``name`` selects its columns; the data the view is later
            given must have as many rows.

        Returns
        -------
        view : estimator
            An object of the estimator's class, with its fitted attributes.

        See Also
        --------
        get_modalities : The modalities by name, with their columns.
        skfusion.inspection.modality_importance : The importance of each
            modality, measured through this method.

        Examples
        --------
        Two members read the same column; the view feeds the first one the
        rows in reverse order, and the second one the real rows:

        >>> import pandas as pd
        >>> from sklearn.linear_model import LinearRegression
        >>> from skfusion import LateFusionRegressor
        >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
        >>> y = 2 * X["a"]
        >>> reg = LateFusionRegressor(
        ...     [("first", LinearRegression(), ["a"]),
        ...      ("second", LinearRegression(), ["a"])],
        ... ).fit(X, y)
        >>> reg.predict(X).round(2).tolist()
        [0.0, 2.0, 4.0, 6.0]
        >>> reversed_rows = X.iloc[::-1]
        >>> reg.with_modality_input("first", reversed_rows).predict(X).round(2).tolist()
        [3.0, 3.0, 3.0, 3.0]
        """
        owner = type(self).__name__
        modalities = self.get_modalities()
        if not isinstance(name, str) or name not in modalities:
            raise ValueError(
                f"{owner}: with_modality_input got name={name!r}, which is none of "
                f"its modalities {list(modalities)}; pass one of these names."
            )
        X = check_X(self, X)
        width = getattr(self, "n_features_in_", None)
        if not hasattr(X, "columns") and width is not None and X.shape[1] != width:
            raise ValueError(
                f"{owner}: with_modality_input got X with {X.shape[1]} columns, but "
                f"{owner} was fitted on {width}; give it data shaped as the estimator's."
            )
        check_columns_present(
            self, f"modality {name!r}", modalities[name], X, when=None,
            fix="pass data with the columns the estimator was fitted on",
        )
        # a plain shallow copy: copy.copy would go through __getstate__,
        # which serialises a Keras model
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view._modality_inputs = {**vars(self).get("_modality_inputs", {}), name: X}
        return view

    def _modality_input(self, X, name, columns):
        """The part of ``X`` that modality ``name`` reads: its ``columns`` of
        ``X``, or of the input a view was given for it."""
        replaced = vars(self).get("_modality_inputs", {})
        if name not in replaced:
            return select(X, columns)
        source = replaced[name]
        if source.shape[0] != X.shape[0]:
            raise ValueError(
                f"{type(self).__name__}: the input given to modality {name!r} through "
                f"with_modality_input has {source.shape[0]} rows but X has "
                f"{X.shape[0]}; give it one row per row of X."
            )
        return select(source, columns)
