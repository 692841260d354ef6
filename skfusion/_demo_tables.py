"""The models of ``python -m skfusion.demo``'s three tables, built from the
members of :mod:`skfusion.datasets.clothing_reviews`; the demo runs them and
prints the tables. The functions inside the models (``FunctionTransformer``'s)
live here, so that they pickle under this module's name for joblib's cache
and worker processes, even when the demo runs as ``__main__``."""

from dataclasses import dataclass

from .datasets.clothing_reviews import (
    CATEGORICAL,
    NUMERIC,
    SCENARIOS,
    TARGET,
    TEXT,
    minilm_model,
    sentence_features,
    tabular_model,
    text_model,
)


@dataclass
class Row:
    """One line of a table: its scenario, its name and its model."""

    scenario: str
    name: str
    estimator: object


def _review_text(X):
    return X[TEXT]


def _review_text_or_empty(X):
    """The review column with missing reviews as empty strings."""
    return X[TEXT].fillna("")


def _fill_empty(texts):
    """Missing reviews as empty strings, for encoders that need text in every row."""
    return texts.fillna("")


def text_block(minilm, cache):
    """The text block of early fusion: MiniLM embeddings, else TF-IDF."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from .encoders import TextEncoder

    encoder = (
        TextEncoder(minilm, normalize=True, cache=cache)
        if minilm
        else TfidfVectorizer(min_df=3, ngram_range=(1, 2), sublinear_tf=True)
    )
    return make_pipeline(FunctionTransformer(_fill_empty), encoder)


def stacking(text_members, tabular, memory, *, regression):
    """The text members stacked under gradient boosting, the tabular columns
    passed through beside their predictions."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from . import StackingFusionClassifier, StackingFusionRegressor
    from .encoders import TabularEncoder

    stack, boosting = ((StackingFusionRegressor, HistGradientBoostingRegressor) if regression
                       else (StackingFusionClassifier, HistGradientBoostingClassifier))
    return stack(
        text_members,
        boosting(max_iter=200, learning_rate=0.05, min_samples_leaf=50, random_state=0),
        passthrough=[("tabular", TabularEncoder(), tabular)],
        missing="indicator",
        memory=memory,
    )


def build_rows(memory, minilm):
    """The models of the table, scenario by scenario (MiniLM rows when
    ``minilm`` is a model path)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from . import EarlyFusionClassifier, LateFusionClassifier
    from .encoders import TabularEncoder

    def text_only(model):
        return make_pipeline(FunctionTransformer(_review_text_or_empty), *[
            step for _, step in model.steps
        ])

    rows = [Row("both", "text only (TF-IDF + logistic regression)", text_only(text_model()))]
    if minilm:
        rows.append(Row("both", "text only (MiniLM + logistic regression)",
                        text_only(minilm_model(minilm, memory))))
    for scenario, numeric in SCENARIOS.items():
        tabular = CATEGORICAL + numeric
        members = [("text", text_model(), TEXT), ("tabular", tabular_model(numeric), tabular)]
        rows += [
            Row(scenario, "tabular only (gradient boosting)", tabular_model(numeric)),
            Row(scenario, "late fusion, equal weights",
                LateFusionClassifier(members, missing="renormalize", memory=memory)),
            Row(scenario, 'late fusion, weights="auto"',
                LateFusionClassifier(members, weights="auto", missing="renormalize",
                                     memory=memory)),
        ]
        if minilm:
            three = [*members[:1], ("minilm", minilm_model(minilm, memory), TEXT), members[1]]
            rows.append(Row(scenario, 'late fusion + MiniLM member, "auto"',
                            LateFusionClassifier(three, weights="auto",
                                                 missing="renormalize", memory=memory)))
        embedding = "MiniLM" if minilm else "TF-IDF"
        rows.append(Row(
            scenario, f"early fusion ({embedding} + tabular, LR)",
            EarlyFusionClassifier(
                [("text", text_block(minilm, memory), TEXT),
                 ("tabular", TabularEncoder(), tabular)],
                LogisticRegression(C=4.0, max_iter=2000),
                memory=memory,
            ),
        ))
        text_members = [("text", text_model(), TEXT)]
        if minilm:
            text_members.append(("minilm", minilm_model(minilm, memory), TEXT))
        rows.append(Row(scenario, "stacking (text members + tabular -> GB)",
                        stacking(text_members, tabular, memory, regression=False)))
    return rows


def rating_rows(memory, minilm, fine_tune=0):
    """Models of the star rating (regression): the text members alone, their
    equal-weight average, and their stack with the reviewer & product columns
    passed through to gradient boosting; with ``fine_tune`` k, MiniLM's top k
    layers trained inside a Keras model beside the tabular columns."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from . import LateFusionRegressor
    from .encoders import TabularEncoder, TextEncoder

    members = [("tfidf", make_pipeline(
        TfidfVectorizer(min_df=3, ngram_range=(1, 2), sublinear_tf=True), Ridge(alpha=1.0)
    ), TEXT)]
    if minilm:
        members.append(("minilm", make_pipeline(
            TextEncoder(minilm, normalize=True, cache=memory), Ridge(alpha=1.0)
        ), TEXT))
    tabular = CATEGORICAL + NUMERIC
    rows = [Row("rating", f"text only ({name}, ridge)", make_pipeline(
        FunctionTransformer(_review_text), *[step for _, step in est.steps]
    )) for name, est, _ in members]
    rows.append(Row("rating", "tabular only (gradient boosting)", make_pipeline(
        TabularEncoder(), HistGradientBoostingRegressor(max_iter=100, random_state=0)
    )))
    if len(members) > 1:
        rows.append(Row("rating", "late fusion, equal weights", LateFusionRegressor(
            members, memory=memory,
        )))
    rows.append(Row("rating", "stacking (text members + tabular -> GB)",
                    stacking(members, tabular, memory, regression=True)))
    if fine_tune and minilm:
        from .keras import KerasFusionRegressor

        text = TextEncoder(minilm, trainable=fine_tune, learning_rate_multiplier=0.1, cache=memory)
        rows.append(Row("rating", f"MiniLM top-{fine_tune} fine-tuned + tabular (Keras)",
                        KerasFusionRegressor([("review", text, TEXT), ("tabular", TabularEncoder(), tabular)],
                                             hidden_layers=(128,), dropout=0.1, epochs=3,
                                             random_state=0)))
    return rows


MULTITASK = {"Rating": "regression", "Recommended IND": "binary", "Department Name": "multiclass"}
MULTITASK_INPUTS = ["Age", "Positive Feedback Count"]



def multitask_split(X, y):
    """The reviews with text and a department: their text, age and feedback
    count (the division and class columns name the department) and the three
    targets, split 80/20."""
    from sklearn.model_selection import train_test_split

    frame = X.assign(**{TARGET: y})
    frame = frame[frame[TEXT].notna() & frame["Department Name"].notna()].reset_index(drop=True)
    X_mt, Y = frame[[TEXT, *MULTITASK_INPUTS]], frame[list(MULTITASK)]
    return train_test_split(X_mt, Y, test_size=0.2, random_state=0)


def multitask_rows(memory, minilm, *, epochs):
    """``(name, tasks, model)`` per row of the multi-task table: one Keras
    model for the three targets (fixed and learned loss weights), and three
    single-task models of the same architecture."""
    from .encoders import TabularEncoder
    from .multitask import MultiTaskKerasEstimator

    text, _ = sentence_features(minilm, memory)
    inputs = [("text", text, TEXT), ("tabular", TabularEncoder(), MULTITASK_INPUTS)]
    rows = [("multi-task, loss weights 1/1/1", MULTITASK, {}),
            ('multi-task, loss_weights="uncertainty"', MULTITASK, {"loss_weights": "uncertainty"})]
    rows += [(f"single-task {task}", {task: kind}, {}) for task, kind in MULTITASK.items()]
    return [
        (name, tasks, MultiTaskKerasEstimator(tasks, inputs=inputs, epochs=epochs, batch_size=64,
                                              validation_split=0.1, early_stopping=True,
                                              random_state=0, **params))
        for name, tasks, params in rows
    ]
